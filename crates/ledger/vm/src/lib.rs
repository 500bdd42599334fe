//! Deterministic, fuel-metered WebAssembly VM for Arcanum's on-chain contracts (SPEC L6).
//!
//! An [`Engine`] compiles a module into a [`Contract`], checking the Arcanum ABI at deploy time
//! (imports, exported memory, entry points, no start function, no floating point, bounded
//! memory). [`Contract::invoke`] runs one entry point against a [`HostState`] (the caller's view of
//! the contract's state) on behalf of a [`Caller`], within [`Limits`], and yields an [`Outcome`]:
//! the return data, the emitted events and the fuel used. The host ABI (import module
//! `"arcanum"`) is documented in `docs/design/contract-abi.md` and in [`abi`].
//!
//! Invariants:
//! - Execution is deterministic: the same module, state, caller, function, arguments and limits
//!   give the same outcome and the same `fuel_used` on every machine. Floating-point
//!   instructions are rejected at compile time (so NaN bit patterns cannot differ), code is
//!   compiled eagerly (lazy compilation would charge fuel only on a function's first use), and
//!   every host call charges fuel by a fixed schedule ([`cost`]).
//! - A guest is hostile: every pointer and length it passes is bounds-checked against its memory
//!   and against [`Limits`] before the host reads, copies or allocates anything, so a guest can
//!   neither make the host panic nor make it allocate without bound. Every failure is a precise
//!   [`VmError`].
//! - This crate does no I/O, reads no clock and draws no randomness; it knows nothing of storage,
//!   networking or HTTP. State reaches it only through [`HostState`]. The one non-deterministic
//!   import, `https_get`, is served by [`HostState::https_get`], whose default refuses: only an
//!   off-chain embedder (an enclave) provides it.
//! - Fuel units are wasmi's; gas figures are tied to this engine.

pub mod abi;
pub mod cost;
mod engine;
mod error;
mod host;
mod limits;

pub use engine::{Contract, Engine, EngineConfig, Outcome};
pub use error::VmError;
pub use host::{Caller, Entries, HTTPS_GET_UNAVAILABLE, HostError, HostState, InMemoryState};
pub use limits::{Limit, Limits};

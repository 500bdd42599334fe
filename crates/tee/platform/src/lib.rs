//! TEE platform abstraction (SPEC T3) and sealing (SPEC T4) for Arcanum's trusted code.
//!
//! The enclave logic sees a TEE only through the [`Platform`] trait: its [`PlatformKind`], an
//! [`is_secure`](Platform::is_secure) flag, its measurement, fresh evidence binding 64 bytes of
//! report data, and a sealing root. Backends:
//!
//! - [`Simulated`]: development and CI. Measurement = SHA-256 of the enclave binary, evidence =
//!   simulation evidence signed with the public simulation vendor key (labelled as simulated),
//!   sealing root derived from a host-held "fuse" file. `is_secure() == false`.
//! - [`ConfigfsTsm`]: Intel TDX and AMD SEV-SNP confidential VMs through Linux configfs-tsm
//!   (`<root>/sys/kernel/config/tsm/report`). No sealing key
//!   ([`PlatformError::SealingUnsupported`]).
//! - [`GramineSgx`]: Intel SGX under Gramine (`<root>/dev/attestation`), DCAP quotes and the
//!   MRENCLAVE-bound sealing key.
//!
//! [`detect`] finds a hardware interface under a root directory. [`Sealer`] encrypts secrets at
//! rest under keys derived from the sealing root, the measurement, a purpose string and a key
//! version (see [`seal`] for the derivation and the `ARCSEAL` container).
//!
//! Invariants:
//! - Files are accessed only under the root directory the caller gives (`/` in production, a
//!   fake tree in tests); every read is bounded, and every field parsed from evidence is
//!   bounds-checked. This crate does no networking and has no storage backend.
//! - Hardware backends return evidence only after checking that it carries the requested report
//!   data (a concurrent writer or stale output is retried, then reported).
//! - The simulation is never auto-detected and always reports `is_secure() == false`.
//! - Sealing roots, fuses and derived keys are zeroized on drop, never printed by `Debug`, and
//!   never part of an error.

mod error;
mod fsio;
mod gramine;
mod kdf;
mod layout;
mod platform;
pub mod seal;
mod sim;
mod tsm;

pub use error::{PlatformError, SealError};
pub use gramine::GramineSgx;
pub use platform::{Platform, PlatformKind, REPORT_DATA_LEN, detect};
pub use seal::{Sealer, sealed_key_version};
pub use sim::{SimFuse, Simulated};
pub use tsm::{ConfigfsTsm, MAX_ATTEMPTS, TsmProvider};

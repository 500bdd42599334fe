//! Shared-memory ring buffers between host and enclave (SPEC T1).
//!
//! A ring is a sealed `memfd` mapped by both processes ([`RingRegion`]): a fixed header
//! (magic, version, capacity, write offset, read offset, a "reader sleeping" / "writer waiting"
//! flag pair and closed bits, each hot field on its own cache lines; see [`layout`]) followed by
//! a data area of `capacity` bytes (a power of two). Frames are a little-endian `u32` length
//! prefix plus payload, written contiguously in ring order; a frame that reaches the end of the
//! data area continues at its start (split copy). Offsets are monotonically increasing `u64`
//! byte counters (position = offset mod capacity), so `write - read` is the number of unread
//! bytes and full and empty are never ambiguous.
//!
//! Key types:
//! * [`Writer`]: any number of threads (clones) write under one lock, as in T1: take the lock,
//!   read both offsets, check that the frame fits, copy it at the write offset (wrapping),
//!   publish the new write offset (release), release the lock.
//! * [`Reader`]: the single consumer; copies each frame into private memory.
//! * [`Event`]: an `eventfd` used for wake-ups. Writers signal it only when the reader has
//!   announced that it sleeps (and vice versa for space), so a busy pipe makes no syscalls.
//! * [`Duplex`], [`HostEnd`], [`EnclaveEnd`], [`DuplexFds`]: one ring per direction and the six
//!   fds to hand the enclave side to a child process.
//! * [`mod@bench`]: ring vs Unix socket vs memcpy throughput.
//!
//! Invariants, against a hostile peer (both sides treat the other as hostile):
//! * Every peer-written offset is loaded once into a local and validated before use
//!   (`read <= write`, `write - read <= capacity`, monotonic against the last value seen);
//!   our own offsets live in private memory and the shared copies are only checked against them.
//! * Frame bytes are copied out of shared memory before the length prefix is checked, the
//!   prefix is fetched once, and frames are bounded by a local maximum.
//! * The capacity is read once at map time and checked against the sealed file size, so the
//!   peer can neither make accesses leave the mapping nor truncate the file under us.
//! * Misbehaviour yields a precise [`RingError`] and poisons the handle; nothing panics.
//!
//! What the ring does not give: confidentiality or integrity of the bytes themselves (the
//! host can read and rewrite unread frames); the channel above must encrypt and authenticate.
//!
//! Model checking: `RUSTFLAGS="--cfg loom" cargo test -p arcanum-ring --release --test loom`
//! runs the same protocol code over loom atomics and a loom-checked data area.

#[cfg(not(loom))]
pub mod bench;
#[cfg(not(loom))]
mod duplex;
mod error;
mod event;
pub mod layout;
mod region;
mod ring;
mod sync;

#[cfg(not(loom))]
pub use duplex::{Duplex, DuplexFds, EnclaveEnd, EnclaveRole, End, HostEnd, HostRole, Role};
pub use error::{CorruptReason, HeaderError, OffsetKind, RingError};
pub use event::Event;
pub use region::RingRegion;
#[cfg(loom)]
pub use ring::model_channel;
pub use ring::{Reader, RingOptions, Writer};
#[cfg(not(loom))]
pub use ring::{RingFds, channel};

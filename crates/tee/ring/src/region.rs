//! The shared-memory region of one ring: a sealed memfd mapped `MAP_SHARED`.
//!
//! This is the only module (with [`crate::event`]) that touches raw memory. Everything the
//! peer can write is accessed through atomics (header fields) or through bounded raw copies
//! in and out of the data area; no Rust reference to shared bytes is ever handed out.

use crate::sync::{AtomicU32, AtomicU64};

#[cfg(not(loom))]
pub use real::RingRegion;

#[cfg(loom)]
pub use model::RingRegion;

/// Position of ring offset `offset` in a data area of `capacity` (a power of two) bytes, and
/// how many of `len` bytes fit before the end of the data area (the rest wraps to 0).
fn split(offset: u64, len: usize, capacity: u64) -> (usize, usize) {
    assert!(len as u64 <= capacity, "copy larger than the data area");
    // Truncation is fine: the masked value is < capacity <= MAX_CAPACITY, which fits usize.
    let pos = (offset & (capacity - 1)) as usize;
    let first = len.min(capacity as usize - pos);
    (pos, first)
}

#[cfg(not(loom))]
mod real {
    use super::*;
    use crate::error::{HeaderError, RingError};
    use crate::layout::{
        self, HEADER_SIZE, OFF_CLOSED, OFF_READ, OFF_READER_SLEEPING, OFF_WRITE, OFF_WRITER_WAITING,
    };
    use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
    use rustix::fs::{MemfdFlags, SealFlags};
    use rustix::mm::{MapFlags, ProtFlags};
    use std::ptr::NonNull;

    /// One mapping of a ring region (header + data area).
    ///
    /// Each side maps the region itself; the capacity is read from the header **once**, when
    /// mapping, validated against the (sealed) file size, and kept privately.
    #[derive(Debug)]
    pub struct RingRegion {
        base: NonNull<u8>,
        len: usize,
        capacity: u64,
        fd: OwnedFd,
    }

    // SAFETY: the mapping is plain shared memory. All access goes through atomics (header) or
    // raw copies whose races with the peer are part of the threat model (the data is copied to
    // private memory before it is interpreted); nothing is tied to the creating thread.
    unsafe impl Send for RingRegion {}
    // SAFETY: as above; `&RingRegion` only gives atomic access and bounded raw copies.
    unsafe impl Sync for RingRegion {}

    impl RingRegion {
        /// Creates a region with a data area of `capacity` bytes (a power of two in
        /// `[MIN_CAPACITY, MAX_CAPACITY]`): a memfd sealed against resizing, header written,
        /// offsets zero. Returns the mapping and a duplicate of the fd to hand to the peer.
        pub fn create(capacity: u64) -> Result<(Self, OwnedFd), RingError> {
            if !layout::valid_capacity(capacity) {
                return Err(RingError::InvalidConfig(
                    "capacity must be a power of two between 16 B and 1 GiB",
                ));
            }
            let fd = rustix::fs::memfd_create(
                "arcanum-ring",
                MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
            )
            .map_err(|e| RingError::os("memfd_create", e))?;
            rustix::fs::ftruncate(&fd, HEADER_SIZE as u64 + capacity)
                .map_err(|e| RingError::os("ftruncate", e))?;
            rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)
                .map_err(|e| RingError::os("fcntl(F_ADD_SEALS)", e))?;
            let region = Self::map_validated(fd, capacity)?;
            region
                .u64_at(layout::OFF_MAGIC)
                .store(layout::MAGIC, std::sync::atomic::Ordering::Relaxed);
            region
                .u32_at(layout::OFF_VERSION)
                .store(layout::VERSION, std::sync::atomic::Ordering::Relaxed);
            region
                .u64_at(layout::OFF_CAPACITY)
                .store(capacity, std::sync::atomic::Ordering::Release);
            let peer = region.try_clone_fd()?;
            Ok((region, peer))
        }

        /// Maps a region received from the peer, after checking that the memfd is sealed
        /// against shrinking (so the peer cannot make our accesses fault), that the header
        /// magic and version match, and that the capacity agrees with the file size.
        pub fn map(fd: OwnedFd) -> Result<Self, RingError> {
            let stat = rustix::fs::fstat(&fd).map_err(|e| RingError::os("fstat", e))?;
            let actual = u64::try_from(stat.st_size).unwrap_or(0);
            let seals = rustix::fs::fcntl_get_seals(&fd)
                .map_err(|_| RingError::BadHeader(HeaderError::NotSealed))?;
            if !seals.contains(SealFlags::SHRINK) {
                return Err(RingError::BadHeader(HeaderError::NotSealed));
            }
            // One snapshot of the fixed header fields, by copy (no double fetch).
            let mut head = [0u8; 24];
            let n = rustix::io::pread(&fd, &mut head, 0).map_err(|e| RingError::os("pread", e))?;
            if n != head.len() {
                return Err(RingError::BadHeader(HeaderError::SizeMismatch {
                    expected: HEADER_SIZE as u64,
                    actual,
                }));
            }
            let field = |at: usize, len: usize| -> [u8; 8] {
                let mut out = [0u8; 8];
                out[..len].copy_from_slice(&head[at..at + len]);
                out
            };
            if u64::from_le_bytes(field(layout::OFF_MAGIC, 8)) != layout::MAGIC {
                return Err(RingError::BadHeader(HeaderError::BadMagic));
            }
            let version = u64::from_le_bytes(field(layout::OFF_VERSION, 4)) as u32;
            if version != layout::VERSION {
                return Err(RingError::BadHeader(HeaderError::UnsupportedVersion(
                    version,
                )));
            }
            let capacity = u64::from_le_bytes(field(layout::OFF_CAPACITY, 8));
            if !layout::valid_capacity(capacity) {
                return Err(RingError::BadHeader(HeaderError::BadCapacity(capacity)));
            }
            let expected = HEADER_SIZE as u64 + capacity;
            if actual != expected {
                return Err(RingError::BadHeader(HeaderError::SizeMismatch {
                    expected,
                    actual,
                }));
            }
            Self::map_validated(fd, capacity)
        }

        /// Maps `fd`, whose size is known to be `HEADER_SIZE + capacity` and sealed.
        fn map_validated(fd: OwnedFd, capacity: u64) -> Result<Self, RingError> {
            let len = HEADER_SIZE + capacity as usize;
            // SAFETY: a fresh mapping at an address chosen by the kernel, so no existing Rust
            // object is aliased; the file is at least `len` bytes and sealed against shrinking,
            // so every byte of the mapping stays backed (no SIGBUS).
            let ptr = unsafe {
                rustix::mm::mmap(
                    std::ptr::null_mut(),
                    len,
                    ProtFlags::READ | ProtFlags::WRITE,
                    MapFlags::SHARED,
                    &fd,
                    0,
                )
            }
            .map_err(|e| RingError::os("mmap", e))?;
            let base = NonNull::new(ptr.cast::<u8>()).ok_or(RingError::Os {
                call: "mmap",
                errno: 0,
            })?;
            Ok(RingRegion {
                base,
                len,
                capacity,
                fd,
            })
        }

        /// Capacity of the data area in bytes (validated when mapping, never re-read).
        pub fn capacity(&self) -> u64 {
            self.capacity
        }

        /// The memfd of this region.
        pub fn fd(&self) -> BorrowedFd<'_> {
            self.fd.as_fd()
        }

        /// A duplicate (close-on-exec) of the memfd.
        pub fn try_clone_fd(&self) -> Result<OwnedFd, RingError> {
            self.fd.try_clone().map_err(|e| RingError::Os {
                call: "dup",
                errno: e.raw_os_error().unwrap_or(0),
            })
        }

        /// Writes raw bytes anywhere in the region, exactly as a (possibly hostile) peer
        /// process can. For tests and fuzzing of the hostile-peer checks; the ring protocols
        /// never use it.
        pub fn poke(&self, offset: usize, bytes: &[u8]) -> Result<(), RingError> {
            let end = offset
                .checked_add(bytes.len())
                .filter(|end| *end <= self.len)
                .ok_or(RingError::InvalidConfig("poke outside the region"))?;
            debug_assert!(end <= self.len);
            for (i, b) in bytes.iter().enumerate() {
                // SAFETY: offset + i < end <= len, inside the mapping; a volatile byte store
                // races only with the peer, which the protocol tolerates.
                unsafe { self.base.as_ptr().add(offset + i).write_volatile(*b) };
            }
            Ok(())
        }

        /// Reads raw bytes anywhere in the region (the counterpart of [`Self::poke`]).
        pub fn peek(&self, offset: usize, out: &mut [u8]) -> Result<(), RingError> {
            offset
                .checked_add(out.len())
                .filter(|end| *end <= self.len)
                .ok_or(RingError::InvalidConfig("peek outside the region"))?;
            for (i, b) in out.iter_mut().enumerate() {
                // SAFETY: offset + i < offset + out.len() <= len, inside the mapping.
                *b = unsafe { self.base.as_ptr().add(offset + i).read_volatile() };
            }
            Ok(())
        }

        fn u64_at(&self, off: usize) -> &AtomicU64 {
            debug_assert!(off.is_multiple_of(8) && off + 8 <= HEADER_SIZE);
            // SAFETY: `off` is one of the layout constants: 8-aligned (the mapping is page
            // aligned) and inside the header. The mapping lives as long as `&self`, and the
            // memory is only ever accessed atomically at this offset.
            unsafe { AtomicU64::from_ptr(self.base.as_ptr().add(off).cast()) }
        }

        fn u32_at(&self, off: usize) -> &AtomicU32 {
            debug_assert!(off.is_multiple_of(4) && off + 4 <= HEADER_SIZE);
            // SAFETY: as in `u64_at`, with 4-byte alignment.
            unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(off).cast()) }
        }

        fn data(&self) -> *mut u8 {
            // SAFETY: HEADER_SIZE < len, so the result stays inside the mapping.
            unsafe { self.base.as_ptr().add(HEADER_SIZE) }
        }

        /// Copies `src` into the data area at ring offset `offset`, wrapping at the end.
        pub(crate) fn copy_in(&self, offset: u64, src: &[u8]) {
            let (pos, first) = split(offset, src.len(), self.capacity);
            // SAFETY: pos + first <= capacity and src.len() - first <= capacity (checked in
            // `split`), so both copies stay inside the data area; `src` is private memory
            // and cannot overlap the mapping.
            unsafe {
                std::ptr::copy_nonoverlapping(src.as_ptr(), self.data().add(pos), first);
                std::ptr::copy_nonoverlapping(
                    src.as_ptr().add(first),
                    self.data(),
                    src.len() - first,
                );
            }
        }

        /// Copies bytes at ring offset `offset` out of the data area into private `dst`.
        ///
        /// # Safety
        /// `dst` must be valid for `len` writes and must not overlap the mapping.
        pub(crate) unsafe fn copy_out_raw(&self, offset: u64, dst: *mut u8, len: usize) {
            let (pos, first) = split(offset, len, self.capacity);
            // SAFETY: both source ranges stay inside the data area (see `split`); the caller
            // guarantees `dst` is valid for `len` bytes and private.
            unsafe {
                std::ptr::copy_nonoverlapping(self.data().add(pos), dst, first);
                std::ptr::copy_nonoverlapping(self.data(), dst.add(first), len - first);
            }
        }

        /// Copies a small field (the length prefix) out with volatile reads, so the compiler
        /// cannot turn later uses of the private copy into fresh loads from shared memory.
        pub(crate) fn copy_out_volatile(&self, offset: u64, dst: &mut [u8]) {
            let (pos, first) = split(offset, dst.len(), self.capacity);
            for (i, b) in dst.iter_mut().enumerate() {
                let at = if i < first { pos + i } else { i - first };
                // SAFETY: `at` < capacity by construction of `split`.
                *b = unsafe { self.data().add(at).read_volatile() };
            }
        }

        pub(crate) fn write_off(&self) -> &AtomicU64 {
            self.u64_at(OFF_WRITE)
        }
        pub(crate) fn read_off(&self) -> &AtomicU64 {
            self.u64_at(OFF_READ)
        }
        pub(crate) fn reader_sleeping(&self) -> &AtomicU32 {
            self.u32_at(OFF_READER_SLEEPING)
        }
        pub(crate) fn writer_waiting(&self) -> &AtomicU32 {
            self.u32_at(OFF_WRITER_WAITING)
        }
        pub(crate) fn closed(&self) -> &AtomicU32 {
            self.u32_at(OFF_CLOSED)
        }
    }

    impl Drop for RingRegion {
        fn drop(&mut self) {
            // SAFETY: `base`/`len` describe a mapping created by `map_validated` and owned by
            // this value; no reference into it outlives `&self` borrows.
            let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast(), self.len) };
        }
    }
}

#[cfg(loom)]
mod model {
    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;

    struct Shared {
        write: AtomicU64,
        read: AtomicU64,
        reader_sleeping: AtomicU32,
        writer_waiting: AtomicU32,
        closed: AtomicU32,
        data: Box<[UnsafeCell<u8>]>,
        capacity: u64,
    }

    // SAFETY: the model stands for memory shared between processes; every access to the
    // cells goes through loom, which reports unsynchronised ones, and the rest are atomics.
    unsafe impl Send for Shared {}
    // SAFETY: as above.
    unsafe impl Sync for Shared {}

    /// Loom model of a region: the same fields, as loom atomics, and a data area of loom
    /// cells so that unsynchronised byte accesses are reported as races.
    #[derive(Clone)]
    pub struct RingRegion {
        shared: Arc<Shared>,
    }

    impl std::fmt::Debug for RingRegion {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("RingRegion(model)")
        }
    }

    impl RingRegion {
        /// A model region with a data area of `capacity` bytes (a power of two).
        pub fn new_model(capacity: u64) -> Self {
            assert!(capacity.is_power_of_two());
            RingRegion {
                shared: Arc::new(Shared {
                    write: AtomicU64::new(0),
                    read: AtomicU64::new(0),
                    reader_sleeping: AtomicU32::new(0),
                    writer_waiting: AtomicU32::new(0),
                    closed: AtomicU32::new(0),
                    data: (0..capacity).map(|_| UnsafeCell::new(0)).collect(),
                    capacity,
                }),
            }
        }

        /// Capacity of the data area.
        pub fn capacity(&self) -> u64 {
            self.shared.capacity
        }

        fn cell(&self, at: usize) -> &UnsafeCell<u8> {
            &self.shared.data[at]
        }

        pub(crate) fn copy_in(&self, offset: u64, src: &[u8]) {
            let (pos, first) = split(offset, src.len(), self.shared.capacity);
            for (i, b) in src.iter().enumerate() {
                let at = if i < first { pos + i } else { i - first };
                // SAFETY: loom checks that no other access to this cell is concurrent.
                self.cell(at).with_mut(|p| unsafe { *p = *b });
            }
        }

        /// # Safety
        /// `dst` must be valid for `len` writes.
        pub(crate) unsafe fn copy_out_raw(&self, offset: u64, dst: *mut u8, len: usize) {
            let (pos, first) = split(offset, len, self.shared.capacity);
            for i in 0..len {
                let at = if i < first { pos + i } else { i - first };
                // SAFETY: loom checks the cell access; the caller guarantees `dst` is valid.
                let b = self.cell(at).with(|p| unsafe { *p });
                // SAFETY: i < len, inside the caller's buffer.
                unsafe { dst.add(i).write(b) };
            }
        }

        pub(crate) fn copy_out_volatile(&self, offset: u64, dst: &mut [u8]) {
            // SAFETY: `dst` is a valid slice of its own length.
            unsafe { self.copy_out_raw(offset, dst.as_mut_ptr(), dst.len()) }
        }

        pub(crate) fn write_off(&self) -> &AtomicU64 {
            &self.shared.write
        }
        pub(crate) fn read_off(&self) -> &AtomicU64 {
            &self.shared.read
        }
        pub(crate) fn reader_sleeping(&self) -> &AtomicU32 {
            &self.shared.reader_sleeping
        }
        pub(crate) fn writer_waiting(&self) -> &AtomicU32 {
            &self.shared.writer_waiting
        }
        pub(crate) fn closed(&self) -> &AtomicU32 {
            &self.shared.closed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn split_wraps_at_the_end() {
        assert_eq!(split(0, 4, 16), (0, 4));
        assert_eq!(split(14, 4, 16), (14, 2));
        assert_eq!(split(16 + 15, 1, 16), (15, 1));
        assert_eq!(split(u64::MAX, 16, 16), (15, 1));
        assert_eq!(split(7, 0, 16), (7, 0));
    }

    #[test]
    #[should_panic(expected = "copy larger than the data area")]
    fn split_refuses_oversized_copies() {
        let _ = split(0, 17, 16);
    }
}

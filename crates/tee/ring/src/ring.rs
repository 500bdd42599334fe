//! The ring protocol: multi-writer publish under a lock, single reader, sleep/wake-up.
//!
//! Ordering summary (see `docs/design/ring-buffer.md` for the full argument):
//! * The writer copies the frame into the data area, then publishes the new write offset with
//!   an acquire-release `swap`; the reader loads the write offset with `Acquire` before copying
//!   the bytes out. So the bytes of every published frame are visible to the reader.
//! * The reader copies a frame out, then publishes the new read offset with `swap`; the writer
//!   loads the read offset with `Acquire` before reusing that space.
//! * Sleeping uses flag-then-recheck with read-modify-write operations on both sides (a Dekker
//!   pattern that does not depend on `SeqCst` fences), so a wake-up cannot be lost.

use crate::error::{CorruptReason, OffsetKind, RingError};
use crate::event::Event;
use crate::layout::{self, FRAME_PREFIX, READER_CLOSED, WRITER_CLOSED};
use crate::region::RingRegion;
use crate::sync::{self, Mutex};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Local (never shared) settings of one side of a ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingOptions {
    /// Largest payload accepted, in bytes. `None`: `capacity - 4` (the whole ring). Must be at
    /// most `capacity - 4`. The reader enforces its own value on whatever the peer announces.
    pub max_frame: Option<u32>,
    /// Iterations of a bounded busy-poll before a blocking call goes to sleep on the eventfd.
    /// Keeps a busy pipe syscall-free while an idle one costs no CPU.
    pub spin: u32,
}

impl Default for RingOptions {
    fn default() -> Self {
        RingOptions {
            max_frame: None,
            spin: 4096,
        }
    }
}

impl RingOptions {
    fn max_frame_for(&self, capacity: u64) -> Result<u32, RingError> {
        let limit = layout::max_payload(capacity);
        match self.max_frame {
            None => Ok(limit),
            Some(m) if m <= limit => Ok(m),
            Some(_) => Err(RingError::InvalidConfig(
                "max_frame must be at most capacity - 4",
            )),
        }
    }
}

/// The three fds of one ring: the sealed memfd, the "data" eventfd (wakes the reader) and the
/// "space" eventfd (wakes a writer waiting for room).
#[cfg(not(loom))]
#[derive(Debug)]
pub struct RingFds {
    /// The memfd holding header and data area.
    pub mem: rustix::fd::OwnedFd,
    /// Signalled by the writer when the reader sleeps and a frame was published.
    pub data_event: rustix::fd::OwnedFd,
    /// Signalled by the reader when a writer waits and space was freed.
    pub space_event: rustix::fd::OwnedFd,
}

fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// Time left until `deadline` (`Ok(None)`: no deadline), or `Timeout` once it passed.
fn remaining(deadline: Option<Instant>) -> Result<Option<Duration>, RingError> {
    match deadline {
        None => Ok(None),
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                Err(RingError::Timeout)
            } else {
                Ok(Some(left))
            }
        }
    }
}

/// Validates the initial offsets found in a region we attach to.
fn initial_offsets(region: &RingRegion) -> Result<(u64, u64), RingError> {
    let write = region.write_off().load(Ordering::Acquire);
    let read = region.read_off().load(Ordering::Acquire);
    if read > write || write - read > region.capacity() {
        return Err(RingError::BadHeader(
            crate::error::HeaderError::BadInitialOffsets { read, write },
        ));
    }
    Ok((read, write))
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

struct WriterState {
    /// Our write offset: the only value we trust; the shared copy is checked against it.
    write_pos: u64,
    /// Largest read offset seen (the peer's offset must never go below it).
    last_read: u64,
    /// First hostile error seen; returned by every later call.
    poisoned: Option<RingError>,
    /// `close()` was called.
    closed: bool,
}

struct WriterShared {
    region: RingRegion,
    /// Signalled to wake the reader.
    data_event: Event,
    /// Waited on while the ring is full.
    space_event: Event,
    /// The TEE-side writer lock of T1.
    state: Mutex<WriterState>,
    /// Serialises writers that sleep for space, so one "writer waiting" flag suffices.
    waiter: Mutex<()>,
    capacity: u64,
    max_frame: u32,
    spin: u32,
    /// Set when the fds were handed on: dropping must not close the ring.
    detached: AtomicBool,
}

/// The writing side of one ring. Cheap to clone; clones share one lock, so any number of
/// threads may send concurrently (frames never interleave). The ring is closed for the
/// reader when the last clone is dropped or [`Writer::close`] is called.
#[derive(Clone)]
pub struct Writer {
    shared: Arc<WriterShared>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("capacity", &self.shared.capacity)
            .field("max_frame", &self.shared.max_frame)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Attaches a writer to `region`. `data_event` wakes the reader, `space_event` is where
    /// the writer sleeps when the ring is full. The initial offsets are taken from the
    /// header after checking `read <= write <= read + capacity`.
    pub fn new(
        region: RingRegion,
        data_event: Event,
        space_event: Event,
        options: &RingOptions,
    ) -> Result<Self, RingError> {
        let capacity = region.capacity();
        let max_frame = options.max_frame_for(capacity)?;
        let (read, write) = initial_offsets(&region)?;
        Ok(Writer {
            shared: Arc::new(WriterShared {
                region,
                data_event,
                space_event,
                state: Mutex::new(WriterState {
                    write_pos: write,
                    last_read: read,
                    poisoned: None,
                    closed: false,
                }),
                waiter: Mutex::new(()),
                capacity,
                max_frame,
                spin: options.spin,
                detached: AtomicBool::new(false),
            }),
        })
    }

    /// Capacity of the data area.
    pub fn capacity(&self) -> u64 {
        self.shared.capacity
    }

    /// Largest payload this writer sends.
    pub fn max_frame(&self) -> u32 {
        self.shared.max_frame
    }

    /// Sends one frame if it fits now; `Err(Full)` otherwise. Never sleeps (it may wait
    /// briefly for the writer lock held by another thread that is copying a frame).
    pub fn try_send(&self, payload: &[u8]) -> Result<(), RingError> {
        let s = &*self.shared;
        let len = payload.len() as u64;
        let mut st = s.state.lock();
        if let Some(e) = &st.poisoned {
            return Err(e.clone());
        }
        if len > u64::from(s.max_frame) {
            return Err(RingError::FrameTooLarge {
                len,
                max: s.max_frame,
            });
        }
        if st.closed || s.region.closed().load(Ordering::Acquire) & READER_CLOSED != 0 {
            return Err(RingError::Closed);
        }
        match s.write_locked(&mut st, payload) {
            Err(e) if e.is_hostile() => {
                st.poisoned = Some(e.clone());
                Err(e)
            }
            other => other,
        }
    }

    /// Sends one frame, sleeping while the ring is full, for at most `timeout` (`None`: no
    /// limit).
    pub fn send(&self, payload: &[u8], timeout: Option<Duration>) -> Result<(), RingError> {
        let deadline = deadline_after(timeout);
        loop {
            match self.try_send(payload) {
                Err(RingError::Full { needed, .. }) => self.wait_for_space(needed, deadline)?,
                other => return other,
            }
        }
    }

    /// Closes the ring for the reader: it gets [`RingError::Closed`] once it has read every
    /// frame sent before. Later sends fail with `Closed`.
    pub fn close(&self) {
        self.shared.state.lock().closed = true;
        self.shared.close();
    }

    /// Hands the ring's fds on (to pass them to another process) without closing the ring.
    /// Fails if other clones of this writer are alive.
    #[cfg(not(loom))]
    pub fn into_fds(self) -> Result<RingFds, RingError> {
        let shared = Arc::try_unwrap(self.shared)
            .map_err(|_| RingError::InvalidConfig("writer has live clones"))?;
        shared.detached.store(true, Ordering::Relaxed);
        Ok(RingFds {
            mem: shared.region.try_clone_fd()?,
            data_event: shared.data_event.try_clone()?.into_fd(),
            space_event: shared.space_event.try_clone()?.into_fd(),
        })
    }

    /// Attaches a writer to a ring received as fds (maps and validates the region).
    #[cfg(not(loom))]
    pub fn from_fds(fds: RingFds, options: &RingOptions) -> Result<Self, RingError> {
        Writer::new(
            RingRegion::map(fds.mem)?,
            Event::from_fd(fds.data_event)?,
            Event::from_fd(fds.space_event)?,
            options,
        )
    }

    /// Waits until the reader freed space (or closed, or the shared state went bad, which
    /// the next `try_send` reports precisely).
    fn wait_for_space(&self, needed: u64, deadline: Option<Instant>) -> Result<(), RingError> {
        let s = &*self.shared;
        let region = &s.region;
        // Bounded spin: any progress of the reader ends it.
        let seen = region.read_off().load(Ordering::Relaxed);
        for i in 0..s.spin {
            sync::spin_loop_or_yield(i);
            if region.read_off().load(Ordering::Relaxed) != seen {
                return Ok(());
            }
        }
        let _turn = s.waiter.lock_until(deadline).ok_or(RingError::Timeout)?;
        loop {
            // Announce, then re-check with a read-modify-write (pairs with the reader's
            // publishing `swap` of the read offset; see the module docs).
            region.writer_waiting().swap(1, Ordering::AcqRel);
            let read = region.read_off().fetch_add(0, Ordering::AcqRel);
            let write = s.state.lock().write_pos;
            let closed = region.closed().load(Ordering::Acquire) & READER_CLOSED != 0;
            let used = write.wrapping_sub(read);
            let insane = read > write || used > s.capacity;
            if closed || insane || s.capacity - used >= needed {
                region.writer_waiting().store(0, Ordering::Relaxed);
                return Ok(());
            }
            let left = match remaining(deadline) {
                Ok(left) => left,
                Err(e) => {
                    region.writer_waiting().store(0, Ordering::Relaxed);
                    return Err(e);
                }
            };
            s.space_event.wait(left)?;
        }
    }
}

impl WriterShared {
    /// T1 write under the writer lock: read both offsets once, check space, copy (wrapping),
    /// publish, wake the reader if it sleeps.
    fn write_locked(&self, st: &mut WriterState, payload: &[u8]) -> Result<(), RingError> {
        let region = &self.region;
        let cap = self.capacity;
        let own = st.write_pos;

        // 1. Read both offsets, each exactly once.
        let shared_write = region.write_off().load(Ordering::Relaxed);
        let read = region.read_off().load(Ordering::Acquire);

        // 2. Validate: our own offset must be untouched; the peer's offset must be monotonic
        //    and within [own - capacity, own].
        if shared_write != own {
            return Err(RingError::OffsetTampered {
                which: OffsetKind::Write,
                expected: own,
                found: shared_write,
            });
        }
        if read < st.last_read {
            return Err(RingError::OffsetWentBackwards {
                which: OffsetKind::Read,
                previous: st.last_read,
                found: read,
            });
        }
        if read > own || own - read > cap {
            return Err(RingError::OffsetOutOfRange {
                which: OffsetKind::Read,
                found: read,
                own,
                capacity: cap,
            });
        }
        st.last_read = read;

        // 3. Does the frame fit?
        let free = cap - (own - read);
        let needed = FRAME_PREFIX + payload.len() as u64;
        if needed > free {
            return Err(RingError::Full { needed, free });
        }
        let end = own.checked_add(needed).ok_or(RingError::OffsetOutOfRange {
            which: OffsetKind::Write,
            found: own,
            own,
            capacity: cap,
        })?;

        // 4. Copy prefix and payload at the write offset, wrapping at the end.
        let len = u32::try_from(payload.len()).map_err(|_| RingError::FrameTooLarge {
            len: payload.len() as u64,
            max: self.max_frame,
        })?;
        region.copy_in(own, &len.to_le_bytes());
        region.copy_in(own + FRAME_PREFIX, payload);

        // 5. Publish (release: the bytes above become visible with the offset).
        let previous = region.write_off().swap(end, Ordering::AcqRel);
        st.write_pos = end;

        // 6. Wake the reader only if it announced that it sleeps.
        self.wake_reader()?;

        if previous != own {
            return Err(RingError::OffsetTampered {
                which: OffsetKind::Write,
                expected: own,
                found: previous,
            });
        }
        Ok(())
    }

    fn wake_reader(&self) -> Result<(), RingError> {
        let flag = self.region.reader_sleeping();
        if flag.load(Ordering::Relaxed) != 0 && flag.swap(0, Ordering::AcqRel) != 0 {
            self.data_event.notify()?;
        }
        Ok(())
    }

    fn close(&self) {
        self.region
            .closed()
            .fetch_or(WRITER_CLOSED, Ordering::AcqRel);
        let _ = self.data_event.notify();
    }
}

impl Drop for WriterShared {
    fn drop(&mut self) {
        if !self.detached.load(Ordering::Relaxed) {
            self.close();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

/// The reading side of one ring (exactly one per ring). Every frame is copied into private
/// memory before its length is checked or its bytes are handed out.
pub struct Reader {
    region: RingRegion,
    /// Waited on while the ring is empty.
    data_event: Event,
    /// Signalled to wake a writer waiting for space.
    space_event: Event,
    capacity: u64,
    /// Our read offset: the only value we trust.
    read_pos: u64,
    /// Largest write offset seen (the peer's offset must never go below it).
    last_write: u64,
    max_frame: u32,
    spin: u32,
    poisoned: Option<RingError>,
    closed: bool,
    detached: bool,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("capacity", &self.capacity)
            .field("read_pos", &self.read_pos)
            .field("max_frame", &self.max_frame)
            .finish_non_exhaustive()
    }
}

impl Reader {
    /// Attaches the reader to `region`. `data_event` is where it sleeps while the ring is
    /// empty; `space_event` wakes a writer waiting for space.
    pub fn new(
        region: RingRegion,
        data_event: Event,
        space_event: Event,
        options: &RingOptions,
    ) -> Result<Self, RingError> {
        let capacity = region.capacity();
        let max_frame = options.max_frame_for(capacity)?;
        let (read, write) = initial_offsets(&region)?;
        Ok(Reader {
            region,
            data_event,
            space_event,
            capacity,
            read_pos: read,
            last_write: write,
            max_frame,
            spin: options.spin,
            poisoned: None,
            closed: false,
            detached: false,
            scratch: Vec::new(),
        })
    }

    /// Capacity of the data area.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Largest payload this reader accepts.
    pub fn max_frame(&self) -> u32 {
        self.max_frame
    }

    /// Receives one frame if one is published; `Err(Empty)` otherwise, `Err(Closed)` once
    /// the writer closed and everything was read.
    pub fn try_recv(&mut self) -> Result<Vec<u8>, RingError> {
        let mut buf = Vec::new();
        self.try_recv_into(&mut buf)?;
        Ok(buf)
    }

    /// Like [`Self::try_recv`], into `buf` (cleared first; its allocation is reused).
    /// Returns the payload length.
    pub fn try_recv_into(&mut self, buf: &mut Vec<u8>) -> Result<usize, RingError> {
        if let Some(e) = &self.poisoned {
            return Err(e.clone());
        }
        if self.closed {
            return Err(RingError::Closed);
        }
        match self.read_frame(buf) {
            Err(e) if e.is_hostile() || matches!(e, RingError::FrameTooLarge { .. }) => {
                self.poisoned = Some(e.clone());
                Err(e)
            }
            other => other,
        }
    }

    /// Receives one frame, sleeping while the ring is empty, for at most `timeout` (`None`:
    /// no limit).
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Vec<u8>, RingError> {
        let mut buf = Vec::new();
        self.recv_into(&mut buf, timeout)?;
        Ok(buf)
    }

    /// Like [`Self::recv`], into `buf` (cleared first; its allocation is reused).
    pub fn recv_into(
        &mut self,
        buf: &mut Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<usize, RingError> {
        let deadline = deadline_after(timeout);
        loop {
            match self.try_recv_into(buf) {
                Err(RingError::Empty) => {}
                other => return other,
            }
            remaining(deadline)?;
            self.wait_for_data(deadline)?;
        }
    }

    /// Receives one frame and passes it to `f`, without allocating: the frame is copied into
    /// a buffer owned by the reader (never a view of shared memory, which the peer could
    /// change while `f` looks at it).
    pub fn recv_with<R>(
        &mut self,
        timeout: Option<Duration>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, RingError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = self.recv_into(&mut scratch, timeout).map(|_| f(&scratch));
        self.scratch = scratch;
        result
    }

    /// Closes the ring for the writer (its sends fail with `Closed`).
    pub fn close(&mut self) {
        self.closed = true;
        self.mark_closed();
    }

    /// Hands the ring's fds on (to pass them to another process) without closing the ring.
    #[cfg(not(loom))]
    pub fn into_fds(mut self) -> Result<RingFds, RingError> {
        self.detached = true;
        Ok(RingFds {
            mem: self.region.try_clone_fd()?,
            data_event: self.data_event.try_clone()?.into_fd(),
            space_event: self.space_event.try_clone()?.into_fd(),
        })
    }

    /// Attaches the reader to a ring received as fds (maps and validates the region).
    #[cfg(not(loom))]
    pub fn from_fds(fds: RingFds, options: &RingOptions) -> Result<Self, RingError> {
        Reader::new(
            RingRegion::map(fds.mem)?,
            Event::from_fd(fds.data_event)?,
            Event::from_fd(fds.space_event)?,
            options,
        )
    }

    fn mark_closed(&self) {
        self.region
            .closed()
            .fetch_or(READER_CLOSED, Ordering::AcqRel);
        let _ = self.space_event.notify();
    }

    /// Sleeps until the write offset moves, the writer closes, or the deadline passes.
    fn wait_for_data(&mut self, deadline: Option<Instant>) -> Result<(), RingError> {
        let region = &self.region;
        for i in 0..self.spin {
            sync::spin_loop_or_yield(i);
            if region.write_off().load(Ordering::Relaxed) != self.read_pos {
                return Ok(());
            }
        }
        // Announce, then re-check with a read-modify-write (pairs with the writer's
        // publishing `swap` of the write offset; see the module docs).
        region.reader_sleeping().swap(1, Ordering::AcqRel);
        let write = region.write_off().fetch_add(0, Ordering::AcqRel);
        let closed = region.closed().load(Ordering::Acquire) & WRITER_CLOSED != 0;
        if write != self.read_pos || closed {
            region.reader_sleeping().store(0, Ordering::Relaxed);
            return Ok(());
        }
        let left = match remaining(deadline) {
            Ok(left) => left,
            Err(e) => {
                region.reader_sleeping().store(0, Ordering::Relaxed);
                return Err(e);
            }
        };
        let waited = self.data_event.wait(left);
        region.reader_sleeping().store(0, Ordering::Relaxed);
        waited
    }

    /// Reads one frame: load the write offset once, validate it, copy the prefix into
    /// private memory, validate the length from that copy, copy the payload, publish.
    fn read_frame(&mut self, buf: &mut Vec<u8>) -> Result<usize, RingError> {
        let region = &self.region;
        let cap = self.capacity;
        let own = self.read_pos;

        // Closed is loaded before the write offset: a writer closes after its last publish,
        // so if we see "closed" we also see every frame.
        let writer_closed = region.closed().load(Ordering::Acquire) & WRITER_CLOSED != 0;
        let write = region.write_off().load(Ordering::Acquire);
        if write < self.last_write {
            return Err(RingError::OffsetWentBackwards {
                which: OffsetKind::Write,
                previous: self.last_write,
                found: write,
            });
        }
        if write - own > cap {
            return Err(RingError::OffsetOutOfRange {
                which: OffsetKind::Write,
                found: write,
                own,
                capacity: cap,
            });
        }
        self.last_write = write;
        let available = write - own;
        if available == 0 {
            return Err(if writer_closed {
                RingError::Closed
            } else {
                RingError::Empty
            });
        }
        if available < FRAME_PREFIX {
            return Err(RingError::Corrupt(CorruptReason::TruncatedPrefix {
                available,
            }));
        }

        // Copy the prefix out once; validate only the private copy.
        let mut prefix = [0u8; FRAME_PREFIX as usize];
        region.copy_out_volatile(own, &mut prefix);
        let len = u64::from(u32::from_le_bytes(prefix));
        if len > u64::from(self.max_frame) {
            return Err(RingError::FrameTooLarge {
                len,
                max: self.max_frame,
            });
        }
        if len > available - FRAME_PREFIX {
            return Err(RingError::Corrupt(CorruptReason::TruncatedPayload {
                len,
                available: available - FRAME_PREFIX,
            }));
        }

        // Copy the payload into private memory.
        let n = len as usize; // len <= max_frame <= u32::MAX
        buf.clear();
        buf.reserve(n);
        // SAFETY: `buf` has capacity for `n` bytes after `reserve`, its spare capacity is
        // private heap memory that cannot overlap the mapping; `n` <= available <= capacity.
        unsafe {
            region.copy_out_raw(own + FRAME_PREFIX, buf.as_mut_ptr(), n);
            // SAFETY: the `n` bytes were just initialised by the copy.
            buf.set_len(n);
        }

        // Publish the new read offset (release: our copies are done before the writer may
        // reuse the space), then wake a waiting writer.
        let end = own + FRAME_PREFIX + len;
        self.read_pos = end;
        let previous = region.read_off().swap(end, Ordering::AcqRel);
        let flag = region.writer_waiting();
        if flag.load(Ordering::Relaxed) != 0 && flag.swap(0, Ordering::AcqRel) != 0 {
            self.space_event.notify()?;
        }
        if previous != own {
            return Err(RingError::OffsetTampered {
                which: OffsetKind::Read,
                expected: own,
                found: previous,
            });
        }
        Ok(n)
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if !self.detached {
            self.mark_closed();
        }
    }
}

/// Builds a writer and a reader over a fresh loom model region (loom builds only).
#[cfg(loom)]
pub fn model_channel(capacity: u64, options: &RingOptions) -> Result<(Writer, Reader), RingError> {
    let region = RingRegion::new_model(capacity);
    let data = Event::new_model();
    let space = Event::new_model();
    let writer = Writer::new(region.clone(), data.clone(), space.clone(), options)?;
    let reader = Reader::new(region, data, space, options)?;
    Ok((writer, reader))
}

/// Builds a writer and a reader for one ring in this process. The two sides map the memfd
/// separately, exactly as two processes would.
#[cfg(not(loom))]
pub fn channel(capacity: u64, options: &RingOptions) -> Result<(Writer, Reader), RingError> {
    let (writer_region, peer_fd) = RingRegion::create(capacity)?;
    let reader_region = RingRegion::map(peer_fd)?;
    let data = Event::new()?;
    let space = Event::new()?;
    let writer = Writer::new(
        writer_region,
        data.try_clone()?,
        space.try_clone()?,
        options,
    )?;
    let reader = Reader::new(reader_region, data, space, options)?;
    Ok((writer, reader))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn opts() -> RingOptions {
        RingOptions {
            max_frame: None,
            spin: 16,
        }
    }

    #[test]
    fn frames_round_trip_in_order() {
        let (w, mut r) = channel(64, &opts()).expect("channel");
        assert_eq!(r.try_recv(), Err(RingError::Empty));
        w.try_send(b"hello").expect("send");
        w.try_send(b"").expect("send empty");
        w.try_send(b"world!").expect("send");
        assert_eq!(r.try_recv().expect("recv"), b"hello");
        assert_eq!(r.try_recv().expect("recv"), b"");
        assert_eq!(r.try_recv().expect("recv"), b"world!");
        assert_eq!(r.try_recv(), Err(RingError::Empty));
    }

    #[test]
    fn full_ring_reports_needed_and_free() {
        let (w, mut r) = channel(16, &opts()).expect("channel");
        w.try_send(&[1; 8]).expect("12 of 16 bytes");
        assert_eq!(
            w.try_send(&[2; 1]),
            Err(RingError::Full { needed: 5, free: 4 })
        );
        w.try_send(&[]).expect("a 4-byte empty frame fits exactly");
        assert_eq!(r.try_recv().expect("recv"), vec![1; 8]);
        assert_eq!(r.try_recv().expect("recv"), Vec::<u8>::new());
        // Offsets 16..26 and 26..30 fill positions 0..14 of the second lap.
        w.try_send(&[3; 6]).expect("frame");
        w.try_send(&[]).expect("frame");
        assert_eq!(r.try_recv().expect("recv"), vec![3; 6]);
        // Offsets 30..40: the length prefix straddles the end (positions 14, 15 | 0, 1).
        w.try_send(&[4, 5, 6, 7, 8, 9]).expect("straddling prefix");
        assert_eq!(r.try_recv().expect("recv"), Vec::<u8>::new());
        assert_eq!(r.try_recv().expect("recv"), vec![4, 5, 6, 7, 8, 9]);
        assert_eq!(r.try_recv(), Err(RingError::Empty));
    }

    #[test]
    fn max_frame_is_enforced_and_validated() {
        let (w, _r) = channel(
            64,
            &RingOptions {
                max_frame: Some(8),
                spin: 0,
            },
        )
        .expect("channel");
        assert_eq!(
            w.try_send(&[0; 9]),
            Err(RingError::FrameTooLarge { len: 9, max: 8 })
        );
        w.try_send(&[0; 8]).expect("at the limit");
        assert!(matches!(
            channel(
                64,
                &RingOptions {
                    max_frame: Some(61),
                    spin: 0
                }
            ),
            Err(RingError::InvalidConfig(_))
        ));
    }

    #[test]
    fn close_is_seen_after_the_last_frame() {
        let (w, mut r) = channel(64, &opts()).expect("channel");
        w.try_send(b"last").expect("send");
        drop(w);
        assert_eq!(r.recv(Some(Duration::from_secs(5))).expect("recv"), b"last");
        assert_eq!(r.recv(Some(Duration::from_secs(5))), Err(RingError::Closed));
    }

    #[test]
    fn writer_sees_reader_close() {
        let (w, r) = channel(64, &opts()).expect("channel");
        drop(r);
        assert_eq!(w.try_send(b"x"), Err(RingError::Closed));
        assert_eq!(w.send(b"x", None), Err(RingError::Closed));
    }

    #[test]
    fn recv_times_out_when_idle() {
        let (_w, mut r) = channel(64, &opts()).expect("channel");
        assert_eq!(
            r.recv(Some(Duration::from_millis(1))),
            Err(RingError::Timeout)
        );
        assert_eq!(
            r.recv_with(Some(Duration::ZERO), |b| b.len()),
            Err(RingError::Timeout)
        );
    }

    #[test]
    fn send_times_out_when_full() {
        let (w, _r) = channel(16, &opts()).expect("channel");
        w.try_send(&[0; 12]).expect("fill");
        assert_eq!(
            w.send(&[0; 1], Some(Duration::from_millis(1))),
            Err(RingError::Timeout)
        );
    }
}

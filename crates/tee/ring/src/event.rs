//! Wake-up events: an `eventfd` shared by the two sides of one ring direction.
//!
//! An event is a counter: `notify` adds one, `wait` sleeps until it is non-zero (or the timeout
//! passes) and resets it. Spurious wake-ups are allowed; callers always re-check the ring.

use crate::error::RingError;
use std::time::Duration;

#[cfg(not(loom))]
pub use real::Event;

#[cfg(loom)]
pub use model::Event;

#[cfg(not(loom))]
mod real {
    use super::*;
    use rustix::event::{EventfdFlags, PollFd, PollFlags};
    use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
    use rustix::fs::OFlags;
    use rustix::io::Errno;

    /// A wake-up event backed by a non-blocking `eventfd`.
    #[derive(Debug)]
    pub struct Event {
        fd: OwnedFd,
    }

    impl Event {
        /// A new eventfd (close-on-exec, non-blocking, counter 0).
        pub fn new() -> Result<Self, RingError> {
            let fd = rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
                .map_err(|e| RingError::os("eventfd", e))?;
            Ok(Event { fd })
        }

        /// Wraps an eventfd received from the peer, switching it to non-blocking mode.
        pub fn from_fd(fd: OwnedFd) -> Result<Self, RingError> {
            let flags = rustix::fs::fcntl_getfl(&fd).map_err(|e| RingError::os("fcntl", e))?;
            rustix::fs::fcntl_setfl(&fd, flags | OFlags::NONBLOCK)
                .map_err(|e| RingError::os("fcntl", e))?;
            Ok(Event { fd })
        }

        /// The eventfd.
        pub fn fd(&self) -> BorrowedFd<'_> {
            self.fd.as_fd()
        }

        /// A second handle on the same eventfd (a `dup`, close-on-exec).
        pub fn try_clone(&self) -> Result<Self, RingError> {
            let fd = self.fd.try_clone().map_err(|e| RingError::Os {
                call: "dup",
                errno: e.raw_os_error().unwrap_or(0),
            })?;
            Ok(Event { fd })
        }

        /// Gives the fd back.
        pub fn into_fd(self) -> OwnedFd {
            self.fd
        }

        /// Adds one to the counter, waking a waiter.
        pub(crate) fn notify(&self) -> Result<(), RingError> {
            loop {
                match rustix::io::write(&self.fd, &1u64.to_ne_bytes()) {
                    // EAGAIN: the counter is saturated, so a wake-up is pending anyway.
                    Ok(_) | Err(Errno::AGAIN) => return Ok(()),
                    Err(Errno::INTR) => continue,
                    Err(e) => return Err(RingError::os("write(eventfd)", e)),
                }
            }
        }

        /// Sleeps until the counter is non-zero or `timeout` passes (`None`: no limit), then
        /// resets the counter. Returns early on signals; callers loop.
        pub(crate) fn wait(&self, timeout: Option<Duration>) -> Result<(), RingError> {
            let ts = timeout.map(|t| rustix::event::Timespec {
                tv_sec: i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(t.subsec_nanos()),
            });
            let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
            match rustix::event::poll(&mut fds, ts.as_ref()) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => return Err(RingError::os("poll", e)),
            }
            let mut buf = [0u8; 8];
            match rustix::io::read(&self.fd, &mut buf) {
                Ok(_) | Err(Errno::AGAIN) | Err(Errno::INTR) => Ok(()),
                Err(e) => Err(RingError::os("read(eventfd)", e)),
            }
        }
    }
}

#[cfg(loom)]
mod model {
    use super::*;
    use loom::sync::{Arc, Condvar, Mutex};

    /// Loom model of an eventfd: a counter under a mutex with a condition variable.
    /// Timeouts are ignored (loom has no time), so a lost wake-up shows up as a deadlock.
    #[derive(Clone)]
    pub struct Event {
        inner: Arc<(Mutex<u64>, Condvar)>,
    }

    impl std::fmt::Debug for Event {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Event(model)")
        }
    }

    impl Event {
        /// A new model event.
        pub fn new_model() -> Self {
            Event {
                inner: Arc::new((Mutex::new(0), Condvar::new())),
            }
        }

        pub(crate) fn notify(&self) -> Result<(), RingError> {
            let mut n = self
                .inner
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *n += 1;
            self.inner.1.notify_all();
            Ok(())
        }

        pub(crate) fn wait(&self, _timeout: Option<Duration>) -> Result<(), RingError> {
            let mut n = self
                .inner
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            while *n == 0 {
                n = self
                    .inner
                    .1
                    .wait(n)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            *n = 0;
            Ok(())
        }
    }
}

//! Synchronisation primitives, switched to `loom`'s under `--cfg loom` so the ring protocols
//! can be model-checked with the same code.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64};

use std::ops::DerefMut;
use std::time::Instant;

/// A mutex with an optional deadline on acquisition.
pub(crate) struct Mutex<T> {
    #[cfg(not(loom))]
    inner: parking_lot::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
}

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex {
            #[cfg(not(loom))]
            inner: parking_lot::Mutex::new(value),
            #[cfg(loom)]
            inner: loom::sync::Mutex::new(value),
        }
    }

    pub(crate) fn lock(&self) -> impl DerefMut<Target = T> + '_ {
        #[cfg(not(loom))]
        {
            self.inner.lock()
        }
        #[cfg(loom)]
        {
            self.inner
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }

    /// Locks, giving up at `deadline` (`None`: wait forever). Loom ignores the deadline.
    pub(crate) fn lock_until(
        &self,
        deadline: Option<Instant>,
    ) -> Option<impl DerefMut<Target = T> + '_> {
        #[cfg(not(loom))]
        {
            match deadline {
                None => Some(self.inner.lock()),
                Some(d) => self.inner.try_lock_until(d),
            }
        }
        #[cfg(loom)]
        {
            let _ = deadline;
            Some(
                self.inner
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            )
        }
    }
}

/// Iteration `i` of a bounded spin: CPU pauses first; after that, every 8th iteration is a
/// `sched_yield` so a peer thread sharing this CPU (an oversubscribed machine) gets to run.
pub(crate) fn spin_loop_or_yield(i: u32) {
    #[cfg(not(loom))]
    {
        if i >= 64 && i % 8 == 7 {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
    #[cfg(loom)]
    {
        let _ = i;
        loom::thread::yield_now();
    }
}

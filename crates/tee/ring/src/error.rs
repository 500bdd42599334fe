//! Error type of the ring buffers.
//!
//! Conditions caused by a misbehaving peer (`OffsetOutOfRange`, `OffsetWentBackwards`,
//! `OffsetTampered`, `FrameTooLarge` on receive, `Corrupt`) are *sticky*: the handle that saw
//! one is poisoned and returns the same error from then on, because the shared state can no
//! longer be trusted. Flow conditions (`Full`, `Empty`, `Timeout`) are not.

use thiserror::Error;

/// Which shared offset an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetKind {
    /// The write offset (owned by the writer side).
    Write,
    /// The read offset (owned by the reader side).
    Read,
}

impl std::fmt::Display for OffsetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OffsetKind::Write => "write",
            OffsetKind::Read => "read",
        })
    }
}

/// Why a frame in the data area was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptReason {
    /// Fewer published bytes than a length prefix (4 bytes).
    TruncatedPrefix {
        /// Published, unread bytes.
        available: u64,
    },
    /// The length prefix announces more bytes than were published.
    TruncatedPayload {
        /// Payload length from the prefix.
        len: u64,
        /// Published, unread bytes after the prefix.
        available: u64,
    },
}

impl std::fmt::Display for CorruptReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CorruptReason::TruncatedPrefix { available } => {
                write!(
                    f,
                    "only {available} published bytes, less than a length prefix"
                )
            }
            CorruptReason::TruncatedPayload { len, available } => {
                write!(
                    f,
                    "length prefix says {len} bytes but only {available} were published"
                )
            }
        }
    }
}

/// Why a shared-memory region was refused by [`crate::RingRegion::map`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// The magic number is not [`crate::layout::MAGIC`].
    BadMagic,
    /// The layout version is not [`crate::layout::VERSION`].
    UnsupportedVersion(u32),
    /// The capacity is not a power of two within the allowed range.
    BadCapacity(u64),
    /// The file size does not equal header size + capacity.
    SizeMismatch {
        /// Size implied by the header.
        expected: u64,
        /// Actual size of the file.
        actual: u64,
    },
    /// The file is not sealed against shrinking, so the peer could truncate it under us (SIGBUS).
    NotSealed,
    /// The initial offsets in the header are inconsistent.
    BadInitialOffsets {
        /// Initial read offset.
        read: u64,
        /// Initial write offset.
        write: u64,
    },
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::BadMagic => f.write_str("bad magic"),
            HeaderError::UnsupportedVersion(v) => write!(f, "unsupported layout version {v}"),
            HeaderError::BadCapacity(c) => write!(f, "bad capacity {c}"),
            HeaderError::SizeMismatch { expected, actual } => {
                write!(f, "file is {actual} bytes, header implies {expected}")
            }
            HeaderError::NotSealed => f.write_str("memfd is not sealed against shrinking"),
            HeaderError::BadInitialOffsets { read, write } => {
                write!(
                    f,
                    "inconsistent initial offsets (read {read}, write {write})"
                )
            }
        }
    }
}

/// Errors of the ring-buffer API.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RingError {
    /// Not enough free space for the frame right now (`try_send`).
    #[error("ring is full: frame needs {needed} bytes, {free} free")]
    Full {
        /// Bytes the frame needs (prefix + payload).
        needed: u64,
        /// Free bytes seen.
        free: u64,
    },
    /// No frame is available right now (`try_recv`).
    #[error("ring is empty")]
    Empty,
    /// A blocking call ran out of time.
    #[error("timed out")]
    Timeout,
    /// The peer closed its end (for a reader: after every published frame was read).
    #[error("peer closed the ring")]
    Closed,
    /// A frame longer than the configured maximum (sent by us, or announced by the peer).
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// Payload length.
        len: u64,
        /// Configured maximum payload length.
        max: u32,
    },
    /// A peer-controlled offset is outside the range allowed by our own offset and the capacity.
    #[error("{which} offset {found} out of range (own offset {own}, capacity {capacity})")]
    OffsetOutOfRange {
        /// The offending offset.
        which: OffsetKind,
        /// Value read from shared memory.
        found: u64,
        /// Our own (private) offset it was checked against.
        own: u64,
        /// Data-area capacity.
        capacity: u64,
    },
    /// A peer-controlled offset is smaller than a value seen earlier (rewind or replay).
    #[error("{which} offset went backwards from {previous} to {found}")]
    OffsetWentBackwards {
        /// The offending offset.
        which: OffsetKind,
        /// Largest value seen before.
        previous: u64,
        /// Value read now.
        found: u64,
    },
    /// Our own offset in shared memory was changed by someone else.
    #[error("own {which} offset was tampered with: expected {expected}, found {found}")]
    OffsetTampered {
        /// The offending offset.
        which: OffsetKind,
        /// Value we published last.
        expected: u64,
        /// Value found in shared memory.
        found: u64,
    },
    /// A frame in the data area is malformed.
    #[error("corrupt frame: {0}")]
    Corrupt(CorruptReason),
    /// The shared-memory region was refused.
    #[error("bad ring region: {0}")]
    BadHeader(HeaderError),
    /// Invalid local configuration (capacity, maximum frame size, fd list).
    #[error("invalid ring configuration: {0}")]
    InvalidConfig(&'static str),
    /// A system call failed.
    #[error("{call} failed: errno {errno}")]
    Os {
        /// The call that failed.
        call: &'static str,
        /// Raw OS error number.
        errno: i32,
    },
}

impl RingError {
    /// Stable error code, for callers that match on codes rather than types.
    pub fn code(&self) -> &'static str {
        match self {
            RingError::Full { .. } => "RING_FULL",
            RingError::Empty => "RING_EMPTY",
            RingError::Timeout => "RING_TIMEOUT",
            RingError::Closed => "RING_CLOSED",
            RingError::FrameTooLarge { .. } => "RING_FRAME_TOO_LARGE",
            RingError::OffsetOutOfRange { .. } => "RING_OFFSET_OUT_OF_RANGE",
            RingError::OffsetWentBackwards { .. } => "RING_OFFSET_WENT_BACKWARDS",
            RingError::OffsetTampered { .. } => "RING_OFFSET_TAMPERED",
            RingError::Corrupt(_) => "RING_CORRUPT",
            RingError::BadHeader(_) => "RING_BAD_HEADER",
            RingError::InvalidConfig(_) => "RING_INVALID_CONFIG",
            RingError::Os { .. } => "RING_OS",
        }
    }

    /// True for errors that prove the peer (or shared memory) misbehaved; such an error
    /// poisons the handle that saw it.
    pub fn is_hostile(&self) -> bool {
        matches!(
            self,
            RingError::OffsetOutOfRange { .. }
                | RingError::OffsetWentBackwards { .. }
                | RingError::OffsetTampered { .. }
                | RingError::Corrupt(_)
        )
    }

    #[cfg(not(loom))]
    pub(crate) fn os(call: &'static str, e: rustix::io::Errno) -> Self {
        RingError::Os {
            call,
            errno: e.raw_os_error(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_prefixed() {
        let all = [
            RingError::Full { needed: 1, free: 0 },
            RingError::Empty,
            RingError::Timeout,
            RingError::Closed,
            RingError::FrameTooLarge { len: 2, max: 1 },
            RingError::OffsetOutOfRange {
                which: OffsetKind::Write,
                found: 1,
                own: 0,
                capacity: 0,
            },
            RingError::OffsetWentBackwards {
                which: OffsetKind::Read,
                previous: 1,
                found: 0,
            },
            RingError::OffsetTampered {
                which: OffsetKind::Write,
                expected: 1,
                found: 2,
            },
            RingError::Corrupt(CorruptReason::TruncatedPrefix { available: 1 }),
            RingError::BadHeader(HeaderError::BadMagic),
            RingError::InvalidConfig("x"),
            RingError::Os {
                call: "x",
                errno: 1,
            },
        ];
        let mut codes: Vec<_> = all.iter().map(RingError::code).collect();
        assert!(codes.iter().all(|c| c.starts_with("RING_")));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert_eq!(all.iter().filter(|e| e.is_hostile()).count(), 4);
    }
}

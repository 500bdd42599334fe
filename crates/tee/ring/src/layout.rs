//! Fixed memory layout of a ring region (layout version 1).
//!
//! A region is one memfd of `HEADER_SIZE + capacity` bytes. All header fields are
//! little-endian integers at the byte offsets below; every field the two sides write
//! concurrently sits in its own 128-byte block (two cache lines, so the adjacent-line
//! prefetcher does not create false sharing either).
//!
//! | offset  | size | field             | written by          |
//! |---------|------|-------------------|---------------------|
//! | `0x000` | 8    | magic             | creator, once       |
//! | `0x008` | 4    | version           | creator, once       |
//! | `0x010` | 8    | capacity          | creator, once       |
//! | `0x080` | 8    | write offset      | writer (publish)    |
//! | `0x100` | 8    | read offset       | reader (consume)    |
//! | `0x180` | 4    | reader sleeping   | reader set / writer clear |
//! | `0x200` | 4    | writer waiting    | writer set / reader clear |
//! | `0x280` | 4    | closed bits       | both (`fetch_or`)   |
//! | `0x1000`| cap  | data area         | writer              |

/// Magic number at offset 0: `b"ARCRING\0"` little-endian.
pub const MAGIC: u64 = u64::from_le_bytes(*b"ARCRING\0");
/// Layout version at offset 8.
pub const VERSION: u32 = 1;

/// Offset of the magic number (u64).
pub const OFF_MAGIC: usize = 0x000;
/// Offset of the layout version (u32).
pub const OFF_VERSION: usize = 0x008;
/// Offset of the data-area capacity in bytes (u64).
pub const OFF_CAPACITY: usize = 0x010;
/// Offset of the write offset (u64, monotonically increasing byte counter).
pub const OFF_WRITE: usize = 0x080;
/// Offset of the read offset (u64, monotonically increasing byte counter).
pub const OFF_READ: usize = 0x100;
/// Offset of the "reader sleeping" flag (u32, 0 or 1).
pub const OFF_READER_SLEEPING: usize = 0x180;
/// Offset of the "writer waiting" flag (u32, 0 or 1).
pub const OFF_WRITER_WAITING: usize = 0x200;
/// Offset of the closed bits (u32, [`WRITER_CLOSED`] | [`READER_CLOSED`]).
pub const OFF_CLOSED: usize = 0x280;
/// Size of the header; the data area starts here (one page).
pub const HEADER_SIZE: usize = 0x1000;

/// Closed bit set by the writer side when its last handle goes away.
pub const WRITER_CLOSED: u32 = 1;
/// Closed bit set by the reader side when it goes away.
pub const READER_CLOSED: u32 = 2;

/// Bytes of the little-endian u32 length prefix in front of every frame.
pub const FRAME_PREFIX: u64 = 4;
/// Smallest allowed capacity of the data area.
pub const MIN_CAPACITY: u64 = 16;
/// Largest allowed capacity of the data area (1 GiB).
pub const MAX_CAPACITY: u64 = 1 << 30;

// The fixed fields end before the first concurrently written one.
const _: () = assert!(OFF_CAPACITY + 8 <= OFF_WRITE);

/// Checks a data-area capacity: a power of two in `[MIN_CAPACITY, MAX_CAPACITY]`.
pub fn valid_capacity(capacity: u64) -> bool {
    capacity.is_power_of_two() && (MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity)
}

/// Largest payload that fits a ring of `capacity` bytes.
pub fn max_payload(capacity: u64) -> u32 {
    u32::try_from(capacity.saturating_sub(FRAME_PREFIX)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrently_written_fields_have_their_own_block() {
        let hot = [
            OFF_WRITE,
            OFF_READ,
            OFF_READER_SLEEPING,
            OFF_WRITER_WAITING,
            OFF_CLOSED,
        ];
        for (i, a) in hot.iter().enumerate() {
            assert_eq!(a % 128, 0, "field at {a:#x} not 128-byte aligned");
            assert!(*a + 8 <= HEADER_SIZE);
            for b in &hot[i + 1..] {
                assert!(a.abs_diff(*b) >= 128);
            }
        }
    }

    #[test]
    fn capacity_rules() {
        assert!(valid_capacity(16));
        assert!(valid_capacity(1 << 20));
        assert!(!valid_capacity(0));
        assert!(!valid_capacity(8));
        assert!(!valid_capacity(100));
        assert!(!valid_capacity(1 << 31));
        assert_eq!(max_payload(16), 12);
        assert_eq!(&MAGIC.to_le_bytes(), b"ARCRING\0");
    }
}

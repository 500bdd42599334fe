//! A peer that rewrites offsets, replays, lies in length prefixes or hands over a bad region
//! gets a precise error, never a panic, and the handle stays poisoned.

use crate::{Raw, opts, reader_vs_raw, writer_vs_raw};
use arcanum_ring::{
    CorruptReason, Event, HeaderError, OffsetKind, Reader, RingError, RingRegion, layout,
};

#[test]
fn write_offset_beyond_capacity_is_out_of_range_and_sticky() {
    let (mut reader, raw) = reader_vs_raw(64, None);
    raw.set_write(65);
    let expected = RingError::OffsetOutOfRange {
        which: OffsetKind::Write,
        found: 65,
        own: 0,
        capacity: 64,
    };
    assert_eq!(reader.try_recv(), Err(expected.clone()));
    // Even after the peer "fixes" the offset, the reader stays poisoned.
    raw.set_write(0);
    assert_eq!(reader.try_recv(), Err(expected.clone()));
    assert_eq!(reader.recv(crate::LONG), Err(expected));
}

#[test]
fn write_offset_moved_backwards_is_detected() {
    let (mut reader, raw) = reader_vs_raw(64, None);
    raw.push_frame(b"one");
    raw.push_frame(b"two");
    assert_eq!(reader.try_recv().expect("first"), b"one");
    // The host withdraws the second frame (write back to the reader's position).
    raw.set_write(7);
    assert_eq!(
        reader.try_recv(),
        Err(RingError::OffsetWentBackwards {
            which: OffsetKind::Write,
            previous: 14,
            found: 7,
        })
    );
}

#[test]
fn write_offset_below_read_position_is_detected() {
    let (mut reader, raw) = reader_vs_raw(64, None);
    raw.push_frame(b"abc");
    assert_eq!(reader.try_recv().expect("frame"), b"abc");
    raw.set_write(3);
    assert!(matches!(
        reader.try_recv(),
        Err(RingError::OffsetWentBackwards {
            which: OffsetKind::Write,
            previous: 7,
            found: 3
        })
    ));
}

#[test]
fn rewinding_both_offsets_does_not_replay_a_frame() {
    let (mut reader, raw) = reader_vs_raw(64, None);
    raw.push_frame(b"pay me once");
    assert_eq!(reader.try_recv().expect("frame"), b"pay me once");
    // Replay attempt: rewind everything and publish the same bytes again.
    raw.set_read(0);
    raw.set_write(0);
    raw.push_frame(b"pay me once");
    assert_eq!(raw.write_offset(), 15);
    // The write offset equals what the reader already consumed: nothing new to read.
    assert_eq!(reader.try_recv(), Err(RingError::Empty));
}

#[test]
fn rewound_read_offset_is_reported_as_tampering() {
    let (mut reader, raw) = reader_vs_raw(64, None);
    raw.push_frame(b"first");
    assert_eq!(reader.try_recv().expect("frame"), b"first");
    raw.set_read(0);
    raw.push_frame(b"second");
    assert_eq!(
        reader.try_recv(),
        Err(RingError::OffsetTampered {
            which: OffsetKind::Read,
            expected: 9,
            found: 0,
        })
    );
    assert_eq!(
        raw.read_offset(),
        19,
        "the reader still published its own offset"
    );
}

#[test]
fn length_prefix_longer_than_published_bytes_is_corrupt() {
    let (mut reader, raw) = reader_vs_raw(64, None);
    raw.put(0, &40u32.to_le_bytes());
    raw.set_write(9);
    assert_eq!(
        reader.try_recv(),
        Err(RingError::Corrupt(CorruptReason::TruncatedPayload {
            len: 40,
            available: 5,
        }))
    );
}

#[test]
fn partial_length_prefix_is_corrupt() {
    let (mut reader, raw) = reader_vs_raw(64, None);
    raw.set_write(2);
    assert_eq!(
        reader.try_recv(),
        Err(RingError::Corrupt(CorruptReason::TruncatedPrefix {
            available: 2
        }))
    );
}

#[test]
fn oversized_frame_is_refused_by_the_readers_own_limit() {
    let (mut reader, raw) = reader_vs_raw(64, Some(8));
    raw.push_frame(&[9; 20]);
    assert_eq!(
        reader.try_recv(),
        Err(RingError::FrameTooLarge { len: 20, max: 8 })
    );
    // A length prefix of u32::MAX never allocates or copies.
    let (mut reader, raw) = reader_vs_raw(64, None);
    raw.put(0, &u32::MAX.to_le_bytes());
    raw.set_write(64);
    assert_eq!(
        reader.try_recv(),
        Err(RingError::FrameTooLarge {
            len: u64::from(u32::MAX),
            max: 60,
        })
    );
}

#[test]
fn writer_detects_read_offset_games() {
    // Read offset ahead of the write offset.
    let (writer, raw) = writer_vs_raw(64);
    writer.try_send(b"abc").expect("send");
    raw.set_read(50);
    assert_eq!(
        writer.try_send(b"x"),
        Err(RingError::OffsetOutOfRange {
            which: OffsetKind::Read,
            found: 50,
            own: 7,
            capacity: 64,
        })
    );
    assert!(writer.try_send(b"x").is_err(), "poisoned");

    // Read offset moved backwards after it was seen.
    let (writer, raw) = writer_vs_raw(64);
    writer.try_send(b"abc").expect("send");
    raw.set_read(7);
    writer
        .try_send(b"d")
        .expect("reader consumed the first frame");
    raw.set_read(0);
    assert_eq!(
        writer.try_send(b"e"),
        Err(RingError::OffsetWentBackwards {
            which: OffsetKind::Read,
            previous: 7,
            found: 0,
        })
    );

    // The writer's own offset rewritten by the peer.
    let (writer, raw) = writer_vs_raw(64);
    writer.try_send(b"abc").expect("send");
    raw.set_write(3);
    assert_eq!(
        writer.try_send(b"d"),
        Err(RingError::OffsetTampered {
            which: OffsetKind::Write,
            expected: 7,
            found: 3,
        })
    );
}

#[test]
fn fake_free_space_cannot_make_the_writer_overrun() {
    // A reader that claims to have consumed more than was written.
    let (writer, raw) = writer_vs_raw(16);
    writer.try_send(&[1; 12]).expect("fill");
    raw.set_read(u64::MAX);
    assert!(matches!(
        writer.try_send(&[2; 12]),
        Err(RingError::OffsetOutOfRange { .. })
    ));
}

fn map_after(poke: impl FnOnce(&RingRegion)) -> Result<RingRegion, RingError> {
    let (region, fd) = RingRegion::create(64).expect("create");
    poke(&region);
    RingRegion::map(fd)
}

#[test]
fn region_header_is_validated_when_mapping() {
    assert!(map_after(|_| {}).is_ok());
    assert_eq!(
        map_after(|r| r.poke(layout::OFF_MAGIC, b"NOTARING").expect("poke")).err(),
        Some(RingError::BadHeader(HeaderError::BadMagic))
    );
    assert_eq!(
        map_after(|r| r
            .poke(layout::OFF_VERSION, &9u32.to_le_bytes())
            .expect("poke"))
        .err(),
        Some(RingError::BadHeader(HeaderError::UnsupportedVersion(9)))
    );
    assert_eq!(
        map_after(|r| r
            .poke(layout::OFF_CAPACITY, &100u64.to_le_bytes())
            .expect("poke"))
        .err(),
        Some(RingError::BadHeader(HeaderError::BadCapacity(100)))
    );
    // A larger (valid) capacity than the file holds would let accesses run off the mapping.
    assert_eq!(
        map_after(|r| r
            .poke(layout::OFF_CAPACITY, &(1u64 << 20).to_le_bytes())
            .expect("poke"))
        .err(),
        Some(RingError::BadHeader(HeaderError::SizeMismatch {
            expected: layout::HEADER_SIZE as u64 + (1 << 20),
            actual: layout::HEADER_SIZE as u64 + 64,
        }))
    );
}

#[test]
fn unsealed_or_foreign_files_are_refused() {
    use rustix::fs::MemfdFlags;
    // A memfd with a perfect header but no seals: the peer could truncate it (SIGBUS).
    let (good, _) = RingRegion::create(64).expect("create");
    let mut header = vec![0u8; layout::HEADER_SIZE + 64];
    good.peek(0, &mut header).expect("peek");
    let fd = rustix::fs::memfd_create("unsealed", MemfdFlags::CLOEXEC).expect("memfd");
    rustix::io::write(&fd, &header).expect("write");
    assert_eq!(
        RingRegion::map(fd).err(),
        Some(RingError::BadHeader(HeaderError::NotSealed))
    );
    // Not a memfd at all.
    let file = std::fs::File::open("/dev/null").expect("open");
    assert_eq!(
        RingRegion::map(file.into()).err(),
        Some(RingError::BadHeader(HeaderError::NotSealed))
    );
}

#[test]
fn inconsistent_initial_offsets_are_refused() {
    let (region, fd) = RingRegion::create(64).expect("create");
    let raw = Raw { peer: region };
    raw.set_read(10);
    raw.set_write(5);
    let mapped = RingRegion::map(fd).expect("map");
    let r = Reader::new(
        mapped,
        Event::new().expect("event"),
        Event::new().expect("event"),
        &opts(None),
    );
    assert_eq!(
        r.err(),
        Some(RingError::BadHeader(HeaderError::BadInitialOffsets {
            read: 10,
            write: 5
        }))
    );
}

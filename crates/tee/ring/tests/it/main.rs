//! Integration tests of `arcanum-ring`: framing and wraparound properties, hostile peers,
//! region validation, multi-writer stress, and a real second process.
//! (Not built under `--cfg loom`, where the crate only has the model types.)
#![cfg(not(loom))]

mod cross_process;
mod framing;
mod hostile;
mod stress;

use arcanum_ring::{Event, Reader, RingOptions, RingRegion, Writer, layout};
use std::time::Duration;

/// Generous bound for blocking calls, so a bug fails a test instead of hanging it.
pub const LONG: Option<Duration> = Some(Duration::from_secs(20));

pub fn opts(max_frame: Option<u32>) -> RingOptions {
    RingOptions {
        max_frame,
        spin: 64,
    }
}

/// A ring whose other side is a raw mapping the test drives by hand, like a hostile peer.
pub struct Raw {
    pub peer: RingRegion,
}

impl Raw {
    pub fn u64_at(&self, off: usize) -> u64 {
        let mut b = [0u8; 8];
        self.peer.peek(off, &mut b).expect("peek");
        u64::from_le_bytes(b)
    }
    pub fn set_u64(&self, off: usize, v: u64) {
        self.peer.poke(off, &v.to_le_bytes()).expect("poke");
    }
    pub fn write_offset(&self) -> u64 {
        self.u64_at(layout::OFF_WRITE)
    }
    pub fn read_offset(&self) -> u64 {
        self.u64_at(layout::OFF_READ)
    }
    pub fn set_write(&self, v: u64) {
        self.set_u64(layout::OFF_WRITE, v);
    }
    pub fn set_read(&self, v: u64) {
        self.set_u64(layout::OFF_READ, v);
    }
    /// Writes raw bytes at ring offset `at` (wrapping), without publishing.
    pub fn put(&self, at: u64, bytes: &[u8]) {
        let cap = self.peer.capacity();
        for (i, b) in bytes.iter().enumerate() {
            let pos = ((at + i as u64) % cap) as usize;
            self.peer
                .poke(layout::HEADER_SIZE + pos, &[*b])
                .expect("poke");
        }
    }
    /// Writes a well-formed frame at the current write offset and publishes it.
    pub fn push_frame(&self, payload: &[u8]) {
        let w = self.write_offset();
        self.put(w, &(payload.len() as u32).to_le_bytes());
        self.put(w + 4, payload);
        self.set_write(w + 4 + payload.len() as u64);
    }
}

/// A reader (the side under test) facing a raw, hand-driven writer.
pub fn reader_vs_raw(capacity: u64, max_frame: Option<u32>) -> (Reader, Raw) {
    let (region, fd) = RingRegion::create(capacity).expect("create");
    let peer = RingRegion::map(fd).expect("map peer");
    let reader = Reader::new(
        region,
        Event::new().expect("event"),
        Event::new().expect("event"),
        &opts(max_frame),
    )
    .expect("reader");
    (reader, Raw { peer })
}

/// A writer (the side under test) facing a raw, hand-driven reader.
pub fn writer_vs_raw(capacity: u64) -> (Writer, Raw) {
    let (region, fd) = RingRegion::create(capacity).expect("create");
    let peer = RingRegion::map(fd).expect("map peer");
    let writer = Writer::new(
        region,
        Event::new().expect("event"),
        Event::new().expect("event"),
        &opts(None),
    )
    .expect("writer");
    (writer, Raw { peer })
}

//! Fuzz driver for `arcanum-ring`: the input is a program for a hostile peer that shares two
//! rings with us, one where we read (the peer writes offsets, prefixes and bytes at will) and
//! one where we write (the peer moves the read offset at will).
//!
//! Checked on every step: nothing panics or faults, received frames respect the reader's
//! limit, and once a handle reported a hostile error it keeps reporting exactly that error.

use arcanum_ring::{Event, Reader, RingError, RingOptions, RingRegion, Writer, layout};

const CAPACITY: u64 = 64;
const MAX_FRAME: u32 = 32;

struct Bytes<'a>(std::slice::Iter<'a, u8>);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        self.0.next().copied().unwrap_or(0)
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(std::array::from_fn(|_| self.byte()))
    }
}

fn peek_u64(region: &RingRegion, off: usize) -> u64 {
    let mut b = [0u8; 8];
    match region.peek(off, &mut b) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => 0,
    }
}

/// A new offset: mostly near the current one (to reach the interesting edges), sometimes any.
fn next_offset(input: &mut Bytes<'_>, current: u64) -> u64 {
    let mode = input.byte();
    if mode & 0x80 != 0 {
        input.u64()
    } else {
        current.wrapping_add(u64::from(mode & 0x7f)).wrapping_sub(32)
    }
}

fn pair(options: &RingOptions) -> Option<(RingRegion, RingRegion, Event, Event)> {
    let (ours, fd) = RingRegion::create(CAPACITY).ok()?;
    let peer = RingRegion::map(fd).ok()?;
    Some((ours, peer, Event::new().ok()?, Event::new().ok()?)).filter(|_| options.spin == 0)
}

/// Runs one fuzz input.
pub fn run(data: &[u8]) {
    let options = RingOptions {
        max_frame: Some(MAX_FRAME),
        spin: 0,
    };
    let Some((r_ours, r_peer, r_data, r_space)) = pair(&options) else {
        return;
    };
    let Some((w_ours, w_peer, w_data, w_space)) = pair(&options) else {
        return;
    };
    let Ok(mut reader) = Reader::new(r_ours, r_data, r_space, &options) else {
        return;
    };
    let Ok(writer) = Writer::new(w_ours, w_data, w_space, &options) else {
        return;
    };
    let mut input = Bytes(data.iter());
    let mut reader_poison: Option<RingError> = None;
    let mut writer_poison: Option<RingError> = None;
    let mut peer_write = 0u64;
    while let Some(op) = input.0.next() {
        match op % 6 {
            // Peer sets the write offset of the ring we read.
            0 => {
                let v = next_offset(&mut input, peek_u64(&r_peer, layout::OFF_WRITE));
                let _ = r_peer.poke(layout::OFF_WRITE, &v.to_le_bytes());
            }
            // Peer writes one raw byte anywhere in the data area.
            1 => {
                let pos = usize::from(input.byte()) % CAPACITY as usize;
                let _ = r_peer.poke(layout::HEADER_SIZE + pos, &[input.byte()]);
            }
            // Peer appends a well-formed frame (possibly one that wraps).
            2 => {
                let len = usize::from(input.byte() % 48);
                let mut frame = (len as u32).to_le_bytes().to_vec();
                frame.extend(std::iter::repeat_n(input.byte(), len));
                for (i, b) in frame.iter().enumerate() {
                    let pos = (peer_write + i as u64) % CAPACITY;
                    let _ = r_peer.poke(layout::HEADER_SIZE + pos as usize, &[*b]);
                }
                peer_write = peer_write.wrapping_add(frame.len() as u64);
                let _ = r_peer.poke(layout::OFF_WRITE, &peer_write.to_le_bytes());
            }
            // We read.
            3 => {
                let got = reader.try_recv();
                if let Some(p) = &reader_poison {
                    assert_eq!(got.as_ref(), Err(p), "reader must stay poisoned");
                }
                match got {
                    Ok(frame) => assert!(frame.len() <= MAX_FRAME as usize),
                    Err(e) if e.is_hostile() || matches!(e, RingError::FrameTooLarge { .. }) => {
                        reader_poison = Some(e)
                    }
                    Err(_) => {}
                }
            }
            // Peer sets the read offset of the ring we write.
            4 => {
                let v = next_offset(&mut input, peek_u64(&w_peer, layout::OFF_READ));
                let _ = w_peer.poke(layout::OFF_READ, &v.to_le_bytes());
            }
            // We write.
            _ => {
                let len = usize::from(input.byte() % 40);
                let got = writer.try_send(&vec![0xa5; len]);
                if let Some(p) = &writer_poison {
                    assert_eq!(got.as_ref(), Err(p), "writer must stay poisoned");
                }
                match got {
                    Err(e) if e.is_hostile() => writer_poison = Some(e),
                    Err(RingError::FrameTooLarge { .. }) => assert!(len > MAX_FRAME as usize),
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn seeds_run_without_panicking() {
        let seeds: [&[u8]; 5] = [
            &[],
            &[2, 5, 7, 3, 3, 3],
            &[0, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 3, 3],
            &[2, 47, 1, 3, 2, 30, 9, 3, 1, 0, 0xff, 3],
            &[5, 10, 5, 10, 4, 0x81, 9, 9, 9, 9, 9, 9, 9, 9, 5, 1, 5, 1],
        ];
        for seed in seeds {
            super::run(seed);
        }
        // A deterministic pseudo-random sweep.
        let mut x = 0x1234_5678_u32;
        for _ in 0..300 {
            let input: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            super::run(&input);
        }
    }
}

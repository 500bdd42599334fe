//! Several writer threads against one reader: every frame arrives intact and each writer's
//! frames arrive in the order it sent them.

use crate::opts;
use arcanum_ring::{RingError, channel};

const WRITERS: u8 = 4;
const PER_WRITER: u32 = 3000;

fn payload(writer: u8, seq: u32) -> Vec<u8> {
    let len = 8 + (seq as usize * 37 + writer as usize * 11) % 300;
    let mut p = vec![writer; len];
    p[..4].copy_from_slice(&seq.to_le_bytes());
    p[4] = writer;
    p
}

#[test]
fn concurrent_writers_keep_frames_whole_and_ordered() {
    let (writer, mut reader) = channel(4096, &opts(None)).expect("channel");
    let handles: Vec<_> = (0..WRITERS)
        .map(|id| {
            let w = writer.clone();
            std::thread::spawn(move || {
                for seq in 0..PER_WRITER {
                    w.send(&payload(id, seq), crate::LONG)?;
                }
                Ok::<(), RingError>(())
            })
        })
        .collect();
    drop(writer);
    let mut next = [0u32; WRITERS as usize];
    let mut total = 0u32;
    loop {
        match reader.recv(crate::LONG) {
            Ok(frame) => {
                assert!(frame.len() >= 8, "frame too short: {}", frame.len());
                let id = frame[4];
                assert!(id < WRITERS);
                let seq = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
                assert_eq!(seq, next[id as usize], "writer {id} out of order");
                assert_eq!(frame, payload(id, seq), "frame corrupted");
                next[id as usize] += 1;
                total += 1;
            }
            Err(RingError::Closed) => break,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    for h in handles {
        assert_eq!(h.join().expect("join"), Ok(()));
    }
    assert_eq!(total, u32::from(WRITERS) * PER_WRITER);
    assert!(next.iter().all(|n| *n == PER_WRITER));
}

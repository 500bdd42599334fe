//! Property tests: random frame sizes across many laps of a small ring come out identical and
//! in order, and `Full` is reported exactly when a frame does not fit.

use crate::opts;
use arcanum_ring::{RingError, channel};
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
enum Op {
    Send(Vec<u8>),
    Recv,
}

fn op(max: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..=max).prop_map(Op::Send),
        2 => Just(Op::Recv),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn frames_survive_many_wraps(cap_log in 4u32..8, ops in proptest::collection::vec(op(60), 1..400)) {
        let cap = 1u64 << cap_log;
        let max = (cap - 4) as usize;
        let (writer, mut reader) = channel(cap, &opts(None)).expect("channel");
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut used = 0u64;
        let mut sent = 0u64;
        for op in ops {
            match op {
                Op::Send(mut payload) => {
                    payload.truncate(max);
                    let needed = 4 + payload.len() as u64;
                    match writer.try_send(&payload) {
                        Ok(()) => {
                            prop_assert!(used + needed <= cap);
                            used += needed;
                            sent += needed;
                            model.push_back(payload);
                        }
                        Err(RingError::Full { needed: n, free }) => {
                            prop_assert_eq!(n, needed);
                            prop_assert_eq!(free, cap - used);
                            prop_assert!(used + needed > cap);
                        }
                        Err(e) => prop_assert!(false, "unexpected {:?}", e),
                    }
                }
                Op::Recv => match model.pop_front() {
                    Some(expected) => {
                        let got = reader.try_recv().expect("frame");
                        used -= 4 + got.len() as u64;
                        prop_assert_eq!(got, expected);
                    }
                    None => prop_assert_eq!(reader.try_recv(), Err(RingError::Empty)),
                },
            }
        }
        while let Some(expected) = model.pop_front() {
            prop_assert_eq!(reader.try_recv().expect("drain"), expected);
        }
        prop_assert_eq!(reader.try_recv(), Err(RingError::Empty));
        drop(writer);
        prop_assert_eq!(reader.try_recv(), Err(RingError::Closed));
        // Offsets are byte counters, so laps are visible: most cases wrap several times.
        prop_assert!(sent < cap || sent / cap >= 1);
    }
}

#[test]
fn thousands_of_laps_with_blocking_calls() {
    // 7-byte frames in a 16-byte ring: every frame position mod 16 occurs, prefix and
    // payload straddle the end in every possible way.
    let (writer, mut reader) = channel(16, &opts(None)).expect("channel");
    let t = std::thread::spawn(move || {
        for i in 0..5000u32 {
            let b = i.to_le_bytes();
            writer.send(&[b[0], b[1], b[2]], crate::LONG)?;
        }
        Ok::<(), RingError>(())
    });
    for i in 0..5000u32 {
        let b = i.to_le_bytes();
        assert_eq!(
            reader.recv(crate::LONG).expect("recv"),
            vec![b[0], b[1], b[2]]
        );
    }
    assert_eq!(t.join().expect("join"), Ok(()));
    assert_eq!(reader.recv(crate::LONG), Err(RingError::Closed));
}

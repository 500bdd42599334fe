//! Loom model checks of the ring protocols, on the real `Writer`/`Reader` code compiled over
//! loom atomics, a loom-checked data area (every byte is a loom cell, so a frame read before
//! its publication is reported as a race) and a loom model of the eventfd (a lost wake-up
//! shows up as a deadlock).
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p arcanum-ring --release --test loom`.
//! Without `--cfg loom` this file compiles to nothing.
#![cfg(loom)]

use arcanum_ring::{RingError, RingOptions, model_channel};
use loom::thread;

fn options() -> RingOptions {
    RingOptions {
        max_frame: None,
        spin: 0,
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

/// Two writer threads under the writer lock, one blocking reader: both frames arrive intact,
/// and the reader's sleep never misses a publish.
#[test]
fn two_writers_publish_and_wake_the_reader() {
    model(|| {
        let (writer, mut reader) = model_channel(16, &options()).expect("channel");
        let w2 = writer.clone();
        let a = thread::spawn(move || writer.send(&[1, 1], None));
        let b = thread::spawn(move || w2.send(&[2, 2, 2], None));
        let mut got = vec![
            reader.recv(None).expect("first"),
            reader.recv(None).expect("second"),
        ];
        got.sort();
        assert_eq!(got, vec![vec![1, 1], vec![2, 2, 2]]);
        assert_eq!(a.join().expect("join"), Ok(()));
        assert_eq!(b.join().expect("join"), Ok(()));
    });
}

/// A writer that finds the ring full sleeps and is woken when the reader frees space; frames
/// that wrap around the end of the data area come out in order.
#[test]
fn full_ring_writer_is_woken_by_the_reader() {
    model(|| {
        let (writer, mut reader) = model_channel(16, &options()).expect("channel");
        let t = thread::spawn(move || {
            for i in 0..3u8 {
                writer.send(&[i; 4], None)?;
            }
            Ok::<(), RingError>(())
        });
        for i in 0..3u8 {
            assert_eq!(reader.recv(None).expect("recv"), vec![i; 4]);
        }
        assert_eq!(t.join().expect("join"), Ok(()));
    });
}

/// Closing after a send: the reader gets the frame, then `Closed`, never a lost frame or a hang.
#[test]
fn close_is_delivered_after_the_last_frame() {
    model(|| {
        let (writer, mut reader) = model_channel(16, &options()).expect("channel");
        let t = thread::spawn(move || {
            writer.send(&[7], None).expect("send");
            drop(writer);
        });
        assert_eq!(reader.recv(None).expect("recv"), vec![7]);
        assert_eq!(reader.recv(None), Err(RingError::Closed));
        t.join().expect("join");
    });
}

//! Throughput benchmark of the ring against a Unix-domain socket pair and against memcpy.
//!
//! Not a test: [`run`] is what `arcanum bench ring --json` prints. Every case uses one writer
//! thread and one reader thread on the other end (memcpy: one thread), runs for the given
//! duration and reports what the reader received per second.

use crate::error::RingError;
use crate::ring::{RingOptions, channel};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, Shutdown, SocketFlags, SocketType};
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Small-message size.
pub const SMALL: usize = 64;
/// Large-message size.
pub const LARGE: usize = 64 * 1024;
/// Ring capacity used for the small-message case.
pub const SMALL_RING_CAPACITY: u64 = 256 * 1024;
/// Ring capacity used for the large-message case.
pub const LARGE_RING_CAPACITY: u64 = 4 << 20;

/// Results, in messages or bytes per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RingBench {
    /// 64-byte messages through the ring, per second.
    pub ring_msgs_per_s_64b: f64,
    /// 64-byte messages through a `SOCK_SEQPACKET` Unix socket pair, per second.
    pub unix_msgs_per_s_64b: f64,
    /// Payload bytes per second through the ring with 64 KiB messages.
    pub ring_bytes_per_s_64k: f64,
    /// Bytes per second of a plain copy of 64 KiB blocks in one thread.
    pub memcpy_bytes_per_s: f64,
    /// `ring_msgs_per_s_64b / unix_msgs_per_s_64b`.
    pub ring_vs_unix_64b: f64,
    /// `ring_bytes_per_s_64k / memcpy_bytes_per_s`.
    pub ring_vs_memcpy_64k: f64,
}

/// Runs every case for `duration_per_case`.
///
/// # Panics
/// If the operating system refuses the resources (memfd, eventfd, socket pair, threads);
/// [`try_run`] returns that as an error instead.
pub fn run(duration_per_case: Duration) -> RingBench {
    match try_run(duration_per_case) {
        Ok(b) => b,
        Err(e) => panic!("ring benchmark could not run: {e}"),
    }
}

/// Runs every case for `duration_per_case`.
pub fn try_run(duration_per_case: Duration) -> Result<RingBench, RingError> {
    let ring_msgs = ring_case(SMALL, SMALL_RING_CAPACITY, duration_per_case)?;
    let unix_msgs = unix_case(SMALL, duration_per_case)?;
    let ring_bytes = ring_case(LARGE, LARGE_RING_CAPACITY, duration_per_case)? * LARGE as f64;
    let memcpy = memcpy_case(LARGE, duration_per_case);
    Ok(RingBench {
        ring_msgs_per_s_64b: ring_msgs,
        unix_msgs_per_s_64b: unix_msgs,
        ring_bytes_per_s_64k: ring_bytes,
        memcpy_bytes_per_s: memcpy,
        ring_vs_unix_64b: ratio(ring_msgs, unix_msgs),
        ring_vs_memcpy_64k: ratio(ring_bytes, memcpy),
    })
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Messages per second through one ring.
fn ring_case(size: usize, capacity: u64, duration: Duration) -> Result<f64, RingError> {
    let (writer, mut reader) = channel(capacity, &RingOptions::default())?;
    let barrier = Barrier::new(2);
    std::thread::scope(|scope| {
        let producer = scope.spawn(|| -> Result<(), RingError> {
            let msg = vec![0x5a_u8; size];
            barrier.wait();
            let start = Instant::now();
            'outer: loop {
                for _ in 0..64 {
                    match writer.send(&msg, None) {
                        Ok(()) => {}
                        Err(RingError::Closed) => break 'outer,
                        Err(e) => return Err(e),
                    }
                }
                if start.elapsed() >= duration {
                    break;
                }
            }
            writer.close();
            Ok(())
        });
        let mut buf = Vec::with_capacity(size);
        barrier.wait();
        let start = Instant::now();
        let mut count = 0u64;
        let result = loop {
            match reader.recv_into(&mut buf, None) {
                Ok(_) => {
                    black_box(&buf);
                    count += 1;
                }
                Err(RingError::Closed) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        let secs = start.elapsed().as_secs_f64();
        let produced = producer
            .join()
            .unwrap_or(Err(RingError::InvalidConfig("bench writer panicked")));
        result.and(produced)?;
        Ok(count as f64 / secs)
    })
}

/// Messages per second through a `SOCK_SEQPACKET` socket pair.
fn unix_case(size: usize, duration: Duration) -> Result<f64, RingError> {
    let (a, b) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| RingError::os("socketpair", e))?;
    let barrier = Barrier::new(2);
    std::thread::scope(|scope| {
        let producer = scope.spawn(|| -> Result<(), RingError> {
            let msg = vec![0x5a_u8; size];
            barrier.wait();
            let start = Instant::now();
            loop {
                for _ in 0..64 {
                    rustix::net::send(&a, &msg, SendFlags::empty())
                        .map_err(|e| RingError::os("send", e))?;
                }
                if start.elapsed() >= duration {
                    break;
                }
            }
            rustix::net::shutdown(&a, Shutdown::Write).map_err(|e| RingError::os("shutdown", e))
        });
        let mut buf = vec![0u8; size];
        barrier.wait();
        let start = Instant::now();
        let mut count = 0u64;
        let result = loop {
            match rustix::net::recv(&b, &mut buf, RecvFlags::empty()) {
                Ok((0, _)) => break Ok(()),
                Ok(_) => {
                    black_box(&buf);
                    count += 1;
                }
                Err(e) => break Err(RingError::os("recv", e)),
            }
        };
        let secs = start.elapsed().as_secs_f64();
        let produced = producer
            .join()
            .unwrap_or(Err(RingError::InvalidConfig("bench writer panicked")));
        result.and(produced)?;
        Ok(count as f64 / secs)
    })
}

/// Bytes per second of copying `size`-byte blocks in one thread.
fn memcpy_case(size: usize, duration: Duration) -> f64 {
    let src = vec![0x5a_u8; size];
    let mut dst = vec![0u8; size];
    let start = Instant::now();
    let mut blocks = 0u64;
    loop {
        for _ in 0..64 {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut dst);
        }
        blocks += 64;
        if start.elapsed() >= duration {
            break;
        }
    }
    (blocks * size as u64) as f64 / start.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_run_reports_positive_rates() {
        let b = try_run(Duration::from_millis(20)).expect("bench");
        assert!(b.ring_msgs_per_s_64b > 0.0);
        assert!(b.unix_msgs_per_s_64b > 0.0);
        assert!(b.ring_bytes_per_s_64k > 0.0);
        assert!(b.memcpy_bytes_per_s > 0.0);
        assert!((b.ring_vs_unix_64b - b.ring_msgs_per_s_64b / b.unix_msgs_per_s_64b).abs() < 1e-9);
        let json = serde_json::to_value(&b).expect("json");
        let keys: Vec<_> = json.as_object().expect("object").keys().cloned().collect();
        assert_eq!(keys.len(), 6);
    }
}

//! Emulated network links for benchmarks (SPEC §5): a one-way latency with jitter added to every
//! hop between nodes of different domains, over real loopback sockets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One-way delay of a cross-domain hop.
#[derive(Debug)]
pub struct LinkDelay {
    one_way: Duration,
    jitter: Duration,
    /// xorshift state for the jitter (no need for cryptographic randomness here).
    state: AtomicU64,
}

impl LinkDelay {
    pub fn new(one_way_ms: u64, jitter_ms: u64) -> LinkDelay {
        LinkDelay {
            one_way: Duration::from_millis(one_way_ms),
            jitter: Duration::from_millis(jitter_ms),
            state: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
        }
    }

    pub fn is_zero(&self) -> bool {
        self.one_way.is_zero() && self.jitter.is_zero()
    }

    /// The next hop's delay: `one_way ± jitter`, never negative.
    pub fn sample(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.one_way;
        }
        let mut x = self.state.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.store(x, Ordering::Relaxed);
        let span = self.jitter.as_micros() as u64 * 2 + 1;
        let offset = Duration::from_micros(x % span);
        (self.one_way + offset).saturating_sub(self.jitter)
    }

    /// Waits one hop.
    pub async fn hop(&self) {
        if !self.is_zero() {
            tokio::time::sleep(self.sample()).await;
        }
    }

    /// Runs `request` as a round trip over the link: a hop there, the request, a hop back.
    pub async fn round_trip<T>(&self, request: impl std::future::Future<Output = T>) -> T {
        self.hop().await;
        let out = request.await;
        self.hop().await;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_bounds_and_varies() {
        let link = LinkDelay::new(20, 5);
        let samples: Vec<Duration> = (0..1000).map(|_| link.sample()).collect();
        assert!(
            samples
                .iter()
                .all(|d| *d >= Duration::from_millis(15) && *d <= Duration::from_millis(25))
        );
        assert!(samples.iter().any(|d| *d != samples[0]));
        assert_eq!(LinkDelay::new(7, 0).sample(), Duration::from_millis(7));
        assert!(LinkDelay::new(0, 0).is_zero());
    }
}

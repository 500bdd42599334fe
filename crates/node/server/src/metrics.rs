//! Prometheus metrics in the text exposition format, served at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use arcanum_ledger::CommitSummary;
use arcanum_types::TxStatus;

/// Counters and gauges of one node.
#[derive(Debug, Default)]
pub struct Metrics {
    pub height: AtomicU64,
    pub blocks_committed: AtomicU64,
    pub blocks_rejected: AtomicU64,
    pub txs_valid: AtomicU64,
    pub txs_invalid: AtomicU64,
    pub requests_rejected: AtomicU64,
}

impl Metrics {
    pub fn record_block(&self, s: &CommitSummary) {
        let valid = s
            .receipts
            .iter()
            .filter(|r| r.status == TxStatus::Valid)
            .count() as u64;
        self.height.store(s.height, Ordering::Relaxed);
        self.blocks_committed.fetch_add(1, Ordering::Relaxed);
        self.txs_valid.fetch_add(valid, Ordering::Relaxed);
        self.txs_invalid
            .fetch_add(s.receipts.len() as u64 - valid, Ordering::Relaxed);
    }

    pub fn render(&self, role: &str) -> String {
        let mut out = String::new();
        let mut put = |name: &str, kind: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP arcanum_{name} {help}\n# TYPE arcanum_{name} {kind}"
            );
            let _ = writeln!(
                out,
                "arcanum_{name}{{role=\"{role}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        };
        put(
            "height",
            "gauge",
            "Height of the local chain.",
            &self.height,
        );
        put(
            "blocks_committed_total",
            "counter",
            "Blocks committed.",
            &self.blocks_committed,
        );
        put(
            "blocks_rejected_total",
            "counter",
            "Blocks refused by validation.",
            &self.blocks_rejected,
        );
        put(
            "txs_valid_total",
            "counter",
            "Valid transactions committed.",
            &self.txs_valid,
        );
        put(
            "txs_invalid_total",
            "counter",
            "Invalid transactions recorded.",
            &self.txs_invalid,
        );
        put(
            "requests_rejected_total",
            "counter",
            "Client requests answered with an error.",
            &self.requests_rejected,
        );
        out
    }
}

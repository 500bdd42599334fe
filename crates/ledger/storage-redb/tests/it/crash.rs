//! Crash safety (SPEC §3): a child process commits blocks in a loop and is SIGKILLed at an
//! arbitrary moment; the reopened store must hold exactly blocks `1..=tip`, with the state their
//! writes produce, and must not have lost any block the child reported committed.
//!
//! The child is this test binary itself, re-executed with [`CHILD_ENV`] set and filtered to this
//! one test. It prints `COMMITTED <h>` after each commit returns; the parent synchronises on those
//! lines (no sleeps) and kills the child right after the N-th one, while it is inside a later
//! commit.

use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use arcanum_crypto::sha256;
use arcanum_storage::{BlockCommit, LedgerStore};
use arcanum_storage_redb::RedbStore;
use arcanum_types::{ErrorCode, Hash, TxReceipt, TxStatus};

use crate::{CommitRooted, Oracle, assert_store_matches, vv};

const CHILD_ENV: &str = "ARCANUM_STORAGE_CRASH_CHILD_DB";
const TEST_NAME: &str = "sigkill_during_commits_leaves_a_consistent_store";
const KEY_SPACE: u64 = 400;
/// The child stops on its own after this many blocks, should the parent never kill it.
const CHILD_MAX_BLOCKS: u64 = 10_000;

/// splitmix64: a tiny deterministic generator, so the parent can replay the child's blocks.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn key(i: u64) -> Vec<u8> {
    format!("k/{i:04}").into_bytes()
}

/// The deterministic block `h`: up to 16 transactions, ~150 writes (a fifth of them deletes) of
/// values up to 2 KiB, and a few KiB of block bytes, so that a commit takes a while.
fn block(h: u64) -> BlockCommit {
    let mut rng = Rng(h);
    let tx_count = 1 + rng.below(16) as u32;
    let receipts: Vec<TxReceipt> = (0..tx_count)
        .map(|i| {
            let status = if i == 0 || rng.below(4) != 0 {
                TxStatus::Valid
            } else {
                TxStatus::Invalid(ErrorCode::MvccReadConflict)
            };
            let tx_id = sha256(&[h.to_le_bytes().as_slice(), &i.to_le_bytes()].concat());
            TxReceipt {
                tx_id,
                block: h,
                index: i,
                status,
            }
        })
        .collect();
    let valid: Vec<u32> = receipts
        .iter()
        .filter(|r| r.status == TxStatus::Valid)
        .map(|r| r.index)
        .collect();
    let writes = (0..100 + rng.below(100))
        .map(|_| {
            let k = key(rng.below(KEY_SPACE));
            let tx = valid[rng.below(valid.len() as u64) as usize];
            if rng.below(5) == 0 {
                (k, None)
            } else {
                let len = rng.below(2048) as usize;
                let byte = rng.next() as u8;
                (k, Some(vv(&vec![byte; len], h, tx)))
            }
        })
        .collect();
    let block_bytes: Vec<u8> = (0..4096 + rng.below(4096))
        .map(|_| rng.next() as u8)
        .collect();
    BlockCommit {
        height: h,
        block_hash: sha256(&block_bytes),
        block_bytes,
        writes,
        receipts,
        state_root: Hash::ZERO,
    }
}

/// The child: resume from the tip and commit the next blocks, reporting each.
fn child(path: &Path) {
    let store = RedbStore::open(path).unwrap();
    let start = store.tip().unwrap().0 + 1;
    let mut out = std::io::stdout().lock();
    for h in start..start + CHILD_MAX_BLOCKS {
        store.commit_rooted(block(h)).unwrap();
        // A write error means the parent is gone: stop.
        if writeln!(out, "COMMITTED {h}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

#[test]
fn sigkill_during_commits_leaves_a_consistent_store() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&path));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let seed = RandomState::new().hash_one(0u8);
    let mut rng = Rng(seed);
    let mut oracle = Oracle::default();
    let probe_keys: Vec<Vec<u8>> = (0..KEY_SPACE).step_by(37).map(key).collect();

    for round in 0..6 {
        let kill_after = 1 + rng.below(8);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                &format!("crash::{TEST_NAME}"),
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut reported = Vec::new();
        while (reported.len() as u64) < kill_after {
            let Some(line) = lines.next() else { break };
            // libtest's own `test … ... ` may precede the first report on its line.
            if let Some((_, h)) = line.unwrap().split_once("COMMITTED ") {
                reported.push(h.trim().parse::<u64>().unwrap());
            }
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(
            reported.len() as u64,
            kill_after,
            "seed {seed} round {round}: child stopped early ({status}); stderr:\n{stderr}"
        );
        let last_reported = *reported.last().unwrap();
        assert_eq!(
            reported.first(),
            Some(&(oracle.height() + 1)),
            "seed {seed} round {round}: child resumed at the tip"
        );

        let store = RedbStore::open(&path).unwrap();
        let (tip, _) = store.tip().unwrap();
        assert!(
            tip >= last_reported,
            "seed {seed} round {round}: block {last_reported} was reported committed but the tip is {tip}"
        );
        for h in oracle.height() + 1..=tip {
            oracle.apply(&block(h));
        }
        // Blocks 1..=tip present and exact, nothing above, state = replay of their writes.
        let ids: Vec<Hash> = block(tip + 1).receipts.iter().map(|r| r.tx_id).collect();
        assert_store_matches(&store, &oracle, &probe_keys, &ids);
    }
}

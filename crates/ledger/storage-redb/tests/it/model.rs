//! Model-based test: random commit sequences against the [`Oracle`].

use arcanum_storage::{BlockCommit, LedgerStore, StorageError};
use arcanum_storage_redb::RedbStore;
use arcanum_types::{ErrorCode, Hash, TxReceipt, TxStatus};
use proptest::prelude::*;

use crate::{CommitRooted, Oracle, assert_store_matches, vv};

const KEYS: u8 = 6;
const TX_IDS: u8 = 8;

fn key(i: u8) -> Vec<u8> {
    // Keys of different lengths, one a prefix of another, to exercise ordering.
    match i % 3 {
        0 => vec![b'k', i],
        1 => vec![b'k', i, 0],
        _ => vec![b'k', i, 0xff, 1],
    }
}

fn tx_id(i: u8) -> Hash {
    Hash([i; 32])
}

/// A block before it is given a height: transactions (id, valid?) and writes
/// (key, value or delete, which valid transaction wrote it).
#[derive(Clone, Debug)]
struct BlockSpec {
    txs: Vec<(u8, bool)>,
    writes: Vec<(u8, Option<Vec<u8>>, usize)>,
    tag: u8,
}

impl BlockSpec {
    fn at(&self, height: u64) -> BlockCommit {
        let receipts: Vec<TxReceipt> = self
            .txs
            .iter()
            .enumerate()
            .map(|(i, &(id, valid))| TxReceipt {
                tx_id: tx_id(id),
                block: height,
                index: i as u32,
                status: if valid {
                    TxStatus::Valid
                } else {
                    TxStatus::Invalid(ErrorCode::MvccReadConflict)
                },
            })
            .collect();
        let valid: Vec<u32> = (0..receipts.len() as u32)
            .filter(|&i| self.txs[i as usize].1)
            .collect();
        let writes = if valid.is_empty() {
            Vec::new()
        } else {
            self.writes
                .iter()
                .map(|(k, v, w)| {
                    (
                        key(*k),
                        v.as_ref().map(|v| vv(v, height, valid[w % valid.len()])),
                    )
                })
                .collect()
        };
        let mut block_hash = [self.tag; 32];
        block_hash[..8].copy_from_slice(&height.to_le_bytes());
        BlockCommit {
            height,
            block_hash: Hash(block_hash),
            block_bytes: vec![self.tag; usize::from(self.tag % 5)],
            writes,
            receipts,
            state_root: Hash::ZERO,
        }
    }
}

fn block_spec() -> impl Strategy<Value = BlockSpec> {
    (
        prop::collection::vec((0..TX_IDS, prop::bool::weighted(0.7)), 0..5),
        prop::collection::vec(
            (
                0..KEYS,
                prop::option::weighted(0.6, prop::collection::vec(0u8..3, 0..3)),
                any::<usize>(),
            ),
            0..6,
        ),
        any::<u8>(),
    )
        .prop_map(|(txs, writes, tag)| BlockSpec { txs, writes, tag })
}

#[derive(Clone, Debug)]
enum Op {
    Commit(BlockSpec),
    /// A commit at `tip` (or 0) when `ahead` is false, at `tip + 2` otherwise: refused.
    WrongHeight(BlockSpec, bool),
    /// Close and reopen the store (file-backed runs only).
    Reopen,
}

fn op(reopen: bool) -> BoxedStrategy<Op> {
    let base = prop_oneof![
        6 => block_spec().prop_map(Op::Commit),
        1 => (block_spec(), any::<bool>()).prop_map(|(b, ahead)| Op::WrongHeight(b, ahead)),
    ];
    if reopen {
        prop_oneof![5 => base, 1 => Just(Op::Reopen)].boxed()
    } else {
        base.boxed()
    }
}

fn probe_keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = (0..KEYS).map(key).collect();
    keys.push(Vec::new());
    keys.push(vec![b'k']);
    keys.push(vec![0xff; 4]);
    keys
}

fn run(ops: Vec<Op>, path: Option<&std::path::Path>) {
    let open = || match path {
        Some(p) => RedbStore::open(p).unwrap(),
        None => RedbStore::in_memory().unwrap(),
    };
    let mut store = open();
    let mut oracle = Oracle::default();
    let keys = probe_keys();
    let ids: Vec<Hash> = (0..TX_IDS).map(tx_id).collect();
    // Every (state, root) seen so far: roots must be equal exactly when states are.
    let mut seen: Vec<(Oracle, Hash)> = vec![(oracle.clone(), store.state_root().unwrap())];

    for op in ops {
        match op {
            Op::Commit(spec) => {
                let commit = spec.at(oracle.height() + 1);
                store.commit_rooted(commit.clone()).unwrap();
                oracle.apply(&commit);
            }
            Op::WrongHeight(spec, ahead) => {
                let tip = oracle.height();
                let got = if ahead { tip + 2 } else { tip };
                let err = store.commit_rooted(spec.at(got)).unwrap_err();
                assert_eq!(
                    err,
                    StorageError::HeightMismatch {
                        expected: tip + 1,
                        got
                    }
                );
                assert_eq!(
                    err.code(),
                    if ahead {
                        ErrorCode::BlockHeightGap
                    } else {
                        ErrorCode::BlockConflict
                    }
                );
            }
            Op::Reopen => {
                drop(store);
                store = open();
            }
        }
        assert_store_matches(&store, &oracle, &keys, &ids);
        let root = store.state_root().unwrap();
        for (past, past_root) in &seen {
            assert_eq!(
                past.state == oracle.state,
                *past_root == root,
                "root equal iff state equal"
            );
        }
        seen.push((oracle.clone(), root));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn in_memory_store_matches_oracle(ops in prop::collection::vec(op(false), 1..24)) {
        run(ops, None);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn file_store_matches_oracle_across_reopen(ops in prop::collection::vec(op(true), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        run(ops, Some(&dir.path().join("ledger.redb")));
    }
}

//! Integration tests of `arcanum-storage`: a model-based test against a `BTreeMap` oracle,
//! durability across reopen, refused commits, state proofs at every height, snapshot isolation and a SIGKILL crash test.

#![allow(clippy::unwrap_used)]

mod crash;
mod durability;
mod model;
mod proofs;
mod snapshot;

use std::collections::BTreeMap;

use arcanum_storage::{BlockCommit, LedgerStore, StorageError, VersionedValue};
use arcanum_types::state::state_key_hash;
use arcanum_types::{Hash, TxReceipt, Version, encode};

/// Commits with the state root the writes produce (the store recomputes and checks it).
pub trait CommitRooted {
    fn commit_rooted(&self, commit: BlockCommit) -> Result<(), StorageError>;
}

impl<S: LedgerStore + ?Sized> CommitRooted for S {
    fn commit_rooted(&self, mut commit: BlockCommit) -> Result<(), StorageError> {
        commit.state_root = self.next_state_root(&commit.writes)?;
        self.commit_block(commit)
    }
}

/// What the store should contain, maintained by plain `BTreeMap`s.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Oracle {
    pub state: BTreeMap<Vec<u8>, VersionedValue>,
    /// Block `h` at index `h - 1`: (bytes, hash, receipts).
    pub blocks: Vec<(Vec<u8>, Hash, Vec<TxReceipt>)>,
    /// First receipt per tx id.
    pub index: BTreeMap<Hash, TxReceipt>,
}

impl Oracle {
    pub fn height(&self) -> u64 {
        self.blocks.len() as u64
    }

    pub fn tip(&self) -> (u64, Hash) {
        self.blocks
            .last()
            .map_or((0, Hash::ZERO), |b| (self.height(), b.1))
    }

    pub fn apply(&mut self, c: &BlockCommit) {
        assert_eq!(
            c.height,
            self.height() + 1,
            "oracle applies only the next block"
        );
        for (k, v) in &c.writes {
            match v {
                Some(v) => self.state.insert(k.clone(), v.clone()),
                None => self.state.remove(k),
            };
        }
        for r in &c.receipts {
            self.index.entry(r.tx_id).or_insert_with(|| r.clone());
        }
        self.blocks
            .push((c.block_bytes.clone(), c.block_hash, c.receipts.clone()));
    }

    /// The state root, computed independently of the store: a fresh Jellyfish Merkle Tree over
    /// jmt's own in-memory mock store, holding exactly the oracle's entries (the root depends
    /// on the set of entries only, not on history).
    pub fn root(&self) -> Hash {
        let tree_store = jmt::mock::MockTreeStore::default();
        let tree = jmt::Sha256Jmt::new(&tree_store);
        let set = self
            .state
            .iter()
            .map(|(k, v)| (state_key_hash(k), Some(encode(v))));
        let (root, batch) = tree.put_value_set(set, 0).unwrap();
        tree_store.write_tree_update_batch(batch).unwrap();
        Hash(root.0)
    }
}

/// Asserts that every read of `store` agrees with `oracle`. `keys` and `tx_ids` are probed in
/// addition to the ones the oracle knows, so absent entries are checked too.
pub fn assert_store_matches(
    store: &dyn LedgerStore,
    oracle: &Oracle,
    keys: &[Vec<u8>],
    tx_ids: &[Hash],
) {
    let h = oracle.height();
    assert_eq!(store.tip().unwrap(), oracle.tip(), "tip");
    assert_eq!(store.height().unwrap(), h, "height");
    for (i, (bytes, hash, receipts)) in oracle.blocks.iter().enumerate() {
        let height = i as u64 + 1;
        assert_eq!(
            store.block(height).unwrap().as_ref(),
            Some(bytes),
            "block {height}"
        );
        assert_eq!(
            store.block_hash(height).unwrap(),
            Some(*hash),
            "block hash {height}"
        );
        assert_eq!(
            store.receipts_in_block(height).unwrap().as_ref(),
            Some(receipts),
            "receipts {height}"
        );
    }
    assert_eq!(store.block(h + 1).unwrap(), None, "block past the tip");
    assert_eq!(store.block_hash(h + 1).unwrap(), None, "hash past the tip");
    assert_eq!(
        store.receipts_in_block(h + 1).unwrap(),
        None,
        "receipts past the tip"
    );
    assert_eq!(store.block(0).unwrap(), None, "block 0");

    for k in keys.iter().chain(oracle.state.keys()) {
        assert_eq!(
            store.get(k).unwrap().as_ref(),
            oracle.state.get(k),
            "get {k:?}"
        );
    }
    let all: Vec<_> = oracle
        .state
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        store.range(&[], &[0xff; 1025], usize::MAX).unwrap(),
        all,
        "full range"
    );
    // Sub-ranges between probe keys, with limits.
    for start in keys {
        for end in keys {
            for limit in [0, 1, 3, usize::MAX] {
                let expected: Vec<_> = if start < end {
                    oracle
                        .state
                        .range(start.clone()..end.clone())
                        .take(limit)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                } else {
                    Vec::new()
                };
                assert_eq!(
                    store.range(start, end, limit).unwrap(),
                    expected,
                    "range {start:?}..{end:?} limit {limit}"
                );
            }
        }
    }

    for id in tx_ids.iter().chain(oracle.index.keys()) {
        assert_eq!(
            store.receipt(id).unwrap().as_ref(),
            oracle.index.get(id),
            "receipt {id}"
        );
        assert_eq!(
            store.contains_tx(id).unwrap(),
            oracle.index.contains_key(id),
            "contains_tx {id}"
        );
    }
    assert_eq!(store.state_root().unwrap(), oracle.root(), "state root");
}

/// A value written by transaction `tx` of block `block`.
pub fn vv(value: &[u8], block: u64, tx: u32) -> VersionedValue {
    VersionedValue {
        value: value.to_vec(),
        version: Version { block, tx },
    }
}

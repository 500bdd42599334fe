//! Reopening, refused commits and exclusive access.

use arcanum_storage::{BlockCommit, InvalidCommit, LedgerStore, StorageError};
use arcanum_storage_redb::RedbStore;
use arcanum_types::limits::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
use arcanum_types::{ErrorCode, Hash, TxReceipt, TxStatus};

use crate::{CommitRooted, Oracle, assert_store_matches, vv};

fn receipt(id: u8, block: u64, index: u32, valid: bool) -> TxReceipt {
    let status = if valid {
        TxStatus::Valid
    } else {
        TxStatus::Invalid(ErrorCode::PolicyNotSatisfied)
    };
    TxReceipt {
        tx_id: Hash([id; 32]),
        block,
        index,
        status,
    }
}

/// Block `h`: tx 0 valid, tx 1 invalid; tx 0 writes `a` and `h`, and deletes `b` from block 2 on.
fn block(h: u64) -> BlockCommit {
    let mut writes = vec![
        (b"a".to_vec(), Some(vv(&h.to_le_bytes(), h, 0))),
        (vec![b'h', h as u8], Some(vv(b"x", h, 0))),
    ];
    if h == 1 {
        writes.push((b"b".to_vec(), Some(vv(b"bee", 1, 0))));
    } else {
        writes.push((b"b".to_vec(), None));
    }
    BlockCommit {
        height: h,
        block_hash: Hash([h as u8; 32]),
        block_bytes: format!("block {h}").into_bytes(),
        writes,
        receipts: vec![
            receipt((h as u8).wrapping_mul(2), h, 0, true),
            receipt((h as u8).wrapping_mul(2).wrapping_add(1), h, 1, false),
        ],
        state_root: Hash::ZERO,
    }
}

fn probes() -> (Vec<Vec<u8>>, Vec<Hash>) {
    let keys = vec![b"a".to_vec(), b"b".to_vec(), b"h".to_vec(), b"z".to_vec()];
    let ids = (0..12).map(|i| Hash([i; 32])).collect();
    (keys, ids)
}

#[test]
fn reopen_after_commits_gives_the_same_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let (keys, ids) = probes();
    let mut oracle = Oracle::default();
    {
        let store = RedbStore::open(&path).unwrap();
        assert_store_matches(&store, &oracle, &keys, &ids);
        for h in 1..=4 {
            store.commit_rooted(block(h)).unwrap();
            oracle.apply(&block(h));
        }
        assert_store_matches(&store, &oracle, &keys, &ids);
    }
    let store = RedbStore::open(&path).unwrap();
    assert_store_matches(&store, &oracle, &keys, &ids);
    assert_eq!(store.tip().unwrap(), (4, Hash([4; 32])));
    // And it resumes at the next height.
    store.commit_rooted(block(5)).unwrap();
    oracle.apply(&block(5));
    drop(store);
    assert_store_matches(&RedbStore::open(&path).unwrap(), &oracle, &keys, &ids);
}

#[test]
fn refused_commits_change_nothing() {
    let store = RedbStore::in_memory().unwrap();
    let (keys, ids) = probes();
    let mut oracle = Oracle::default();
    for h in 1..=2 {
        store.commit_rooted(block(h)).unwrap();
        oracle.apply(&block(h));
    }
    let root = store.state_root().unwrap();

    let mut refused = Vec::new();
    for got in [0, 1, 2, 4, u64::MAX] {
        refused.push((
            block(got),
            StorageError::HeightMismatch { expected: 3, got },
        ));
    }
    let mut c = block(3);
    c.receipts[1].index = 5;
    refused.push((
        c,
        StorageError::InvalidCommit {
            reason: InvalidCommit::ReceiptPosition { position: 1 },
        },
    ));
    let mut c = block(3);
    c.receipts[0].block = 2;
    refused.push((
        c,
        StorageError::InvalidCommit {
            reason: InvalidCommit::ReceiptPosition { position: 0 },
        },
    ));
    let mut c = block(3);
    c.writes[1].1 = Some(vv(b"x", 2, 0));
    refused.push((
        c,
        StorageError::InvalidCommit {
            reason: InvalidCommit::WriteVersionBlock { position: 1 },
        },
    ));
    let mut c = block(3);
    c.writes[0].1 = Some(vv(b"x", 3, 1)); // tx 1 is invalid
    refused.push((
        c,
        StorageError::InvalidCommit {
            reason: InvalidCommit::WriteNotFromValidTx { position: 0 },
        },
    ));
    let mut c = block(3);
    c.writes[0].1 = Some(vv(b"x", 3, 9)); // no such tx
    refused.push((
        c,
        StorageError::InvalidCommit {
            reason: InvalidCommit::WriteNotFromValidTx { position: 0 },
        },
    ));
    let mut c = block(3);
    c.writes.push((vec![0; MAX_KEY_BYTES + 1], None));
    refused.push((
        c,
        StorageError::LimitExceeded {
            what: "state key",
            len: MAX_KEY_BYTES + 1,
            max: MAX_KEY_BYTES,
        },
    ));
    let mut c = block(3);
    c.writes.push((
        b"big".to_vec(),
        Some(vv(&vec![0; MAX_VALUE_BYTES + 1], 3, 0)),
    ));
    refused.push((
        c,
        StorageError::LimitExceeded {
            what: "state value",
            len: MAX_VALUE_BYTES + 1,
            max: MAX_VALUE_BYTES,
        },
    ));

    for (commit, expected) in refused {
        assert_eq!(store.commit_rooted(commit).unwrap_err(), expected);
        assert_store_matches(&store, &oracle, &keys, &ids);
        assert_eq!(store.state_root().unwrap(), root);
    }
    // The right block is still accepted afterwards.
    store.commit_rooted(block(3)).unwrap();
    oracle.apply(&block(3));
    assert_store_matches(&store, &oracle, &keys, &ids);
}

#[test]
fn replayed_tx_id_keeps_its_first_receipt() {
    let store = RedbStore::in_memory().unwrap();
    store.commit_rooted(block(1)).unwrap();
    let first = store.receipt(&Hash([2; 32])).unwrap().unwrap();
    assert_eq!(
        (first.block, first.index, first.status),
        (1, 0, TxStatus::Valid)
    );

    // Block 2 carries the same id twice more, both recorded invalid (a replay).
    let mut c = block(2);
    c.receipts = vec![
        receipt(2, 2, 0, false),
        receipt(2, 2, 1, false),
        receipt(9, 2, 2, true),
    ];
    c.writes
        .iter_mut()
        .filter_map(|(_, v)| v.as_mut())
        .for_each(|v| v.version.tx = 2);
    store.commit_rooted(c.clone()).unwrap();

    assert_eq!(store.receipt(&Hash([2; 32])).unwrap(), Some(first));
    assert!(store.contains_tx(&Hash([2; 32])).unwrap());
    assert_eq!(store.receipts_in_block(2).unwrap(), Some(c.receipts));
}

#[test]
fn a_second_open_of_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let store = RedbStore::open(&path).unwrap();
    store.commit_rooted(block(1)).unwrap();
    let err = RedbStore::open(&path).unwrap_err();
    assert!(matches!(err, StorageError::Backend(_)), "{err:?}");
    assert_eq!(err.code(), ErrorCode::Internal);
    assert_eq!(store.tip().unwrap().0, 1);
}

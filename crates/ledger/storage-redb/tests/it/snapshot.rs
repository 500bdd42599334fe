//! Snapshot isolation.

use arcanum_storage::{BlockCommit, LedgerStore, StateReader};
use arcanum_storage_redb::RedbStore;
use arcanum_types::{Hash, TxReceipt, TxStatus};

use crate::{CommitRooted, vv};

fn commit(height: u64, writes: Vec<(&[u8], Option<&[u8]>)>) -> BlockCommit {
    BlockCommit {
        height,
        block_hash: Hash([height as u8; 32]),
        block_bytes: vec![height as u8],
        writes: writes
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v.map(|v| vv(v, height, 0))))
            .collect(),
        receipts: vec![TxReceipt {
            tx_id: Hash([height as u8; 32]),
            block: height,
            index: 0,
            status: TxStatus::Valid,
        }],
        state_root: Hash::ZERO,
    }
}

#[test]
fn a_snapshot_does_not_see_later_commits() {
    let store = RedbStore::in_memory().unwrap();
    store
        .commit_rooted(commit(1, vec![(b"a", Some(b"1")), (b"b", Some(b"1"))]))
        .unwrap();
    let snap = store.snapshot().unwrap();
    let before = snap.range(b"", b"z", usize::MAX).unwrap();
    assert_eq!(before.len(), 2);

    store
        .commit_rooted(commit(
            2,
            vec![(b"a", Some(b"2")), (b"b", None), (b"c", Some(b"2"))],
        ))
        .unwrap();

    // The store sees block 2 ...
    assert_eq!(store.get(b"a").unwrap(), Some(vv(b"2", 2, 0)));
    assert_eq!(store.get(b"b").unwrap(), None);
    assert_eq!(StateReader::height(&store).unwrap(), 2);
    // ... the snapshot still sees block 1, also from another thread.
    let snap = std::thread::spawn(move || {
        assert_eq!(snap.get(b"a").unwrap(), Some(vv(b"1", 1, 0)));
        assert_eq!(snap.get(b"b").unwrap(), Some(vv(b"1", 1, 0)));
        assert_eq!(snap.get(b"c").unwrap(), None);
        assert_eq!(snap.height().unwrap(), 1);
        assert_eq!(snap.range(b"", b"z", usize::MAX).unwrap(), before);
        snap
    })
    .join()
    .unwrap();
    // A new snapshot sees block 2.
    let now = store.snapshot().unwrap();
    assert_eq!(now.height().unwrap(), 2);
    assert_eq!(now.get(b"c").unwrap(), Some(vv(b"2", 2, 0)));
    assert_eq!(
        snap.range(b"a", b"b", 5).unwrap(),
        vec![(b"a".to_vec(), vv(b"1", 1, 0))]
    );
}

#[test]
fn an_empty_store_has_a_zero_tip_and_the_empty_root() {
    let store = RedbStore::in_memory().unwrap();
    assert_eq!(store.tip().unwrap(), (0, Hash::ZERO));
    assert_eq!(store.snapshot().unwrap().height().unwrap(), 0);
    assert_eq!(
        store.state_root().unwrap(),
        arcanum_types::state::EMPTY_STATE_ROOT
    );
    // Writing and then deleting a key returns to the empty root.
    store
        .commit_rooted(commit(1, vec![(b"a", Some(b"1"))]))
        .unwrap();
    assert_ne!(store.state_root().unwrap(), crate::Oracle::default().root());
    store.commit_rooted(commit(2, vec![(b"a", None)])).unwrap();
    assert_eq!(store.state_root().unwrap(), crate::Oracle::default().root());
}

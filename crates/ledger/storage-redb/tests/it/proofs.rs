//! State roots by height and proofs against them: every committed height keeps its root, a
//! proof at any height verifies for exactly the value (or absence) of that height, and a commit
//! naming the wrong root is refused whole.

use arcanum_storage::{BlockCommit, LedgerStore, StateReader, StorageError};
use arcanum_storage_redb::RedbStore;
use arcanum_types::state::EMPTY_STATE_ROOT;
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

/// Three blocks: `a` written at 1 and 2, `b` written at 1 and deleted at 3, `c` never.
fn history() -> RedbStore {
    let store = RedbStore::in_memory().unwrap();
    store
        .commit_rooted(commit(1, vec![(b"a", Some(b"1")), (b"b", Some(b"1"))]))
        .unwrap();
    store
        .commit_rooted(commit(2, vec![(b"a", Some(b"2"))]))
        .unwrap();
    store.commit_rooted(commit(3, vec![(b"b", None)])).unwrap();
    store
}

#[test]
fn proofs_at_every_height_verify_for_that_heights_value_only() {
    let store = history();
    assert_eq!(store.state_root_at(0).unwrap(), Some(EMPTY_STATE_ROOT));
    assert_eq!(store.state_root_at(4).unwrap(), None);
    assert_eq!(
        store.state_root().unwrap(),
        store.state_root_at(3).unwrap().unwrap()
    );
    let expected = |key: &[u8], height: u64| match (key, height) {
        (b"a", 1) => Some(vv(b"1", 1, 0)),
        (b"a", 2 | 3) => Some(vv(b"2", 2, 0)),
        (b"b", 1 | 2) => Some(vv(b"1", 1, 0)),
        _ => None,
    };
    for height in 0..=3 {
        let root = store.state_root_at(height).unwrap().unwrap();
        for key in [b"a".as_slice(), b"b", b"c"] {
            let (value, proof) = store.get_with_proof(key, height).unwrap();
            assert_eq!(value, expected(key, height), "{key:?} at {height}");
            proof.verify(&root, key, value.as_ref()).unwrap();
            // Another value, version or absence, another key, another root: refused.
            let other = Some(vv(b"forged", height, 0));
            assert!(proof.verify(&root, key, other.as_ref()).is_err());
            if let Some(v) = &value {
                assert!(proof.verify(&root, key, None).is_err());
                let older = vv(&v.value, v.version.block, v.version.tx + 1);
                assert!(proof.verify(&root, key, Some(&older)).is_err());
                assert!(proof.verify(&root, b"z", value.as_ref()).is_err());
            }
            if height > 0 {
                let previous = store.state_root_at(height - 1).unwrap().unwrap();
                if expected(key, height) != expected(key, height - 1) {
                    assert!(proof.verify(&previous, key, value.as_ref()).is_err());
                }
            }
        }
    }
    assert_eq!(
        store.get_with_proof(b"a", 4).unwrap_err(),
        StorageError::NoSuchHeight { height: 4, tip: 3 }
    );
}

#[test]
fn a_commit_naming_another_root_changes_nothing() {
    let store = history();
    let root = store.state_root().unwrap();
    let mut bad = commit(4, vec![(b"c", Some(b"4"))]);
    let good_root = store.next_state_root(&bad.writes).unwrap();
    bad.state_root = Hash([9; 32]);
    assert_eq!(
        store.commit_block(bad.clone()).unwrap_err(),
        StorageError::StateRootMismatch {
            expected: Hash([9; 32]),
            computed: good_root
        }
    );
    assert_eq!(store.tip().unwrap().0, 3);
    assert_eq!(store.state_root().unwrap(), root);
    assert_eq!(store.get(b"c").unwrap(), None);
    assert_eq!(store.state_root_at(4).unwrap(), None);
    // The same block with its true root is accepted.
    bad.state_root = good_root;
    store.commit_block(bad).unwrap();
    assert_eq!(store.state_root().unwrap(), good_root);
}

#[test]
fn an_empty_store_proves_absence_at_height_zero() {
    let store = arcanum_storage_redb::RedbStore::in_memory().unwrap();
    let (value, proof) = store.get_with_proof(b"anything", 0).unwrap();
    assert_eq!(value, None);
    proof
        .verify(&arcanum_types::state::EMPTY_STATE_ROOT, b"anything", None)
        .unwrap();
    let present = arcanum_types::VersionedValue {
        value: b"v".to_vec(),
        version: arcanum_types::Version { block: 1, tx: 0 },
    };
    assert!(
        proof
            .verify(
                &arcanum_types::state::EMPTY_STATE_ROOT,
                b"anything",
                Some(&present)
            )
            .is_err()
    );
}

/// The tree update `next_state_root` computed is reused only for exactly its writes at its
/// height: previewing other writes in between, or committing other writes, still stores the
/// tree those writes produce (a second store committing the same blocks plainly agrees).
#[test]
fn a_prepared_tree_update_is_used_only_for_its_own_writes() {
    let store = RedbStore::in_memory().unwrap();
    let plain = RedbStore::in_memory().unwrap();
    let a = commit(1, vec![(b"a", Some(b"1"))]);
    let b = commit(1, vec![(b"b", Some(b"1"))]);
    let root_a = store.next_state_root(&a.writes).unwrap();
    let root_b = store.next_state_root(&b.writes).unwrap();
    assert_ne!(root_a, root_b);
    // Prepared for `b`; `a` is committed: its own tree, not `b`'s.
    store
        .commit_block(BlockCommit {
            state_root: root_a,
            ..a.clone()
        })
        .unwrap();
    plain.commit_rooted(a).unwrap();
    assert_eq!(store.state_root().unwrap(), plain.state_root().unwrap());
    // Prepared for one block, a commit naming that root with other writes is refused.
    let c = commit(2, vec![(b"c", Some(b"2"))]);
    let root_c = store.next_state_root(&c.writes).unwrap();
    let other = commit(2, vec![(b"d", Some(b"2"))]);
    assert!(matches!(
        store.commit_block(BlockCommit {
            state_root: root_c,
            ..other
        }),
        Err(StorageError::StateRootMismatch { .. })
    ));
    // And the prepared update itself commits.
    store.next_state_root(&c.writes).unwrap();
    store
        .commit_block(BlockCommit {
            state_root: root_c,
            ..c.clone()
        })
        .unwrap();
    plain.commit_rooted(c).unwrap();
    assert_eq!(store.state_root().unwrap(), plain.state_root().unwrap());
    let (value, proof) = store.get_with_proof(b"c", 2).unwrap();
    proof.verify(&root_c, b"c", value.as_ref()).unwrap();
    assert_eq!(store.get(b"d").unwrap(), None);
}

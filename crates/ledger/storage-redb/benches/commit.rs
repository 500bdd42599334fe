//! Commit of a 500-write block (on disk with immediate durability, and in memory, including the
//! state tree update), point reads, and state proofs (serving and verifying).

use std::hint::black_box;

use arcanum_storage::{BlockCommit, LedgerStore, StateReader, VersionedValue};
use arcanum_storage_redb::RedbStore;
use arcanum_types::{Hash, TxReceipt, TxStatus, Version};
use criterion::{Criterion, criterion_group, criterion_main};

const WRITES: u32 = 500;

fn key(i: u32) -> Vec<u8> {
    format!("asset/{i:08}").into_bytes()
}

/// Block `height`: 500 transactions, each writing one 100-byte value.
fn block(store: &RedbStore, height: u64) -> BlockCommit {
    let receipts = (0..WRITES)
        .map(|i| {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&height.to_le_bytes());
            id[8..12].copy_from_slice(&i.to_le_bytes());
            TxReceipt {
                tx_id: Hash(id),
                block: height,
                index: i,
                status: TxStatus::Valid,
            }
        })
        .collect();
    let writes: Vec<_> = (0..WRITES)
        .map(|i| {
            let value = VersionedValue {
                value: vec![(height % 251) as u8; 100],
                version: Version {
                    block: height,
                    tx: i,
                },
            };
            (key(i), Some(value))
        })
        .collect();
    let state_root = store.next_state_root(&writes).expect("root");
    BlockCommit {
        height,
        block_hash: Hash([(height % 251) as u8; 32]),
        block_bytes: vec![0xab; 64 * 1024],
        writes,
        receipts,
        state_root,
    }
}

fn bench_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let on_disk = RedbStore::open(&dir.path().join("ledger.redb")).expect("open");
    let in_memory = RedbStore::in_memory().expect("in-memory store");
    for (name, store) in [
        ("commit_500_writes/file", &on_disk),
        ("commit_500_writes/memory", &in_memory),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let next = store.tip().expect("tip").0 + 1;
                store
                    .commit_block(black_box(block(store, next)))
                    .expect("commit");
            })
        });
    }
}

fn bench_reads(c: &mut Criterion) {
    let store = RedbStore::in_memory().expect("in-memory store");
    for h in 1..=20 {
        store.commit_block(block(&store, h)).expect("commit");
    }
    let mut i = 0u32;
    c.bench_function("get/store", |b| {
        b.iter(|| {
            i = (i + 7) % WRITES;
            black_box(store.get(&key(i)).expect("get"))
        })
    });
    let snapshot = store.snapshot().expect("snapshot");
    c.bench_function("get/snapshot", |b| {
        b.iter(|| {
            i = (i + 7) % WRITES;
            black_box(snapshot.get(&key(i)).expect("get"))
        })
    });
}

/// A value with its proof at the tip (what a peer serves for `state get --proof`), and the
/// proof's verification (what the SDK, the CLI and the endorsement enclave do).
fn bench_proofs(c: &mut Criterion) {
    let store = RedbStore::in_memory().expect("in-memory store");
    for h in 1..=20 {
        store.commit_block(block(&store, h)).expect("commit");
    }
    let tip = store.tip().expect("tip").0;
    let root = store.state_root().expect("root");
    let mut i = 0u32;
    c.bench_function("get_with_proof/500_keys", |b| {
        b.iter(|| {
            i = (i + 7) % WRITES;
            black_box(store.get_with_proof(&key(i), tip).expect("proof"))
        })
    });
    let (value, proof) = store.get_with_proof(&key(3), tip).expect("proof");
    eprintln!(
        "state proof of one key among {WRITES}: {} bytes encoded",
        arcanum_types::encode(&proof).len()
    );
    c.bench_function("verify_state_proof/500_keys", |b| {
        b.iter(|| {
            proof
                .verify(&root, &key(3), black_box(value.as_ref()))
                .expect("verifies")
        })
    });
}

criterion_group!(benches, bench_commit, bench_reads, bench_proofs);
criterion_main!(benches);

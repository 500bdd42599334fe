//! Commit of a 500-write block (on disk with immediate durability, and in memory) and point reads.

use std::hint::black_box;

use arcanum_storage::{BlockCommit, LedgerStore, RedbStore, StateReader, VersionedValue};
use arcanum_types::{Hash, TxReceipt, TxStatus, Version};
use criterion::{Criterion, criterion_group, criterion_main};

const WRITES: u32 = 500;

fn key(i: u32) -> Vec<u8> {
    format!("asset/{i:08}").into_bytes()
}

/// Block `height`: 500 transactions, each writing one 100-byte value.
fn block(height: u64) -> BlockCommit {
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
    let writes = (0..WRITES)
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
    BlockCommit {
        height,
        block_hash: Hash([(height % 251) as u8; 32]),
        block_bytes: vec![0xab; 64 * 1024],
        writes,
        receipts,
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
                store.commit_block(black_box(block(next))).expect("commit");
            })
        });
    }
}

fn bench_reads(c: &mut Criterion) {
    let store = RedbStore::in_memory().expect("in-memory store");
    for h in 1..=20 {
        store.commit_block(block(h)).expect("commit");
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

criterion_group!(benches, bench_commit, bench_reads);
criterion_main!(benches);

//! Benchmarks one asset transfer invocation (instantiation included) and one kv read.

use arcanum_vm::{Caller, Engine, InMemoryState, Limits};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let engine = Engine::new();
    let asset = engine
        .compile(arcanum_contracts::ASSET_WASM)
        .expect("asset compiles");
    let kv = engine
        .compile(arcanum_contracts::KV_WASM)
        .expect("kv compiles");
    let caller = Caller {
        id: [1; 32],
        msp_id: "Org1MSP".into(),
        role: "client".into(),
    };
    let limits = Limits::default();

    let mut state = InMemoryState::new();
    for (account, amount) in [("alice", "1000000000"), ("bob", "0")] {
        let args = vec![account.as_bytes().to_vec(), amount.as_bytes().to_vec()];
        asset
            .invoke(&mut state, &caller, "create", &args, &limits)
            .expect("create");
    }
    let transfer = vec![b"alice".to_vec(), b"bob".to_vec(), b"1".to_vec()];
    c.bench_function("asset_transfer", |b| {
        b.iter(|| {
            asset
                .invoke(&mut state, &caller, "transfer", &transfer, &limits)
                .expect("transfer")
        })
    });

    let mut kv_state = InMemoryState::new();
    let put = vec![b"key".to_vec(), vec![7; 256]];
    kv.invoke(&mut kv_state, &caller, "put", &put, &limits)
        .expect("put");
    let get = vec![b"key".to_vec()];
    c.bench_function("kv_get", |b| {
        b.iter(|| {
            kv.invoke(&mut kv_state, &caller, "get", &get, &limits)
                .expect("get")
        })
    });

    c.bench_function("compile_asset", |b| {
        b.iter(|| {
            engine
                .compile(arcanum_contracts::ASSET_WASM)
                .expect("compile")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

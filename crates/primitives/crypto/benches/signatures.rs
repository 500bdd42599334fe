//! Signature throughput: Ed25519 sign / verify / batch verify of 64 (`verify_batch` against the
//! guarded dalek batch), P-256 and RSA-2048 sign / verify.

use arcanum_crypto::{
    Algorithm, PublicKey, Signature, SigningKey, domain, verify_batch, verify_batch_guarded,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;

const MSG: &[u8] = &[0x5a; 256];

fn key(algorithm: Algorithm) -> SigningKey {
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    SigningKey::generate(algorithm, &mut rng).expect("key generation")
}

fn single(c: &mut Criterion) {
    let mut g = c.benchmark_group("single");
    for algorithm in [Algorithm::Ed25519, Algorithm::P256, Algorithm::Rsa2048] {
        let k = key(algorithm);
        let pk = k.public_key();
        let sig = k.sign(domain::ENDORSEMENT, MSG);
        g.bench_function(BenchmarkId::new("sign", format!("{algorithm:?}")), |b| {
            b.iter(|| k.sign(domain::ENDORSEMENT, std::hint::black_box(MSG)))
        });
        g.bench_function(BenchmarkId::new("verify", format!("{algorithm:?}")), |b| {
            b.iter(|| {
                pk.verify(domain::ENDORSEMENT, std::hint::black_box(MSG), &sig)
                    .expect("valid")
            })
        });
    }
    g.finish();
}

fn batch(c: &mut Criterion) {
    const N: usize = 64;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let keys: Vec<SigningKey> = (0..N)
        .map(|_| SigningKey::generate(Algorithm::Ed25519, &mut rng).expect("keygen"))
        .collect();
    let msgs: Vec<Vec<u8>> = (0..N)
        .map(|i| [MSG, &(i as u64).to_le_bytes()].concat())
        .collect();
    let pks: Vec<PublicKey> = keys.iter().map(SigningKey::public_key).collect();
    let sigs: Vec<Signature> = keys
        .iter()
        .zip(&msgs)
        .map(|(k, m)| k.sign(domain::ENDORSEMENT, m))
        .collect();
    let items: Vec<(&PublicKey, &str, &[u8], &Signature)> = (0..N)
        .map(|i| (&pks[i], domain::ENDORSEMENT, msgs[i].as_slice(), &sigs[i]))
        .collect();

    let mut g = c.benchmark_group("ed25519_64");
    g.throughput(Throughput::Elements(N as u64));
    // `verify_batch` (item by item, strict) against the guarded dalek batch that gives the same
    // verdict, with 64 distinct keys and with one key repeated (the per-key check is cached).
    g.bench_function("verify_batch", |b| {
        b.iter(|| verify_batch(std::hint::black_box(&items)).expect("valid"))
    });
    g.bench_function("verify_batch_guarded", |b| {
        b.iter(|| verify_batch_guarded(std::hint::black_box(&items)).expect("valid"))
    });
    let one = &keys[0];
    let one_pk = one.public_key();
    let one_sigs: Vec<Signature> = msgs
        .iter()
        .map(|m| one.sign(domain::ENDORSEMENT, m))
        .collect();
    let same_key: Vec<(&PublicKey, &str, &[u8], &Signature)> = (0..N)
        .map(|i| {
            (
                &one_pk,
                domain::ENDORSEMENT,
                msgs[i].as_slice(),
                &one_sigs[i],
            )
        })
        .collect();
    g.bench_function("verify_batch_guarded_one_key", |b| {
        b.iter(|| verify_batch_guarded(std::hint::black_box(&same_key)).expect("valid"))
    });
    g.finish();
}

criterion_group!(benches, single, batch);
criterion_main!(benches);

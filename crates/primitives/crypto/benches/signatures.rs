//! Signature throughput: Ed25519, P-256 and RSA-2048 sign / verify, and Ed25519 batch
//! verification of 64 and 1024 signatures against verifying them one by one.

use arcanum_crypto::{
    Algorithm, PublicKey, Signature, SigningKey, VerifiedSet, domain, verify_batch,
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

/// A block's worth of Ed25519 signatures by a few keys (a client and two endorsing peers): one
/// by one against [`verify_batch`] (one batch equation on this thread) and
/// [`VerifiedSet::verify_all`] (split across cores).
fn batch(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let keys: Vec<SigningKey> = (0..3)
        .map(|_| SigningKey::generate(Algorithm::Ed25519, &mut rng).expect("keygen"))
        .collect();
    let pks: Vec<PublicKey> = keys.iter().map(SigningKey::public_key).collect();
    for n in [64usize, 1024] {
        let msgs: Vec<Vec<u8>> = (0..n)
            .map(|i| [&MSG[..64], &(i as u64).to_le_bytes()].concat())
            .collect();
        let sigs: Vec<Signature> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| keys[i % 3].sign(domain::ENDORSEMENT, m))
            .collect();
        let items: Vec<(&PublicKey, &str, &[u8], &Signature)> = (0..n)
            .map(|i| {
                (
                    &pks[i % 3],
                    domain::ENDORSEMENT,
                    msgs[i].as_slice(),
                    &sigs[i],
                )
            })
            .collect();
        let mut g = c.benchmark_group(format!("ed25519_{n}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("one_by_one", |b| {
            b.iter(|| {
                for (pk, d, m, s) in std::hint::black_box(&items) {
                    pk.verify(d, m, s).expect("valid");
                }
            })
        });
        g.bench_function("verify_batch", |b| {
            b.iter(|| verify_batch(std::hint::black_box(&items)).expect("valid"))
        });
        g.bench_function("verified_set", |b| {
            b.iter(|| VerifiedSet::verify_all(std::hint::black_box(&items)))
        });
        g.finish();
    }
}

criterion_group!(benches, single, batch);
criterion_main!(benches);

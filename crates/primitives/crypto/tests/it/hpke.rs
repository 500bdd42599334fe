//! HPKE (RFC 9180): the shared BoringSSL-format vectors (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! AES-128-GCM / AES-256-GCM / ChaCha20-Poly1305, Base and Auth modes) through the public API on
//! both sides (the sender reproduces `enc`, every ciphertext and every export from the vectors'
//! ephemeral input keying material; the recipient opens every ciphertext), tamper rejection,
//! encoding, bounds and a property round trip.

use std::path::PathBuf;

use arcanum_crypto::hpke::{
    self, Aead, HpkeError, HpkePrivateKey, HpkePublicKey, KEY_LEN, MAX_INFO_LEN, MAX_PLAINTEXT_LEN,
    Sealed, TAG_LEN,
};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{CryptoRng, RngCore, SeedableRng};

use crate::unhex;

fn vectors_text() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../../../../shared/testdata/external/crypto_vectors/hpke/boringssl_hpke_test_vectors.txt",
    );
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("HPKE vectors missing at {}: {e}", p.display()))
}

fn k32(s: &str) -> [u8; KEY_LEN] {
    <[u8; KEY_LEN]>::try_from(unhex(s).as_slice()).unwrap_or_else(|_| panic!("not 32 bytes: {s}"))
}

/// One vector block.
struct Block {
    mode: u8,
    aead: Aead,
    info: Vec<u8>,
    sk_r: [u8; 32],
    pk_r: [u8; 32],
    sk_e: [u8; 32],
    enc: [u8; 32],
    sender: Option<([u8; 32], [u8; 32])>,
    /// (aad, ct, pt) in sequence order.
    encryptions: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    /// (exporter_context, L, exported_value).
    exports: Vec<(Vec<u8>, usize, Vec<u8>)>,
}

fn blocks() -> Vec<Block> {
    let text = vectors_text();
    let mut out = Vec::new();
    for raw in text.split("\n\n").filter(|b| b.contains("mode = ")) {
        let fields: Vec<(&str, &str)> = raw
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once(" = "))
            .collect();
        let one = |k: &str| {
            let v: Vec<_> = fields
                .iter()
                .filter(|(n, _)| *n == k)
                .map(|(_, v)| *v)
                .collect();
            assert_eq!(v.len(), 1, "field {k} in block");
            v[0]
        };
        let all = |k: &str| -> Vec<&str> {
            fields
                .iter()
                .filter(|(n, _)| *n == k)
                .map(|(_, v)| *v)
                .collect()
        };
        assert_eq!(one("kdf_id"), "1");
        let mode: u8 = one("mode").parse().expect("mode");
        let aead = Aead::from_id(one("aead_id").parse().expect("aead_id")).expect("aead supported");
        let sender = (mode == 2).then(|| (k32(one("skSm")), k32(one("pkSm"))));
        let (aads, cts, pts) = (all("aad"), all("ct"), all("pt"));
        assert!(aads.len() == cts.len() && cts.len() == pts.len());
        let (ctxs, ls, vals) = (all("exporter_context"), all("L"), all("exported_value"));
        assert!(ctxs.len() == ls.len() && ls.len() == vals.len());
        out.push(Block {
            mode,
            aead,
            info: unhex(one("info")),
            sk_r: k32(one("skRm")),
            pk_r: k32(one("pkRm")),
            sk_e: k32(one("skEm")),
            enc: k32(one("pkEm")),
            sender,
            encryptions: aads
                .iter()
                .zip(&cts)
                .zip(&pts)
                .map(|((a, c), p)| (unhex(a), unhex(c), unhex(p)))
                .collect(),
            exports: ctxs
                .iter()
                .zip(&ls)
                .zip(&vals)
                .map(|((c, l), v)| (unhex(c), l.parse().expect("L"), unhex(v)))
                .collect(),
        });
    }
    out
}

/// The input keying material of the six blocks' keys, `(mode, aead id, ikmE, ikmR, ikmS)`: the
/// BoringSSL file keeps only the derived keys. These are the same vectors' `ikm` fields in the
/// CFRG `test-vectors.json` behind RFC 9180 Appendix A (commit `5f503c5`, as the `hpke` crate's
/// package ships it; the first block is A.1.1 verbatim). Each one is checked to derive the file's
/// private key, so a wrong value here fails the test rather than weakening it.
const IKM: [(u8, u16, &str, &str, Option<&str>); 6] = [
    (
        0,
        1,
        "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
        "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
        None,
    ),
    (
        2,
        1,
        "6e6d8f200ea2fb20c30b003a8b4f433d2f4ed4c2658d5bc8ce2fef718059c9f7",
        "f1d4a30a4cef8d6d4e3b016e6fd3799ea057db4f345472ed302a67ce1c20cdec",
        Some("94b020ce91d73fca4649006c7e7329a67b40c55e9e93cc907d282bbbff386f58"),
    ),
    (
        0,
        2,
        "2cd7c601cefb3d42a62b04b7a9041494c06c7843818e0ce28a8f704ae7ab20f9",
        "dac33b0e9db1b59dbbea58d59a14e7b5896e9bdf98fad6891e99d1686492b9ee",
        None,
    ),
    (
        2,
        2,
        "734369ab3061f71ee85e090fae308553cac8e7b3fbd45b4ba83d05e0cd05b1c4",
        "f59761a1e479c2a291b91a5af2b35dd2cace1b2042b570f88a16b226f6f30774",
        Some("87137373fe6b28a72534f38048b9467a614d3566fb3a16a50fcaf11c76051392"),
    ),
    (
        0,
        3,
        "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b",
        "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df",
        None,
    ),
    (
        2,
        3,
        "938d3daa5a8904540bc24f48ae90eed3f4f7f11839560597b55e7c9598c996c0",
        "64835d5ee64aa7aad57c6f2e4f758f7696617f8829e70bc9ac7a5ef95d1c756c",
        Some("9d8f94537d5a3ddef71234c0baedfad4ca6861634d0b94c3007fed557ad17df6"),
    ),
];

/// A "random" source that hands out fixed bytes, once. `setup_sender` draws the ephemeral key as
/// RFC 9180 `GenerateKeyPair` does, `DeriveKeyPair` of 32 random bytes, so a vector's `ikmE`
/// makes it pick the vector's ephemeral key. Asking for more than it holds is a test failure.
struct Replay(Vec<u8>);

impl RngCore for Replay {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert!(dest.len() <= self.0.len(), "the replay source ran dry");
        let rest = self.0.split_off(dest.len());
        dest.copy_from_slice(&self.0);
        self.0 = rest;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Replay {}

#[test]
fn vectors_derive_their_keys_and_reproduce_every_ciphertext() {
    let blocks = blocks();
    assert_eq!(blocks.len(), IKM.len());
    let mut sealed = 0;
    let mut exported = 0;
    for (b, (mode, aead, ikm_e, ikm_r, ikm_s)) in blocks.iter().zip(IKM) {
        assert_eq!((b.mode, b.aead.id()), (mode, aead));
        // DeriveKeyPair, and the public keys.
        assert_eq!(*HpkePrivateKey::derive(&unhex(ikm_r)).to_bytes(), b.sk_r);
        assert_eq!(*HpkePrivateKey::derive(&unhex(ikm_e)).to_bytes(), b.sk_e);
        assert_eq!(HpkePrivateKey::from_bytes(b.sk_e).public_key().0, b.enc);
        let sender = match (b.sender, ikm_s) {
            (None, None) => None,
            (Some((sk_s, _)), Some(ikm_s)) => {
                assert_eq!(*HpkePrivateKey::derive(&unhex(ikm_s)).to_bytes(), sk_s);
                Some(HpkePrivateKey::from_bytes(sk_s))
            }
            _ => panic!("block ({mode}, {aead}): sender key and ikmS disagree"),
        };
        // The sender side through the public API: the vector's `enc`, then all 257 messages in
        // sequence and the three exports, byte for byte.
        let pk_r = HpkePublicKey(b.pk_r);
        let mut rng = Replay(unhex(ikm_e));
        let (enc, mut ctx) = match &sender {
            None => hpke::setup_sender(b.aead, &pk_r, &b.info, &mut rng),
            Some(sk_s) => hpke::setup_sender_auth(b.aead, &pk_r, sk_s, &b.info, &mut rng),
        }
        .expect("setup sender");
        assert!(rng.0.is_empty(), "setup drew {} bytes too few", rng.0.len());
        assert_eq!(enc, b.enc);
        assert_eq!(ctx.aead(), b.aead);
        for (aad, ct, pt) in &b.encryptions {
            assert_eq!(ctx.seal(aad, pt).expect("seal"), *ct);
            sealed += 1;
        }
        for (ectx, l, v) in &b.exports {
            assert_eq!(*ctx.export(ectx, *l).expect("export"), *v);
            exported += 1;
        }
    }
    assert_eq!((sealed, exported), (1542, 18));
}

fn recipient(b: &Block, info: &[u8], enc: &[u8; 32]) -> Result<hpke::RecipientContext, HpkeError> {
    let sk = HpkePrivateKey::from_bytes(b.sk_r);
    match b.sender {
        None => hpke::setup_recipient(b.aead, &sk, enc, info),
        Some((_, pk_s)) => hpke::setup_recipient_auth(b.aead, &sk, enc, &HpkePublicKey(pk_s), info),
    }
}

#[test]
fn vectors_open_every_ciphertext_and_match_exports() {
    let blocks = blocks();
    let shape: Vec<(u8, u16)> = blocks.iter().map(|b| (b.mode, b.aead.id())).collect();
    assert_eq!(shape, [(0, 1), (2, 1), (0, 2), (2, 2), (0, 3), (2, 3)]);
    let mut opened = 0;
    let mut exported = 0;
    for b in &blocks {
        // Keys: pkR from skR (and pkS from skS in Auth mode).
        assert_eq!(HpkePrivateKey::from_bytes(b.sk_r).public_key().0, b.pk_r);
        if let Some((sk_s, pk_s)) = b.sender {
            assert_eq!(HpkePrivateKey::from_bytes(sk_s).public_key().0, pk_s);
        }
        let mut ctx = recipient(b, &b.info, &b.enc).expect("setup recipient");
        assert_eq!(b.encryptions.len(), 257);
        for (aad, ct, pt) in &b.encryptions {
            assert_eq!(*ctx.open(aad, ct).expect("vector must open"), *pt);
            opened += 1;
        }
        assert_eq!(b.exports.len(), 3);
        for (ectx, l, v) in &b.exports {
            assert_eq!(*ctx.export(ectx, *l).expect("export"), *v);
            exported += 1;
        }
    }
    assert_eq!((opened, exported), (1542, 18));
}

#[test]
fn vectors_tampering_is_rejected() {
    for b in &blocks() {
        let (aad, ct, _) = &b.encryptions[0];
        let fresh = || recipient(b, &b.info, &b.enc).expect("setup");

        // Flipped bit anywhere in the ciphertext (body and tag).
        for i in [0, ct.len() / 2, ct.len() - 1] {
            let mut bad = ct.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                fresh().open(aad, &bad).err(),
                Some(HpkeError::DecryptionFailed)
            );
        }
        // Truncated ciphertext, and one shorter than the tag.
        assert_eq!(
            fresh().open(aad, &ct[..ct.len() - 1]).err(),
            Some(HpkeError::DecryptionFailed)
        );
        assert_eq!(
            fresh().open(aad, &ct[..TAG_LEN - 1]).err(),
            Some(HpkeError::CiphertextTooShort { len: TAG_LEN - 1 })
        );
        // Wrong aad.
        let mut bad_aad = aad.clone();
        bad_aad.push(0);
        assert_eq!(
            fresh().open(&bad_aad, ct).err(),
            Some(HpkeError::DecryptionFailed)
        );
        // Wrong sequence number: message 1 at position 0.
        let (aad1, ct1, _) = &b.encryptions[1];
        assert_eq!(
            fresh().open(aad1, ct1).err(),
            Some(HpkeError::DecryptionFailed)
        );
        // Wrong info.
        let mut bad_info = b.info.clone();
        bad_info[0] ^= 0x80;
        let mut ctx = recipient(b, &bad_info, &b.enc).expect("setup");
        assert_eq!(ctx.open(aad, ct).err(), Some(HpkeError::DecryptionFailed));
        // Wrong enc (still a valid point).
        let mut bad_enc = b.enc;
        bad_enc[0] ^= 0x01;
        let mut ctx = recipient(b, &b.info, &bad_enc).expect("setup");
        assert_eq!(ctx.open(aad, ct).err(), Some(HpkeError::DecryptionFailed));
        // Wrong mode: an Auth-mode ciphertext opened as Base, and vice versa; wrong sender key.
        let sk = HpkePrivateKey::from_bytes(b.sk_r);
        let other = HpkePrivateKey::from_bytes([0x42; 32]).public_key();
        let mut ctx = match b.sender {
            Some(_) => hpke::setup_recipient(b.aead, &sk, &b.enc, &b.info).expect("setup"),
            None => {
                hpke::setup_recipient_auth(b.aead, &sk, &b.enc, &other, &b.info).expect("setup")
            }
        };
        assert_eq!(ctx.open(aad, ct).err(), Some(HpkeError::DecryptionFailed));
        if b.sender.is_some() {
            let mut ctx =
                hpke::setup_recipient_auth(b.aead, &sk, &b.enc, &other, &b.info).expect("setup");
            assert_eq!(ctx.open(aad, ct).err(), Some(HpkeError::DecryptionFailed));
        }
        // Wrong recipient key.
        let wrong = HpkePrivateKey::from_bytes([0x17; 32]);
        let mut ctx = hpke::setup_recipient(b.aead, &wrong, &b.enc, &b.info).expect("setup");
        assert_eq!(ctx.open(aad, ct).err(), Some(HpkeError::DecryptionFailed));

        // A failed open does not advance the context: the genuine message still opens after.
        let mut ctx = fresh();
        let mut bad = ct.clone();
        bad[0] ^= 1;
        assert!(ctx.open(aad, &bad).is_err());
        assert_eq!(*ctx.open(aad, ct).expect("genuine"), b.encryptions[0].2);
    }
}

#[test]
fn single_shot_round_trip_and_tamper() {
    let mut rng = StdRng::seed_from_u64(1);
    let sk = HpkePrivateKey::generate(&mut rng);
    let pk = sk.public_key();
    let sealed =
        hpke::seal(&pk, b"arcanum/test: info", b"aad", b"bytecode", &mut rng).expect("seal");
    assert_eq!(sealed.ciphertext.len(), 8 + TAG_LEN);
    assert_eq!(
        *hpke::open(&sk, b"arcanum/test: info", b"aad", &sealed).expect("open"),
        b"bytecode"
    );

    let wrong_info = hpke::open(&sk, b"arcanum/test: other", b"aad", &sealed);
    assert_eq!(wrong_info.err(), Some(HpkeError::DecryptionFailed));
    let wrong_aad = hpke::open(&sk, b"arcanum/test: info", b"aaD", &sealed);
    assert_eq!(wrong_aad.err(), Some(HpkeError::DecryptionFailed));
    let mut bad_enc = sealed.clone();
    bad_enc.enc[5] ^= 4;
    assert_eq!(
        hpke::open(&sk, b"arcanum/test: info", b"aad", &bad_enc).err(),
        Some(HpkeError::DecryptionFailed)
    );
    let mut zero_enc = sealed.clone();
    zero_enc.enc = [0; 32];
    assert_eq!(
        hpke::open(&sk, b"arcanum/test: info", b"aad", &zero_enc).err(),
        Some(HpkeError::MalformedEnc)
    );
    let other = HpkePrivateKey::generate(&mut rng);
    assert_eq!(
        hpke::open(&other, b"arcanum/test: info", b"aad", &sealed).err(),
        Some(HpkeError::DecryptionFailed)
    );

    // Two seals of the same message differ (fresh ephemeral key).
    let again =
        hpke::seal(&pk, b"arcanum/test: info", b"aad", b"bytecode", &mut rng).expect("seal");
    assert_ne!(again.enc, sealed.enc);
    assert_ne!(again.ciphertext, sealed.ciphertext);
}

#[test]
fn exporter_agrees_between_sender_and_recipient() {
    let mut rng = StdRng::seed_from_u64(2);
    let sk = HpkePrivateKey::generate(&mut rng);
    let (sealed, k_sender) = hpke::seal_with_export(
        &sk.public_key(),
        b"i",
        b"a",
        b"request",
        b"reply key",
        32,
        &mut rng,
    )
    .expect("seal");
    let (pt, k_recipient) =
        hpke::open_with_export(&sk, b"i", b"a", &sealed, b"reply key", 32).expect("open");
    assert_eq!(*pt, b"request");
    assert_eq!(*k_sender, *k_recipient);
    let (_, other_ctx) =
        hpke::open_with_export(&sk, b"i", b"a", &sealed, b"other", 32).expect("open");
    assert_ne!(*other_ctx, *k_sender);
    // A forged message yields no export.
    let mut bad = sealed.clone();
    bad.ciphertext[0] ^= 1;
    assert_eq!(
        hpke::open_with_export(&sk, b"i", b"a", &bad, b"reply key", 32).err(),
        Some(HpkeError::DecryptionFailed)
    );
    for len in [0, hpke::MAX_EXPORT_LEN + 1] {
        assert_eq!(
            hpke::open_with_export(&sk, b"i", b"a", &sealed, b"c", len).err(),
            Some(HpkeError::InvalidExportLength(len))
        );
    }
}

#[test]
fn auth_mode_round_trip() {
    let mut rng = StdRng::seed_from_u64(3);
    let r = HpkePrivateKey::generate(&mut rng);
    let s = HpkePrivateKey::generate(&mut rng);
    let (enc, mut tx) = hpke::setup_sender_auth(
        Aead::ChaCha20Poly1305,
        &r.public_key(),
        &s,
        b"info",
        &mut rng,
    )
    .expect("setup");
    let mut rx =
        hpke::setup_recipient_auth(Aead::ChaCha20Poly1305, &r, &enc, &s.public_key(), b"info")
            .expect("setup");
    for i in 0u8..5 {
        let ct = tx.seal(&[i], &[i; 9]).expect("seal");
        assert_eq!(*rx.open(&[i], &ct).expect("open"), [i; 9]);
    }
}

#[test]
fn bounds_are_enforced_without_panicking() {
    let mut rng = StdRng::seed_from_u64(4);
    let sk = HpkePrivateKey::generate(&mut rng);
    let big_info = vec![0u8; MAX_INFO_LEN + 1];
    assert_eq!(
        hpke::seal(&sk.public_key(), &big_info, b"", b"", &mut rng).err(),
        Some(HpkeError::TooLarge {
            what: "info",
            len: MAX_INFO_LEN + 1,
            max: MAX_INFO_LEN
        })
    );
    let sealed = hpke::seal(&sk.public_key(), b"", b"", b"", &mut rng).expect("seal");
    assert_eq!(sealed.ciphertext.len(), TAG_LEN);
    assert!(hpke::open(&sk, b"", b"", &sealed).expect("open").is_empty());
    let huge = Sealed {
        enc: sealed.enc,
        ciphertext: vec![0; MAX_PLAINTEXT_LEN + TAG_LEN + 1],
    };
    assert!(matches!(
        hpke::open(&sk, b"", b"", &huge),
        Err(HpkeError::TooLarge {
            what: "ciphertext",
            ..
        })
    ));
    let empty = Sealed {
        enc: sealed.enc,
        ciphertext: Vec::new(),
    };
    assert_eq!(
        hpke::open(&sk, b"", b"", &empty).err(),
        Some(HpkeError::CiphertextTooShort { len: 0 })
    );
}

#[test]
fn encodings() {
    let mut rng = StdRng::seed_from_u64(5);
    let sk = HpkePrivateKey::generate(&mut rng);
    let pk = sk.public_key();
    // Public key: borsh is the raw 32 bytes, serde is lower-case hex.
    assert_eq!(borsh::to_vec(&pk).expect("borsh"), pk.0.to_vec());
    let json = serde_json::to_string(&pk).expect("json");
    assert_eq!(json, format!("\"{}\"", hex::encode(pk.0)));
    assert_eq!(
        serde_json::from_str::<HpkePublicKey>(&json).expect("parse"),
        pk
    );
    assert!(serde_json::from_str::<HpkePublicKey>("\"abcd\"").is_err());
    assert_eq!(
        HpkePublicKey::from_slice(&[0; 31]).err(),
        Some(HpkeError::KeyLength(31))
    );
    // Private key: bytes round trip, wrong length rejected.
    let back = HpkePrivateKey::from_slice(sk.to_bytes().as_ref()).expect("from_slice");
    assert_eq!(back.public_key(), pk);
    assert_eq!(
        HpkePrivateKey::from_slice(&[0; 33]).err(),
        Some(HpkeError::KeyLength(33))
    );
    // Sealed: borsh round trip; trailing bytes and truncation rejected.
    let sealed = hpke::seal(&pk, b"", b"", b"hello", &mut rng).expect("seal");
    let bytes = borsh::to_vec(&sealed).expect("borsh");
    assert_eq!(bytes.len(), 32 + 4 + 5 + TAG_LEN);
    assert_eq!(Sealed::from_bytes(&bytes).expect("decode"), sealed);
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        Sealed::from_bytes(&trailing).err(),
        Some(HpkeError::MalformedSealed)
    );
    assert_eq!(
        Sealed::from_bytes(&bytes[..bytes.len() - 1]).err(),
        Some(HpkeError::MalformedSealed)
    );
    // A length prefix claiming 4 GiB in a short buffer is rejected, not allocated.
    let mut lying = bytes[..32].to_vec();
    lying.extend_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        Sealed::from_bytes(&lying).err(),
        Some(HpkeError::MalformedSealed)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn seal_open_round_trip(
        seed in any::<u64>(),
        info in proptest::collection::vec(any::<u8>(), 0..64),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
        pt in proptest::collection::vec(any::<u8>(), 0..1024),
        flip in any::<proptest::sample::Index>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let sk = HpkePrivateKey::generate(&mut rng);
        let sealed = hpke::seal(&sk.public_key(), &info, &aad, &pt, &mut rng).expect("seal");
        prop_assert_eq!(sealed.ciphertext.len(), pt.len() + TAG_LEN);
        let opened = hpke::open(&sk, &info, &aad, &sealed).expect("open");
        prop_assert_eq!(&*opened, &pt);
        let decoded = Sealed::from_bytes(&borsh::to_vec(&sealed).expect("borsh")).expect("decode");
        prop_assert_eq!(&decoded, &sealed);
        // Any single flipped bit in enc || ciphertext is rejected.
        let mut bad = sealed.clone();
        let i = flip.index(KEY_LEN + bad.ciphertext.len());
        if i < KEY_LEN { bad.enc[i] ^= 1 } else { bad.ciphertext[i - KEY_LEN] ^= 1 }
        prop_assert!(hpke::open(&sk, &info, &aad, &bad).is_err());
    }
}

//! The hostile host against the enclave's header chain and read verifier: forged, out-of-order
//! and replayed headers, wrong values, proofs for another key or another root, and unproven
//! reads are each refused with a stable code, and a refusal caches nothing.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use arcanum_crypto::{Algorithm, Hash, SigningKey, domain};
use arcanum_enclave::chain::{ChainError, HeaderChain, StateCache, verify_reads};
use arcanum_enclave_protocol::{SignedHeader, Witness};
use arcanum_ledger::{ChainConfig, Member};
use arcanum_storage::{BlockCommit, LedgerStore};
use arcanum_storage_redb::RedbStore;
use arcanum_types::{
    BlockHeader, IdentityId, StateProof, TxReceipt, TxStatus, Version, VersionedValue,
};

struct Chain {
    store: RedbStore,
    orderer: SigningKey,
    headers: Vec<SignedHeader>,
}

fn vv(value: &[u8], block: u64) -> VersionedValue {
    VersionedValue {
        value: value.to_vec(),
        version: Version { block, tx: 0 },
    }
}

const ORDERER: IdentityId = IdentityId(Hash([1; 32]));

impl Chain {
    /// Blocks 1..=3: `a` = 1, 2, 3 at each height, `b` written once at 1.
    fn new() -> Chain {
        let mut rng = rand::thread_rng();
        let orderer = SigningKey::generate(Algorithm::Ed25519, &mut rng).unwrap();
        let mut chain = Chain {
            store: RedbStore::in_memory().unwrap(),
            orderer,
            headers: Vec::new(),
        };
        for h in 1..=3u64 {
            let mut writes = vec![(b"a".to_vec(), Some(vv(&[h as u8], h)))];
            if h == 1 {
                writes.push((b"b".to_vec(), Some(vv(b"bee", 1))));
            }
            chain.commit(h, writes);
        }
        chain
    }

    fn commit(&mut self, height: u64, writes: Vec<(Vec<u8>, Option<VersionedValue>)>) {
        let state_root = self.store.next_state_root(&writes).unwrap();
        let prev_hash = self.headers.last().map_or(Hash::ZERO, |h| h.header.hash());
        let header = BlockHeader {
            height,
            prev_hash,
            tx_root: Hash::ZERO,
            tx_count: 1,
            state_root,
            timestamp_ms: height,
            orderer: ORDERER,
        };
        self.store
            .commit_block(BlockCommit {
                height,
                block_hash: header.hash(),
                block_bytes: vec![height as u8],
                writes,
                receipts: vec![TxReceipt {
                    tx_id: Hash([height as u8; 32]),
                    block: height,
                    index: 0,
                    status: TxStatus::Valid,
                }],
                state_root,
            })
            .unwrap();
        let signature = self.orderer.sign(domain::BLOCK_SIGNATURE, &header.hash().0);
        self.headers.push(SignedHeader { header, signature });
    }

    fn config(&self) -> ChainConfig {
        let orderer = Member {
            id: ORDERER,
            name: "mgmt".into(),
            msp_id: "Org1".into(),
            role: arcanum_types::Role::Orderer,
            public_key: self.orderer.public_key(),
            allowed_client: false,
        };
        ChainConfig {
            channel: "arcanum".into(),
            orgs: vec!["Org1".into()],
            members: BTreeMap::from([(ORDERER, orderer)]),
            orderer: ORDERER,
            lifecycle_policy: arcanum_policy::Policy::parse("MAJORITY Endorsement").unwrap(),
        }
    }

    /// An enclave chain that verified every header.
    fn verified(&self) -> HeaderChain {
        let mut chain = HeaderChain::new(&self.config()).unwrap();
        for h in &self.headers {
            chain.apply(h).unwrap();
        }
        chain
    }

    fn witness(&self, key: &[u8], height: u64) -> Witness {
        let (value, proof) = self.store.get_with_proof(key, height).unwrap();
        Witness {
            key: key.to_vec(),
            value,
            proof: Some(proof),
        }
    }
}

#[test]
fn headers_are_accepted_only_signed_in_order_on_the_verified_hash() {
    let c = Chain::new();
    let mut chain = HeaderChain::new(&c.config()).unwrap();
    // Forged: signed by another key, or naming another orderer, or tampered after signing.
    let mut rng = rand::thread_rng();
    let other = SigningKey::generate(Algorithm::Ed25519, &mut rng).unwrap();
    let mut forged = c.headers[0].clone();
    forged.signature = other.sign(domain::BLOCK_SIGNATURE, &forged.header.hash().0);
    let mut tampered = c.headers[0].clone();
    tampered.header.state_root.0[0] ^= 1;
    let mut foreign = c.headers[0].clone();
    foreign.header.orderer = IdentityId(Hash([2; 32]));
    for bad in [forged, tampered, foreign] {
        assert_eq!(chain.apply(&bad), Err(ChainError::HeaderBadSignature));
        assert_eq!(chain.height(), 0);
    }
    // Out of order: block 2 before block 1.
    assert_eq!(
        chain.apply(&c.headers[1]),
        Err(ChainError::HeaderOutOfOrder {
            verified: 0,
            got: 2
        })
    );
    chain.apply(&c.headers[0]).unwrap();
    // Replayed: block 1 again is refused by `apply`; `extend` takes exactly the verified
    // header as already known, and nothing else at a verified height.
    assert_eq!(
        chain.apply(&c.headers[0]),
        Err(ChainError::HeaderOutOfOrder {
            verified: 1,
            got: 1
        })
    );
    chain.extend(&c.headers[0]).unwrap();
    let mut other_one = c.headers[0].header.clone();
    other_one.timestamp_ms += 1;
    let other_one = SignedHeader {
        signature: c.orderer.sign(domain::BLOCK_SIGNATURE, &other_one.hash().0),
        header: other_one,
    };
    assert_eq!(
        chain.extend(&other_one),
        Err(ChainError::HeaderOutOfOrder {
            verified: 1,
            got: 1
        })
    );
    assert_eq!(chain.height(), 1);
    // A signed header at the right height on another parent.
    let mut fork = c.headers[1].header.clone();
    fork.prev_hash = Hash([9; 32]);
    let fork = SignedHeader {
        signature: c.orderer.sign(domain::BLOCK_SIGNATURE, &fork.hash().0),
        header: fork,
    };
    assert_eq!(
        chain.apply(&fork),
        Err(ChainError::HeaderBadPrevHash { height: 2 })
    );
    assert_eq!(chain.height(), 1);
    chain.apply(&c.headers[1]).unwrap();
    assert_eq!(chain.root(2), Ok(c.headers[1].header.state_root));
    assert_eq!(
        chain.root(3),
        Err(ChainError::StateRootUnknown { height: 3 })
    );
    for e in [
        ChainError::HeaderBadSignature,
        ChainError::HeaderOutOfOrder {
            verified: 0,
            got: 0,
        },
        ChainError::HeaderBadPrevHash { height: 0 },
    ] {
        assert!(e.code().starts_with("HEADER_"));
    }
}

#[test]
fn reads_verify_only_for_their_own_key_value_and_root() {
    let c = Chain::new();
    let chain = c.verified();
    let cache = StateCache::default();
    // Authentic reads at the tip: a present key and an absent one.
    let good = [c.witness(b"a", 3), c.witness(b"b", 3), c.witness(b"zz", 3)];
    let reads = verify_reads(&chain, &cache, 3, &good).unwrap().reads;
    assert_eq!(reads[b"a".as_slice()], Some(vv(&[3], 3)));
    assert_eq!(reads[b"zz".as_slice()], None);

    let refused = |w: Witness, height: u64, code: &str| {
        let cache = StateCache::default();
        let err = verify_reads(&chain, &cache, height, &[w]).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert_eq!(cache.stats(), (0, 0), "a refusal caches nothing");
    };
    // A wrong value, and the right value under a wrong version.
    let mut wrong = c.witness(b"a", 3);
    wrong.value = Some(vv(b"minted", 3));
    refused(wrong, 3, "STATE_PROOF_INVALID");
    let mut old_version = c.witness(b"a", 3);
    old_version.value = Some(vv(&[3], 2));
    refused(old_version, 3, "STATE_PROOF_INVALID");
    // A valid proof for another key.
    let mut other_key = c.witness(b"b", 3);
    other_key.key = b"a".to_vec();
    refused(other_key, 3, "STATE_PROOF_INVALID");
    // A valid proof against another (older, authentic) root.
    refused(c.witness(b"a", 2), 3, "STATE_PROOF_INVALID");
    // Claiming absence of a present key with its own proof.
    let mut hidden = c.witness(b"a", 3);
    hidden.value = None;
    refused(hidden, 3, "STATE_PROOF_INVALID");
    // A root the enclave never verified.
    refused(c.witness(b"a", 3), 4, "STATE_ROOT_UNKNOWN");
    // No proof and nothing proven before.
    let mut bare = c.witness(b"a", 3);
    bare.proof = None;
    refused(bare, 3, "STATE_PROOF_MISSING");
}

#[test]
fn the_cache_serves_proven_versions_and_a_refused_task_caches_nothing() {
    let c = Chain::new();
    let chain = c.verified();
    let mut cache = StateCache::default();
    // One good read and one forged one in the same task: refused whole, nothing cached.
    let mut forged = c.witness(b"a", 3);
    forged.value = Some(vv(b"minted", 3));
    let task = [c.witness(b"b", 3), forged];
    assert_eq!(
        verify_reads(&chain, &cache, 3, &task).unwrap_err(),
        ChainError::StateProofInvalid
    );
    let mut bare_b = c.witness(b"b", 3);
    bare_b.proof = None;
    assert_eq!(
        verify_reads(&chain, &cache, 3, std::slice::from_ref(&bare_b)).unwrap_err(),
        ChainError::StateProofMissing
    );
    // Proven, but not admitted (the task was not signed): still not cached.
    verify_reads(&chain, &cache, 3, &[c.witness(b"b", 3)]).unwrap();
    assert_eq!(
        verify_reads(&chain, &cache, 3, std::slice::from_ref(&bare_b)).unwrap_err(),
        ChainError::StateProofMissing
    );
    // Proven and admitted, then served from the cache without a proof — but only that exact
    // value.
    let signed = verify_reads(&chain, &cache, 3, &[c.witness(b"b", 3)]).unwrap();
    cache.admit(&signed);
    let hit = verify_reads(&chain, &cache, 3, std::slice::from_ref(&bare_b)).unwrap();
    cache.admit(&hit);
    assert_eq!(cache.stats(), (1, 1));
    let mut swapped = bare_b.clone();
    swapped.value = Some(vv(b"other", 1));
    assert_eq!(
        verify_reads(&chain, &cache, 3, &[swapped]).unwrap_err(),
        ChainError::StateProofMissing
    );
    // The same key twice in one task.
    assert_eq!(
        verify_reads(&chain, &cache, 3, &[c.witness(b"b", 3), bare_b]).unwrap_err(),
        ChainError::ReadWitnessedTwice
    );
    // A proof object does not decode into a different claim: borsh round trip is exact.
    let w = c.witness(b"a", 3);
    let proof = w.proof.clone().unwrap();
    let bytes = arcanum_types::encode(&proof);
    let back: StateProof = arcanum_types::decode(&bytes, bytes.len()).unwrap();
    assert_eq!(back, proof);
}

#[test]
fn the_pin_round_trips_binds_every_field_and_refuses_a_malformed_configuration() {
    let c = Chain::new();
    let config = c.config();
    let pin = config.pin();
    let back = ChainConfig::from_pin(&pin).unwrap();
    assert_eq!(back.pin(), pin);
    let mut other = pin.clone();
    other.channel = "other".into();
    assert_ne!(pin.hash(), other.hash());
    let mut other = pin.clone();
    other.members[0].allowed_client = true;
    assert_ne!(pin.hash(), other.hash());

    let code = |p: &arcanum_ledger::ChainPin| ChainConfig::from_pin(p).unwrap_err().code;
    let mut twice = pin.clone();
    twice.members.push(twice.members[0].clone());
    assert_eq!(code(&twice), arcanum_types::ErrorCode::BadChainPin);
    let mut no_orderer = pin.clone();
    no_orderer.orderer = IdentityId(Hash([7; 32]));
    assert_eq!(code(&no_orderer), arcanum_types::ErrorCode::BadChainPin);
    let mut policy = pin.clone();
    policy.lifecycle_policy = "MAJORITY   Endorsement".into();
    assert_eq!(code(&policy), arcanum_types::ErrorCode::BadChainPin);
    policy.lifecycle_policy = "nonsense(".into();
    assert_eq!(code(&policy), arcanum_types::ErrorCode::BadChainPin);
}

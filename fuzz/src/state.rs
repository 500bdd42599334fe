//! The `state_proof` target's world: a real two-block state tree (arcanum-storage-redb, in
//! memory) whose headers carry its roots and are signed by the fixture's management key, the
//! genuine state-proof bundles of it, the genuineness oracle, and the seeds.

use std::sync::LazyLock;

use arcanum_api::StateProofJson;
use arcanum_crypto::{Hash, domain};
use arcanum_ledger::contract_key;
use arcanum_storage::{BlockCommit, LedgerStore, VersionedValue};
use arcanum_storage_redb::RedbStore;
use arcanum_types::{
    Block, BlockHeader, Signature, StateProofBundle, TxReceipt, TxStatus, Version, encode,
};

use crate::FIXTURE;

/// First byte of an input, modulo this: which reader the rest goes to.
pub const MODES: u8 = 4;
/// Raw `StateProof` bytes, checked against the genuine roots.
pub const MODE_PROOF: u8 = 0;
/// A borsh `StateProofBundle`.
pub const MODE_BUNDLE: u8 = 1;
/// A JSON `StateProofJson` document (the `state verify` file).
pub const MODE_JSON: u8 = 2;
/// A genuine bundle (second byte picks it) with `(u16 LE position, xor)` edits of its encoding.
pub const MODE_EDIT: u8 = 3;

/// The contract keys the world knows: every `(contract, key)` a genuine bundle is about.
pub const KEYS: [(&str, &[u8]); 5] = [
    ("kv", b"a"),
    ("kv", b"b"),
    ("kv", b"x\0y"),
    ("kv", b"never"),
    ("other", b"a"),
];

pub struct StateWorld {
    pub store: RedbStore,
    /// Signed headers of blocks 1 and 2 (index `height - 1`).
    pub headers: Vec<(BlockHeader, Signature)>,
    /// Every genuine bundle: each key of [`KEYS`] at heights 1 and 2.
    pub bundles: Vec<StateProofBundle>,
}

fn commit(store: &RedbStore, height: u64, prev: Hash, writes: &[(&[u8], Option<&[u8]>)]) -> Block {
    let writes: Vec<(Vec<u8>, Option<VersionedValue>)> = writes
        .iter()
        .map(|(k, v)| {
            let value = v.map(|v| VersionedValue {
                value: v.to_vec(),
                version: Version {
                    block: height,
                    tx: 0,
                },
            });
            (contract_key("kv", k), value)
        })
        .collect();
    let state_root = store
        .next_state_root(&writes)
        .unwrap_or_else(|e| panic!("root: {e}"));
    let header = BlockHeader {
        height,
        prev_hash: prev,
        tx_root: Hash::ZERO,
        tx_count: 0,
        state_root,
        timestamp_ms: height,
        orderer: FIXTURE.orderer.id,
    };
    let signature = FIXTURE
        .orderer
        .key
        .sign(domain::BLOCK_SIGNATURE, &header.hash().0);
    let block = Block {
        header,
        txs: Vec::new(),
        signature,
    };
    // The store wants writes to come from a valid transaction's receipt: a stand-in one.
    store
        .commit_block(BlockCommit {
            height,
            block_hash: block.header.hash(),
            block_bytes: encode(&block),
            writes,
            receipts: vec![TxReceipt {
                tx_id: Hash([height as u8; 32]),
                block: height,
                index: 0,
                status: TxStatus::Valid,
            }],
            state_root,
        })
        .unwrap_or_else(|e| panic!("commit {height}: {e}"));
    block
}

pub static WORLD: LazyLock<StateWorld> = LazyLock::new(|| {
    let store = RedbStore::in_memory().unwrap_or_else(|e| panic!("in-memory store: {e}"));
    let b1 = commit(
        &store,
        1,
        Hash::ZERO,
        &[(b"a", Some(b"1")), (b"b", Some(b"1"))],
    );
    let b2 = commit(
        &store,
        2,
        b1.header.hash(),
        &[(b"a", Some(b"2")), (b"b", None), (b"x\0y", Some(b"z"))],
    );
    let headers = vec![(b1.header, b1.signature), (b2.header, b2.signature)];
    let mut world = StateWorld {
        store,
        headers,
        bundles: Vec::new(),
    };
    for height in [1, 2] {
        for (contract, key) in KEYS {
            let bundle = world.bundle(contract, key, height);
            if let Err(e) = bundle.verify(&FIXTURE.orderer.key.public_key()) {
                panic!("a genuine bundle does not verify: {e}");
            }
            world.bundles.push(bundle);
        }
    }
    world
});

impl StateWorld {
    /// The genuine bundle of `(contract, key)` at `height` (1 or 2).
    pub fn bundle(&self, contract: &str, key: &[u8], height: u64) -> StateProofBundle {
        let (value, proof) = self
            .store
            .get_with_proof(&contract_key(contract, key), height)
            .unwrap_or_else(|e| panic!("proof: {e}"));
        let (header, signature) = self.headers[height as usize - 1].clone();
        StateProofBundle {
            contract: contract.to_owned(),
            key: key.to_vec(),
            value,
            height,
            state_root: header.state_root,
            proof,
            header,
            signature,
        }
    }

    /// The genuine value (or absence) of state key `state_key` after block `height`.
    pub fn value_at(&self, state_key: &[u8], height: u64) -> Option<VersionedValue> {
        self.store
            .get_with_proof(state_key, height)
            .unwrap_or_else(|e| panic!("proof: {e}"))
            .0
    }

    /// Panics unless a bundle that verified under the fixture's management key is genuine: a
    /// signed header of this world, and exactly the world's value (or absence) at its key.
    pub fn assert_genuine(&self, bundle: &StateProofBundle) {
        let signed = bundle
            .height
            .checked_sub(1)
            .and_then(|i| self.headers.get(i as usize));
        match signed {
            Some((header, signature)) => {
                assert_eq!(&bundle.header, header, "a forged header verified");
                assert_eq!(&bundle.signature, signature, "another signature verified");
            }
            None => panic!("a bundle verified at unsigned height {}", bundle.height),
        }
        assert!(arcanum_ledger::valid_name(&bundle.contract));
        assert_eq!(
            bundle.value,
            self.value_at(&bundle.state_key(), bundle.height),
            "a bundle proved another value for {:?} at {}",
            bundle.state_key(),
            bundle.height
        );
    }
}

/// Seeds of `state_proof`: each mode with genuine material.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let w = &*WORLD;
    let mut out = Vec::new();
    for (i, b) in w.bundles.iter().enumerate() {
        let with = |mode: u8, bytes: Vec<u8>| [vec![mode], bytes].concat();
        out.push((
            "state_proof",
            format!("proof-{i}"),
            with(MODE_PROOF, encode(&b.proof)),
        ));
        out.push((
            "state_proof",
            format!("bundle-{i}"),
            with(MODE_BUNDLE, encode(b)),
        ));
        let json = serde_json::to_vec(&StateProofJson::from(b)).unwrap_or_default();
        out.push(("state_proof", format!("json-{i}"), with(MODE_JSON, json)));
        out.push(("state_proof", format!("edit-{i}"), vec![MODE_EDIT, i as u8]));
    }
    out
}

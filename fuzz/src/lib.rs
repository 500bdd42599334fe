//! Shared fixture of the fuzz targets: a small consortium with known keys, so that a target can
//! re-sign what the fuzzer produced (block header, empty client and endorsement signatures) and
//! drive inputs past the signature checks into per-transaction validation; plus the seed inputs
//! that `seed_corpus` writes.
//!
//! Identities have simple, recognisable ids (`[0xB0; 32]`, …) so that libFuzzer's comparison
//! tracing finds them quickly.
//!
//! The off-chain targets have their own fixtures: [`cluster`] (a formed cluster enclave and the
//! hostile host of `cluster_service`) and [`offchain`] (genuine receipt material, decoding
//! bounds, and the seeds of the other off-chain targets); `state_proof` has [`state`] (a real
//! state tree with signed headers and its genuine proof bundles).

pub mod cluster;
pub mod offchain;
pub mod state;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use arcanum_crypto::{Hash, SigningKey, domain, sha256};
use arcanum_ledger::{ChainConfig, Ledger, Member, contract_key, definition_key, deploy_writes};
use arcanum_policy::Policy;
use arcanum_storage_redb::RedbStore;
use arcanum_types::{
    Block, BlockHeader, EndorsedTx, Endorsement, IdentityId, KvRead, KvWrite, ProposalResponse,
    Role, RwSet, Signature, SignedTx, TxAction, TxPayload, Vote, encode,
};

pub const CHANNEL: &str = "fuzz";

/// One identity of the fixture.
pub struct Identity {
    pub id: IdentityId,
    pub key: SigningKey,
}

pub struct Fixture {
    pub config: Arc<ChainConfig>,
    pub orderer: Identity,
    /// Org1, Org1, Org2, Org2.
    pub peers: Vec<Identity>,
    pub client: Identity,
    pub admin: Identity,
}

impl Fixture {
    /// Every identity whose key the fixture holds.
    fn signers(&self) -> impl Iterator<Item = &Identity> {
        [&self.orderer, &self.client, &self.admin]
            .into_iter()
            .chain(&self.peers)
    }

    fn key_of(&self, id: &IdentityId) -> Option<&SigningKey> {
        self.signers().find(|i| i.id == *id).map(|i| &i.key)
    }
}

fn identity(tag: u8) -> Identity {
    Identity {
        id: IdentityId(Hash([tag; 32])),
        key: SigningKey::from_ed25519_seed(&sha256(&[tag]).0),
    }
}

pub static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let orderer = identity(0xA0);
    let peers: Vec<Identity> = (0..4).map(|i| identity(0xB0 + i)).collect();
    let client = identity(0xC0);
    let admin = identity(0xC1);
    let unlisted = identity(0xC2);
    let mut members = BTreeMap::new();
    let mut add = |who: &Identity, msp: &str, role: Role, allowed: bool| {
        let m = Member {
            id: who.id,
            name: format!("{role}-{:02x}", who.id.0.0[0]),
            msp_id: msp.to_owned(),
            role,
            public_key: who.key.public_key(),
            allowed_client: allowed,
        };
        members.insert(who.id, m);
    };
    add(&orderer, "Org1", Role::Orderer, false);
    for (i, p) in peers.iter().enumerate() {
        add(p, if i < 2 { "Org1" } else { "Org2" }, Role::Peer, false);
    }
    add(&client, "Org1", Role::Client, true);
    add(&admin, "Org2", Role::Admin, true);
    add(&unlisted, "Org2", Role::Client, false);
    let config = Arc::new(ChainConfig {
        channel: CHANNEL.to_owned(),
        orgs: vec!["Org1".to_owned(), "Org2".to_owned()],
        members,
        orderer: orderer.id,
        lifecycle_policy: Policy::parse("MAJORITY Endorsement")
            .unwrap_or_else(|e| panic!("fixture policy: {e}")),
    });
    Fixture {
        config,
        orderer,
        peers,
        client,
        admin,
    }
});

/// A fresh ledger over an in-memory store.
pub fn fresh_ledger() -> Ledger {
    let store = RedbStore::in_memory().unwrap_or_else(|e| panic!("in-memory store: {e}"));
    Ledger::new(Arc::new(store), FIXTURE.config.clone())
}

/// A fresh ledger of the same consortium except that the management device's public key is one
/// whose secret key no input is ever signed with: nothing a fuzzer produces can commit on it.
pub fn sealed_ledger() -> Ledger {
    let mut config = (*FIXTURE.config).clone();
    let never_used = SigningKey::from_ed25519_seed(&sha256(b"never signs anything").0);
    if let Some(orderer) = config.members.get_mut(&FIXTURE.orderer.id) {
        orderer.public_key = never_used.public_key();
    }
    let store = RedbStore::in_memory().unwrap_or_else(|e| panic!("in-memory store: {e}"));
    Ledger::new(Arc::new(store), Arc::new(config))
}

/// Makes `block` the correctly signed first block of the fixture's chain, and gives every
/// *empty* client or endorsement signature by a known identity a valid signature (non-empty
/// signatures are left alone, so bad ones stay bad).
pub fn reseal_as_first_block(block: &mut Block) {
    let f = &*FIXTURE;
    for etx in &mut block.txs {
        if etx.tx.signature.0.is_empty()
            && let Some(key) = f.key_of(&etx.tx.payload.creator)
        {
            etx.tx.signature = key.sign(domain::TX_SIGNATURE, &etx.tx.payload.id().0);
        }
        let msg = etx.endorsement_message();
        for e in &mut etx.endorsements {
            if e.signature.0.is_empty()
                && let Some(key) = f.key_of(&e.endorser)
            {
                e.signature = key.sign(domain::ENDORSEMENT, &msg);
            }
        }
    }
    block.header.height = 1;
    block.header.prev_hash = Hash::ZERO;
    block.header.orderer = f.orderer.id;
    block.header.tx_root = block.compute_tx_root();
    block.header.tx_count = u32::try_from(block.txs.len()).unwrap_or(u32::MAX);
    // The root the block's valid writes produce on an empty ledger.
    block.header.state_root = fresh_ledger()
        .preview(&block.txs)
        .unwrap_or_else(|e| panic!("preview: {e}"))
        .1;
    block.signature = f
        .orderer
        .key
        .sign(domain::BLOCK_SIGNATURE, &block.header.hash().0);
}

fn tx(creator: &Identity, nonce: u64, action: TxAction, rwset: RwSet) -> EndorsedTx {
    let payload = TxPayload {
        channel: CHANNEL.to_owned(),
        creator: creator.id,
        nonce,
        action,
    };
    let tx_id = payload.id();
    EndorsedTx {
        tx: SignedTx {
            payload,
            signature: Signature(Vec::new()),
        },
        response: ProposalResponse {
            tx_id,
            rwset,
            result: Vec::new(),
            events: Vec::new(),
            vote: Vote::Approve,
        },
        // Empty signatures: `reseal_as_first_block` fills them in.
        endorsements: [0, 2]
            .iter()
            .map(|&i: &usize| Endorsement {
                endorser: FIXTURE.peers[i].id,
                signature: Signature(Vec::new()),
            })
            .collect(),
    }
}

/// A block with a deploy and an invoke of `kv`, with empty signatures: the seed of
/// `decode_block` (valid once resealed).
pub fn seed_block() -> Block {
    let f = &*FIXTURE;
    let wasm = b"\0asm\x01\0\0\0".to_vec();
    let policy = "AND('Org1.peer','Org2.peer')";
    let deploy = tx(
        &f.admin,
        1,
        TxAction::Deploy {
            contract: "kv".into(),
            wasm: wasm.clone(),
            policy: policy.into(),
        },
        RwSet {
            reads: vec![KvRead {
                key: definition_key("kv"),
                version: None,
            }],
            writes: deploy_writes("kv", &wasm, policy),
        },
    );
    let invoke = tx(
        &f.client,
        2,
        TxAction::Invoke {
            contract: "kv".into(),
            function: "put".into(),
            args: vec![b"k".to_vec(), b"v".to_vec()],
        },
        RwSet {
            reads: vec![KvRead {
                key: contract_key("kv", b"k"),
                version: None,
            }],
            writes: vec![KvWrite {
                key: contract_key("kv", b"k"),
                value: Some(b"v".to_vec()),
            }],
        },
    );
    let header = BlockHeader {
        height: 1,
        prev_hash: Hash::ZERO,
        tx_root: Hash::ZERO,
        tx_count: 0,
        state_root: Hash::ZERO,
        timestamp_ms: 0,
        orderer: f.orderer.id,
    };
    Block {
        header,
        txs: vec![deploy, invoke],
        signature: Signature(Vec::new()),
    }
}

/// Seed inputs per target: `(target, name, bytes)`.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let unsealed = seed_block();
    let mut sealed = unsealed.clone();
    reseal_as_first_block(&mut sealed);
    out.push(("decode_block", "unsealed".to_owned(), encode(&unsealed)));
    out.push(("decode_block", "sealed".to_owned(), encode(&sealed)));
    for (i, etx) in sealed.txs.iter().enumerate() {
        out.push(("decode_tx", format!("signed-{i}"), encode(&etx.tx)));
        out.push(("decode_tx", format!("endorsed-{i}"), encode(etx)));
    }
    let policies = [
        "AND('Org1.peer','Org2.peer')",
        "OR('Org1.member', AND('Org2.admin', 'Org3.client'))",
        "OutOf(2, 'A.peer', 'B.peer', 'C.orderer')",
        "MAJORITY Endorsement",
        "ANY Admins",
        "OR('Org\\'s.peer')",
    ];
    for (i, p) in policies.iter().enumerate() {
        let mut input = vec![0b0101_0101];
        input.extend_from_slice(p.as_bytes());
        out.push(("policy_parse", format!("policy-{i}"), input));
    }
    out.extend(offchain::seeds());
    out.extend(state::seeds());
    out
}

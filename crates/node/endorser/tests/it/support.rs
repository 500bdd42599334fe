//! A small consortium for the endorsement-device tests: a management device (orderer), four
//! peers (Org1 and Org2, two each), an allowed client, an allowed admin, a listed but not
//! allowed client, and an identity unknown to the consortium. Keys are Ed25519 from fixed
//! seeds, so every run is the same.

use std::collections::BTreeMap;
use std::sync::Arc;

use arcanum_crypto::{SigningKey, domain, sha256};
use arcanum_endorser::{EndorseBatch, EndorseResponse, Endorser};
use arcanum_ledger::{ChainConfig, CommitSummary, Ledger, Member};
use arcanum_policy::Policy;
use arcanum_storage::RedbStore;
use arcanum_types::ApiError;
use arcanum_types::{
    Block, BlockHeader, EndorsedTx, IdentityId, Role, SignedTx, TxAction, TxPayload, encode,
    merkle_root,
};

pub const CHANNEL: &str = "arcanum-test";
/// The consortium's lifecycle policy: deploys need a majority of organisations' peers.
pub const LIFECYCLE: &str = "MAJORITY Endorsement";
/// The asset contract's endorsement policy in these tests.
pub const AND_POLICY: &str = "AND('Org1.peer','Org2.peer')";

/// One identity: its id (the hash of a stand-in certificate) and its key seed.
#[derive(Clone, Debug)]
pub struct Ident {
    pub id: IdentityId,
    pub name: String,
    pub msp_id: String,
    seed: [u8; 32],
}

impl Ident {
    fn new(name: &str, msp_id: &str, seed: u8) -> Ident {
        Ident {
            id: IdentityId::of_certificate(name.as_bytes()),
            name: name.to_owned(),
            msp_id: msp_id.to_owned(),
            seed: [seed; 32],
        }
    }

    pub fn key(&self) -> SigningKey {
        SigningKey::from_ed25519_seed(&self.seed)
    }

    fn member(&self, role: Role, allowed_client: bool) -> Member {
        Member {
            id: self.id,
            name: self.name.clone(),
            msp_id: self.msp_id.clone(),
            role,
            public_key: self.key().public_key(),
            allowed_client,
        }
    }
}

/// The consortium and its identities.
pub struct Net {
    pub config: Arc<ChainConfig>,
    pub orderer: Ident,
    /// `peers[0..2]` are Org1's, `peers[2..4]` Org2's.
    pub peers: Vec<Ident>,
    pub client: Ident,
    pub admin: Ident,
    /// In the consortium config as a client, but not on the allow-list.
    pub unlisted: Ident,
    /// Not a consortium member at all.
    pub outsider: Ident,
}

impl Net {
    pub fn new() -> Net {
        let orderer = Ident::new("mgmt", "Org1", 1);
        let peers = vec![
            Ident::new("peer0.org1", "Org1", 10),
            Ident::new("peer1.org1", "Org1", 11),
            Ident::new("peer0.org2", "Org2", 12),
            Ident::new("peer1.org2", "Org2", 13),
        ];
        let client = Ident::new("client.org1", "Org1", 20);
        let admin = Ident::new("admin.org2", "Org2", 21);
        let unlisted = Ident::new("unlisted.org2", "Org2", 22);
        let outsider = Ident::new("outsider", "Org3", 23);
        let mut members = BTreeMap::new();
        let mut add = |m: Member| members.insert(m.id, m);
        add(orderer.member(Role::Orderer, false));
        for p in &peers {
            add(p.member(Role::Peer, false));
        }
        add(client.member(Role::Client, true));
        add(admin.member(Role::Admin, true));
        add(unlisted.member(Role::Client, false));
        let config = ChainConfig {
            channel: CHANNEL.to_owned(),
            orgs: vec!["Org1".to_owned(), "Org2".to_owned()],
            members,
            orderer: orderer.id,
            lifecycle_policy: Policy::parse(LIFECYCLE).unwrap(),
        };
        Net {
            config: Arc::new(config),
            orderer,
            peers,
            client,
            admin,
            unlisted,
            outsider,
        }
    }

    /// A fresh, empty ledger replica (in-memory redb).
    pub fn ledger(&self) -> Arc<Ledger> {
        Arc::new(Ledger::new(
            Arc::new(RedbStore::in_memory().unwrap()),
            self.config.clone(),
        ))
    }

    /// An endorsement device over its own replica, hosting the keys of `peers` (indices).
    pub fn endorser(&self, peers: &[usize]) -> Endorser {
        Endorser::in_process(
            self.ledger(),
            peers
                .iter()
                .map(|&i| (self.peers[i].id, self.peers[i].key()))
                .collect(),
        )
        .unwrap()
    }

    pub fn peer_ids(&self, peers: &[usize]) -> Vec<IdentityId> {
        peers.iter().map(|&i| self.peers[i].id).collect()
    }

    /// A transaction signed by `who` (the reference signature over the transaction id).
    pub fn tx(&self, who: &Ident, nonce: u64, action: TxAction) -> SignedTx {
        sign(
            who,
            TxPayload {
                channel: CHANNEL.to_owned(),
                creator: who.id,
                nonce,
                action,
            },
        )
    }

    /// Signs, as the management device, a block of `txs` on top of `ledger`'s tip and commits it.
    pub fn commit(&self, ledger: &Ledger, txs: Vec<EndorsedTx>) -> CommitSummary {
        let (height, prev_hash) = ledger.tip().unwrap();
        let encoded: Vec<Vec<u8>> = txs.iter().map(encode).collect();
        let header = BlockHeader {
            height: height + 1,
            prev_hash,
            tx_root: merkle_root(encoded.iter().map(Vec::as_slice)),
            tx_count: u32::try_from(txs.len()).unwrap(),
            timestamp_ms: 0,
            orderer: self.orderer.id,
        };
        let signature = self
            .orderer
            .key()
            .sign(domain::BLOCK_SIGNATURE, &header.hash().0);
        let block = Block {
            header,
            txs,
            signature,
        };
        let bytes = encode(&block);
        ledger.commit_bytes(&bytes).unwrap()
    }

    /// Endorses `tx` on `endorser` for `peers` (indices) and packages the result.
    pub fn endorsed(&self, endorser: &Endorser, tx: SignedTx, peers: &[usize]) -> EndorsedTx {
        let resp = endorse_one(endorser, &tx, self.peer_ids(peers)).unwrap();
        EndorsedTx {
            tx,
            response: resp.response,
            endorsements: resp.endorsements,
        }
    }
}

/// Endorses `tx` for `peers` as a batch of one, and returns that item's result.
pub fn endorse_one(
    endorser: &Endorser,
    tx: &SignedTx,
    peers: Vec<IdentityId>,
) -> Result<EndorseResponse, ApiError> {
    let mut results = endorser.endorse_batch(&EndorseBatch::single(tx.clone(), peers, 0));
    assert_eq!(results.len(), 1, "one result per item");
    results.remove(0)
}

/// Signs a payload with `who`'s key.
pub fn sign(who: &Ident, payload: TxPayload) -> SignedTx {
    let signature = who.key().sign(domain::TX_SIGNATURE, &payload.id().0);
    SignedTx { payload, signature }
}

pub fn deploy(contract: &str, wasm: &[u8], policy: &str) -> TxAction {
    TxAction::Deploy {
        contract: contract.to_owned(),
        wasm: wasm.to_vec(),
        policy: policy.to_owned(),
    }
}

pub fn invoke(contract: &str, function: &str, args: &[&[u8]]) -> TxAction {
    TxAction::Invoke {
        contract: contract.to_owned(),
        function: function.to_owned(),
        args: args.iter().map(|a| a.to_vec()).collect(),
    }
}

/// The asset contract's stored account record: owner id, then the balance (big-endian).
pub fn account_record(owner: &Ident, balance: u64) -> Vec<u8> {
    let mut v = owner.id.0.0.to_vec();
    v.extend_from_slice(&balance.to_be_bytes());
    v
}

/// A minimal valid contract whose one entry point `spin` loops forever: only fuel stops it.
/// (module (memory (export "memory") 1) (func (export "spin") (loop (br 0))))
pub const SPIN_WASM: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
    0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
    0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one memory, min 1 page
    0x07, 0x11, 0x02, // export section, two exports
    0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, // "memory": memory 0
    0x04, b's', b'p', b'i', b'n', 0x00, 0x00, // "spin": function 0
    0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b,
    0x0b, // code: loop br 0 end end
];

/// Hash used as a stand-in for unrelated ids.
pub fn other_id(tag: &str) -> IdentityId {
    IdentityId(sha256(tag.as_bytes()))
}

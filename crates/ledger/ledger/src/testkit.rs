//! A small, deterministic consortium for the tests of crates built on the ledger (feature
//! `testkit`): a management device (orderer), four peers (Org1 and Org2, two each), an allowed
//! client, an allowed admin, a listed but not allowed client, and an identity unknown to the
//! consortium. Keys are Ed25519 from fixed seeds, so every run is the same. Storage is the
//! caller's: [`Net::ledger_on`] takes any [`LedgerStore`].

use std::collections::BTreeMap;
use std::sync::Arc;

use arcanum_crypto::{SigningKey, domain};
use arcanum_policy::Policy;
use arcanum_storage::LedgerStore;
use arcanum_types::{IdentityId, Role, SignedTx, TxAction, TxPayload};

use crate::{ChainConfig, Ledger, Member};

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
#[derive(Debug)]
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

impl Default for Net {
    fn default() -> Self {
        Net::new()
    }
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
        let lifecycle_policy = match Policy::parse(LIFECYCLE) {
            Ok(p) => p,
            Err(e) => panic!("the fixture's lifecycle policy parses: {e}"),
        };
        let config = ChainConfig {
            channel: CHANNEL.to_owned(),
            orgs: vec!["Org1".to_owned(), "Org2".to_owned()],
            members,
            orderer: orderer.id,
            lifecycle_policy,
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

    /// A ledger of this consortium over `store`.
    pub fn ledger_on(&self, store: Arc<dyn LedgerStore>) -> Arc<Ledger> {
        Arc::new(Ledger::new(store, self.config.clone()))
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

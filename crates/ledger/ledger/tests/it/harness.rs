//! An in-process consortium: deterministic Ed25519 keys for a management device, four peers of
//! two organisations, clients and an admin; the [`ChainConfig`] they share; builders for signed,
//! endorsed transactions and for signed blocks; and one [`Ledger`] per peer, each over its own
//! in-memory store, that receive the same blocks.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

use arcanum_crypto::{Hash, SigningKey, domain, sha256};
use arcanum_ledger::{
    ChainConfig, CommitSummary, Ledger, Member, SignatureTrust, contract_key, definition_key,
    deploy_writes,
};
use arcanum_policy::Policy;
use arcanum_storage::{StateReader, VersionedValue};
use arcanum_storage_redb::RedbStore;
use arcanum_types::{
    ApiError, Block, BlockHeader, EndorsedTx, Endorsement, Event, IdentityId, KvRead, KvWrite,
    ProposalResponse, Role, RwSet, SignedTx, TxAction, TxPayload, TxStatus, Version, Vote, encode,
};

pub const CHANNEL: &str = "arcanum-test";
/// Both organisations' peers must endorse.
pub const BOTH_ORGS: &str = "AND('Org1.peer','Org2.peer')";
/// Peer indices: 0 and 1 are Org1's, 2 and 3 Org2's.
pub const ORG1_ORG2: &[usize] = &[0, 2];
pub const ALL_PEERS: &[usize] = &[0, 1, 2, 3];

/// One identity and its key.
pub struct Actor {
    pub name: String,
    pub id: IdentityId,
    pub key: SigningKey,
}

impl Actor {
    pub fn new(name: &str) -> Actor {
        let seed = sha256(format!("arcanum-ledger-tests key {name}").as_bytes());
        Actor {
            name: name.to_owned(),
            id: IdentityId(sha256(format!("arcanum-ledger-tests id {name}").as_bytes())),
            key: SigningKey::from_ed25519_seed(&seed.0),
        }
    }

    fn member(&self, msp_id: &str, role: Role, allowed_client: bool) -> Member {
        Member {
            id: self.id,
            name: self.name.clone(),
            msp_id: msp_id.to_owned(),
            role,
            public_key: self.key.public_key(),
            allowed_client,
        }
    }
}

/// `(tip height, tip hash, state root)` of a ledger: equal fingerprints mean nothing changed.
pub type Fingerprint = (u64, Hash, Hash);

pub struct Net {
    pub config: Arc<ChainConfig>,
    pub orderer: Actor,
    pub peers: Vec<Actor>,
    /// Org1 client on the allow-list.
    pub client: Actor,
    /// Org1 admin on the allow-list.
    pub admin: Actor,
    /// Org2 client that is a member but not on the allow-list.
    pub unlisted: Actor,
    /// An identity the consortium does not know at all.
    pub stranger: Actor,
    pub ledgers: Vec<Ledger>,
    nonce: Cell<u64>,
}

impl Net {
    /// The network with one ledger per peer.
    pub fn new() -> Net {
        Net::with_ledgers(4)
    }

    pub fn with_ledgers(n: usize) -> Net {
        Net::with_trusts(&vec![SignatureTrust::VerifyAll; n])
    }

    /// A peer's ledger and a ledger inside the management network (the management device's own
    /// chain or an endorsement device's replica): [`Net::deliver`] checks that they agree.
    pub fn peer_and_replica() -> Net {
        Net::with_trusts(&[SignatureTrust::VerifyAll, SignatureTrust::TrustOrderer])
    }

    /// One ledger per entry, each with that signature trust.
    pub fn with_trusts(trusts: &[SignatureTrust]) -> Net {
        let orderer = Actor::new("orderer");
        let peers: Vec<Actor> = ["peer0.org1", "peer1.org1", "peer0.org2", "peer1.org2"]
            .map(Actor::new)
            .into();
        let client = Actor::new("client.org1");
        let admin = Actor::new("admin.org1");
        let unlisted = Actor::new("client.org2");
        let stranger = Actor::new("stranger");
        let mut members = BTreeMap::new();
        let mut add = |m: Member| {
            members.insert(m.id, m);
        };
        add(orderer.member("Org1", Role::Orderer, false));
        for (i, p) in peers.iter().enumerate() {
            add(p.member(if i < 2 { "Org1" } else { "Org2" }, Role::Peer, false));
        }
        add(client.member("Org1", Role::Client, true));
        add(admin.member("Org1", Role::Admin, true));
        add(unlisted.member("Org2", Role::Client, false));
        let config = Arc::new(ChainConfig {
            channel: CHANNEL.to_owned(),
            orgs: vec!["Org1".to_owned(), "Org2".to_owned()],
            members,
            orderer: orderer.id,
            lifecycle_policy: Policy::parse("MAJORITY Endorsement")
                .expect("lifecycle policy parses"),
        });
        let ledgers = trusts
            .iter()
            .map(|&trust| Ledger::with_trust(Arc::new(fresh_store()), config.clone(), trust))
            .collect();
        Net {
            config,
            orderer,
            peers,
            client,
            admin,
            unlisted,
            stranger,
            ledgers,
            nonce: Cell::new(0),
        }
    }

    // ---- transactions ----

    /// A payload on this channel with a fresh nonce.
    pub fn payload(&self, creator: &Actor, action: TxAction) -> TxPayload {
        let nonce = self.nonce.get() + 1;
        self.nonce.set(nonce);
        TxPayload {
            channel: CHANNEL.to_owned(),
            creator: creator.id,
            nonce,
            action,
        }
    }

    /// `payload` with `signer`'s reference signature.
    pub fn sign(payload: TxPayload, signer: &Actor) -> SignedTx {
        let signature = signer.key.sign(domain::TX_SIGNATURE, &payload.id().0);
        SignedTx { payload, signature }
    }

    /// An approving response to `tx` with `rwset`.
    pub fn response(tx: &SignedTx, rwset: RwSet) -> ProposalResponse {
        ProposalResponse {
            tx_id: tx.payload.id(),
            rwset,
            result: b"ok".to_vec(),
            events: Vec::new(),
            vote: Vote::Approve,
        }
    }

    /// `peer`'s endorsement of `etx` as it stands.
    pub fn endorsement(etx: &EndorsedTx, peer: &Actor) -> Endorsement {
        Endorsement {
            endorser: peer.id,
            signature: peer
                .key
                .sign(domain::ENDORSEMENT, &etx.endorsement_message()),
        }
    }

    /// `tx` with `response`, endorsed by the peers at `peers`.
    pub fn endorse(&self, tx: SignedTx, response: ProposalResponse, peers: &[usize]) -> EndorsedTx {
        let mut etx = EndorsedTx {
            tx,
            response,
            endorsements: Vec::new(),
        };
        self.reendorse(&mut etx, peers);
        etx
    }

    /// Replaces `etx`'s endorsements with fresh ones by `peers` (after a change to it).
    pub fn reendorse(&self, etx: &mut EndorsedTx, peers: &[usize]) {
        etx.endorsements = peers
            .iter()
            .map(|&i| Net::endorsement(etx, &self.peers[i]))
            .collect();
    }

    /// The code a deploy of `contract` carries (peers do not run it, so any bytes do).
    pub fn wasm(contract: &str) -> Vec<u8> {
        let mut w = b"\0asm\x01\0\0\0".to_vec();
        w.extend_from_slice(contract.as_bytes());
        w
    }

    /// The signed deploy request of `contract` governed by `policy`.
    pub fn deploy_tx(&self, creator: &Actor, contract: &str, policy: &str) -> SignedTx {
        let action = TxAction::Deploy {
            contract: contract.to_owned(),
            wasm: Net::wasm(contract),
            policy: policy.to_owned(),
        };
        Net::sign(self.payload(creator, action), creator)
    }

    /// The read/write set a deploy simulation produces.
    pub fn deploy_rwset(contract: &str, policy: &str) -> RwSet {
        RwSet {
            reads: vec![KvRead {
                key: definition_key(contract),
                version: None,
            }],
            writes: deploy_writes(contract, &Net::wasm(contract), policy),
        }
    }

    /// A complete deploy by `creator`, endorsed by `peers`.
    pub fn deploy(
        &self,
        creator: &Actor,
        contract: &str,
        policy: &str,
        peers: &[usize],
    ) -> EndorsedTx {
        let tx = self.deploy_tx(creator, contract, policy);
        let response = Net::response(&tx, Net::deploy_rwset(contract, policy));
        self.endorse(tx, response, peers)
    }

    /// The signed invoke request of `contract.function` by `creator`.
    pub fn invoke_tx(&self, creator: &Actor, contract: &str, function: &str) -> SignedTx {
        let action = TxAction::Invoke {
            contract: contract.to_owned(),
            function: function.to_owned(),
            args: vec![b"arg".to_vec()],
        };
        Net::sign(self.payload(creator, action), creator)
    }

    /// A complete invoke of `contract` by the listed client with `rwset`, endorsed by `peers`.
    pub fn invoke(&self, contract: &str, rwset: RwSet, peers: &[usize]) -> EndorsedTx {
        let tx = self.invoke_tx(&self.client, contract, "put");
        let response = Net::response(&tx, rwset);
        self.endorse(tx, response, peers)
    }

    /// An invoke that reads `key` at its current version (as an endorser would) and writes `value`.
    pub fn put(&self, contract: &str, key: &[u8], value: &[u8], peers: &[usize]) -> EndorsedTx {
        let read = self.version(contract, key);
        self.invoke(
            contract,
            rwset(contract, &[(key, read)], &[(key, Some(value))]),
            peers,
        )
    }

    // ---- blocks ----

    /// The header hash signature the management device puts on a block.
    pub fn sign_header(&self, header: &BlockHeader) -> arcanum_types::Signature {
        self.orderer
            .key
            .sign(domain::BLOCK_SIGNATURE, &header.hash().0)
    }

    /// A correctly signed block of `txs` at `height` after `prev_hash`.
    pub fn block_at(&self, height: u64, prev_hash: Hash, txs: Vec<EndorsedTx>) -> Block {
        let mut block = Block {
            header: BlockHeader {
                height,
                prev_hash,
                tx_root: Hash::ZERO,
                tx_count: 0,
                state_root: Hash::ZERO,
                timestamp_ms: 1_700_000_000_000 + height,
                orderer: self.orderer.id,
            },
            txs,
            signature: arcanum_types::Signature(Vec::new()),
        };
        self.reseal(&mut block);
        block
    }

    /// Recomputes the transaction root and count and the state root the transactions produce on
    /// the ledgers' tip, and re-signs (after a change to the block).
    pub fn reseal(&self, block: &mut Block) {
        block.header.tx_root = block.compute_tx_root();
        block.header.tx_count = u32::try_from(block.txs.len()).expect("few transactions");
        block.header.state_root = self.ledgers[0].preview(&block.txs).expect("preview").1;
        block.signature = self.sign_header(&block.header);
    }

    /// The correctly signed next block on the ledgers' common tip.
    pub fn next_block(&self, txs: Vec<EndorsedTx>) -> Block {
        let (height, hash, _) = self.fingerprint();
        self.block_at(height + 1, hash, txs)
    }

    // ---- delivery and observation ----

    /// Delivers `block` to every ledger and checks that they all judge it the same way.
    pub fn deliver(&self, block: &Block) -> Result<CommitSummary, ApiError> {
        let bytes = encode(block);
        let outcomes: Vec<_> = self
            .ledgers
            .iter()
            .map(|l| l.commit(block, bytes.clone()))
            .collect();
        let first = &outcomes[0];
        for other in &outcomes[1..] {
            match (first, other) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.height, b.height);
                    assert_eq!(a.block_hash, b.block_hash);
                    assert_eq!(a.receipts, b.receipts);
                    assert_eq!(a.events, b.events);
                    assert_eq!(a.already_committed, b.already_committed);
                }
                (Err(a), Err(b)) => assert_eq!(a, b),
                (a, b) => panic!("ledgers disagree: {a:?} vs {b:?}"),
            }
        }
        self.fingerprint();
        outcomes.into_iter().next().expect("at least one ledger")
    }

    /// Delivers a block that must commit, and returns its statuses.
    pub fn commit(&self, txs: Vec<EndorsedTx>) -> (Block, Vec<TxStatus>) {
        let block = self.next_block(txs);
        let summary = self.deliver(&block).expect("block commits");
        assert!(!summary.already_committed);
        assert_eq!(summary.height, block.header.height);
        assert_eq!(summary.block_hash, block.header.hash());
        let statuses = statuses(&summary);
        for (i, (r, etx)) in summary.receipts.iter().zip(&block.txs).enumerate() {
            assert_eq!(
                (r.tx_id, r.block, r.index as usize),
                (etx.id(), block.header.height, i)
            );
        }
        assert_eq!(summary.receipts.len(), block.txs.len());
        (block, statuses)
    }

    /// Commits a single transaction and returns its status.
    pub fn commit_one(&self, etx: EndorsedTx) -> TxStatus {
        self.commit(vec![etx]).1[0]
    }

    /// Commits `etx`, which must be invalid with `code`, and checks that state did not change
    /// (only the tip moved, to the block that records the rejection).
    pub fn assert_rejected(&self, etx: EndorsedTx, code: arcanum_types::ErrorCode) {
        let (_, _, root) = self.fingerprint();
        let id = etx.id();
        let (block, statuses) = self.commit(vec![etx]);
        assert_eq!(statuses, vec![TxStatus::Invalid(code)]);
        let (height, hash, root_after) = self.fingerprint();
        assert_eq!((height, hash), (block.header.height, block.header.hash()));
        assert_eq!(root_after, root, "an invalid transaction changed state");
        for l in &self.ledgers {
            let receipts = l
                .store()
                .receipts_in_block(height)
                .expect("store reads")
                .expect("block is stored");
            assert_eq!(receipts.len(), 1);
            assert_eq!(
                (receipts[0].tx_id, receipts[0].status),
                (id, TxStatus::Invalid(code))
            );
            assert!(
                l.contains_tx(&id).expect("store reads"),
                "a rejected id is recorded"
            );
        }
    }

    /// Deploys `contract` under `policy` and checks that it committed.
    pub fn setup_contract(&self, contract: &str, policy: &str) {
        let etx = self.deploy(&self.admin, contract, policy, ORG1_ORG2);
        assert_eq!(self.commit_one(etx), TxStatus::Valid);
    }

    /// Tip and state root, checked equal on every ledger.
    pub fn fingerprint(&self) -> Fingerprint {
        let prints: Vec<Fingerprint> = self.ledgers.iter().map(fingerprint).collect();
        assert!(
            prints.windows(2).all(|w| w[0] == w[1]),
            "ledgers diverged: {prints:?}"
        );
        prints[0]
    }

    /// The value of a contract's key, checked equal on every ledger.
    pub fn value(&self, contract: &str, key: &[u8]) -> Option<VersionedValue> {
        let full = contract_key(contract, key);
        let values: Vec<_> = self
            .ledgers
            .iter()
            .map(|l| StateReader::get(l.store().as_ref(), &full).expect("store reads"))
            .collect();
        assert!(
            values.windows(2).all(|w| w[0] == w[1]),
            "ledgers diverged at {key:?}"
        );
        values.into_iter().next().flatten()
    }

    /// The current version of a contract's key.
    pub fn version(&self, contract: &str, key: &[u8]) -> Option<Version> {
        self.value(contract, key).map(|v| v.version)
    }
}

/// A fresh in-memory store.
pub fn fresh_store() -> RedbStore {
    RedbStore::in_memory().expect("in-memory store opens")
}

/// A ledger's tip and state root.
pub fn fingerprint(ledger: &Ledger) -> Fingerprint {
    let (height, hash) = ledger.tip().expect("tip reads");
    (
        height,
        hash,
        ledger.store().state_root().expect("state root"),
    )
}

/// A canonical read/write set in `contract`'s namespace.
pub fn rwset(
    contract: &str,
    reads: &[(&[u8], Option<Version>)],
    writes: &[(&[u8], Option<&[u8]>)],
) -> RwSet {
    let mut reads: Vec<KvRead> = reads
        .iter()
        .map(|(k, version)| KvRead {
            key: contract_key(contract, k),
            version: *version,
        })
        .collect();
    let mut writes: Vec<KvWrite> = writes
        .iter()
        .map(|(k, v)| KvWrite {
            key: contract_key(contract, k),
            value: v.map(<[u8]>::to_vec),
        })
        .collect();
    reads.sort_by(|a, b| a.key.cmp(&b.key));
    writes.sort_by(|a, b| a.key.cmp(&b.key));
    RwSet { reads, writes }
}

/// The statuses of a commit's receipts, in block order.
pub fn statuses(summary: &CommitSummary) -> Vec<TxStatus> {
    summary.receipts.iter().map(|r| r.status).collect()
}

/// An event for a response.
pub fn event(contract: &str, name: &str) -> Event {
    Event {
        contract: contract.to_owned(),
        name: name.to_owned(),
        data: name.as_bytes().to_vec(),
    }
}

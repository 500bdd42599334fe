//! The endorsement-device tests' consortium: `arcanum_ledger::testkit`'s, with in-memory
//! replicas, in-process endorsement devices and blocks signed as the management device.

use std::ops::Deref;
use std::sync::Arc;

use arcanum_crypto::{domain, sha256};
use arcanum_endorser::{EndorseBatch, EndorseResponse, Endorser};
use arcanum_ledger::{CommitSummary, Ledger, testkit};
use arcanum_storage_redb::RedbStore;
use arcanum_types::ApiError;
use arcanum_types::{Block, BlockHeader, EndorsedTx, IdentityId, SignedTx, encode, merkle_root};

pub use arcanum_ledger::testkit::{AND_POLICY, CHANNEL, account_record, deploy, invoke, sign};

/// The consortium, with the endorsement-device helpers.
pub struct Net(testkit::Net);

impl Deref for Net {
    type Target = testkit::Net;
    fn deref(&self) -> &testkit::Net {
        &self.0
    }
}

impl Net {
    pub fn new() -> Net {
        Net(testkit::Net::new())
    }

    /// A fresh, empty ledger replica (in-memory redb).
    pub fn ledger(&self) -> Arc<Ledger> {
        self.ledger_on(Arc::new(RedbStore::in_memory().unwrap()))
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

    /// Signs, as the management device, a block of `txs` on top of `ledger`'s tip and commits it.
    pub fn commit(&self, ledger: &Ledger, txs: Vec<EndorsedTx>) -> CommitSummary {
        let (height, prev_hash) = ledger.tip().unwrap();
        let encoded: Vec<Vec<u8>> = txs.iter().map(encode).collect();
        let header = BlockHeader {
            height: height + 1,
            prev_hash,
            tx_root: merkle_root(encoded.iter().map(Vec::as_slice)),
            tx_count: u32::try_from(txs.len()).unwrap(),
            state_root: ledger.preview(&txs).unwrap().1,
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

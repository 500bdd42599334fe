//! The management-device tests' consortium: `arcanum_ledger::testkit`'s, with in-memory
//! ledgers (inside the management network, trusting the orderer as the server's are, or a
//! peer's) and the peers a policy naming both organisations targets.

use std::ops::Deref;
use std::sync::Arc;

use arcanum_crypto::SigningKey;
use arcanum_ledger::{Ledger, SignatureTrust, testkit};
use arcanum_storage_redb::RedbStore;
use arcanum_types::IdentityId;

pub use arcanum_ledger::testkit::{AND_POLICY, Ident, account_record, deploy, invoke};

/// The consortium, with the management-device helpers.
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

    /// A fresh, empty ledger inside the management network (in-memory redb): the management
    /// device's own chain or an endorsement device's replica, trusting the orderer as the
    /// server's do ([`SignatureTrust::TrustOrderer`]).
    pub fn ledger(&self) -> Arc<Ledger> {
        Arc::new(Ledger::with_trust(
            Arc::new(RedbStore::in_memory().unwrap()),
            self.config.clone(),
            SignatureTrust::TrustOrderer,
        ))
    }

    /// A fresh, empty peer's ledger, which verifies every signature.
    pub fn peer_ledger(&self) -> Arc<Ledger> {
        self.ledger_on(Arc::new(RedbStore::in_memory().unwrap()))
    }

    /// The peers the management device asks for a policy naming both organisations (the
    /// lifecycle policy, `AND('Org1.peer','Org2.peer')`): the first peer of each organisation
    /// in id order, Org1's first.
    pub fn targets(&self) -> Vec<IdentityId> {
        ["Org1", "Org2"]
            .iter()
            .map(|msp| self.config.peers().find(|p| p.msp_id == *msp).unwrap().id)
            .collect()
    }

    /// The key of consortium peer `id`.
    pub fn peer_key(&self, id: &IdentityId) -> SigningKey {
        self.peers.iter().find(|p| p.id == *id).unwrap().key()
    }
}

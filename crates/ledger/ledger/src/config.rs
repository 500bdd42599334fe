use std::collections::BTreeMap;

use arcanum_crypto::PublicKey;
use arcanum_policy::Policy;
use arcanum_types::{IdentityId, Role};

/// A consortium member as the ledger needs it: enough to verify its signatures and match policies.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: IdentityId,
    pub name: String,
    pub msp_id: String,
    pub role: Role,
    pub public_key: PublicKey,
    /// On the client allow-list (L3).
    pub allowed_client: bool,
}

/// The validation rules of one chain, derived from the consortium config.
#[derive(Clone, Debug)]
pub struct ChainConfig {
    pub channel: String,
    /// MSP ids of the organisations, sorted.
    pub orgs: Vec<String>,
    pub members: BTreeMap<IdentityId, Member>,
    /// The management device whose signature every block must carry.
    pub orderer: IdentityId,
    /// The policy deploy transactions are endorsed under.
    pub lifecycle_policy: Policy,
}

impl ChainConfig {
    pub fn member(&self, id: &IdentityId) -> Option<&Member> {
        self.members.get(id)
    }

    /// Peers of the consortium, in id order.
    pub fn peers(&self) -> impl Iterator<Item = &Member> {
        self.members.values().filter(|m| m.role == Role::Peer)
    }
}

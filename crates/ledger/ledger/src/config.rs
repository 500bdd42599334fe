use std::collections::BTreeMap;

use arcanum_crypto::{Hash, PublicKey, domain, tagged_hash};
use arcanum_policy::Policy;
use arcanum_types::{ApiError, ErrorCode, IdentityId, Role, encode};
use borsh::{BorshDeserialize, BorshSerialize};

/// Most members a [`ChainPin`] may name.
pub const MAX_PINNED_MEMBERS: usize = 4096;

/// A consortium member as the ledger needs it: enough to verify its signatures and match policies.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
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

/// A [`ChainConfig`] in canonical bytes: what an endorsement enclave is pinned to at `Init`
/// (docs/design/endorsement-in-enclave.md). Its [`ChainPin::hash`] goes into the enclave's
/// evidence, and the management device accepts endorsements only from an enclave whose attested
/// pin hash is its own configuration's.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ChainPin {
    pub channel: String,
    pub orgs: Vec<String>,
    /// Sorted by id, each id once.
    pub members: Vec<Member>,
    pub orderer: IdentityId,
    /// The lifecycle policy's canonical text.
    pub lifecycle_policy: String,
}

impl ChainPin {
    /// The pin's identity, bound into the enclave's evidence.
    pub fn hash(&self) -> Hash {
        tagged_hash(domain::ENCLAVE_CHAIN_PIN, &[&encode(self)])
    }
}

impl ChainConfig {
    /// This configuration as a pin.
    pub fn pin(&self) -> ChainPin {
        ChainPin {
            channel: self.channel.clone(),
            orgs: self.orgs.clone(),
            members: self.members.values().cloned().collect(),
            orderer: self.orderer,
            lifecycle_policy: self.lifecycle_policy.to_string(),
        }
    }

    /// The configuration a pin names: members sorted, unique and bounded, the orderer a member,
    /// the policy parsing to its own text (`BAD_CHAIN_PIN` otherwise). `from_pin(c.pin()) == c`.
    pub fn from_pin(pin: &ChainPin) -> Result<ChainConfig, ApiError> {
        let bad = |m: &str| Err(ApiError::new(ErrorCode::BadChainPin, m.to_owned()));
        if pin.members.len() > MAX_PINNED_MEMBERS
            || pin.members.windows(2).any(|w| w[0].id >= w[1].id)
        {
            return bad("the pin's members are not sorted, unique and bounded");
        }
        let members: BTreeMap<IdentityId, Member> =
            pin.members.iter().map(|m| (m.id, m.clone())).collect();
        if !members.contains_key(&pin.orderer) {
            return bad("the pin's orderer is not a member");
        }
        let Ok(lifecycle_policy) = Policy::parse(&pin.lifecycle_policy) else {
            return bad("the pin's lifecycle policy does not parse");
        };
        if lifecycle_policy.to_string() != pin.lifecycle_policy {
            return bad("the pin's lifecycle policy is not in canonical form");
        }
        Ok(ChainConfig {
            channel: pin.channel.clone(),
            orgs: pin.orgs.clone(),
            members,
            orderer: pin.orderer,
            lifecycle_policy,
        })
    }

    /// The management device's block-signing key.
    pub fn orderer_key(&self) -> Option<&PublicKey> {
        self.member(&self.orderer).map(|m| &m.public_key)
    }
}

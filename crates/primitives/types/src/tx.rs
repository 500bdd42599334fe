use arcanum_crypto::{Hash, Signature, domain, tagged_hash};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::{IdentityId, encode};

/// What a transaction asks for.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum TxAction {
    /// Call `function` of a deployed contract with Fabric-style byte-string arguments.
    Invoke {
        contract: String,
        function: String,
        args: Vec<Vec<u8>>,
    },
    /// Admin transaction: install WebAssembly `wasm` as `contract`, endorsed under the
    /// consortium's lifecycle policy, and governed afterwards by endorsement `policy` (L4 DSL).
    Deploy {
        contract: String,
        wasm: Vec<u8>,
        policy: String,
    },
    /// Admin transaction (SPEC L7): from now on, `peer`'s endorsements verify under `public_key`
    /// (a key generated inside its endorsement enclave), endorsed under the lifecycle policy.
    /// The creator must be an admin of the peer's organisation.
    RotateKey {
        peer: IdentityId,
        public_key: arcanum_crypto::PublicKey,
    },
    /// Admin transaction (SPEC C1): register the off-chain cluster — its keys, members and their
    /// attestation reports — or a new epoch of it (a member joined), signed by the cluster key.
    RegisterCluster {
        registration: crate::offchain::SignedRegistration,
    },
    /// Register an off-chain contract's deployment (SPEC C2/C3) or its next key version, as
    /// signed by the registered cluster key.
    OffchainDeploy {
        deployment: crate::offchain::SignedDeployment,
    },
    /// An oracle relay's answer to an on-chain oracle request (SPEC C5): accepted only if the
    /// registered contract key signed the result of exactly that request.
    OffchainCallback {
        callback: Box<crate::offchain::OracleCallback>,
    },
}

impl TxAction {
    /// The contract this action targets (`_lifecycle` for key rotations and cluster
    /// registrations, `_offchain` for off-chain deployments, the requesting contract for an
    /// oracle callback).
    pub fn contract(&self) -> &str {
        match self {
            TxAction::Invoke { contract, .. } | TxAction::Deploy { contract, .. } => contract,
            TxAction::RotateKey { .. } | TxAction::RegisterCluster { .. } => "_lifecycle",
            TxAction::OffchainDeploy { .. } => "_offchain",
            TxAction::OffchainCallback { callback } => &callback.contract,
        }
    }
}

/// The transaction data a client signs.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TxPayload {
    /// The consortium (channel) name; a transaction for another consortium is invalid.
    pub channel: String,
    /// The submitting client.
    pub creator: IdentityId,
    /// Client-chosen; makes otherwise identical requests distinct. Replays are caught by id.
    pub nonce: u64,
    pub action: TxAction,
}

impl TxPayload {
    /// The transaction id: the tagged hash of the encoded payload.
    pub fn id(&self) -> Hash {
        tagged_hash(domain::TX_ID, &[&encode(self)])
    }
}

/// A transaction request: the payload and the client's reference signature over its id.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedTx {
    pub payload: TxPayload,
    pub signature: Signature,
}

/// A committed value's version: the block and position of the transaction that wrote it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Version {
    pub block: u64,
    pub tx: u32,
}

/// A key read during simulation, with the version seen (`None`: the key was absent).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct KvRead {
    pub key: Vec<u8>,
    pub version: Option<Version>,
}

/// A key written during simulation (`None`: deleted).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct KvWrite {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// The read/write set of one simulation. Keys are full state keys (namespaced by contract).
/// Canonical form: each list strictly sorted by key.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RwSet {
    pub reads: Vec<KvRead>,
    pub writes: Vec<KvWrite>,
}

impl RwSet {
    /// Whether both lists are strictly sorted by key (so no key appears twice).
    pub fn is_canonical(&self) -> bool {
        self.reads.windows(2).all(|w| w[0].key < w[1].key)
            && self.writes.windows(2).all(|w| w[0].key < w[1].key)
    }
}

/// An event emitted by a contract.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Event {
    pub contract: String,
    pub name: String,
    pub data: Vec<u8>,
}

/// An endorser's vote on a simulated transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
pub enum Vote {
    Approve = 0,
    Reject = 1,
}

/// The outcome of simulating a transaction: identical on every honest endorser.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ProposalResponse {
    pub tx_id: Hash,
    pub rwset: RwSet,
    /// The contract's return data.
    pub result: Vec<u8>,
    pub events: Vec<Event>,
    pub vote: Vote,
}

impl ProposalResponse {
    pub fn hash(&self) -> Hash {
        tagged_hash(domain::RESPONSE_HASH, &[&encode(self)])
    }

    /// The bytes each endorsement of this response to transaction `tx_id` signs.
    pub fn endorsement_message(&self, tx_id: Hash) -> Vec<u8> {
        encode(&EndorsementPayload {
            tx_id,
            response_hash: self.hash(),
            vote: self.vote,
        })
    }
}

/// What one endorsement signs: (tx hash, read/write-set hash, vote), as in SPEC L1.3.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EndorsementPayload {
    pub tx_id: Hash,
    pub response_hash: Hash,
    pub vote: Vote,
}

/// One endorsement: a signature by the hosted key of peer `endorser`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Endorsement {
    pub endorser: IdentityId,
    pub signature: Signature,
}

/// A transaction ready for ordering: the request, the agreed response and its endorsements.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EndorsedTx {
    pub tx: SignedTx,
    pub response: ProposalResponse,
    pub endorsements: Vec<Endorsement>,
}

impl EndorsedTx {
    pub fn id(&self) -> Hash {
        self.tx.payload.id()
    }

    /// The bytes each endorsement signs.
    pub fn endorsement_message(&self) -> Vec<u8> {
        self.response.endorsement_message(self.id())
    }
}

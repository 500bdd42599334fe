//! The off-chain cluster's public statements (SPEC C1–C6): what clients, the chain and receipt
//! verifiers see of the cluster, its deployments and its results. Design:
//! `docs/design/offchain-cluster.md`.
//!
//! Every statement is borsh-encoded and signed under its own domain string: a node card by the
//! node key, a registration, join offer and deployment by the cluster key, a result by the
//! contract key. The plaintexts clients encrypt to the cluster ([`DeployRequest`],
//! [`InvokeRequest`]) and the reply they decrypt ([`InvokeReply`]) are defined here too, so the
//! SDK and the enclave share one definition, and so is their encryption ([`wire`]).

use arcanum_crypto::hpke::HpkePublicKey;
use arcanum_crypto::{Hash, PublicKey, Signature, domain, tagged_hash};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::{ErrorCode, encode};

pub mod wire;

/// Largest WebAssembly module an off-chain deployment may carry.
pub const MAX_OFFCHAIN_CODE: usize = 1024 * 1024;
/// Largest invocation input (and output).
pub const MAX_OFFCHAIN_INPUT: usize = 64 * 1024;
/// Largest function name.
pub const MAX_FUNCTION_NAME: usize = 64;
/// Most members a cluster registration lists.
pub const MAX_CLUSTER_MEMBERS: usize = 64;
/// Most external fetches one invocation may make.
pub const MAX_FETCHES: usize = 4;

/// The event name an on-chain contract emits to ask the oracle for an off-chain call; its data
/// is a borsh [`OracleRequest`].
pub const ORACLE_REQUEST_EVENT: &str = "oracle_request";

/// The cluster's public keys: what clients encrypt to and what signs cluster statements.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ClusterKeys {
    /// Ed25519 cluster identity key.
    pub signing_key: PublicKey,
    /// X25519 HPKE key (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305).
    pub hpke_key: HpkePublicKey,
}

impl ClusterKeys {
    /// The short id requests name their recipient by: the hash of the encoded keys.
    pub fn id(&self) -> Hash {
        arcanum_crypto::sha256(&encode(self))
    }
}

/// What a TEE node's enclave says about itself, signed by its node key (the key its attestation
/// report binds): the HPKE key a joiner receives the cluster secret under, and the hash of its
/// trust configuration (attestation issuers, attestation policy, TLS roots), so members can
/// require that a joiner trusts what they trust.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct NodeCard {
    pub node_key: PublicKey,
    pub hpke_key: HpkePublicKey,
    pub trust: Hash,
}

impl NodeCard {
    pub fn hash(&self) -> Hash {
        arcanum_crypto::sha256(&encode(self))
    }
}

/// A member of the cluster as registered: its signed card and its attestation report (the
/// borsh bytes of an `arcanum_attestation::SignedReport` binding `card.node_key`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ClusterMember {
    pub card: NodeCard,
    /// The node key's signature over `encode(card)` under [`domain::NODE_CARD`].
    pub card_signature: Signature,
    pub report: Vec<u8>,
}

/// The cluster as registered on chain. `epoch` starts at 0 and grows by one with every update
/// (a member joining); the keys never change.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ClusterRegistration {
    pub keys: ClusterKeys,
    pub epoch: u64,
    pub members: Vec<ClusterMember>,
}

/// A registration with the cluster key's signature over `encode(registration)` under
/// [`domain::CLUSTER_REGISTRATION`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedRegistration {
    pub registration: ClusterRegistration,
    pub signature: Signature,
}

impl SignedRegistration {
    /// Whether the cluster signing key named in the registration signed it.
    pub fn verify(&self) -> bool {
        self.registration
            .keys
            .signing_key
            .verify(
                domain::CLUSTER_REGISTRATION,
                &encode(&self.registration),
                &self.signature,
            )
            .is_ok()
    }
}

/// A join offer: the member (card and report) and the cluster keys the joiner will receive,
/// made for one joiner at one time. Signed by the cluster key.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct JoinOffer {
    pub joiner: NodeCard,
    pub member: ClusterMember,
    pub keys: ClusterKeys,
    /// Unix seconds (host clock; offers are valid for a short window).
    pub offered_at: u64,
}

/// A join offer with the cluster key's signature under [`domain::JOIN_OFFER`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedOffer {
    pub offer: JoinOffer,
    pub signature: Signature,
}

impl SignedOffer {
    pub fn hash(&self) -> Hash {
        arcanum_crypto::sha256(&encode(self))
    }
}

/// An off-chain contract's deployment as registered on chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DeploymentStatement {
    /// [`contract_id`] of the code hash and the deployer's salt.
    pub contract_id: Hash,
    /// `tagged_hash(CODE_HASH, wasm)`, as for on-chain contracts.
    pub code_hash: Hash,
    /// The contract identity key for `key_version` (derived in the enclaves, C3).
    pub contract_key: PublicKey,
    /// Starts at 1; a rotation registers the next version.
    pub key_version: u32,
    /// The cluster signing key that signed this statement.
    pub cluster_key: PublicKey,
}

/// A deployment statement with the cluster key's signature under
/// [`domain::DEPLOYMENT_STATEMENT`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedDeployment {
    pub statement: DeploymentStatement,
    pub signature: Signature,
}

impl SignedDeployment {
    /// Whether `statement.cluster_key` signed the statement.
    pub fn verify(&self) -> bool {
        self.statement
            .cluster_key
            .verify(
                domain::DEPLOYMENT_STATEMENT,
                &encode(&self.statement),
                &self.signature,
            )
            .is_ok()
    }
}

/// An off-chain contract's global id.
pub fn contract_id(code_hash: &Hash, salt: &[u8; 16]) -> Hash {
    tagged_hash(domain::CONTRACT_ID, &[&code_hash.0, salt])
}

/// An HPKE message to the cluster: `cluster` names the recipient keys ([`ClusterKeys::id`]) so a
/// request for another cluster fails with `WRONG_CLUSTER_KEY` rather than a bare decryption
/// failure. The AAD of the HPKE message is `cluster.0`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SealedRequest {
    pub cluster: Hash,
    pub sealed: arcanum_crypto::hpke::Sealed,
}

/// The plaintext of an encrypted deployment (HPKE info [`domain::OFFCHAIN_DEPLOY`]).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DeployRequest {
    pub wasm: Vec<u8>,
    /// Chosen by the deployer; with the code hash it makes the contract id.
    pub salt: [u8; 16],
}

/// Where an oracle-driven invocation comes from: event `event_index` of committed transaction
/// `tx` on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OracleOrigin {
    pub tx: Hash,
    pub event_index: u32,
}

/// The plaintext of an encrypted invocation (HPKE info [`domain::OFFCHAIN_INVOKE`]). The reply
/// is encrypted under the HPKE export [`domain::OFFCHAIN_REPLY`] of the same context, so only
/// the sender can read it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct InvokeRequest {
    pub contract_id: Hash,
    pub function: String,
    /// The contract's arguments: the borsh encoding of a `Vec<Vec<u8>>` (one byte string per
    /// argument, as on-chain invocations carry them).
    pub input: Vec<u8>,
    /// Random for client calls; all zero for oracle calls (their origin is unique).
    pub nonce: [u8; 16],
    pub origin: Option<OracleOrigin>,
}

impl InvokeRequest {
    /// The request's identity: what replays are detected by and what the result signs.
    pub fn hash(&self) -> Hash {
        tagged_hash(domain::OFFCHAIN_REQUEST, &[&encode(self)])
    }
}

/// An external HTTPS response an invocation read, bound into its result.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FetchRecord {
    pub url: String,
    /// SHA-256 of the response body as received inside the enclave.
    pub body_hash: Hash,
}

/// What a contract key signs: the output of one invocation, bound to its request.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OffchainResult {
    pub contract_id: Hash,
    pub key_version: u32,
    /// [`InvokeRequest::hash`].
    pub request: Hash,
    pub output: Vec<u8>,
    pub fetches: Vec<FetchRecord>,
}

/// A result with the contract key's signature under [`domain::OFFCHAIN_RESULT`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedResult {
    pub result: OffchainResult,
    pub signature: Signature,
}

impl SignedResult {
    /// Whether `contract_key` signed the result.
    pub fn verify(&self, contract_key: &PublicKey) -> bool {
        contract_key
            .verify(
                domain::OFFCHAIN_RESULT,
                &encode(&self.result),
                &self.signature,
            )
            .is_ok()
    }
}

/// The plaintext of an invocation's reply: the signed result, or why the invocation failed.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum InvokeReply {
    Ok(SignedResult),
    /// The stable code of the failure (`OUT_OF_FUEL`, `CONTRACT_ERROR`, `STATE_ROLLBACK`, …) and
    /// nothing else: no message, so no text the host, an HTTPS server or the contract chose is
    /// ever encrypted under a reply key, and every failure reply has the same length
    /// ([`wire::FAILED_REPLY_LEN`]). [`ErrorCode::description`] is its fixed explanation.
    Failed {
        code: ErrorCode,
    },
}

/// The data of an [`ORACLE_REQUEST_EVENT`]: which off-chain contract to call with what.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OracleRequest {
    pub contract_id: Hash,
    pub function: String,
    pub input: Vec<u8>,
}

impl OracleRequest {
    /// The invocation an oracle relay sends for this request at `origin`.
    pub fn invocation(&self, origin: OracleOrigin) -> InvokeRequest {
        InvokeRequest {
            contract_id: self.contract_id,
            function: self.function.clone(),
            input: self.input.clone(),
            nonce: [0; 16],
            origin: Some(origin),
        }
    }
}

/// What an oracle relay submits back to the chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OracleCallback {
    /// The on-chain contract that emitted the request (its endorsement policy governs the
    /// callback).
    pub contract: String,
    pub origin: OracleOrigin,
    pub request: OracleRequest,
    pub result: SignedResult,
}

/// What a TEE node serves at `GET /v1/cluster`: itself as a member (card and current report),
/// the cluster keys once it holds them, and the latest registration it knows.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ClusterInfo {
    pub node: ClusterMember,
    pub keys: Option<ClusterKeys>,
    pub registration: Option<SignedRegistration>,
}

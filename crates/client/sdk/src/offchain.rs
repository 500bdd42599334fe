//! The client side of the off-chain privacy computing cluster (SPEC C1–C4): fetch and verify a
//! TEE node's view of the cluster, deploy contracts encrypted to the cluster key, invoke them with
//! an encrypted request and open the encrypted reply. Design: `docs/design/offchain-cluster.md`.
//!
//! Key types: [`OffchainClient`] (one TEE node's HTTP API), [`ClientPolicy`] (whom a client
//! trusts: attestation issuers, the orderer, the attestation policy), [`OffchainError`] (every
//! failure with a stable [`OffchainError::code`]).
//!
//! Invariants:
//! - Nothing from the node is trusted before it is checked: cluster keys only after every member
//!   report, card and the registration verify ([`verify_cluster`]); a deployment only if the
//!   cluster key signed exactly the code and salt we sent; a result only if it answers exactly
//!   our request.
//! - The reply key is the HPKE export of the request's own context, so only the sender can read
//!   the reply; a reply that does not authenticate is `DECRYPTION_FAILED`, never a partial result.

use std::sync::Arc;

use arcanum_attestation::{
    AttestError, AttestationPolicy, AttestationReport, SignedReport, Verdict, verify_report,
};
use arcanum_crypto::hpke::HpkeError;
use arcanum_crypto::{Hash, PublicKey, domain, tagged_hash};
use arcanum_types::offchain::wire::{self, ReplyError};
use arcanum_types::offchain::{
    ClusterInfo, ClusterKeys, ClusterMember, DeployRequest, InvokeReply, InvokeRequest,
    MAX_CLUSTER_MEMBERS, MAX_FUNCTION_NAME, MAX_OFFCHAIN_CODE, MAX_OFFCHAIN_INPUT, SealedRequest,
    SignedDeployment, SignedResult, contract_id,
};
use arcanum_types::{ErrorCode, TxAction, decode, encode};
use serde::{Deserialize, Serialize};

use crate::{Client, SdkError, Signer};

/// Largest reply ciphertext [`ReplyKey::open_reply`] accepts (the wire's bound).
pub use arcanum_types::offchain::wire::MAX_REPLY_BYTES;

/// The TEE node's HTTP routes (served by `arcanum node --role tee`).
pub mod routes {
    /// `GET`: a borsh `ClusterInfo`.
    pub const CLUSTER: &str = "/v1/cluster";
    /// `POST` a borsh `SealedRequest` (a `DeployRequest` inside): a borsh `SignedDeployment`.
    pub const DEPLOY: &str = "/v1/offchain/deploy";
    /// `POST` a borsh contract id (`Hash`): the next key version's borsh `SignedDeployment`.
    pub const ROTATE: &str = "/v1/offchain/rotate";
    /// `POST` a borsh `SealedRequest` (an `InvokeRequest` inside): the encrypted reply bytes.
    pub const INVOKE: &str = "/v1/offchain/invoke";
}

/// Largest `ClusterInfo` a node may answer with.
const MAX_CLUSTER_INFO: usize = 4 * 1024 * 1024;

/// Every way an off-chain client operation can fail. [`OffchainError::code`] is the stable code
/// clients match on; `Display` never carries key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum OffchainError {
    /// Talking to a node failed, or the node answered with an error code.
    #[error(transparent)]
    Sdk(#[from] SdkError),
    /// The node holds no cluster key yet.
    #[error("the TEE node has no cluster key yet")]
    ClusterNotFormed,
    /// No registration (or this node is not in it / not on chain).
    #[error("cluster not registered: {reason}")]
    ClusterNotRegistered { reason: String },
    /// A registration or deployment is not signed by the cluster key.
    #[error("{what} is not signed by the cluster key")]
    ClusterSignatureInvalid { what: &'static str },
    /// Two views of the cluster keys disagree.
    #[error("cluster keys mismatch: {what}")]
    ClusterKeyMismatch { what: String },
    /// A member's node card is not signed by its node key.
    #[error("member {member}: node card signature invalid")]
    CardSignatureInvalid { member: usize },
    /// A member's attestation report does not verify (undecodable, foreign issuer, bad
    /// signature, expired, or not binding the card's node key).
    #[error("member {member}: attestation report invalid: {} ({source})", source.code())]
    ReportInvalid { member: usize, source: AttestError },
    /// A member's verified report breaks the client's attestation policy.
    #[error("member {member}: attestation policy: {} ({source})", source.code())]
    AttestationPolicy { member: usize, source: AttestError },
    /// A deployment the node answered with is not the one we asked for.
    #[error("deployment invalid: {what}")]
    DeploymentInvalid { what: String },
    /// An invocation reply answers another request or contract.
    #[error("result mismatch: {what}")]
    ResultMismatch { what: &'static str },
    /// The reply ciphertext does not authenticate under our reply key.
    #[error("the reply does not decrypt under the request's reply key")]
    DecryptionFailed,
    /// The reply decrypted but is not a borsh `InvokeReply`.
    #[error("malformed reply: {reason}")]
    MalformedReply { reason: String },
    /// The enclave ran the request and reports a failure (`OUT_OF_FUEL`, `CONTRACT_ERROR`, …):
    /// its code only (the encrypted reply carries no message; `Display` adds the code's fixed
    /// description).
    #[error("{code}: {}", code.description())]
    Failed { code: ErrorCode },
    /// Local input over a protocol limit.
    #[error("{what} is {len} bytes, more than {max}")]
    InputTooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    /// Sealing a request failed (cannot happen for a valid cluster key).
    #[error("sealing the request: {0}")]
    Seal(HpkeError),
    /// A chain transaction committed as invalid.
    #[error("transaction {tx_id} committed as {status}")]
    TxRejected { tx_id: String, status: String },
}

impl OffchainError {
    /// The stable code: an [`ErrorCode`] name (for [`OffchainError::Failed`], the enclave's),
    /// or `RESULT_MISMATCH` for a reply to another request.
    pub fn code(&self) -> &str {
        match self {
            OffchainError::Sdk(e) => e.code().as_str(),
            OffchainError::ClusterNotFormed => ErrorCode::ClusterNotFormed.as_str(),
            OffchainError::ClusterNotRegistered { .. } => ErrorCode::ClusterNotRegistered.as_str(),
            OffchainError::ClusterSignatureInvalid { .. } => {
                ErrorCode::ClusterSignatureInvalid.as_str()
            }
            OffchainError::ClusterKeyMismatch { .. } => ErrorCode::ClusterKeyMismatch.as_str(),
            OffchainError::CardSignatureInvalid { .. } | OffchainError::ReportInvalid { .. } => {
                ErrorCode::ReportInvalid.as_str()
            }
            OffchainError::AttestationPolicy { .. } => ErrorCode::AttestationPolicy.as_str(),
            OffchainError::DeploymentInvalid { .. } => ErrorCode::DeploymentInvalid.as_str(),
            OffchainError::ResultMismatch { .. } => "RESULT_MISMATCH",
            OffchainError::DecryptionFailed => ErrorCode::DecryptionFailed.as_str(),
            OffchainError::MalformedReply { .. } => ErrorCode::MalformedEncoding.as_str(),
            OffchainError::Failed { code } => code.as_str(),
            OffchainError::InputTooLarge { .. } => ErrorCode::InputTooLarge.as_str(),
            OffchainError::Seal(_) => ErrorCode::Internal.as_str(),
            OffchainError::TxRejected { status, .. } => status,
        }
    }

    /// The precise attestation code under a report or policy failure (`REPORT_EXPIRED`,
    /// `MEASUREMENT_NOT_ALLOWED`, …).
    pub fn attestation_code(&self) -> Option<&'static str> {
        match self {
            OffchainError::ReportInvalid { source, .. }
            | OffchainError::AttestationPolicy { source, .. } => Some(source.code()),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Client policy
// ---------------------------------------------------------------------------------------------

/// Why a [`ClientPolicy`] cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy does not parse: {0}")]
    Parse(String),
    #[error("policy names no attestation issuer")]
    NoIssuer,
    #[error("attestation policy invalid: {0}")]
    Attestation(AttestError),
    #[error("the consortium has no attestation service")]
    NoAttestationService,
}

/// Whom a client trusts when it checks a cluster or a receipt. TOML (or JSON):
///
/// ```toml
/// attestation_issuers = ["<hex public key>"]  # the attestation service(s)
/// orderer_key = "<hex public key>"            # the management device's block-signing key
///
/// [attestation]                               # arcanum_attestation::AttestationPolicy
/// allowed_measurements = ["<hex>"]
/// min_tcb_status = "UpToDate"
/// allow_simulation = false
/// ```
///
/// A public key in hex is either 32 raw bytes (Ed25519) or the borsh encoding of an
/// `arcanum_crypto::PublicKey` (any algorithm).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientPolicy {
    #[serde(with = "hex_keys")]
    pub attestation_issuers: Vec<PublicKey>,
    #[serde(with = "hex_key")]
    pub orderer_key: PublicKey,
    #[serde(default)]
    pub attestation: AttestationPolicy,
}

impl ClientPolicy {
    /// Parses TOML, or JSON when the text starts with `{`, and validates it.
    pub fn parse(text: &str) -> Result<ClientPolicy, PolicyError> {
        let policy: ClientPolicy = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| PolicyError::Parse(e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| PolicyError::Parse(e.to_string()))?
        };
        policy.validate()?;
        Ok(policy)
    }

    /// Checks that the policy can be used: at least one issuer, a valid attestation policy.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.attestation_issuers.is_empty() {
            return Err(PolicyError::NoIssuer);
        }
        self.attestation
            .validate()
            .map_err(PolicyError::Attestation)
    }

    /// TOML text that [`ClientPolicy::parse`] reads back.
    pub fn to_toml(&self) -> Result<String, PolicyError> {
        toml::to_string(self).map_err(|e| PolicyError::Parse(e.to_string()))
    }

    /// The policy a member of `consortium` uses: the management device's key as the orderer,
    /// the consortium's attestation service as the only issuer, its TCB minimum, debug and
    /// simulation settings, and the cluster-enclave measurements the consortium allows
    /// (`cluster_measurements`; empty accepts any measurement the service attested).
    pub fn from_consortium(
        consortium: &arcanum_msp::Consortium,
    ) -> Result<ClientPolicy, PolicyError> {
        let service = consortium
            .attestation()
            .ok_or(PolicyError::NoAttestationService)?;
        let s = &service.settings;
        let policy = ClientPolicy {
            attestation_issuers: vec![service.member.public_key.clone()],
            orderer_key: consortium.management().public_key.clone(),
            attestation: AttestationPolicy {
                allowed_measurements: s.cluster_measurements.clone(),
                min_tcb_status: s.min_tcb_status.clone(),
                allow_debug: s.allow_debug,
                allow_simulation: s.allow_simulation,
                expected_product: None,
            },
        };
        policy.validate()?;
        Ok(policy)
    }
}

/// Hex text of a public key: raw for Ed25519, borsh otherwise.
pub fn public_key_to_hex(key: &PublicKey) -> String {
    match key.algorithm {
        arcanum_crypto::Algorithm::Ed25519 => hex::encode(&key.bytes),
        _ => hex::encode(encode(key)),
    }
}

/// Parses [`public_key_to_hex`] text (an optional `0x` prefix is allowed).
pub fn public_key_from_hex(text: &str) -> Option<PublicKey> {
    let t = text.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    let bytes = hex::decode(t).ok()?;
    if bytes.len() == 32 {
        return Some(PublicKey {
            algorithm: arcanum_crypto::Algorithm::Ed25519,
            bytes,
        });
    }
    decode(&bytes, 4096).ok()
}

mod hex_key {
    use arcanum_crypto::PublicKey;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &PublicKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::public_key_to_hex(k))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PublicKey, D::Error> {
        let text = String::deserialize(d)?;
        super::public_key_from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a hex public key: {text:?}")))
    }
}

mod hex_keys {
    use arcanum_crypto::PublicKey;
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    pub fn serialize<S: Serializer>(keys: &[PublicKey], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(keys.len()))?;
        for k in keys {
            seq.serialize_element(&super::public_key_to_hex(k))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PublicKey>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| {
                super::public_key_from_hex(t)
                    .ok_or_else(|| serde::de::Error::custom(format!("not a hex public key: {t:?}")))
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Verifying a cluster
// ---------------------------------------------------------------------------------------------

/// The verdict an attestation report stands for, so the attestation policy can judge it.
/// (Platform details the report does not carry — `extra` — are empty: a policy with
/// `expected_product` fails SEV-SNP reports.)
pub fn report_verdict(report: &AttestationReport) -> Verdict {
    Verdict {
        platform: report.platform,
        measurement: report.measurement.clone(),
        report_data: report.report_data.to_vec(),
        tcb_status: report.tcb_status.clone(),
        advisories: report.advisories.clone(),
        debug: report.debug,
        is_secure: report.is_secure,
        extra: Default::default(),
    }
}

/// A member's report, checked at `now`: decodes, a trusted issuer signed it, it is in its
/// validity window and binds the card's node key and the `cluster_key` (so the report vouches
/// that an attested enclave holds the cluster key); and the card is signed by its node key.
/// `index` only labels errors.
pub fn verify_member(
    member: &ClusterMember,
    index: usize,
    cluster_key: &PublicKey,
    issuers: &[PublicKey],
    now: u64,
) -> Result<SignedReport, OffchainError> {
    let signed = SignedReport::from_bytes(&member.report).map_err(|source| {
        OffchainError::ReportInvalid {
            member: index,
            source,
        }
    })?;
    verify_report(
        &signed,
        issuers,
        now,
        Some(&[member.card.node_key.clone(), cluster_key.clone()]),
    )
    .map_err(|source| OffchainError::ReportInvalid {
        member: index,
        source,
    })?;
    member
        .card
        .node_key
        .verify(
            domain::NODE_CARD,
            &encode(&member.card),
            &member.card_signature,
        )
        .map_err(|_| OffchainError::CardSignatureInvalid { member: index })?;
    Ok(signed)
}

/// Verifies a node's view of the cluster against `policy` at `now` (Unix seconds) and returns
/// the cluster keys to encrypt to. In order: the node holds keys (`CLUSTER_NOT_FORMED`), it
/// knows a registration (`CLUSTER_NOT_REGISTERED`) signed by the cluster key
/// (`CLUSTER_SIGNATURE_INVALID`) for the same keys (`CLUSTER_KEY_MISMATCH`), with 1 to
/// [`MAX_CLUSTER_MEMBERS`] members including this node; every member's report and card verify
/// (`REPORT_INVALID`) and every verdict passes the attestation policy (`ATTESTATION_POLICY`).
pub fn verify_cluster(
    info: &ClusterInfo,
    policy: &ClientPolicy,
    now: u64,
) -> Result<ClusterKeys, OffchainError> {
    let keys = info.keys.as_ref().ok_or(OffchainError::ClusterNotFormed)?;
    let signed = info
        .registration
        .as_ref()
        .ok_or_else(|| OffchainError::ClusterNotRegistered {
            reason: "the node knows no registration".into(),
        })?;
    if !signed.verify() {
        return Err(OffchainError::ClusterSignatureInvalid {
            what: "the registration",
        });
    }
    let registration = &signed.registration;
    if &registration.keys != keys {
        return Err(OffchainError::ClusterKeyMismatch {
            what: "the node's keys differ from its registration's".into(),
        });
    }
    let members = &registration.members;
    if members.is_empty() || members.len() > MAX_CLUSTER_MEMBERS {
        return Err(OffchainError::ClusterNotRegistered {
            reason: format!(
                "the registration lists {} members (1..={MAX_CLUSTER_MEMBERS})",
                members.len()
            ),
        });
    }
    if !members.iter().any(|m| m.card == info.node.card) {
        return Err(OffchainError::ClusterNotRegistered {
            reason: "this node is not a registered member".into(),
        });
    }
    let mut reports = Vec::with_capacity(members.len() + 1);
    // The node's own (possibly renewed) report, then every registered member's.
    let own_index = members.len();
    reports.push((
        own_index,
        verify_member(
            &info.node,
            own_index,
            &keys.signing_key,
            &policy.attestation_issuers,
            now,
        )?,
    ));
    for (i, m) in members.iter().enumerate() {
        reports.push((
            i,
            verify_member(m, i, &keys.signing_key, &policy.attestation_issuers, now)?,
        ));
    }
    for (i, r) in &reports {
        policy
            .attestation
            .check(&report_verdict(&r.report))
            .map_err(|source| OffchainError::AttestationPolicy { member: *i, source })?;
    }
    Ok(keys.clone())
}

// ---------------------------------------------------------------------------------------------
// Requests and replies
// ---------------------------------------------------------------------------------------------

/// `tagged_hash(CODE_HASH, wasm)`: the code hash a deployment statement carries.
pub fn code_hash(wasm: &[u8]) -> Hash {
    tagged_hash(domain::CODE_HASH, &[wasm])
}

/// Seals a deploy request to the cluster ([`wire::seal_deploy`]: HPKE info `OFFCHAIN_DEPLOY`,
/// AAD = the cluster id) once the code is within [`MAX_OFFCHAIN_CODE`].
pub fn seal_deploy(
    keys: &ClusterKeys,
    request: &DeployRequest,
) -> Result<SealedRequest, OffchainError> {
    if request.wasm.len() > MAX_OFFCHAIN_CODE {
        return Err(OffchainError::InputTooLarge {
            what: "the contract code",
            len: request.wasm.len(),
            max: MAX_OFFCHAIN_CODE,
        });
    }
    wire::seal_deploy(keys, request, &mut rand::thread_rng()).map_err(OffchainError::Seal)
}

/// The key that opens a reply: the sender's HPKE export ([`wire::ReplyKey`], with this
/// module's error codes). Zeroized on drop, never printed.
#[derive(Debug)]
pub struct ReplyKey(wire::ReplyKey);

impl From<wire::ReplyKey> for ReplyKey {
    fn from(key: wire::ReplyKey) -> ReplyKey {
        ReplyKey(key)
    }
}

impl ReplyKey {
    /// A reply key from exported bytes (must be 32).
    pub fn from_export(bytes: &[u8]) -> Option<ReplyKey> {
        wire::ReplyKey::from_export(bytes).map(ReplyKey)
    }

    /// Encrypts a reply the way an enclave does ([`wire::ReplyKey::seal_reply`]: a fresh nonce
    /// from `rng` for every reply). For tests and alternative node implementations.
    pub fn seal_reply(
        &self,
        request: &Hash,
        reply: &InvokeReply,
        rng: &mut (impl rand::RngCore + rand::CryptoRng),
    ) -> Vec<u8> {
        self.0.seal_reply(request, reply, rng)
    }

    /// Opens reply bytes for `request` (its hash is the AAD): `INPUT_TOO_LARGE` over
    /// [`MAX_REPLY_BYTES`], `DECRYPTION_FAILED` if they do not authenticate, `MALFORMED_ENCODING`
    /// if they do not decode.
    pub fn open_reply(&self, request: &Hash, bytes: &[u8]) -> Result<InvokeReply, OffchainError> {
        self.0.open_reply(request, bytes).map_err(|e| match e {
            ReplyError::TooLarge { len, max } => OffchainError::InputTooLarge {
                what: "the reply",
                len,
                max,
            },
            ReplyError::NotAuthentic => OffchainError::DecryptionFailed,
            ReplyError::Malformed(e) => OffchainError::MalformedReply {
                reason: e.to_string(),
            },
        })
    }
}

/// Seals an invocation to the cluster ([`wire::seal_invoke`]: HPKE info `OFFCHAIN_INVOKE`,
/// AAD = the cluster id) once the input and function name are within their limits, and returns
/// the reply key exported from the same context (`OFFCHAIN_REPLY`, 32 bytes).
pub fn seal_invoke(
    keys: &ClusterKeys,
    request: &InvokeRequest,
) -> Result<(SealedRequest, ReplyKey), OffchainError> {
    if request.input.len() > MAX_OFFCHAIN_INPUT {
        return Err(OffchainError::InputTooLarge {
            what: "the input",
            len: request.input.len(),
            max: MAX_OFFCHAIN_INPUT,
        });
    }
    if request.function.len() > MAX_FUNCTION_NAME {
        return Err(OffchainError::InputTooLarge {
            what: "the function name",
            len: request.function.len(),
            max: MAX_FUNCTION_NAME,
        });
    }
    let (sealed, key) =
        wire::seal_invoke(keys, request, &mut rand::thread_rng()).map_err(OffchainError::Seal)?;
    Ok((sealed, ReplyKey(key)))
}

/// Opens an invocation's reply and checks that it answers `request`: `DECRYPTION_FAILED` for a
/// reply that does not authenticate, the enclave's code for `InvokeReply::Failed`, and
/// `RESULT_MISMATCH` for a result of another request or contract.
pub fn open_invoke_reply(
    key: &ReplyKey,
    request: &InvokeRequest,
    bytes: &[u8],
) -> Result<SignedResult, OffchainError> {
    let hash = request.hash();
    match key.open_reply(&hash, bytes)? {
        InvokeReply::Failed { code } => Err(OffchainError::Failed { code }),
        InvokeReply::Ok(result) => {
            if result.result.request != hash {
                return Err(OffchainError::ResultMismatch {
                    what: "the result answers another request",
                });
            }
            if result.result.contract_id != request.contract_id {
                return Err(OffchainError::ResultMismatch {
                    what: "the result is for another contract",
                });
            }
            Ok(result)
        }
    }
}

/// Checks a deployment the node answered: signed by the cluster key we encrypted to, for the
/// contract id of our code and salt, with our code hash.
pub fn check_deployment(
    keys: &ClusterKeys,
    deployment: &SignedDeployment,
    expected_id: &Hash,
    expected_code: Option<&Hash>,
) -> Result<(), OffchainError> {
    let s = &deployment.statement;
    if s.cluster_key != keys.signing_key {
        return Err(OffchainError::ClusterKeyMismatch {
            what: "the deployment names another cluster key".into(),
        });
    }
    if !deployment.verify() {
        return Err(OffchainError::ClusterSignatureInvalid {
            what: "the deployment statement",
        });
    }
    if &s.contract_id != expected_id {
        return Err(OffchainError::DeploymentInvalid {
            what: format!("contract id {} instead of {expected_id}", s.contract_id),
        });
    }
    if let Some(code) = expected_code
        && &s.code_hash != code
    {
        return Err(OffchainError::DeploymentInvalid {
            what: "the statement names other code".into(),
        });
    }
    if s.key_version == 0 {
        return Err(OffchainError::DeploymentInvalid {
            what: "key version 0".into(),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

/// One TEE node's HTTP API (the same plumbing, error bodies and link emulation as [`Client`]).
#[derive(Clone, Debug)]
pub struct OffchainClient {
    node: Client,
}

impl OffchainClient {
    pub fn new(base_url: impl Into<String>) -> OffchainClient {
        OffchainClient {
            node: Client::new(base_url),
        }
    }

    /// The same node reached over an emulated cross-domain link.
    pub fn with_link(self, link: Arc<arcanum_api::link::LinkDelay>) -> OffchainClient {
        OffchainClient {
            node: self.node.with_link(link),
        }
    }

    pub fn base_url(&self) -> &str {
        self.node.base_url()
    }

    /// `GET /v1/cluster`: the node's unverified view of the cluster.
    pub async fn cluster_info(&self) -> Result<ClusterInfo, OffchainError> {
        let resp = self.node.get(routes::CLUSTER).await?;
        Ok(Client::borsh(resp, MAX_CLUSTER_INFO).await?)
    }

    /// Fetches the cluster and verifies it ([`verify_cluster`]) at `now`; with `chain`, also
    /// requires the keys to equal the cluster registered on chain (`CLUSTER_KEY_MISMATCH`).
    pub async fn verified_keys(
        &self,
        policy: &ClientPolicy,
        now: u64,
        chain: Option<&Client>,
    ) -> Result<ClusterKeys, OffchainError> {
        let info = self.cluster_info().await?;
        let keys = verify_cluster(&info, policy, now)?;
        if let Some(chain) = chain {
            check_registered(chain, &keys).await?;
        }
        Ok(keys)
    }

    /// Deploys `wasm` encrypted to the cluster and checks the signed statement the node answers
    /// with (it describes exactly this code and salt, signed by this cluster's key).
    pub async fn deploy(
        &self,
        keys: &ClusterKeys,
        wasm: &[u8],
        salt: [u8; 16],
    ) -> Result<SignedDeployment, OffchainError> {
        let request = DeployRequest {
            wasm: wasm.to_vec(),
            salt,
        };
        let sealed = seal_deploy(keys, &request)?;
        let resp = self.node.post(routes::DEPLOY, encode(&sealed)).await?;
        let deployment: SignedDeployment = Client::borsh(resp, 64 * 1024).await?;
        let code = code_hash(wasm);
        check_deployment(keys, &deployment, &contract_id(&code, &salt), Some(&code))?;
        Ok(deployment)
    }

    /// Asks the cluster for the next key version of `contract` and checks the statement.
    pub async fn rotate(
        &self,
        keys: &ClusterKeys,
        contract: &Hash,
    ) -> Result<SignedDeployment, OffchainError> {
        let resp = self.node.post(routes::ROTATE, encode(contract)).await?;
        let deployment: SignedDeployment = Client::borsh(resp, 64 * 1024).await?;
        check_deployment(keys, &deployment, contract, None)?;
        if deployment.statement.key_version < 2 {
            return Err(OffchainError::DeploymentInvalid {
                what: "a rotation must produce key version 2 or more".into(),
            });
        }
        Ok(deployment)
    }

    /// Invokes `function` of `contract` with `input` (random nonce): returns the request and
    /// the signed result once the reply opens and answers exactly this request.
    pub async fn invoke(
        &self,
        keys: &ClusterKeys,
        contract: Hash,
        function: &str,
        input: Vec<u8>,
    ) -> Result<(InvokeRequest, SignedResult), OffchainError> {
        let request = InvokeRequest {
            contract_id: contract,
            function: function.to_owned(),
            input,
            nonce: rand::random(),
            origin: None,
        };
        let result = self.invoke_request(keys, &request).await?;
        Ok((request, result))
    }

    /// Sends a prepared request (e.g. an oracle invocation with its origin).
    pub async fn invoke_request(
        &self,
        keys: &ClusterKeys,
        request: &InvokeRequest,
    ) -> Result<SignedResult, OffchainError> {
        let (sealed, key) = seal_invoke(keys, request)?;
        let resp = self.node.post(routes::INVOKE, encode(&sealed)).await?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| SdkError::Transport(e.to_string()))?;
        open_invoke_reply(&key, request, &bytes)
    }
}

/// Submits `TxAction::OffchainDeploy` for `deployment` as `signer`, waits for the commit and
/// requires it to be valid (else [`OffchainError::TxRejected`] with the invalidation code).
pub async fn register_deployment(
    chain: &Client,
    signer: &Signer,
    deployment: &SignedDeployment,
) -> Result<arcanum_api::TxOutcome, OffchainError> {
    let tx = signer.sign(TxAction::OffchainDeploy {
        deployment: deployment.clone(),
    });
    let outcome = chain.execute(&tx, true).await?;
    if outcome.status != "VALID" {
        return Err(OffchainError::TxRejected {
            tx_id: outcome.tx_id,
            status: outcome.status,
        });
    }
    Ok(outcome)
}

/// Requires `keys` to be the cluster registered on chain (`CLUSTER_NOT_REGISTERED` when none
/// is, `CLUSTER_SIGNATURE_INVALID` for an unsigned record, `CLUSTER_KEY_MISMATCH` for another
/// cluster).
pub async fn check_registered(chain: &Client, keys: &ClusterKeys) -> Result<(), OffchainError> {
    let registered = match chain.cluster_registration().await {
        Ok(r) => r,
        Err(SdkError::Api(e)) if e.code == ErrorCode::NotFound => {
            return Err(OffchainError::ClusterNotRegistered {
                reason: "no cluster is registered on chain".into(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    if !registered.verify() {
        return Err(OffchainError::ClusterSignatureInvalid {
            what: "the on-chain registration",
        });
    }
    if &registered.registration.keys != keys {
        return Err(OffchainError::ClusterKeyMismatch {
            what: "the node's cluster is not the one registered on chain".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arcanum_crypto::SigningKey;
    use arcanum_crypto::hpke::HpkePrivateKey;
    use arcanum_types::offchain::{OffchainResult, SignedResult};

    fn ed(seed: u8) -> SigningKey {
        SigningKey::from_ed25519_seed(&[seed; 32])
    }

    fn cluster() -> (ClusterKeys, HpkePrivateKey) {
        let hpke = HpkePrivateKey::derive(b"test cluster hpke");
        (
            ClusterKeys {
                signing_key: ed(1).public_key(),
                hpke_key: hpke.public_key(),
            },
            hpke,
        )
    }

    fn request() -> InvokeRequest {
        InvokeRequest {
            contract_id: Hash([7; 32]),
            function: "run".into(),
            input: b"input".to_vec(),
            nonce: [9; 16],
            origin: None,
        }
    }

    /// The enclave's side: open the request, export the reply key.
    fn enclave_open(hpke: &HpkePrivateKey, sealed: &SealedRequest) -> (InvokeRequest, ReplyKey) {
        let (plain, key) = wire::open_invoke(hpke, sealed).expect("the enclave opens it");
        (
            decode(&plain, 1 << 20).expect("request decodes"),
            key.into(),
        )
    }

    fn signed_result(req: &InvokeRequest) -> SignedResult {
        let result = OffchainResult {
            contract_id: req.contract_id,
            key_version: 1,
            request: req.hash(),
            output: b"out".to_vec(),
            fetches: vec![],
        };
        let signature = ed(2).sign(domain::OFFCHAIN_RESULT, &encode(&result));
        SignedResult { result, signature }
    }

    #[test]
    fn reply_round_trip_and_tamper() {
        let (keys, hpke) = cluster();
        let req = request();
        let (sealed, client_key) = seal_invoke(&keys, &req).expect("seal");
        assert_eq!(sealed.cluster, keys.id());
        let (opened, enclave_key) = enclave_open(&hpke, &sealed);
        assert_eq!(opened, req);
        let result = signed_result(&req);
        let reply = enclave_key.seal_reply(
            &req.hash(),
            &InvokeReply::Ok(result.clone()),
            &mut rand::thread_rng(),
        );
        let got = open_invoke_reply(&client_key, &req, &reply).expect("opens");
        assert_eq!(got, result);
        assert!(got.verify(&ed(2).public_key()));

        // One flipped bit anywhere: DECRYPTION_FAILED.
        for i in [0, reply.len() / 2, reply.len() - 1] {
            let mut bad = reply.clone();
            bad[i] ^= 1;
            let e = open_invoke_reply(&client_key, &req, &bad).expect_err("tampered");
            assert_eq!(e.code(), "DECRYPTION_FAILED", "byte {i}");
        }
        // Truncated: DECRYPTION_FAILED.
        let e = open_invoke_reply(&client_key, &req, &reply[..10]).expect_err("short");
        assert_eq!(e.code(), "DECRYPTION_FAILED");
        // The reply to another request (AAD = request hash): DECRYPTION_FAILED.
        let mut other = req.clone();
        other.nonce = [1; 16];
        let e = open_invoke_reply(&client_key, &other, &reply).expect_err("other request");
        assert_eq!(e.code(), "DECRYPTION_FAILED");
        // Another request's reply key (a different HPKE context): DECRYPTION_FAILED.
        let (_, other_key) = seal_invoke(&keys, &req).expect("seal");
        let e = open_invoke_reply(&other_key, &req, &reply).expect_err("other key");
        assert_eq!(e.code(), "DECRYPTION_FAILED");
    }

    #[test]
    fn failed_replies_and_mismatched_results() {
        let (keys, hpke) = cluster();
        let req = request();
        let (sealed, client_key) = seal_invoke(&keys, &req).expect("seal");
        let (_, enclave_key) = enclave_open(&hpke, &sealed);
        let failed = enclave_key.seal_reply(
            &req.hash(),
            &InvokeReply::Failed {
                code: ErrorCode::OutOfFuel,
            },
            &mut rand::thread_rng(),
        );
        assert_eq!(failed.len(), wire::FAILED_REPLY_LEN);
        let e = open_invoke_reply(&client_key, &req, &failed).expect_err("failed");
        assert_eq!(e.code(), "OUT_OF_FUEL");
        assert!(matches!(
            e,
            OffchainError::Failed {
                code: ErrorCode::OutOfFuel
            }
        ));
        assert_eq!(
            e.to_string(),
            format!("OUT_OF_FUEL: {}", ErrorCode::OutOfFuel.description())
        );

        let mut wrong = signed_result(&req);
        wrong.result.request = Hash([0; 32]);
        let bytes = enclave_key.seal_reply(
            &req.hash(),
            &InvokeReply::Ok(wrong),
            &mut rand::thread_rng(),
        );
        let e = open_invoke_reply(&client_key, &req, &bytes).expect_err("other request");
        assert_eq!(e.code(), "RESULT_MISMATCH");

        // Authenticated garbage: MALFORMED_ENCODING.
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let raw = [5u8; 32];
        let nonce = [3u8; wire::REPLY_NONCE_LEN];
        let sealed = chacha20poly1305::XChaCha20Poly1305::new(&raw.into())
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: b"\x07not a reply",
                    aad: &req.hash().0,
                },
            )
            .expect("encrypt");
        let garbage = [nonce.as_slice(), &sealed].concat();
        let key = ReplyKey::from_export(&raw).expect("32 bytes");
        let e = open_invoke_reply(&key, &req, &garbage).expect_err("garbage");
        assert_eq!(e.code(), "MALFORMED_ENCODING");
        // Over the reply bound: INPUT_TOO_LARGE, before decryption.
        let e = open_invoke_reply(&key, &req, &vec![0; MAX_REPLY_BYTES + 1]).expect_err("big");
        assert_eq!(e.code(), "INPUT_TOO_LARGE");
    }

    #[test]
    fn oversized_inputs_are_refused_before_sealing() {
        let (keys, hpke) = cluster();
        let mut req = request();
        req.input = vec![0; MAX_OFFCHAIN_INPUT + 1];
        assert_eq!(
            seal_invoke(&keys, &req).expect_err("too large").code(),
            "INPUT_TOO_LARGE"
        );
        let mut req = request();
        req.function = "f".repeat(MAX_FUNCTION_NAME + 1);
        assert_eq!(
            seal_invoke(&keys, &req).expect_err("too long").code(),
            "INPUT_TOO_LARGE"
        );
        let deploy = DeployRequest {
            wasm: vec![0; MAX_OFFCHAIN_CODE + 1],
            salt: [0; 16],
        };
        assert_eq!(
            seal_deploy(&keys, &deploy).expect_err("too large").code(),
            "INPUT_TOO_LARGE"
        );
        // At the limit it is sealed, as a deployment the enclave opens.
        let deploy = DeployRequest {
            wasm: vec![0; MAX_OFFCHAIN_CODE],
            salt: [3; 16],
        };
        let sealed = seal_deploy(&keys, &deploy).expect("at the limit");
        assert_eq!(sealed.cluster, keys.id());
        let plain = wire::open_deploy(&hpke, &sealed).expect("opens");
        assert_eq!(decode(&plain, MAX_OFFCHAIN_CODE + 1024), Ok(deploy));
    }

    const POLICY: &str = r#"
attestation_issuers = ["0101010101010101010101010101010101010101010101010101010101010101"]
orderer_key = "0202020202020202020202020202020202020202020202020202020202020202"

[attestation]
allowed_measurements = ["aabb"]
min_tcb_status = "SWHardeningNeeded"
allow_simulation = true
"#;

    #[test]
    fn policy_parses_from_toml_and_json_and_round_trips() {
        let p = ClientPolicy::parse(POLICY).expect("parses");
        assert_eq!(p.attestation_issuers.len(), 1);
        assert_eq!(p.attestation_issuers[0].bytes, vec![1; 32]);
        assert_eq!(p.orderer_key.bytes, vec![2; 32]);
        assert_eq!(p.attestation.allowed_measurements, vec!["aabb".to_string()]);
        assert!(p.attestation.allow_simulation);
        assert!(!p.attestation.allow_debug);
        let again = ClientPolicy::parse(&p.to_toml().expect("toml")).expect("round trip");
        assert_eq!(again, p);
        let json = serde_json::to_string(&p).expect("json");
        assert_eq!(ClientPolicy::parse(&json).expect("json parses"), p);

        // A P-256 key is written as borsh hex and read back.
        let p256 = SigningKey::generate(arcanum_crypto::Algorithm::P256, &mut rand::thread_rng())
            .expect("p256")
            .public_key();
        let mut with_p256 = p.clone();
        with_p256.orderer_key = p256.clone();
        let text = with_p256.to_toml().expect("toml");
        assert_eq!(
            ClientPolicy::parse(&text).expect("parses").orderer_key,
            p256
        );
    }

    #[test]
    fn policy_errors_are_precise() {
        let unknown = format!("{POLICY}\nextra = 1\n");
        // `extra` lands in [attestation], which also denies unknown fields.
        assert!(matches!(
            ClientPolicy::parse(&unknown),
            Err(PolicyError::Parse(_))
        ));
        let top_unknown = POLICY.replace("orderer_key", "surprise = 1\norderer_key");
        assert!(matches!(
            ClientPolicy::parse(&top_unknown),
            Err(PolicyError::Parse(_))
        ));
        let bad_key = POLICY.replace("0202", "zz02");
        assert!(matches!(
            ClientPolicy::parse(&bad_key),
            Err(PolicyError::Parse(_))
        ));
        let no_issuer = POLICY.replace(
            "[\"0101010101010101010101010101010101010101010101010101010101010101\"]",
            "[]",
        );
        assert!(matches!(
            ClientPolicy::parse(&no_issuer),
            Err(PolicyError::NoIssuer)
        ));
        let bad_tcb = POLICY.replace("SWHardeningNeeded", "Whatever");
        assert!(matches!(
            ClientPolicy::parse(&bad_tcb),
            Err(PolicyError::Attestation(_))
        ));
        let missing = POLICY.replace(
            "orderer_key = \"0202020202020202020202020202020202020202020202020202020202020202\"",
            "",
        );
        assert!(matches!(
            ClientPolicy::parse(&missing),
            Err(PolicyError::Parse(_))
        ));
    }

    mod cluster {
        use super::*;
        use crate::receipt::testkit::{Fixture, REGISTERED_AT};

        fn info(f: &Fixture) -> ClusterInfo {
            let members = f.members();
            ClusterInfo {
                node: members[0].clone(),
                keys: Some(f.keys()),
                registration: Some(f.registration_with(members, &f.cluster)),
            }
        }

        #[test]
        fn a_registered_attested_cluster_verifies() {
            let f = Fixture::new();
            let keys = verify_cluster(&info(&f), &f.policy(), REGISTERED_AT).expect("verifies");
            assert_eq!(keys, f.keys());
        }

        #[test]
        fn each_broken_part_has_its_code() {
            let f = Fixture::new();
            let p = f.policy();
            let code = |i: &ClusterInfo, p: &ClientPolicy, now: u64| {
                verify_cluster(i, p, now)
                    .expect_err("rejected")
                    .code()
                    .to_owned()
            };
            let mut i = info(&f);
            i.keys = None;
            assert_eq!(code(&i, &p, REGISTERED_AT), "CLUSTER_NOT_FORMED");
            let mut i = info(&f);
            i.registration = None;
            assert_eq!(code(&i, &p, REGISTERED_AT), "CLUSTER_NOT_REGISTERED");
            let mut i = info(&f);
            i.registration = Some(f.registration_with(f.members(), &ed(9)));
            assert_eq!(code(&i, &p, REGISTERED_AT), "CLUSTER_SIGNATURE_INVALID");
            let mut i = info(&f);
            if let Some(k) = i.keys.as_mut() {
                k.hpke_key = HpkePrivateKey::derive(b"another").public_key();
            }
            assert_eq!(code(&i, &p, REGISTERED_AT), "CLUSTER_KEY_MISMATCH");
            // A node that is not a registered member.
            let mut i = info(&f);
            i.registration = Some(f.registration_with(f.members()[1..].to_vec(), &f.cluster));
            assert_eq!(code(&i, &p, REGISTERED_AT), "CLUSTER_NOT_REGISTERED");
            // Reports judged at a time they have expired.
            let e = verify_cluster(&info(&f), &p, REGISTERED_AT + 2 * REPORT_SPAN)
                .expect_err("expired");
            assert_eq!(e.code(), "REPORT_INVALID");
            assert_eq!(e.attestation_code(), Some("REPORT_EXPIRED"));
            // An untrusted issuer.
            let mut other = p.clone();
            other.attestation_issuers = vec![ed(8).public_key()];
            let e = verify_cluster(&info(&f), &other, REGISTERED_AT).expect_err("foreign");
            assert_eq!(e.attestation_code(), Some("FOREIGN_ISSUER"));
            // A measurement the policy does not allow.
            let mut strict = p.clone();
            strict.attestation.allowed_measurements = vec!["00".repeat(32)];
            let e = verify_cluster(&info(&f), &strict, REGISTERED_AT).expect_err("policy");
            assert_eq!(e.code(), "ATTESTATION_POLICY");
            assert_eq!(e.attestation_code(), Some("MEASUREMENT_NOT_ALLOWED"));
        }

        /// Longer than the fixture reports live.
        const REPORT_SPAN: u64 = 2 * 3600;
    }
}

//! Wire types and route paths of Arcanum's HTTP API, shared by the servers and the client SDK so
//! that both sides agree by construction.
//!
//! Conventions: anything signed or hashed travels as its canonical borsh bytes
//! (`application/octet-stream`); everything else is JSON. Every error is an [`ErrorBody`] with a
//! stable code from [`arcanum_types::ErrorCode`] and the matching HTTP status.
//!
//! This crate holds data only (no HTTP client or server), plus the emulated link delay that
//! both sides apply in benchmarks ([`link`]).

pub mod link;

use arcanum_types::state::MAX_STATE_PROOF_BYTES;
use arcanum_types::{
    ApiError, BlockHeader, Endorsement, ErrorCode, Hash, IdentityId, ProposalResponse, Signature,
    SignedTx, StateProof, StateProofBundle, TxReceipt, Version, VersionedValue, decode, encode,
    limits,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Route paths.
pub mod routes {
    pub const HEALTHZ: &str = "/healthz";
    pub const METRICS: &str = "/metrics";
    pub const OPENAPI: &str = "/openapi.json";
    /// Management: endorse and order a borsh `SignedTx` (`?wait=true` waits for the commit).
    pub const TRANSACTIONS: &str = "/v1/transactions";
    /// Management: endorse only; answers a borsh `EndorsedTx`.
    pub const ENDORSE_TX: &str = "/v1/transactions/endorse";
    /// Management: order a client-held borsh `EndorsedTx`.
    pub const SUBMIT_TX: &str = "/v1/transactions/submit";
    /// Management: simulate a borsh `SignedTx` read-only and return its result (Fabric "evaluate").
    pub const QUERY: &str = "/v1/query";
    /// All ledger roles: one transaction's receipt, `/v1/transactions/{tx_id}`.
    pub const TX_BY_ID: &str = "/v1/transactions/{tx_id}";
    pub const HEIGHT: &str = "/v1/height";
    pub const STATE_ROOT: &str = "/v1/state-root";
    /// `GET /v1/state?contract=..&key=..` (or `key_hex=..`).
    pub const STATE: &str = "/v1/state";
    /// All ledger roles: `GET /v1/state/proof?contract=..&key=..` (or `key_hex=..`)
    /// `[&height=H]` (default: the tip): a [`crate::StateProofJson`], the value or its absence
    /// with its proof and the signed header of that height.
    pub const STATE_PROOF: &str = "/v1/state/proof";
    /// `GET` a block as borsh, or JSON with `?format=json`.
    pub const BLOCK_BY_HEIGHT: &str = "/v1/blocks/{height}";
    /// Peers and endorsement devices: deliver a borsh `Block`.
    pub const BLOCKS: &str = "/v1/blocks";
    /// Peers and endorsement devices: consecutive blocks, a borsh `Vec` of encoded blocks.
    pub const BLOCKS_BATCH: &str = "/v1/blocks/batch";
    /// Peers: server-sent events of committed transactions, `?from=HEIGHT`.
    pub const EVENTS: &str = "/v1/events";
    /// Attestation service: a borsh [`crate::AttestRequest`], answered with a borsh `SignedReport`.
    pub const ATTEST: &str = "/v1/attest";
    /// Attestation service: JSON list of recent verdicts.
    pub const ATTESTATIONS: &str = "/v1/attestations";
    /// Endorsement devices: `POST ?peer=NAME` generates a new key for a hosted peer in the enclave.
    pub const ROTATE_KEY: &str = "/v1/rotate-key";
    /// Endorsement devices: their current borsh `SignedReport` (`?format=json` for display).
    pub const ATTESTATION: &str = "/v1/attestation";
    /// Endorsement devices: a borsh [`crate::EndorseBatch`], answered with a borsh
    /// `Vec<`[`crate::EndorseOutcome`]`>`, one per item (an item with no peers: simulate only,
    /// for queries).
    pub const ENDORSE: &str = "/v1/endorse";
    /// All ledger roles: a committed transaction's inclusion proof, a borsh `TxProof`.
    pub const TX_PROOF: &str = "/v1/transactions/{tx_id}/proof";
    /// All ledger roles: the registered off-chain cluster, a borsh `SignedRegistration`.
    pub const OFFCHAIN_CLUSTER: &str = "/v1/offchain/cluster";
    /// All ledger roles: an off-chain contract's registered deployment, a borsh
    /// `SignedDeployment` (`?version=N`; the latest key version by default).
    pub const OFFCHAIN_DEPLOYMENT: &str = "/v1/offchain/deployments/{contract_id}";
    /// All ledger roles: the accepted oracle result of a request hash, a borsh `SignedResult`.
    pub const ORACLE_RESULT: &str = "/v1/offchain/results/{request_hash}";
}

/// `{"error": {"code": "...", "message": "..."}}`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `CLIENT_NOT_ALLOWED` (see docs/error-codes.md).
    pub code: String,
    pub message: String,
}

impl From<&ApiError> for ErrorBody {
    fn from(e: &ApiError) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: e.code.as_str().to_owned(),
                message: e.message.clone(),
            },
        }
    }
}

impl ErrorBody {
    /// Back to an [`ApiError`]; an unknown code (a newer server) maps to `INTERNAL`.
    pub fn into_api_error(self) -> ApiError {
        let code = ErrorCode::parse(&self.error.code).unwrap_or(ErrorCode::Internal);
        ApiError::new(code, self.error.message)
    }
}

/// Where a transaction stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TxOutcome {
    pub tx_id: String,
    /// `VALID`, an invalidation code such as `MVCC_READ_CONFLICT`, or `ORDERING` when not waited for.
    pub status: String,
    pub block: Option<u64>,
    pub index: Option<u32>,
}

impl From<&TxReceipt> for TxOutcome {
    fn from(r: &TxReceipt) -> Self {
        TxOutcome {
            tx_id: r.tx_id.to_hex(),
            status: r.status.as_str().to_owned(),
            block: Some(r.block),
            index: Some(r.index),
        }
    }
}

/// The result of a read-only query.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct QueryResult {
    pub result_hex: String,
    /// The result as UTF-8, when it is.
    pub result: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeightInfo {
    pub height: u64,
    pub block_hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StateRootInfo {
    pub height: u64,
    pub state_root: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StateEntry {
    pub contract: String,
    pub key_hex: String,
    pub value_hex: String,
    pub value: Option<String>,
    pub version_block: u64,
    pub version_tx: u32,
}

/// A peer's answer to a delivered block.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockAccepted {
    pub height: u64,
    pub already_committed: bool,
    pub valid: usize,
    pub invalid: usize,
}

/// One transaction of a block, for display.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockTxJson {
    pub tx_id: String,
    pub creator: String,
    pub action: String,
    pub contract: String,
    pub endorsers: Vec<String>,
    pub status: Option<String>,
}

/// A block, for display.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockJson {
    pub height: u64,
    pub hash: String,
    pub prev_hash: String,
    pub tx_root: String,
    pub timestamp_ms: u64,
    pub orderer: String,
    pub txs: Vec<BlockTxJson>,
}

/// A committed transaction, as streamed by `/v1/events`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CommitEvent {
    pub block: u64,
    pub index: u32,
    pub tx_id: String,
    pub status: String,
    /// Contract events of a valid transaction: `(name, data hex)`.
    pub events: Vec<(String, String)>,
}

/// A TEE node's request for a remote attestation report (SPEC A2): its evidence and the public
/// keys the evidence's report data binds.
#[derive(Clone, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct AttestRequest {
    pub subject: String,
    pub evidence: Vec<u8>,
    pub bound_keys: Vec<arcanum_types::PublicKey>,
}

/// One verdict of the attestation service, for display.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AttestationVerdict {
    pub subject: String,
    pub accepted: bool,
    pub platform: String,
    pub measurement: String,
    pub tcb_status: String,
    pub is_secure: bool,
    pub debug: bool,
    /// The rejection's stable code, when rejected.
    pub error: Option<String>,
    /// Expiry of the issued report (Unix seconds), when accepted.
    pub expires_at: Option<u64>,
}

/// Most items in one [`EndorseBatch`].
pub const MAX_ENDORSE_ITEMS: usize = 1024;

/// Largest encoded [`EndorseBatch`] (the endorse route's body limit). A batch always has room for
/// one item of the largest transaction ([`arcanum_types::limits::MAX_TX_BYTES`]), which each item
/// must also respect on its own.
pub const MAX_ENDORSE_BATCH_BYTES: usize = 8 * 1024 * 1024;

// A batch of one of the largest transactions, with its routing, fits the body limit.
const _: () = assert!(arcanum_types::limits::MAX_TX_BYTES + 64 * 1024 <= MAX_ENDORSE_BATCH_BYTES);

/// Most bytes any batch's answer may take, whatever its item count.
pub const MAX_ENDORSE_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// The size limit of the answer to a batch of `items` items: what each item's endorsed
/// transaction may take, capped at [`MAX_ENDORSE_ANSWER_BYTES`].
pub fn endorse_answer_limit(items: usize) -> usize {
    items
        .max(1)
        .saturating_mul(arcanum_types::limits::MAX_ENDORSED_TX_BYTES)
        .min(MAX_ENDORSE_ANSWER_BYTES)
}

/// One transaction to endorse for `peers`. With no peers, only simulate it (a read-only
/// query): nothing is signed.
#[derive(Clone, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct EndorseItem {
    pub tx: SignedTx,
    pub peers: Vec<IdentityId>,
}

/// Management device (or a client, in the Fabric flow) → endorsement device: a batch of 1 to
/// [`MAX_ENDORSE_ITEMS`] items, answered by one [`EndorseOutcome`] per item, in item order.
#[derive(Clone, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct EndorseBatch {
    /// The management device's height when it sent the batch: the device simulates only once
    /// its replica has reached it, so that devices agree on the state they read.
    pub min_height: u64,
    pub items: Vec<EndorseItem>,
}

impl EndorseBatch {
    /// A batch of one item.
    pub fn single(tx: SignedTx, peers: Vec<IdentityId>, min_height: u64) -> EndorseBatch {
        EndorseBatch {
            min_height,
            items: vec![EndorseItem { tx, peers }],
        }
    }

    /// The batch-level bound: 1 to [`MAX_ENDORSE_ITEMS`] items (`BAD_REQUEST` otherwise).
    pub fn check(&self) -> Result<(), ApiError> {
        if self.items.is_empty() || self.items.len() > MAX_ENDORSE_ITEMS {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!(
                    "a batch holds 1 to {MAX_ENDORSE_ITEMS} items, not {}",
                    self.items.len()
                ),
            ));
        }
        Ok(())
    }
}

/// Endorsement device → management device: the simulation outcome and one endorsement per peer.
#[derive(Clone, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct EndorseResponse {
    pub response: ProposalResponse,
    pub endorsements: Vec<Endorsement>,
}

/// The answer for one [`EndorseItem`]: its endorsements, or its error with a stable code.
#[derive(Clone, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub enum EndorseOutcome {
    Endorsed(EndorseResponse),
    /// `code` is an [`ErrorCode`]'s string form (an unknown one, from a newer device, reads as
    /// `INTERNAL`).
    Failed {
        code: String,
        message: String,
    },
}

impl EndorseOutcome {
    /// Back to a result.
    pub fn into_result(self) -> Result<EndorseResponse, ApiError> {
        match self {
            EndorseOutcome::Endorsed(r) => Ok(r),
            EndorseOutcome::Failed { code, message } => Err(ApiError::new(
                ErrorCode::parse(&code).unwrap_or(ErrorCode::Internal),
                message,
            )),
        }
    }
}

impl From<Result<EndorseResponse, ApiError>> for EndorseOutcome {
    fn from(r: Result<EndorseResponse, ApiError>) -> Self {
        match r {
            Ok(r) => EndorseOutcome::Endorsed(r),
            Err(e) => EndorseOutcome::Failed {
                code: e.code.as_str().to_owned(),
                message: e.message,
            },
        }
    }
}

/// Query parameters of [`routes::STATE`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StateQuery {
    pub contract: String,
    pub key: Option<String>,
    pub key_hex: Option<String>,
}

impl StateQuery {
    /// The key's bytes: see [`key_bytes`].
    pub fn key_bytes(&self) -> Result<Vec<u8>, ApiError> {
        key_bytes(self.key.as_deref(), self.key_hex.as_deref())
    }
}

/// Query parameters of [`routes::STATE_PROOF`]: those of [`StateQuery`] and the height (default:
/// the tip).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StateProofQuery {
    pub contract: String,
    pub key: Option<String>,
    pub key_hex: Option<String>,
    pub height: Option<u64>,
}

impl StateProofQuery {
    /// The key's bytes: see [`key_bytes`].
    pub fn key_bytes(&self) -> Result<Vec<u8>, ApiError> {
        key_bytes(self.key.as_deref(), self.key_hex.as_deref())
    }
}

/// A contract key given as exactly one of UTF-8 text (`key`) and hex (`key_hex`), at most
/// [`limits::MAX_KEY_BYTES`] (`BAD_REQUEST` otherwise).
pub fn key_bytes(key: Option<&str>, key_hex: Option<&str>) -> Result<Vec<u8>, ApiError> {
    let bytes = match (key, key_hex) {
        (Some(k), None) => k.as_bytes().to_vec(),
        (None, Some(h)) => hex::decode(h)
            .map_err(|_| ApiError::new(ErrorCode::BadRequest, "key_hex is not hex"))?,
        _ => {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "give exactly one of key and key_hex",
            ));
        }
    };
    if bytes.len() > limits::MAX_KEY_BYTES {
        return Err(ApiError::new(ErrorCode::BadRequest, "key too long"));
    }
    Ok(bytes)
}

/// Largest encoded block header accepted in a [`StateProofJson`] (a header is 148 bytes).
pub const MAX_HEADER_BYTES: usize = 1024;

/// A [`StateProofBundle`] as JSON: the answer of [`routes::STATE_PROOF`] and the file that
/// `arcanum state get --proof` writes and `arcanum state verify` checks offline.
///
/// Every field is part of what is proven; nothing is for display only. The key is `key` (UTF-8)
/// when it is UTF-8, else `key_hex`; a reader takes exactly one of them. `value_hex`,
/// `version_block` and `version_tx` are all `null` when the key is absent. `proof` is the hex
/// of the borsh `StateProof`, `header` of the borsh `BlockHeader` of block `height`, and
/// `signature` the hex of the management device's signature bytes over the header's hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StateProofJson {
    pub contract: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_hex: Option<String>,
    /// The value's hex; `null` when the key is absent.
    #[serde(deserialize_with = "required_nullable")]
    pub value_hex: Option<String>,
    #[serde(deserialize_with = "required_nullable")]
    pub version_block: Option<u64>,
    #[serde(deserialize_with = "required_nullable")]
    pub version_tx: Option<u32>,
    pub height: u64,
    /// 64 hex characters.
    pub state_root: String,
    /// Hex of the borsh `StateProof`.
    pub proof: String,
    /// Hex of the borsh `BlockHeader`.
    pub header: String,
    /// Hex of the signature bytes.
    pub signature: String,
}

/// A field that must be present but may be `null` (serde treats a missing `Option` as `None`
/// unless told otherwise).
fn required_nullable<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

impl From<&StateProofBundle> for StateProofJson {
    fn from(b: &StateProofBundle) -> Self {
        let (key, key_hex) = match std::str::from_utf8(&b.key) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (None, Some(hex::encode(&b.key))),
        };
        StateProofJson {
            contract: b.contract.clone(),
            key,
            key_hex,
            value_hex: b.value.as_ref().map(|v| hex::encode(&v.value)),
            version_block: b.value.as_ref().map(|v| v.version.block),
            version_tx: b.value.as_ref().map(|v| v.version.tx),
            height: b.height,
            state_root: b.state_root.to_hex(),
            proof: hex::encode(encode(&b.proof)),
            header: hex::encode(encode(&b.header)),
            signature: hex::encode(&b.signature.0),
        }
    }
}

impl StateProofJson {
    /// Parses a JSON document (`MALFORMED_ENCODING` if it is not one of this shape).
    pub fn parse(bytes: &[u8]) -> Result<StateProofJson, ApiError> {
        serde_json::from_slice(bytes).map_err(|e| {
            ApiError::new(
                ErrorCode::MalformedEncoding,
                format!("not a state proof: {e}"),
            )
        })
    }

    /// The typed bundle, not yet verified.
    ///
    /// `MALFORMED_ENCODING` when the document is not a bundle: a key given neither or both ways,
    /// hex that is not hex, a root that is not 32 bytes, a value without its version (or the
    /// reverse). Bytes that are hex but do not decode are a refused bundle, with the code its
    /// verification would give: `STATE_PROOF_INVALID` for the proof, `BLOCK_BAD_SIGNATURE` for
    /// the header (no signed header decodes to them).
    pub fn to_bundle(&self) -> Result<StateProofBundle, ApiError> {
        let malformed = |what: &str| ApiError::new(ErrorCode::MalformedEncoding, what.to_owned());
        let unhex = |field: &str, text: &str| {
            hex::decode(text).map_err(|_| malformed(&format!("{field} is not hex")))
        };
        let key = match (&self.key, &self.key_hex) {
            (Some(k), None) => k.as_bytes().to_vec(),
            (None, Some(h)) => unhex("key_hex", h)?,
            _ => return Err(malformed("give exactly one of key and key_hex")),
        };
        let value = match (&self.value_hex, self.version_block, self.version_tx) {
            (None, None, None) => None,
            (Some(v), Some(block), Some(tx)) => Some(VersionedValue {
                value: unhex("value_hex", v)?,
                version: Version { block, tx },
            }),
            _ => {
                return Err(malformed(
                    "value_hex, version_block and version_tx are all null or all given",
                ));
            }
        };
        let state_root = Hash::from_hex(&self.state_root)
            .ok_or_else(|| malformed("state_root is not 64 hex characters"))?;
        let proof = unhex("proof", &self.proof)?;
        let header = unhex("header", &self.header)?;
        let signature = Signature(unhex("signature", &self.signature)?);
        // In the order `StateProofBundle::verify` checks: the header, then the proof.
        let header: BlockHeader = decode(&header, MAX_HEADER_BYTES).map_err(|e| {
            ApiError::new(
                ErrorCode::BlockBadSignature,
                format!("the header does not decode: {e}"),
            )
        })?;
        let proof: StateProof = decode(&proof, MAX_STATE_PROOF_BYTES).map_err(|e| {
            ApiError::new(
                ErrorCode::StateProofInvalid,
                format!("the proof does not decode: {e}"),
            )
        })?;
        Ok(StateProofBundle {
            contract: self.contract.clone(),
            key,
            value,
            height: self.height,
            state_root,
            proof,
            header,
            signature,
        })
    }
}

/// `?wait=true` on submissions.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WaitQuery {
    #[serde(default)]
    pub wait: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_carry_stable_codes_and_unknown_codes_read_as_internal() {
        let e = ApiError::new(ErrorCode::BadClientSignature, "no");
        let outcome = EndorseOutcome::from(Err(e.clone()));
        let bytes = arcanum_types::encode(&outcome);
        let back: EndorseOutcome = arcanum_types::decode(&bytes, 1024).expect("decodes");
        assert_eq!(back.into_result().expect_err("failed"), e);
        let newer = EndorseOutcome::Failed {
            code: "SOME_FUTURE_CODE".into(),
            message: "m".into(),
        };
        assert_eq!(
            newer.into_result().expect_err("failed").code,
            ErrorCode::Internal
        );
    }

    /// A bundle of the empty state (the empty proof), signed by a known key.
    fn empty_state_bundle(key: &[u8]) -> (StateProofBundle, arcanum_crypto::PublicKey) {
        let orderer = arcanum_crypto::SigningKey::from_ed25519_seed(&[7; 32]);
        let header = BlockHeader {
            height: 1,
            prev_hash: Hash::ZERO,
            tx_root: Hash::ZERO,
            tx_count: 0,
            state_root: arcanum_types::state::EMPTY_STATE_ROOT,
            timestamp_ms: 1,
            orderer: IdentityId(Hash([3; 32])),
        };
        let bundle = StateProofBundle {
            contract: "kv".into(),
            key: key.to_vec(),
            value: None,
            height: 1,
            state_root: header.state_root,
            proof: decode(&[0, 0, 0, 0, 0], 16).expect("the empty proof"),
            signature: orderer.sign(arcanum_crypto::domain::BLOCK_SIGNATURE, &header.hash().0),
            header,
        };
        (bundle, orderer.public_key())
    }

    #[test]
    fn state_proof_json_round_trips_and_verifies() {
        let (bundle, orderer) = empty_state_bundle(b"k");
        assert_eq!(bundle.verify(&orderer), Ok(()));
        let json = StateProofJson::from(&bundle);
        assert_eq!(json.key.as_deref(), Some("k"));
        assert_eq!(json.key_hex, None);
        let text = serde_json::to_string(&json).expect("serialises");
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert!(v["value_hex"].is_null() && v.get("key_hex").is_none());
        let back = StateProofJson::parse(text.as_bytes()).expect("parses");
        assert_eq!(back, json);
        assert_eq!(back.to_bundle(), Ok(bundle));

        let (binary, _) = empty_state_bundle(&[0xff, 0]);
        let json = StateProofJson::from(&binary);
        assert_eq!(
            (json.key.as_deref(), json.key_hex.as_deref()),
            (None, Some("ff00"))
        );
        assert_eq!(json.to_bundle(), Ok(binary));
    }

    #[test]
    fn malformed_documents_and_undecodable_bytes_have_their_codes() {
        let (bundle, _) = empty_state_bundle(b"k");
        let json = StateProofJson::from(&bundle);
        let code = |j: &StateProofJson| j.to_bundle().expect_err("refused").code;
        type Edit = fn(&mut StateProofJson);
        let edits: [(&str, Edit, ErrorCode); 9] = [
            (
                "both keys",
                |j| j.key_hex = Some("6b".into()),
                ErrorCode::MalformedEncoding,
            ),
            ("no key", |j| j.key = None, ErrorCode::MalformedEncoding),
            (
                "value without version",
                |j| j.value_hex = Some("00".into()),
                ErrorCode::MalformedEncoding,
            ),
            (
                "version without value",
                |j| j.version_tx = Some(0),
                ErrorCode::MalformedEncoding,
            ),
            (
                "root not hex",
                |j| j.state_root = "zz".into(),
                ErrorCode::MalformedEncoding,
            ),
            (
                "proof not hex",
                |j| j.proof = "0".into(),
                ErrorCode::MalformedEncoding,
            ),
            (
                "signature not hex",
                |j| j.signature = "xy".into(),
                ErrorCode::MalformedEncoding,
            ),
            (
                "truncated header",
                |j| {
                    j.header.truncate(20);
                },
                ErrorCode::BlockBadSignature,
            ),
            (
                "truncated proof",
                |j| {
                    j.proof.truncate(4);
                },
                ErrorCode::StateProofInvalid,
            ),
        ];
        for (what, edit, expected) in edits {
            let mut j = json.clone();
            edit(&mut j);
            assert_eq!(code(&j), expected, "{what}");
        }
        let text = serde_json::to_value(&json).expect("JSON");
        for field in [
            "value_hex",
            "version_block",
            "version_tx",
            "height",
            "proof",
            "header",
        ] {
            let mut v = text.clone();
            v.as_object_mut().expect("an object").remove(field);
            let err = StateProofJson::parse(v.to_string().as_bytes()).expect_err("missing field");
            assert_eq!(err.code, ErrorCode::MalformedEncoding, "{field}");
        }
        assert_eq!(
            StateProofJson::parse(b"not json")
                .expect_err("garbage")
                .code,
            ErrorCode::MalformedEncoding
        );
    }

    #[test]
    fn the_answer_limit_scales_with_the_batch_and_is_capped() {
        let one = arcanum_types::limits::MAX_ENDORSED_TX_BYTES;
        assert_eq!(endorse_answer_limit(0), one);
        assert_eq!(endorse_answer_limit(1), one);
        assert_eq!(endorse_answer_limit(3), 3 * one);
        assert_eq!(
            endorse_answer_limit(MAX_ENDORSE_ITEMS),
            MAX_ENDORSE_ANSWER_BYTES
        );
    }
}

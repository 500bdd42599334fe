//! Verifiable receipts (SPEC C6): everything needed to check an off-chain result offline, by
//! anyone, back to its root of trust. Format and checks: `docs/design/receipts.md`.
//!
//! Key types: [`Receipt`] (request, signed result, the deployment and the cluster registration
//! with their transaction inclusion proofs), [`ReceiptVerdict`] (the JSON verdict), [`Link`].
//!
//! Invariants:
//! - [`verify_receipt`] reads no network, clock or file: time is the registration block's own
//!   timestamp, trust is the caller's [`ClientPolicy`] (orderer key, attestation issuers and
//!   policy).
//! - Checks run in a fixed order and stop at the first broken link: result → deployment →
//!   cluster → attestation → measurement.

use arcanum_crypto::Hash;
use arcanum_types::offchain::{
    InvokeRequest, MAX_CLUSTER_MEMBERS, SignedDeployment, SignedRegistration, SignedResult,
};
use arcanum_types::{ApiError, ErrorCode, TxAction, TxProof, TxStatus, decode, encode};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::offchain::{ClientPolicy, OffchainError, report_verdict, verify_member};
use crate::{Client, SdkError};

#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

/// The receipt format version this SDK writes and reads.
pub const RECEIPT_VERSION: u32 = 1;
/// The `format` field of a receipt file.
pub const RECEIPT_FORMAT: &str = "arcanum-receipt";
/// Largest encoded receipt accepted (members' reports dominate).
pub const MAX_RECEIPT_BYTES: usize = 8 * 1024 * 1024;

/// A self-contained proof that `result` is what the registered off-chain contract computed for
/// `request`, inside an attested cluster.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Receipt {
    /// [`RECEIPT_VERSION`].
    pub version: u32,
    pub request: InvokeRequest,
    pub result: SignedResult,
    /// The deployment statement of the contract at the result's key version…
    pub deployment: SignedDeployment,
    /// …and the proof that an `OffchainDeploy` transaction carrying it was committed.
    pub deployment_proof: TxProof,
    /// The cluster registration the deployment's cluster key belongs to…
    pub registration: SignedRegistration,
    /// …and the proof that a `RegisterCluster` transaction carrying it was committed.
    pub registration_proof: TxProof,
}

/// The links of a receipt's chain of trust, in the order they are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Link {
    /// The receipt file itself: JSON shape, version, encoding.
    Format,
    /// The contract key signed the result, and the result answers the request.
    Result,
    /// The deployment statement is the result's contract and key version, signed by its
    /// cluster key, and committed on chain (orderer-signed header + Merkle path).
    Deployment,
    /// The deployment's cluster key is the registered cluster's, whose registration is signed
    /// by the cluster key and committed on chain.
    Cluster,
    /// Every member's attestation report: trusted issuer, signature, validity at the
    /// registration block's time, binds the member's node key, which signed its card.
    Attestation,
    /// Every member's verdict passes the attestation policy (simulation, debug, measurement,
    /// TCB).
    Measurement,
}

impl Link {
    pub fn as_str(self) -> &'static str {
        match self {
            Link::Format => "format",
            Link::Result => "result",
            Link::Deployment => "deployment",
            Link::Cluster => "cluster",
            Link::Attestation => "attestation",
            Link::Measurement => "measurement",
        }
    }
}

/// A verdict's error: a stable code and a message that names the failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictError {
    pub code: String,
    pub message: String,
}

/// The outcome of [`verify_receipt`], serialised as
/// `{"valid", "contract_id", "key_version", "measurement", "tcb_status", "link", "error"}`.
///
/// `contract_id` and `key_version` are what the receipt's result claims (null if the receipt
/// does not decode); `measurement` and `tcb_status` are the first member's, filled once the
/// attestation link holds. `link` and `error` are null for a valid receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptVerdict {
    pub valid: bool,
    pub contract_id: Option<String>,
    pub key_version: Option<u32>,
    pub measurement: Option<String>,
    pub tcb_status: Option<String>,
    pub link: Option<Link>,
    pub error: Option<VerdictError>,
}

impl ReceiptVerdict {
    /// The verdict for a receipt that cannot be read at all.
    pub fn malformed(message: impl Into<String>) -> ReceiptVerdict {
        ReceiptVerdict {
            valid: false,
            contract_id: None,
            key_version: None,
            measurement: None,
            tcb_status: None,
            link: Some(Link::Format),
            error: Some(VerdictError {
                code: ErrorCode::ReceiptInvalid.as_str().into(),
                message: message.into(),
            }),
        }
    }

    /// The error code, if invalid.
    pub fn code(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.code.as_str())
    }
}

/// Why a receipt file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptFileError {
    #[error("not a receipt file: {0}")]
    Json(String),
    #[error("format {found:?}, expected {RECEIPT_FORMAT:?}")]
    Format { found: String },
    #[error("receipt version {found}, this verifier reads {RECEIPT_VERSION}")]
    Version { found: u64 },
    #[error("the receipt bytes are not hex")]
    Hex,
    #[error("the receipt does not decode: {0}")]
    Decode(String),
    #[error("the summary does not match the receipt")]
    Summary,
}

impl Receipt {
    /// What a person reads in the file: contract, key version, request hash, output. Derived
    /// from the signed content; [`Receipt::from_json`] refuses a file whose summary differs.
    pub fn summary(&self) -> serde_json::Value {
        let r = &self.result.result;
        json!({
            "contract_id": r.contract_id.to_hex(),
            "key_version": r.key_version,
            "function": self.request.function,
            "request": r.request.to_hex(),
            "output_hex": hex::encode(&r.output),
            "deployment_tx": self.deployment_proof.tx_id().to_hex(),
            "deployment_block": self.deployment_proof.header.height,
            "registration_tx": self.registration_proof.tx_id().to_hex(),
            "registration_block": self.registration_proof.header.height,
        })
    }

    /// The receipt file: `{"format", "version", "summary", "receipt": hex(borsh(Receipt))}`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "format": RECEIPT_FORMAT,
            "version": self.version,
            "summary": self.summary(),
            "receipt": hex::encode(encode(self)),
        })
    }

    /// Reads a receipt file (see [`Receipt::to_json`]): the borsh bytes are authoritative; a
    /// summary, if present, must equal the one they give.
    pub fn from_json(text: &str) -> Result<Receipt, ReceiptFileError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ReceiptFileError::Json(e.to_string()))?;
        let format = v["format"].as_str().unwrap_or_default();
        if format != RECEIPT_FORMAT {
            return Err(ReceiptFileError::Format {
                found: format.to_owned(),
            });
        }
        let version = v["version"].as_u64().unwrap_or(0);
        if version != u64::from(RECEIPT_VERSION) {
            return Err(ReceiptFileError::Version { found: version });
        }
        let hex_text = v["receipt"]
            .as_str()
            .ok_or_else(|| ReceiptFileError::Json("no \"receipt\" string".into()))?;
        if hex_text.len() > 2 * MAX_RECEIPT_BYTES {
            return Err(ReceiptFileError::Decode("receipt too large".into()));
        }
        let bytes = hex::decode(hex_text).map_err(|_| ReceiptFileError::Hex)?;
        let receipt: Receipt = decode(&bytes, MAX_RECEIPT_BYTES)
            .map_err(|e| ReceiptFileError::Decode(e.to_string()))?;
        if receipt.version != RECEIPT_VERSION {
            return Err(ReceiptFileError::Version {
                found: u64::from(receipt.version),
            });
        }
        if let Some(summary) = v.get("summary")
            && *summary != receipt.summary()
        {
            return Err(ReceiptFileError::Summary);
        }
        Ok(receipt)
    }

    /// Assembles the receipt of `result` for `request` from the chain behind `chain` (any
    /// ledger node): the registered deployment at the result's key version and the registered
    /// cluster, and the inclusion proofs of the transactions that committed them. The result is
    /// not judged here; [`verify_receipt`] does that.
    ///
    /// The chain indexes records by contract id and transaction id, not records by transaction,
    /// so the two transactions are found by searching the blocks back from the head (at most
    /// [`MAX_BLOCKS_SEARCHED`]).
    pub async fn build(
        chain: &Client,
        request: InvokeRequest,
        result: SignedResult,
    ) -> Result<Receipt, OffchainError> {
        let r = &result.result;
        let deployment = chain
            .offchain_deployment(&r.contract_id, Some(r.key_version))
            .await?;
        let registration = chain.cluster_registration().await?;
        let (deployment_tx, registration_tx) =
            find_transactions(chain, &deployment, &registration).await?;
        let deployment_proof = chain.tx_proof(&deployment_tx).await?;
        let registration_proof = chain.tx_proof(&registration_tx).await?;
        Ok(Receipt {
            version: RECEIPT_VERSION,
            request,
            result,
            deployment,
            deployment_proof,
            registration,
            registration_proof,
        })
    }
}

/// How many blocks [`Receipt::build`] searches back from the chain's head.
pub const MAX_BLOCKS_SEARCHED: u64 = 100_000;

/// The ids of the latest transactions carrying exactly `deployment` and `registration`.
async fn find_transactions(
    chain: &Client,
    deployment: &SignedDeployment,
    registration: &SignedRegistration,
) -> Result<(Hash, Hash), OffchainError> {
    let head = chain.height().await?.height;
    let (mut deployment_tx, mut registration_tx) = (None, None);
    let mut height = head;
    while height >= 1 && head - height < MAX_BLOCKS_SEARCHED {
        let block = chain.block(height).await?;
        for etx in block.txs.iter().rev() {
            match &etx.tx.payload.action {
                TxAction::OffchainDeploy { deployment: d }
                    if deployment_tx.is_none() && d == deployment =>
                {
                    deployment_tx = Some(etx.id());
                }
                TxAction::RegisterCluster { registration: r }
                    if registration_tx.is_none() && r == registration =>
                {
                    registration_tx = Some(etx.id());
                }
                _ => {}
            }
        }
        if let (Some(d), Some(r)) = (deployment_tx, registration_tx) {
            return Ok((d, r));
        }
        height -= 1;
    }
    let missing = if deployment_tx.is_none() {
        "the deployment's"
    } else {
        "the registration's"
    };
    Err(OffchainError::Sdk(SdkError::Api(ApiError::new(
        ErrorCode::NotFound,
        format!("{missing} transaction is not among the last {MAX_BLOCKS_SEARCHED} blocks"),
    ))))
}

/// One broken link.
struct Broken {
    link: Link,
    code: ErrorCode,
    message: String,
}

fn broken(link: Link, message: impl Into<String>) -> Broken {
    Broken {
        link,
        code: ErrorCode::ReceiptInvalid,
        message: message.into(),
    }
}

/// Checks that `proof` verifies under the orderer key and commits a valid transaction whose
/// action `matches`.
fn check_proof(
    link: Link,
    what: &str,
    proof: &TxProof,
    policy: &ClientPolicy,
    matches: impl Fn(&TxAction) -> bool,
) -> Result<(), Broken> {
    proof
        .verify(&policy.orderer_key)
        .map_err(|e| broken(link, format!("{what} transaction proof: {e}")))?;
    if !matches(&proof.tx.tx.payload.action) {
        return Err(broken(
            link,
            format!("the proven transaction does not carry this {what}"),
        ));
    }
    if proof.status != TxStatus::Valid {
        return Err(broken(
            link,
            format!(
                "the {what} transaction committed as {}",
                proof.status.as_str()
            ),
        ));
    }
    Ok(())
}

fn check(
    receipt: &Receipt,
    policy: &ClientPolicy,
    verdict: &mut ReceiptVerdict,
) -> Result<(), Broken> {
    if receipt.version != RECEIPT_VERSION {
        return Err(broken(
            Link::Format,
            format!("receipt version {}", receipt.version),
        ));
    }
    let result = &receipt.result.result;
    let statement = &receipt.deployment.statement;

    // result: the contract key signed it, and it answers this request.
    if result.request != receipt.request.hash() {
        return Err(broken(Link::Result, "the result answers another request"));
    }
    if result.contract_id != receipt.request.contract_id {
        return Err(broken(
            Link::Result,
            "the result is for another contract than the request",
        ));
    }
    if !receipt.result.verify(&statement.contract_key) {
        return Err(broken(
            Link::Result,
            "the result is not signed by the deployment's contract key",
        ));
    }

    // deployment: the statement is this contract at this key version, signed by its cluster
    // key, and committed on chain.
    if statement.contract_id != result.contract_id {
        return Err(broken(
            Link::Deployment,
            "the deployment is for another contract",
        ));
    }
    if statement.key_version != result.key_version {
        return Err(broken(
            Link::Deployment,
            format!(
                "the result is signed at key version {}, the deployment registers version {}",
                result.key_version, statement.key_version
            ),
        ));
    }
    if !receipt.deployment.verify() {
        return Err(broken(
            Link::Deployment,
            "the deployment statement is not signed by its cluster key",
        ));
    }
    check_proof(
        Link::Deployment,
        "deployment",
        &receipt.deployment_proof,
        policy,
        |a| matches!(a, TxAction::OffchainDeploy { deployment } if *deployment == receipt.deployment),
    )?;

    // cluster: the deployment's cluster key is the registered cluster's.
    let registration = &receipt.registration.registration;
    if statement.cluster_key != registration.keys.signing_key {
        return Err(broken(
            Link::Cluster,
            "the deployment's cluster key is not the registered cluster key",
        ));
    }
    if !receipt.registration.verify() {
        return Err(broken(
            Link::Cluster,
            "the registration is not signed by the cluster key",
        ));
    }
    check_proof(
        Link::Cluster,
        "registration",
        &receipt.registration_proof,
        policy,
        |a| matches!(a, TxAction::RegisterCluster { registration } if *registration == receipt.registration),
    )?;
    let members = &registration.members;
    if members.is_empty() || members.len() > MAX_CLUSTER_MEMBERS {
        return Err(broken(
            Link::Cluster,
            format!("the registration lists {} members", members.len()),
        ));
    }

    // attestation: every member's report, judged at the registration block's time.
    let at = receipt.registration_proof.header.timestamp_ms / 1000;
    let mut reports = Vec::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        let cluster_key = &receipt.registration.registration.keys.signing_key;
        let signed =
            verify_member(m, i, cluster_key, &policy.attestation_issuers, at).map_err(|e| {
                Broken {
                    link: Link::Attestation,
                    code: ErrorCode::ReportInvalid,
                    message: format!(
                        "{}: {e}",
                        e.attestation_code().unwrap_or("CARD_SIGNATURE_INVALID")
                    ),
                }
            })?;
        reports.push(signed);
    }
    if let Some(first) = reports.first() {
        verdict.measurement = Some(hex::encode(&first.report.measurement));
        verdict.tcb_status = Some(first.report.tcb_status.clone());
    }

    // measurement: the attestation policy.
    for (i, signed) in reports.iter().enumerate() {
        policy
            .attestation
            .check(&report_verdict(&signed.report))
            .map_err(|e| Broken {
                link: Link::Measurement,
                code: ErrorCode::AttestationPolicy,
                message: format!("{}: member {i}: {e}", e.code()),
            })?;
    }
    Ok(())
}

/// Verifies a receipt offline against `policy`; see [`Link`] for what each link checks. The
/// first broken link is reported with `RECEIPT_INVALID` (format, result, deployment, cluster),
/// `REPORT_INVALID` (attestation) or `ATTESTATION_POLICY` (measurement); the message of the
/// last two starts with the precise attestation code (`REPORT_EXPIRED`,
/// `MEASUREMENT_NOT_ALLOWED`, …).
pub fn verify_receipt(receipt: &Receipt, policy: &ClientPolicy) -> ReceiptVerdict {
    let result = &receipt.result.result;
    let mut verdict = ReceiptVerdict {
        valid: false,
        contract_id: Some(result.contract_id.to_hex()),
        key_version: Some(result.key_version),
        measurement: None,
        tcb_status: None,
        link: None,
        error: None,
    };
    match check(receipt, policy, &mut verdict) {
        Ok(()) => verdict.valid = true,
        Err(b) => {
            verdict.link = Some(b.link);
            verdict.error = Some(VerdictError {
                code: b.code.as_str().into(),
                message: format!("{}: {}", b.link.as_str(), b.message),
            });
        }
    }
    verdict
}

/// Reads a receipt file and verifies it: a file that cannot be read gives the `format` link.
pub fn verify_receipt_json(text: &str, policy: &ClientPolicy) -> ReceiptVerdict {
    match Receipt::from_json(text) {
        Ok(r) => verify_receipt(&r, policy),
        Err(e) => ReceiptVerdict::malformed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use arcanum_crypto::SigningKey;

    use super::testkit::{Fixture, REGISTERED_AT};
    use super::*;

    fn expect_broken(receipt: &Receipt, policy: &ClientPolicy, link: Link, code: &str) -> String {
        let v = verify_receipt(receipt, policy);
        assert!(!v.valid, "expected {link:?} to break");
        assert_eq!(v.link, Some(link), "{:?}", v.error);
        let e = v.error.expect("an error");
        assert_eq!(e.code, code, "{}", e.message);
        e.message
    }

    #[test]
    fn a_real_receipt_verifies() {
        let f = Fixture::new();
        let receipt = f.receipt();
        let v = verify_receipt(&receipt, &f.policy());
        assert!(v.valid, "{:?}", v.error);
        assert_eq!(v.link, None);
        assert_eq!(v.error, None);
        assert_eq!(v.contract_id, Some(f.contract_id().to_hex()));
        assert_eq!(v.key_version, Some(1));
        assert_eq!(v.measurement, Some(hex::encode(f.measurement)));
        assert_eq!(v.tcb_status.as_deref(), Some("Simulated"));
        let json = serde_json::to_value(&v).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "valid": true,
                "contract_id": f.contract_id().to_hex(),
                "key_version": 1,
                "measurement": hex::encode(f.measurement),
                "tcb_status": "Simulated",
                "link": null,
                "error": null,
            })
        );
    }

    #[test]
    fn result_link() {
        let f = Fixture::new();
        let p = f.policy();
        let mut r = f.receipt();
        r.result.result.output[0] ^= 1;
        let m = expect_broken(&r, &p, Link::Result, "RECEIPT_INVALID");
        assert!(m.contains("contract key"), "{m}");

        let mut r = f.receipt();
        r.request.input.push(b'!');
        let m = expect_broken(&r, &p, Link::Result, "RECEIPT_INVALID");
        assert!(m.contains("another request"), "{m}");

        let mut r = f.receipt();
        r.result.signature.0[5] ^= 1;
        expect_broken(&r, &p, Link::Result, "RECEIPT_INVALID");
    }

    #[test]
    fn deployment_link() {
        let f = Fixture::new();
        let p = f.policy();
        // A genuine result at key version 2 against the registered version 1.
        let mut r = f.receipt();
        r.result = f.result_for(&r.request, 2, b"{\"score\": 712}");
        let m = expect_broken(&r, &p, Link::Deployment, "RECEIPT_INVALID");
        assert!(m.contains("key version 2"), "{m}");

        // A forged deployment statement (the proof carries the original).
        let mut r = f.receipt();
        r.deployment.signature.0[0] ^= 1;
        let m = expect_broken(&r, &p, Link::Deployment, "RECEIPT_INVALID");
        assert!(m.contains("not signed"), "{m}");

        // The orderer's signature over the deployment's block.
        let mut r = f.receipt();
        r.deployment_proof.signature.0[0] ^= 1;
        let m = expect_broken(&r, &p, Link::Deployment, "RECEIPT_INVALID");
        assert!(m.contains("not signed by the given orderer"), "{m}");

        // Another orderer.
        let mut other = p.clone();
        other.orderer_key = SigningKey::from_ed25519_seed(&[42; 32]).public_key();
        expect_broken(&f.receipt(), &other, Link::Deployment, "RECEIPT_INVALID");

        // The Merkle path.
        let mut r = f.receipt();
        r.deployment_proof.path[0].0[0] ^= 1;
        let m = expect_broken(&r, &p, Link::Deployment, "RECEIPT_INVALID");
        assert!(m.contains("Merkle path"), "{m}");

        // A proven transaction that is another one of the block.
        let mut r = f.receipt();
        r.deployment_proof.index = 2;
        expect_broken(&r, &p, Link::Deployment, "RECEIPT_INVALID");

        // The deployment transaction committed as invalid.
        let mut r = f.receipt();
        r.deployment_proof.status = TxStatus::Invalid(ErrorCode::DeploymentInvalid);
        let m = expect_broken(&r, &p, Link::Deployment, "RECEIPT_INVALID");
        assert!(m.contains("DEPLOYMENT_INVALID"), "{m}");

        // A self-consistent deployment whose proof carries another statement.
        let mut r = f.receipt();
        let other = f.receipt_of(
            r.request.clone(),
            r.result.clone(),
            f.deployment_with(1, &f.cluster),
            r.registration.clone(),
        );
        r.deployment_proof = other.registration_proof;
        let m = expect_broken(&r, &p, Link::Deployment, "RECEIPT_INVALID");
        assert!(m.contains("does not carry"), "{m}");
    }

    #[test]
    fn cluster_link() {
        let f = Fixture::new();
        let p = f.policy();
        // A deployment signed and committed under another cluster key.
        let rogue = SigningKey::from_ed25519_seed(&[66; 32]);
        let request = f.request();
        let result = f.result_for(&request, 1, b"out");
        let r = f.receipt_of(
            request.clone(),
            result.clone(),
            f.deployment_with(1, &rogue),
            f.registration_with(f.members(), &f.cluster),
        );
        let m = expect_broken(&r, &p, Link::Cluster, "RECEIPT_INVALID");
        assert!(m.contains("not the registered cluster key"), "{m}");

        // A registration not signed by the cluster key (committed as such).
        let r = f.receipt_of(
            request,
            result,
            f.deployment_with(1, &f.cluster),
            f.registration_with(f.members(), &rogue),
        );
        let m = expect_broken(&r, &p, Link::Cluster, "RECEIPT_INVALID");
        assert!(m.contains("registration is not signed"), "{m}");

        // The registration's proof tampered.
        let mut r = f.receipt();
        r.registration_proof.header.timestamp_ms += 1;
        expect_broken(&r, &p, Link::Cluster, "RECEIPT_INVALID");
    }

    #[test]
    fn attestation_link() {
        let f = Fixture::new();
        let p = f.policy();
        let request = f.request();
        let result = f.result_for(&request, 1, b"out");
        let with_members = |members| {
            f.receipt_of(
                request.clone(),
                result.clone(),
                f.deployment_with(1, &f.cluster),
                f.registration_with(members, &f.cluster),
            )
        };
        // A member attested by an issuer the policy does not trust.
        let foreign = SigningKey::from_ed25519_seed(&[77; 32]);
        let mut members = f.members();
        members[1] = f.member_with(1, &foreign, f.measurement, REGISTERED_AT - 60, 3600);
        let m = expect_broken(
            &with_members(members),
            &p,
            Link::Attestation,
            "REPORT_INVALID",
        );
        assert!(m.starts_with("attestation: FOREIGN_ISSUER"), "{m}");

        // A report that had expired when the cluster was registered.
        let mut members = f.members();
        members[0] = f.member_with(0, &f.issuer, f.measurement, REGISTERED_AT - 7200, 3600);
        let m = expect_broken(
            &with_members(members),
            &p,
            Link::Attestation,
            "REPORT_INVALID",
        );
        assert!(m.starts_with("attestation: REPORT_EXPIRED"), "{m}");

        // A report that binds another node's key.
        let mut members = f.members();
        members[0].report = members[1].report.clone();
        let m = expect_broken(
            &with_members(members),
            &p,
            Link::Attestation,
            "REPORT_INVALID",
        );
        assert!(m.starts_with("attestation: KEY_MISMATCH"), "{m}");

        // A card not signed by the attested node key.
        let mut members = f.members();
        members[1].card.trust = Hash([0; 32]);
        let m = expect_broken(
            &with_members(members),
            &p,
            Link::Attestation,
            "REPORT_INVALID",
        );
        assert!(m.contains("CARD_SIGNATURE_INVALID"), "{m}");
    }

    #[test]
    fn measurement_link() {
        let f = Fixture::new();
        let receipt = f.receipt();
        let mut p = f.policy();
        p.attestation.allowed_measurements = vec![hex::encode([1u8; 32])];
        let m = expect_broken(&receipt, &p, Link::Measurement, "ATTESTATION_POLICY");
        assert!(m.starts_with("measurement: MEASUREMENT_NOT_ALLOWED"), "{m}");
        let v = verify_receipt(&receipt, &p);
        assert_eq!(
            v.measurement,
            Some(hex::encode(f.measurement)),
            "attested, then refused"
        );

        let mut p = f.policy();
        p.attestation.allow_simulation = false;
        let m = expect_broken(&receipt, &p, Link::Measurement, "ATTESTATION_POLICY");
        assert!(m.starts_with("measurement: SIMULATION_NOT_ALLOWED"), "{m}");
    }

    #[test]
    fn receipt_files_round_trip_and_tampering_is_a_format_failure() {
        let f = Fixture::new();
        let receipt = f.receipt();
        let text = receipt.to_json().to_string();
        assert_eq!(Receipt::from_json(&text).expect("reads back"), receipt);
        assert!(verify_receipt_json(&text, &f.policy()).valid);

        let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
        v["summary"]["key_version"] = serde_json::json!(9);
        let verdict = verify_receipt_json(&v.to_string(), &f.policy());
        assert_eq!(verdict.link, Some(Link::Format));
        assert_eq!(verdict.code(), Some("RECEIPT_INVALID"));
        assert!(matches!(
            Receipt::from_json(&v.to_string()),
            Err(ReceiptFileError::Summary)
        ));

        let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
        let hex_text = v["receipt"].as_str().expect("hex").to_owned();
        v["receipt"] = serde_json::json!(&hex_text[..hex_text.len() - 2]);
        assert!(matches!(
            Receipt::from_json(&v.to_string()),
            Err(ReceiptFileError::Decode(_))
        ));
        v["receipt"] = serde_json::json!("zz");
        assert!(matches!(
            Receipt::from_json(&v.to_string()),
            Err(ReceiptFileError::Hex)
        ));
        v["version"] = serde_json::json!(2);
        assert!(matches!(
            Receipt::from_json(&v.to_string()),
            Err(ReceiptFileError::Version { found: 2 })
        ));
        assert!(matches!(
            Receipt::from_json("[]"),
            Err(ReceiptFileError::Format { .. })
        ));
        assert_eq!(
            verify_receipt_json("not json", &f.policy()).link,
            Some(Link::Format)
        );
    }
}

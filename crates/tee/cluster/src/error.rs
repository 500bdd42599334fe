//! The crate's error type: every way a cluster request can fail, each with its stable code.

use arcanum_attestation::AttestError;
use arcanum_crypto::Hash;
use arcanum_types::ErrorCode;
use arcanum_vm::VmError;

/// Why a node refuses another in the join protocol (either side). `Display` starts with the
/// precise cause code (`REPORT_EXPIRED: …`, `TRUST_MISMATCH: …`), which is what the
/// `JOIN_REFUSED` message carries.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The report does not decode, verify, bind the card's node key, or pass the policy; the
    /// attestation crate's own error (with its code: `FOREIGN_ISSUER`, `REPORT_EXPIRED`,
    /// `MEASUREMENT_NOT_ALLOWED`, …).
    #[error("{code}: {0}", code = .0.code())]
    Report(AttestError),
    /// The node card's signature does not verify under its node key.
    #[error("CARD_SIGNATURE_INVALID: the node card is not signed by its node key")]
    CardSignature,
    /// The other node trusts other attestation issuers, policy or TLS roots.
    #[error("TRUST_MISMATCH: the node's trust configuration differs from ours")]
    TrustMismatch,
    /// The offer is made out to another node.
    #[error("NOT_FOR_THIS_NODE: the offer names another joiner")]
    NotForThisNode,
    /// The offer is not signed by the cluster key it names.
    #[error("CLUSTER_SIGNATURE_INVALID: the offer is not signed by its cluster key")]
    OfferSignature,
    /// The offer is not one this member made (other cluster, or not pending any more).
    #[error("UNKNOWN_OFFER: {0}")]
    UnknownOffer(&'static str),
    /// The offer is older than the join window (or from the future).
    #[error("STALE_OFFER: offered at {offered_at}, now {now} (window {window} s)")]
    StaleOffer {
        offered_at: u64,
        now: u64,
        window: u64,
    },
    /// The acceptance is not the joiner's node-key signature over the offer.
    #[error("ACCEPTANCE_INVALID: the acceptance is not the joiner's signature over the offer")]
    Acceptance,
}

/// Which way a state record from the host is wrong (all `STATE_ROLLBACK`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rollback {
    #[error("the host returned no record for a key at version {expected}")]
    Missing { expected: u64 },
    #[error("the host returned version {got} of a key at version {expected}")]
    Version { expected: u64, got: u64 },
    #[error("the host returned a record that is not this contract's key at that version")]
    Swapped,
}

/// Every failure of a cluster request.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("this node has no cluster key yet")]
    NotFormed,
    #[error("this node already holds a cluster key")]
    Exists,
    #[error("{0}")]
    JoinRefused(Refusal),
    #[error("cluster keys mismatch: {0}")]
    KeyMismatch(&'static str),
    #[error("the request is encrypted to cluster {named}, this cluster is {ours}")]
    WrongClusterKey { named: Hash, ours: Hash },
    #[error("decryption failed: {0}")]
    Decryption(&'static str),
    #[error("no off-chain contract {0}")]
    ContractUnknown(Hash),
    #[error("{what} of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("this request was already served")]
    Replayed,
    #[error("state rollback: {0}")]
    Rollback(Rollback),
    #[error("invalid contract: {0}")]
    InvalidContract(VmError),
    /// A failed invocation (fuel, trap, contract error, unknown function, …).
    #[error("{0}")]
    Vm(VmError),
    /// A state operation the off-chain runtime does not support.
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("deployment invalid: {0}")]
    DeploymentInvalid(&'static str),
    #[error("cluster signature invalid: {0}")]
    ClusterSignature(&'static str),
    #[error("report invalid: {0}")]
    ReportInvalid(String),
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The host failed an ocall or answered with the wrong variant.
    #[error("host failure: {0}")]
    Host(String),
    /// An external HTTPS fetch failed (code `TLS_FAILURE` or `HTTPS_FAILURE`).
    #[error("{message}")]
    Fetch { code: ErrorCode, message: String },
    #[error("enclave failure: {0}")]
    Internal(String),
}

impl ClusterError {
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ClusterError::NotFormed => ErrorCode::ClusterNotFormed,
            ClusterError::Exists => ErrorCode::ClusterExists,
            ClusterError::JoinRefused(_) => ErrorCode::JoinRefused,
            ClusterError::KeyMismatch(_) => ErrorCode::ClusterKeyMismatch,
            ClusterError::WrongClusterKey { .. } => ErrorCode::WrongClusterKey,
            ClusterError::Decryption(_) => ErrorCode::DecryptionFailed,
            ClusterError::ContractUnknown(_) => ErrorCode::OffchainContractUnknown,
            ClusterError::TooLarge { .. } => ErrorCode::InputTooLarge,
            ClusterError::Replayed => ErrorCode::ReplayedRequest,
            ClusterError::Rollback(_) => ErrorCode::StateRollback,
            ClusterError::InvalidContract(_) => ErrorCode::InvalidContract,
            ClusterError::Vm(e) => e.code(),
            ClusterError::Unsupported(_) => ErrorCode::ContractTrap,
            ClusterError::DeploymentInvalid(_) => ErrorCode::DeploymentInvalid,
            ClusterError::ClusterSignature(_) => ErrorCode::ClusterSignatureInvalid,
            ClusterError::ReportInvalid(_) => ErrorCode::ReportInvalid,
            ClusterError::Malformed { .. } => ErrorCode::MalformedEncoding,
            ClusterError::BadRequest(_) => ErrorCode::BadRequest,
            ClusterError::Fetch { code, .. } => *code,
            ClusterError::Host(_) | ClusterError::Internal(_) => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_start_with_their_cause() {
        let r = Refusal::Report(AttestError::ReportExpired);
        assert!(r.to_string().starts_with("REPORT_EXPIRED: "), "{r}");
        assert!(
            Refusal::TrustMismatch
                .to_string()
                .starts_with("TRUST_MISMATCH")
        );
        let e = ClusterError::JoinRefused(Refusal::Report(AttestError::ForeignIssuer));
        assert_eq!(e.code(), ErrorCode::JoinRefused);
        assert!(e.to_string().starts_with("FOREIGN_ISSUER: "));
        assert_eq!(
            ClusterError::Vm(VmError::OutOfFuel).code(),
            ErrorCode::OutOfFuel
        );
        assert_eq!(
            ClusterError::Rollback(Rollback::Swapped).code(),
            ErrorCode::StateRollback
        );
    }
}

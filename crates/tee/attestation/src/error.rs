//! The crate's one error type and its stable codes.

use thiserror::Error;

/// Every way evidence verification, a policy check, or report issuing/verification can fail.
///
/// Each variant maps to a stable, documented code through [`AttestError::code`] (listed in
/// `docs/design/attestation.md`); clients match on the code, never on the `Display` text.
/// No variant carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AttestError {
    // ----- evidence framing -----
    /// The evidence is empty (after stripping whitespace and quotes).
    #[error("evidence is empty")]
    EvidenceEmpty,
    /// The evidence (raw or decoded) exceeds the size bound.
    #[error("evidence is {len} bytes, more than the {max}-byte bound")]
    EvidenceTooLarge { len: usize, max: usize },
    /// The evidence ends before a structure it declares.
    #[error("evidence truncated: {what} needs {need} bytes, {have} present")]
    EvidenceTruncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    /// The evidence is structurally invalid.
    #[error("malformed evidence: {reason}")]
    EvidenceMalformed { reason: String },
    /// The bytes are none of the supported evidence types.
    #[error("unknown evidence type")]
    UnknownEvidenceType,
    /// A recognised evidence type in a version or variant this verifier does not support.
    #[error("unsupported evidence: {reason}")]
    UnsupportedEvidence { reason: String },

    // ----- collateral, certificates, trust -----
    /// A verification input that this evidence type needs was not given.
    #[error("missing collateral: {what}")]
    MissingCollateral { what: &'static str },
    /// Collateral (JSON, CRL, hex field) that cannot be parsed.
    #[error("malformed collateral {what}: {reason}")]
    CollateralMalformed { what: &'static str, reason: String },
    /// The caller-given trust anchor cannot be used.
    #[error("invalid trust anchor: {reason}")]
    TrustAnchorInvalid { reason: String },
    /// A certificate that cannot be parsed.
    #[error("malformed certificate ({what}): {reason}")]
    CertMalformed { what: &'static str, reason: String },
    /// A certificate chain whose signatures or structure do not verify.
    #[error("certificate chain invalid ({what}): {reason}")]
    CertChainInvalid { what: &'static str, reason: String },
    /// A chain that is internally valid but ends at a root other than the trust anchor.
    #[error("certificate chain ({what}) does not end at the trusted root")]
    UntrustedRoot { what: &'static str },
    /// A certificate whose validity period starts after `now`.
    #[error("certificate not yet valid ({what})")]
    CertNotYetValid { what: &'static str },
    /// A certificate whose validity period ended before `now`.
    #[error("certificate expired ({what})")]
    CertExpired { what: &'static str },
    /// A certificate listed on its issuer's CRL.
    #[error("certificate revoked ({what})")]
    CertRevoked { what: &'static str },
    /// A CRL that is not signed by the expected issuer.
    #[error("CRL invalid ({what}): {reason}")]
    CrlInvalid { what: &'static str, reason: String },
    /// A CRL whose nextUpdate is before `now`.
    #[error("CRL expired ({what})")]
    CrlExpired { what: &'static str },
    /// Collateral (TCB info, QE identity, CRL) issued after `now`.
    #[error("collateral not yet valid ({what})")]
    CollateralNotYetValid { what: &'static str },
    /// Collateral (TCB info, QE identity) whose nextUpdate is before `now`.
    #[error("collateral expired ({what})")]
    CollateralExpired { what: &'static str },
    /// The signature over signed collateral (TCB info, QE identity) does not verify.
    #[error("collateral signature invalid ({what})")]
    CollateralSignatureInvalid { what: &'static str },

    // ----- DCAP quote -----
    /// The attestation key's signature over the quote header and body does not verify.
    #[error("quote signature invalid")]
    QuoteSignatureInvalid,
    /// The PCK's signature over the QE report does not verify.
    #[error("QE report signature invalid")]
    QeReportSignatureInvalid,
    /// The QE report data does not commit to the attestation key and QE auth data.
    #[error("QE report data does not bind the attestation key")]
    QeReportDataMismatch,
    /// The QE report does not match the QE identity.
    #[error("QE identity mismatch: {field}")]
    QeIdentityMismatch { field: &'static str },
    /// No QE identity TCB level matches the QE's ISVSVN.
    #[error("no QE identity TCB level matches ISVSVN {isvsvn}")]
    QeTcbLevelNotFound { isvsvn: u16 },
    /// The TCB info does not describe this platform (FMSPC, PCE id, TEE type).
    #[error("TCB info does not match the platform: {reason}")]
    TcbInfoMismatch { reason: String },
    /// No TCB level of the TCB info is met by the platform's TCB.
    #[error("no matching TCB level")]
    TcbLevelNotFound,
    /// The TDX module (MRSIGNER_SEAM, SEAM attributes, module TCB) does not match the TCB info.
    #[error("TDX module mismatch: {reason}")]
    TdxModuleMismatch { reason: String },
    /// The platform's TCB is revoked.
    #[error("TCB revoked")]
    TcbRevoked,

    // ----- SEV-SNP -----
    /// The report (SNP) or attestation report (A2) signature does not verify.
    #[error("report signature invalid ({what})")]
    ReportSignatureInvalid { what: &'static str },
    /// The VCEK does not belong to this report (chip id or TCB differ).
    #[error("VCEK does not match the report: {reason}")]
    VcekMismatch { reason: String },
    /// The product (SNP) differs from what the policy expects.
    #[error("product mismatch: expected {expected}, got {actual}")]
    ProductMismatch { expected: String, actual: String },

    // ----- simulation -----
    /// The simulated vendor's signature over simulation evidence does not verify.
    #[error("simulation evidence signature invalid")]
    EvidenceSignatureInvalid,

    // ----- policy -----
    /// The attestation policy itself is invalid.
    #[error("invalid attestation policy: {reason}")]
    PolicyInvalid { reason: String },
    /// The measurement is not on the policy's allow-list.
    #[error("measurement {measurement} is not allowed")]
    MeasurementNotAllowed { measurement: String },
    /// The TCB status is below the policy's minimum.
    #[error("TCB status {status} is below the minimum {min}")]
    TcbTooLow { status: String, min: String },
    /// A debug enclave/guest under a policy that forbids debug.
    #[error("debug mode is not allowed")]
    DebugNotAllowed,
    /// Simulation evidence under a policy that does not allow simulation.
    #[error("simulation evidence is not allowed")]
    SimulationNotAllowed,

    // ----- attestation reports (A2) -----
    /// The verdict's report data is not the key binding of the keys to bind.
    #[error("report data does not bind the given keys")]
    KeyBindingMismatch,
    /// A bad argument to report issuing (no keys, zero or overflowing TTL).
    #[error("invalid argument: {reason}")]
    InvalidArgument { reason: &'static str },
    /// The report's issuer is not among the trusted issuers.
    #[error("report issuer is not trusted")]
    ForeignIssuer,
    /// The report is past its expiry.
    #[error("attestation report expired")]
    ReportExpired,
    /// The report's issue time is after `now`.
    #[error("attestation report not yet valid")]
    ReportNotYetValid,
    /// The report does not bind the keys the verifier expects.
    #[error("attestation report does not bind the expected keys")]
    KeyMismatch,
    /// The report's encoding is invalid or its version unknown.
    #[error("malformed attestation report: {reason}")]
    ReportMalformed { reason: String },
    /// The issuer key could not sign.
    #[error("signing failed")]
    SigningFailed,

    // ----- bench -----
    /// A bench input file could not be read.
    #[error("bench input {path}: {reason}")]
    BenchInput { path: String, reason: String },
}

impl AttestError {
    /// The stable error code (SCREAMING_SNAKE_CASE), documented in `docs/design/attestation.md`.
    pub fn code(&self) -> &'static str {
        use AttestError::*;
        match self {
            EvidenceEmpty | EvidenceMalformed { .. } => "EVIDENCE_MALFORMED",
            EvidenceTooLarge { .. } => "EVIDENCE_TOO_LARGE",
            EvidenceTruncated { .. } => "EVIDENCE_TRUNCATED",
            UnknownEvidenceType => "UNKNOWN_EVIDENCE_TYPE",
            UnsupportedEvidence { .. } => "UNSUPPORTED_EVIDENCE",
            MissingCollateral { .. } => "MISSING_COLLATERAL",
            CollateralMalformed { .. } => "COLLATERAL_MALFORMED",
            TrustAnchorInvalid { .. } => "TRUST_ANCHOR_INVALID",
            CertMalformed { .. } => "CERT_MALFORMED",
            CertChainInvalid { .. } => "CERT_CHAIN_INVALID",
            UntrustedRoot { .. } => "UNTRUSTED_ROOT",
            CertNotYetValid { .. } => "CERT_NOT_YET_VALID",
            CertExpired { .. } => "CERT_EXPIRED",
            CertRevoked { .. } => "CERT_REVOKED",
            CrlInvalid { .. } => "CRL_INVALID",
            CrlExpired { .. } => "CRL_EXPIRED",
            CollateralNotYetValid { .. } => "COLLATERAL_NOT_YET_VALID",
            CollateralExpired { .. } => "COLLATERAL_EXPIRED",
            CollateralSignatureInvalid { .. } => "COLLATERAL_SIGNATURE_INVALID",
            QuoteSignatureInvalid => "QUOTE_SIGNATURE_INVALID",
            QeReportSignatureInvalid => "QE_REPORT_SIGNATURE_INVALID",
            QeReportDataMismatch => "QE_REPORT_DATA_MISMATCH",
            QeIdentityMismatch { .. } => "QE_IDENTITY_MISMATCH",
            QeTcbLevelNotFound { .. } => "QE_TCB_LEVEL_NOT_FOUND",
            TcbInfoMismatch { .. } => "TCB_INFO_MISMATCH",
            TcbLevelNotFound => "TCB_LEVEL_NOT_FOUND",
            TdxModuleMismatch { .. } => "TDX_MODULE_MISMATCH",
            TcbRevoked => "TCB_REVOKED",
            ReportSignatureInvalid { .. } => "REPORT_SIGNATURE_INVALID",
            VcekMismatch { .. } => "VCEK_MISMATCH",
            ProductMismatch { .. } => "PRODUCT_MISMATCH",
            EvidenceSignatureInvalid => "EVIDENCE_SIGNATURE_INVALID",
            PolicyInvalid { .. } => "POLICY_INVALID",
            MeasurementNotAllowed { .. } => "MEASUREMENT_NOT_ALLOWED",
            TcbTooLow { .. } => "TCB_TOO_LOW",
            DebugNotAllowed => "DEBUG_NOT_ALLOWED",
            SimulationNotAllowed => "SIMULATION_NOT_ALLOWED",
            KeyBindingMismatch => "KEY_BINDING_MISMATCH",
            InvalidArgument { .. } => "INVALID_ARGUMENT",
            ForeignIssuer => "FOREIGN_ISSUER",
            ReportExpired => "REPORT_EXPIRED",
            ReportNotYetValid => "REPORT_NOT_YET_VALID",
            KeyMismatch => "KEY_MISMATCH",
            ReportMalformed { .. } => "REPORT_MALFORMED",
            SigningFailed => "SIGNING_FAILED",
            BenchInput { .. } => "BENCH_INPUT",
        }
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        AttestError::EvidenceMalformed {
            reason: reason.into(),
        }
    }
}

/// Every code [`AttestError::code`] can return (documentation and tests).
pub const ALL_CODES: &[&str] = &[
    "EVIDENCE_MALFORMED",
    "EVIDENCE_TOO_LARGE",
    "EVIDENCE_TRUNCATED",
    "UNKNOWN_EVIDENCE_TYPE",
    "UNSUPPORTED_EVIDENCE",
    "MISSING_COLLATERAL",
    "COLLATERAL_MALFORMED",
    "TRUST_ANCHOR_INVALID",
    "CERT_MALFORMED",
    "CERT_CHAIN_INVALID",
    "UNTRUSTED_ROOT",
    "CERT_NOT_YET_VALID",
    "CERT_EXPIRED",
    "CERT_REVOKED",
    "CRL_INVALID",
    "CRL_EXPIRED",
    "COLLATERAL_NOT_YET_VALID",
    "COLLATERAL_EXPIRED",
    "COLLATERAL_SIGNATURE_INVALID",
    "QUOTE_SIGNATURE_INVALID",
    "QE_REPORT_SIGNATURE_INVALID",
    "QE_REPORT_DATA_MISMATCH",
    "QE_IDENTITY_MISMATCH",
    "QE_TCB_LEVEL_NOT_FOUND",
    "TCB_INFO_MISMATCH",
    "TCB_LEVEL_NOT_FOUND",
    "TDX_MODULE_MISMATCH",
    "TCB_REVOKED",
    "REPORT_SIGNATURE_INVALID",
    "VCEK_MISMATCH",
    "PRODUCT_MISMATCH",
    "EVIDENCE_SIGNATURE_INVALID",
    "POLICY_INVALID",
    "MEASUREMENT_NOT_ALLOWED",
    "TCB_TOO_LOW",
    "DEBUG_NOT_ALLOWED",
    "SIMULATION_NOT_ALLOWED",
    "KEY_BINDING_MISMATCH",
    "INVALID_ARGUMENT",
    "FOREIGN_ISSUER",
    "REPORT_EXPIRED",
    "REPORT_NOT_YET_VALID",
    "KEY_MISMATCH",
    "REPORT_MALFORMED",
    "SIGNING_FAILED",
    "BENCH_INPUT",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_stable_and_documented() {
        let set: BTreeSet<_> = ALL_CODES.iter().collect();
        assert_eq!(set.len(), ALL_CODES.len());
        for c in ALL_CODES {
            assert!(
                c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{c}"
            );
        }
        let samples = [
            AttestError::EvidenceEmpty,
            AttestError::UnknownEvidenceType,
            AttestError::QuoteSignatureInvalid,
            AttestError::TcbLevelNotFound,
            AttestError::ForeignIssuer,
            AttestError::KeyMismatch,
            AttestError::SimulationNotAllowed,
            AttestError::ReportSignatureInvalid { what: "x" },
            AttestError::VcekMismatch { reason: "x".into() },
        ];
        for e in samples {
            assert!(ALL_CODES.contains(&e.code()), "{}", e.code());
        }
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../docs/design/attestation.md"
        ))
        .expect("design doc");
        for c in ALL_CODES {
            assert!(doc.contains(&format!("`{c}`")), "{c} is not documented");
        }
    }
}

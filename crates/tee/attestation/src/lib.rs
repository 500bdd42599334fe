//! Attestation for Arcanum (SPEC A1, A2): verification of TEE evidence, the attestation policy,
//! and signed remote attestation reports.
//!
//! Entry points:
//! - [`verify_evidence`] judges evidence — an Intel SGX/TDX DCAP quote ([`dcap`]), an AMD
//!   SEV-SNP report ([`snp`]) or Arcanum simulation evidence ([`sim`]) — given the
//!   [`VerifyInputs`] (collateral, VCEK, chain, trust anchor) and the caller's `now`, and returns
//!   a [`Verdict`]: platform, measurement, report data, TCB status, advisories, debug flag.
//! - [`AttestationPolicy::check`] decides whether a verdict is acceptable.
//! - [`report::issue`] / [`report::verify_report`] produce and check the service's
//!   [`report::SignedReport`], which binds a node's public keys ([`report::key_binding`]) to its
//!   measurement.
//! - [`bench::bench`] measures verification time per evidence type.
//!
//! Every failure is an [`AttestError`] with a stable [`AttestError::code`].
//!
//! Invariants:
//! - This is a trusted crate: no networking, storage, HTTP or clock in the verification path.
//!   Time is always the caller's `now_unix`. (The [`mod@bench`] module alone reads files and a
//!   monotonic timer; nothing else calls it.)
//! - Untrusted input (evidence, collateral, certificates) is parsed with explicit bounds
//!   ([`encoding::MAX_EVIDENCE_BYTES`]) and never panics; malformed input gives a precise error.
//! - A debug enclave/guest is reported (`Verdict::debug`), never silently accepted: the policy
//!   rejects it unless `allow_debug`. Simulation evidence always has `is_secure == false`.
//! - Output is deterministic: `Verdict::extra` is a `BTreeMap`.

pub mod bench;
pub mod dcap;
mod der;
pub mod encoding;
mod error;
pub mod policy;
pub mod report;
pub mod sim;
pub mod snp;
mod x509;

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

pub use encoding::{EvidenceKind, MAX_EVIDENCE_BYTES};
pub use error::{ALL_CODES, AttestError};
pub use policy::AttestationPolicy;
pub use report::{
    AttestationReport, SignedReport, issue, key_binding, key_binding_with_context, verify_report,
};

/// The TEE platform that produced evidence.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    BorshSerialize,
    BorshDeserialize,
)]
#[borsh(use_discriminant = true)]
pub enum PlatformKind {
    Sgx = 0,
    Tdx = 1,
    SevSnp = 2,
    Simulated = 3,
}

impl PlatformKind {
    /// Stable lower-case name: `sgx`, `tdx`, `sev-snp`, `simulated`.
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformKind::Sgx => "sgx",
            PlatformKind::Tdx => "tdx",
            PlatformKind::SevSnp => "sev-snp",
            PlatformKind::Simulated => "simulated",
        }
    }
}

/// What a verifier needs besides the evidence. Which fields matter depends on the evidence:
///
/// | evidence | `collateral` | `vcek` | `chain` | `root` |
/// |---|---|---|---|---|
/// | DCAP | required: dcap-qvl `QuoteCollateralV3` JSON | – | PCK chain (PEM) if neither the quote nor the collateral has it | Intel SGX root (DER/PEM); default: production root |
/// | SEV-SNP | – | required (DER/PEM) | ASK then ARK (PEM); default: built-in per product | ARK (DER/PEM); default: built-in ARKs |
/// | simulation | – | – | – | vendor Ed25519 key, raw 32 bytes; default: [`sim::vendor_public_key`] |
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyInputs {
    pub collateral: Option<Vec<u8>>,
    pub vcek: Option<Vec<u8>>,
    pub chain: Option<Vec<u8>>,
    pub root: Option<Vec<u8>>,
}

/// The verifier's judgement of valid evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub platform: PlatformKind,
    /// MRENCLAVE (SGX, 32 B), MRTD (TDX, 48 B), MEASUREMENT (SNP, 48 B), or the simulated
    /// binary hash (32 B).
    #[serde(with = "hex_bytes")]
    pub measurement: Vec<u8>,
    /// The 64 bytes of report data.
    #[serde(with = "hex_bytes")]
    pub report_data: Vec<u8>,
    /// Intel's status names (`UpToDate`, `SWHardeningNeeded`, `ConfigurationNeeded`,
    /// `ConfigurationAndSWHardeningNeeded`, `OutOfDate`, `OutOfDateConfigurationNeeded`);
    /// `UpToDate` for SNP (reported TCB = VCEK SPLs); `Simulated` for simulation.
    pub tcb_status: String,
    /// Intel security advisory ids (`INTEL-SA-…`), platform first, then QE and TDX module.
    pub advisories: Vec<String>,
    /// Debug enclave (SGX ATTRIBUTES.DEBUG), debug TD (TD_ATTRIBUTES.DEBUG), or debug guest
    /// (SNP policy bit 19).
    pub debug: bool,
    /// Real hardware evidence of a non-debug TEE. Always false for simulation.
    pub is_secure: bool,
    /// Platform details (SGX: `mrsigner`, `isv_prod_id`, …; TDX: `mrseam`, `rtmr0`, …; SNP:
    /// `product`, `chip_id`, …).
    pub extra: BTreeMap<String, String>,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

/// Verifies evidence (raw, hex, `0x`-hex or a JSON string of hex) at `now_unix` (seconds).
///
/// Detects the type (DCAP quote, SEV-SNP report, simulation evidence) and runs that verifier;
/// see [`dcap`], [`snp`] and [`sim`] for the steps and [`VerifyInputs`] for what each needs.
pub fn verify_evidence(
    evidence: &[u8],
    inputs: &VerifyInputs,
    now_unix: u64,
) -> Result<Verdict, AttestError> {
    let bytes = encoding::decode_evidence(evidence)?;
    match encoding::detect(&bytes)? {
        EvidenceKind::DcapQuote => dcap::verify(&bytes, inputs, now_unix),
        EvidenceKind::SnpReport => snp::verify(&bytes, inputs, now_unix),
        EvidenceKind::Simulated => sim::verify(&bytes, inputs.root.as_deref()),
    }
}

/// An **unverified** view of evidence: what it claims, before any signature or collateral check.
/// For display and triage only; never base a trust decision on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    pub platform: PlatformKind,
    /// Quote version (DCAP), report version (SNP) or evidence version (simulation).
    pub version: u32,
    #[serde(with = "hex_bytes")]
    pub measurement: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub report_data: Vec<u8>,
    pub debug: bool,
}

/// Parses evidence (same decoding and bounds as [`verify_evidence`]) without verifying it.
pub fn inspect_evidence(evidence: &[u8]) -> Result<Inspection, AttestError> {
    let bytes = encoding::decode_evidence(evidence)?;
    match encoding::detect(&bytes)? {
        EvidenceKind::DcapQuote => dcap::inspect(&bytes),
        EvidenceKind::SnpReport => snp::inspect(&bytes),
        EvidenceKind::Simulated => sim::inspect(&bytes),
    }
}

/// Detects the evidence type without verifying it (after the same decoding as
/// [`verify_evidence`]).
pub fn detect_evidence(evidence: &[u8]) -> Result<EvidenceKind, AttestError> {
    let bytes = encoding::decode_evidence(evidence)?;
    encoding::detect(&bytes)
}

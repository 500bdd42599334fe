//! Integration tests for arcanum-attestation, on the real external evidence in
//! `shared/testdata/external/{sgx_tdx_dcap,sev_snp}` (each README's verdicts, asserted exactly).

mod bench;
mod dcap;
mod detect;
mod policy;
mod props;
mod report;
mod sim;
mod snp;

use std::path::PathBuf;

use arcanum_attestation::{AttestError, Verdict, VerifyInputs, verify_evidence};

/// `<repo>/../shared/testdata/external`.
pub fn external() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/testdata/external")
}

/// Reads `external()/rel`.
pub fn read(rel: &str) -> Vec<u8> {
    let p = external().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

pub fn read_str(rel: &str) -> String {
    String::from_utf8(read(rel)).expect("utf-8 test file")
}

/// Verifies and returns the error code, panicking if verification succeeded.
pub fn code_of(r: Result<Verdict, AttestError>) -> &'static str {
    match r {
        Ok(v) => panic!("expected a rejection, got {v:?}"),
        Err(e) => e.code(),
    }
}

pub fn verify(evidence: &[u8], inputs: &VerifyInputs, now: u64) -> Result<Verdict, AttestError> {
    verify_evidence(evidence, inputs, now)
}

pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex constant")
}

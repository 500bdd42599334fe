//! Verification-time benchmark per evidence type (SPEC §5 "Evidence verification time per quote
//! type"), on the shared external test data.
//!
//! This module is the crate's only user of the file system and of a timer (`std::time::Instant`);
//! the verification path never calls it.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::sim::{SimEvidence, vendor_key};
use crate::{AttestError, VerifyInputs, verify_evidence};

/// Median verification time per evidence type, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub iterations: usize,
    pub sgx_median_ms: f64,
    pub tdx_median_ms: f64,
    pub sev_snp_median_ms: f64,
    pub simulated_median_ms: f64,
}

/// The evidence sets the bench runs: `(evidence, inputs, now)`.
struct Case {
    evidence: Vec<u8>,
    inputs: VerifyInputs,
    now: u64,
}

fn read(dir: &Path, rel: &str) -> Result<Vec<u8>, AttestError> {
    let path = dir.join(rel);
    std::fs::read(&path).map_err(|e| AttestError::BenchInput {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn cases(dir: &Path) -> Result<[Case; 4], AttestError> {
    let sgx = Case {
        evidence: read(dir, "sgx_tdx_dcap/dcap-qvl/sgx_quote")?,
        inputs: VerifyInputs {
            collateral: Some(read(
                dir,
                "sgx_tdx_dcap/dcap-qvl/sgx_quote_collateral.json",
            )?),
            ..VerifyInputs::default()
        },
        now: 1_752_919_277,
    };
    let tdx = Case {
        evidence: read(dir, "sgx_tdx_dcap/dcap-qvl/tdx_quote")?,
        inputs: VerifyInputs {
            collateral: Some(read(
                dir,
                "sgx_tdx_dcap/dcap-qvl/tdx_quote_collateral.json",
            )?),
            ..VerifyInputs::default()
        },
        now: 1_752_919_234,
    };
    let snp = Case {
        evidence: read(dir, "sev_snp/virtee-sev/report_milan.hex")?,
        inputs: VerifyInputs {
            vcek: Some(read(dir, "sev_snp/virtee-sev/vcek_milan.der")?),
            chain: Some(read(dir, "sev_snp/virtee-sev/cert_chain_milan")?),
            ..VerifyInputs::default()
        },
        now: 1_700_000_000,
    };
    let sim = Case {
        evidence: SimEvidence::new([0x11; 32], [0x22; 64], false).try_sign(&vendor_key())?,
        inputs: VerifyInputs::default(),
        now: 0,
    };
    Ok([sgx, tdx, snp, sim])
}

fn median_ms(case: &Case, iterations: usize) -> Result<f64, AttestError> {
    // One verification outside the timing, which also proves the case verifies.
    verify_evidence(&case.evidence, &case.inputs, case.now)?;
    let mut times: Vec<f64> = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        let r = verify_evidence(&case.evidence, &case.inputs, case.now);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        r?;
    }
    times.sort_by(f64::total_cmp);
    Ok(times.get(times.len() / 2).copied().unwrap_or(0.0))
}

/// Verifies each evidence type `iterations` times (at least once) and reports the medians.
/// `testdata_dir` is the `testdata/external` folder (with `sgx_tdx_dcap/` and `sev_snp/`).
pub fn bench(testdata_dir: &Path, iterations: usize) -> Result<BenchReport, AttestError> {
    let iterations = iterations.max(1);
    let [sgx, tdx, snp, sim] = cases(testdata_dir)?;
    Ok(BenchReport {
        iterations,
        sgx_median_ms: median_ms(&sgx, iterations)?,
        tdx_median_ms: median_ms(&tdx, iterations)?,
        sev_snp_median_ms: median_ms(&snp, iterations)?,
        simulated_median_ms: median_ms(&sim, iterations)?,
    })
}

//! The verification-time bench runs on the shared data and reports every type.

use arcanum_attestation::bench::{BenchReport, bench};

#[test]
fn bench_reports_every_evidence_type() {
    let r = bench(&crate::external(), 3).expect("bench inputs verify");
    assert_eq!(r.iterations, 3);
    for (name, ms) in [
        ("sgx", r.sgx_median_ms),
        ("tdx", r.tdx_median_ms),
        ("sev-snp", r.sev_snp_median_ms),
        ("simulated", r.simulated_median_ms),
    ] {
        assert!(ms.is_finite() && ms > 0.0, "{name}: {ms}");
    }
    let json = serde_json::to_value(&r).expect("json");
    for key in [
        "sgx_median_ms",
        "tdx_median_ms",
        "sev_snp_median_ms",
        "simulated_median_ms",
    ] {
        assert!(json[key].is_number(), "{key}");
    }
    let back: BenchReport = serde_json::from_value(json).expect("json");
    assert_eq!(back, r);
    eprintln!("{}", serde_json::to_string(&r).unwrap_or_default());
}

#[test]
fn bench_with_missing_data_is_an_error() {
    let e = bench(std::path::Path::new("/nonexistent"), 1).expect_err("no data");
    assert_eq!(e.code(), "BENCH_INPUT");
}

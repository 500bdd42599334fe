//! Attestation policy: loading, validation and every rejection code.

use std::collections::BTreeMap;

use arcanum_attestation::policy::tcb_rank;
use arcanum_attestation::{AttestationPolicy, PlatformKind, Verdict};

fn verdict(platform: PlatformKind, tcb: &str, debug: bool) -> Verdict {
    Verdict {
        platform,
        measurement: vec![0xAA; 32],
        report_data: vec![0; 64],
        tcb_status: tcb.into(),
        advisories: vec![],
        debug,
        is_secure: platform != PlatformKind::Simulated && !debug,
        extra: BTreeMap::new(),
    }
}

fn code(p: &AttestationPolicy, v: &Verdict) -> Result<(), &'static str> {
    p.check(v).map_err(|e| e.code())
}

#[test]
fn loads_from_toml_and_json_with_strict_defaults() {
    let p: AttestationPolicy = toml::from_str(
        r#"
        allowed_measurements = ["0xAAAA", "bbbb"]
        min_tcb_status = "SWHardeningNeeded"
        allow_debug = true
        expected_product = "Milan"
        "#,
    )
    .expect("toml");
    assert_eq!(p.allowed_measurements, vec!["0xAAAA", "bbbb"]);
    assert_eq!(p.min_tcb_status, "SWHardeningNeeded");
    assert!(p.allow_debug);
    assert!(!p.allow_simulation);
    assert_eq!(p.expected_product.as_deref(), Some("Milan"));
    let j: AttestationPolicy =
        serde_json::from_str(&serde_json::to_string(&p).expect("json")).expect("json");
    assert_eq!(j, p);
    let d: AttestationPolicy = serde_json::from_str("{}").expect("json");
    assert_eq!(d, AttestationPolicy::default());
    assert_eq!(d.min_tcb_status, "UpToDate");
    assert!(!d.allow_debug && !d.allow_simulation && d.allowed_measurements.is_empty());
    assert!(serde_json::from_str::<AttestationPolicy>(r#"{"allow_debg":true}"#).is_err());
}

#[test]
fn invalid_policies_are_refused() {
    let v = verdict(PlatformKind::Sgx, "UpToDate", false);
    let p = AttestationPolicy {
        min_tcb_status: "Great".into(),
        ..AttestationPolicy::default()
    };
    assert_eq!(code(&p, &v), Err("POLICY_INVALID"));
    let p = AttestationPolicy {
        allowed_measurements: vec!["xyz".into()],
        ..AttestationPolicy::default()
    };
    assert_eq!(code(&p, &v), Err("POLICY_INVALID"));
}

#[test]
fn simulation_needs_explicit_permission() {
    let v = verdict(PlatformKind::Simulated, "Simulated", false);
    assert_eq!(
        code(&AttestationPolicy::default(), &v),
        Err("SIMULATION_NOT_ALLOWED")
    );
    let p = AttestationPolicy {
        allow_simulation: true,
        ..AttestationPolicy::default()
    };
    assert_eq!(code(&p, &v), Ok(()));
    // Allowed simulation is still subject to debug and measurement rules.
    assert_eq!(
        code(&p, &verdict(PlatformKind::Simulated, "Simulated", true)),
        Err("DEBUG_NOT_ALLOWED")
    );
    let pm = AttestationPolicy {
        allowed_measurements: vec!["bb".repeat(32)],
        ..p
    };
    assert_eq!(code(&pm, &v), Err("MEASUREMENT_NOT_ALLOWED"));
}

#[test]
fn debug_measurement_and_tcb() {
    let p = AttestationPolicy::default();
    assert_eq!(
        code(&p, &verdict(PlatformKind::Tdx, "UpToDate", true)),
        Err("DEBUG_NOT_ALLOWED")
    );
    assert_eq!(
        code(&p, &verdict(PlatformKind::Tdx, "UpToDate", false)),
        Ok(())
    );
    let pm = AttestationPolicy {
        allowed_measurements: vec!["0x".to_string() + &"AA".repeat(32)],
        ..p.clone()
    };
    assert_eq!(
        code(&pm, &verdict(PlatformKind::Sgx, "UpToDate", false)),
        Ok(())
    );
    let mut other = verdict(PlatformKind::Sgx, "UpToDate", false);
    other.measurement = vec![0xAB; 32];
    assert_eq!(code(&pm, &other), Err("MEASUREMENT_NOT_ALLOWED"));

    let statuses = [
        "UpToDate",
        "SWHardeningNeeded",
        "ConfigurationAndSWHardeningNeeded",
        "ConfigurationNeeded",
        "OutOfDate",
        "OutOfDateConfigurationNeeded",
        "Revoked",
    ];
    for min in statuses {
        let p = AttestationPolicy {
            min_tcb_status: min.into(),
            ..AttestationPolicy::default()
        };
        for s in statuses {
            let expect = if tcb_rank(s) >= tcb_rank(min) {
                Ok(())
            } else {
                Err("TCB_TOO_LOW")
            };
            assert_eq!(
                code(&p, &verdict(PlatformKind::Sgx, s, false)),
                expect,
                "min {min}, status {s}"
            );
        }
        assert_eq!(
            code(&p, &verdict(PlatformKind::Sgx, "Weird", false)),
            Err("TCB_TOO_LOW")
        );
    }
    assert!(tcb_rank("UpToDate") > tcb_rank("SWHardeningNeeded"));
    assert!(tcb_rank("SWHardeningNeeded") > tcb_rank("ConfigurationNeeded"));
    assert_eq!(
        tcb_rank("ConfigurationNeeded"),
        tcb_rank("ConfigurationAndSWHardeningNeeded")
    );
    assert!(tcb_rank("ConfigurationNeeded") > tcb_rank("OutOfDate"));
    assert!(tcb_rank("OutOfDate") > tcb_rank("OutOfDateConfigurationNeeded"));
}

#[test]
fn expected_product_applies_to_snp_only() {
    let p = AttestationPolicy {
        expected_product: Some("Milan".into()),
        ..AttestationPolicy::default()
    };
    assert_eq!(
        code(&p, &verdict(PlatformKind::Sgx, "UpToDate", false)),
        Ok(())
    );
    let mut snp = verdict(PlatformKind::SevSnp, "UpToDate", false);
    assert_eq!(code(&p, &snp), Err("PRODUCT_MISMATCH"));
    snp.extra.insert("product_name".into(), "Genoa-B1".into());
    assert_eq!(code(&p, &snp), Err("PRODUCT_MISMATCH"));
    let genoa = AttestationPolicy {
        expected_product: Some("Genoa-1".into()),
        ..p
    };
    assert_eq!(code(&genoa, &snp), Ok(()));
}

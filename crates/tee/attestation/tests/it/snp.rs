//! Every verdict of `sev_snp/README.md`.

use arcanum_attestation::snp::verify_vcek_chain;
use arcanum_attestation::{AttestationPolicy, PlatformKind, Verdict, VerifyInputs};

use crate::{code_of, read, verify};

const VIR: &str = "sev_snp/virtee-sev";
const GO: &str = "sev_snp/go-sev-guest";
/// 2023-11-14, inside every certificate's validity.
const NOW: u64 = 1_700_000_000;
/// 2022-09-24T01:00:00Z (go-sev-guest's chain check time).
const GO_NOW: u64 = 1_663_981_200;

fn milan() -> (Vec<u8>, VerifyInputs) {
    (
        read(&format!("{VIR}/report_milan.hex")),
        VerifyInputs {
            vcek: Some(read(&format!("{VIR}/vcek_milan.der"))),
            ..VerifyInputs::default()
        },
    )
}

fn go() -> (Vec<u8>, VerifyInputs) {
    (
        read(&format!("{GO}/attestation.bin")),
        VerifyInputs {
            vcek: Some(read(&format!("{GO}/vcek.testcer"))),
            chain: Some(read(&format!("{GO}/ask_ark_milan.pem"))),
            ..VerifyInputs::default()
        },
    )
}

fn ok(v: Result<Verdict, arcanum_attestation::AttestError>) -> Verdict {
    v.unwrap_or_else(|e| panic!("expected a valid verdict, got {} ({e})", e.code()))
}

#[test]
fn virtee_milan_report_is_valid() {
    let (r, inputs) = milan();
    let v = ok(verify(&r, &inputs, NOW));
    assert_eq!(v.platform, PlatformKind::SevSnp);
    assert_eq!(v.tcb_status, "UpToDate");
    assert!(v.advisories.is_empty());
    assert_eq!(
        hex::encode(&v.measurement),
        "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f"
    );
    assert_eq!(
        hex::encode(&v.report_data),
        "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd"
    );
    assert_eq!(
        v.extra["chip_id"],
        "d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6"
    );
    assert_eq!(v.extra["policy"], "0x30000");
    assert_eq!(v.extra["reported_tcb"], "0300000000000873");
    assert_eq!(v.extra["product"], "Milan");
    assert_eq!(v.extra["product_name"], "Milan-B0");
    assert_eq!(v.extra["stepping_number"], "0");
    assert_eq!(v.extra["vmpl"], "0");
    assert_eq!(v.extra["report_version"], "2");
    assert_eq!(v.extra["vcek_serial"], "00");
    assert!(!v.debug);
    assert!(v.is_secure);
    // With the KDS cert_chain, and with the Milan ARK as explicit root: same verdict.
    let with_chain = VerifyInputs {
        chain: Some(read(&format!("{VIR}/cert_chain_milan"))),
        ..inputs.clone()
    };
    assert_eq!(ok(verify(&r, &with_chain, NOW)), v);
    let with_root = VerifyInputs {
        root: Some(read(&format!("{VIR}/builtin_milan_ark.pem"))),
        ..with_chain
    };
    assert_eq!(ok(verify(&r, &with_root, NOW)), v);
    // The virtee report passes a no-debug policy.
    assert_eq!(AttestationPolicy::default().check(&v), Ok(()));
}

#[test]
fn vcek_chains_verify_and_serial_zero_parses() {
    let milan = verify_vcek_chain(&read(&format!("{VIR}/vcek_milan.der")), None, None, NOW)
        .expect("milan_chain");
    assert_eq!(milan.product_name, "Milan-B0");
    assert_eq!(milan.serial_hex, "00");
    assert_eq!(
        (milan.bl_spl, milan.tee_spl, milan.snp_spl, milan.ucode_spl),
        (3, 0, 8, 115)
    );
    assert_eq!(milan.hwid.len(), 64);
    // milan_ca_stack / turin_ca_stack.
    let chain = read(&format!("{VIR}/cert_chain_milan"));
    assert!(
        verify_vcek_chain(
            &read(&format!("{VIR}/vcek_milan.der")),
            Some(&chain),
            None,
            NOW
        )
        .is_ok()
    );
    let turin_chain = read(&format!("{VIR}/cert_chain_turin"));
    let turin = verify_vcek_chain(
        &read(&format!("{VIR}/vcek_turin.der")),
        Some(&turin_chain),
        None,
        1_740_000_000,
    )
    .expect("turin_ca_stack");
    assert_eq!(turin.product_name, "Turin");
    assert_eq!(turin.hwid, hex::decode("1e550a8ee5cf9f4d").expect("hex"));
    assert_eq!(turin.fmc_spl, Some(0));
    assert_eq!(turin.ucode_spl, 9);
    // Built-in Turin chain.
    assert!(
        verify_vcek_chain(
            &read(&format!("{VIR}/vcek_turin.der")),
            None,
            None,
            1_740_000_000
        )
        .is_ok()
    );
    // go-sev-guest's VCEK at its test time: chain of 3 (VCEK, ASK, ARK).
    let g = verify_vcek_chain(
        &read(&format!("{GO}/vcek.testcer")),
        Some(&read(&format!("{GO}/ask_ark_milan.pem"))),
        None,
        GO_NOW,
    )
    .expect("go chain");
    assert_eq!((g.bl_spl, g.tee_spl, g.snp_spl, g.ucode_spl), (2, 0, 5, 68));
    // The Turin chain served by go-sev-guest is the same as virtee's.
    assert_eq!(read(&format!("{GO}/ask_ark_turin_vcek.pem")), turin_chain);
}

#[test]
fn tampered_vcek_fails_the_chain() {
    let mut vcek = read(&format!("{VIR}/vcek_milan.der"));
    vcek[40] ^= 0xff;
    let e = verify_vcek_chain(&vcek, None, None, NOW).expect_err("milan_chain_invalid");
    // Byte 40 is inside the TBS certificate; the certificate still parses, so its signature fails.
    assert_eq!(e.code(), "CERT_CHAIN_INVALID", "{e}");
    let (r, mut inputs) = milan();
    inputs.vcek = Some(vcek);
    assert_eq!(code_of(verify(&r, &inputs, NOW)), "CERT_CHAIN_INVALID");
}

#[test]
fn tampered_report_is_rejected() {
    let (r, inputs) = milan();
    let mut raw = hex::decode(String::from_utf8(r).expect("ascii").trim()).expect("hex");
    assert_eq!(raw.len(), 1184);
    raw[21] ^= 0x80;
    assert_eq!(
        code_of(verify(&raw, &inputs, NOW)),
        "REPORT_SIGNATURE_INVALID"
    );
    raw[21] ^= 0x80;
    assert!(verify(&raw, &inputs, NOW).is_ok());
    // Signature bytes, including the zero upper half of r.
    for at in [0x2A0, 0x2A0 + 71, 0x2E8 + 5] {
        let mut m = raw.clone();
        m[at] ^= 0x01;
        assert_eq!(
            code_of(verify(&m, &inputs, NOW)),
            "REPORT_SIGNATURE_INVALID",
            "byte {at:#x}"
        );
    }
}

#[test]
fn cross_paired_vceks_and_chains_are_rejected() {
    // Milan VCEK under the Turin or Genoa ASK/ARK.
    let (r, inputs) = milan();
    for chain in [
        format!("{VIR}/cert_chain_turin"),
        format!("{GO}/ask_ark_genoa.pem"),
    ] {
        let i = VerifyInputs {
            chain: Some(read(&chain)),
            ..inputs.clone()
        };
        assert_eq!(
            code_of(verify(&r, &i, NOW)),
            "CERT_CHAIN_INVALID",
            "{chain}"
        );
    }
    // Report and VCEK from different chips.
    let i = VerifyInputs {
        vcek: Some(read(&format!("{GO}/vcek.testcer"))),
        ..inputs.clone()
    };
    assert_eq!(code_of(verify(&r, &i, NOW)), "REPORT_SIGNATURE_INVALID");
    let (g, gi) = go();
    let i = VerifyInputs {
        vcek: Some(read(&format!("{VIR}/vcek_milan.der"))),
        ..gi
    };
    assert_eq!(code_of(verify(&g, &i, NOW)), "REPORT_SIGNATURE_INVALID");
}

#[test]
fn foreign_root_is_untrusted() {
    let (r, mut inputs) = milan();
    inputs.root = Some(read(&format!("{VIR}/builtin_genoa_ark.pem")));
    assert_eq!(code_of(verify(&r, &inputs, NOW)), "UNTRUSTED_ROOT");
    inputs.root = Some(b"junk".to_vec());
    assert_eq!(code_of(verify(&r, &inputs, NOW)), "TRUST_ANCHOR_INVALID");
}

#[test]
fn certificate_validity_is_enforced() {
    let (r, inputs) = milan();
    // VCEK valid 2023-04-03T19:23:43Z .. 2030-04-03T19:23:43Z.
    assert_eq!(
        code_of(verify(&r, &inputs, 1_680_549_822)),
        "CERT_NOT_YET_VALID"
    );
    assert!(verify(&r, &inputs, 1_680_549_823).is_ok());
    assert_eq!(code_of(verify(&r, &inputs, 1_901_474_624)), "CERT_EXPIRED");
    assert_eq!(
        code_of(verify(&r, &VerifyInputs::default(), NOW)),
        "MISSING_COLLATERAL"
    );
}

#[test]
fn go_sev_guest_debug_report_is_valid_and_policy_rejects_debug() {
    let (g, inputs) = go();
    let v = ok(verify(&g, &inputs, GO_NOW));
    assert_eq!(v.platform, PlatformKind::SevSnp);
    assert_eq!(v.tcb_status, "UpToDate");
    assert!(v.debug);
    assert!(!v.is_secure);
    assert_eq!(v.extra["policy"], "0xb0000");
    assert_eq!(v.extra["reported_tcb"], "0200000000000544");
    assert_eq!(
        hex::encode(&v.measurement),
        "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"
    );
    let mut rd = vec![1u8, 2, 3, 4, 5];
    rd.resize(64, 0);
    assert_eq!(v.report_data, rd);
    assert_eq!(
        v.extra["chip_id"],
        "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d"
    );
    // A no-debug policy rejects it; allowing debug accepts it.
    assert_eq!(
        AttestationPolicy::default().check(&v).map_err(|e| e.code()),
        Err("DEBUG_NOT_ALLOWED")
    );
    let debug_ok = AttestationPolicy {
        allow_debug: true,
        ..AttestationPolicy::default()
    };
    assert_eq!(debug_ok.check(&v), Ok(()));
    // Product Milan, stepping 0 (happy path); expected stepping 12 rejects.
    for expected in ["Milan", "Milan-0", "Milan-B0", "milan"] {
        let p = AttestationPolicy {
            expected_product: Some(expected.into()),
            ..debug_ok.clone()
        };
        assert_eq!(p.check(&v), Ok(()), "{expected}");
    }
    for expected in ["Milan-12", "Genoa", "Milan-B1", "Turin-0"] {
        let p = AttestationPolicy {
            expected_product: Some(expected.into()),
            ..debug_ok.clone()
        };
        assert_eq!(
            p.check(&v).map_err(|e| e.code()),
            Err("PRODUCT_MISMATCH"),
            "{expected}"
        );
    }
    // At NOW too (the VCEK is valid 2022-09-24..2029-09-24).
    assert!(verify(&g, &inputs, NOW).is_ok());
}

#[test]
fn truncated_and_oversized_reports() {
    let raw = read(&format!("{GO}/attestation.bin"));
    let (_, inputs) = go();
    for len in [0x38, 0x100, 1183] {
        assert_eq!(
            code_of(verify(&raw[..len], &inputs, GO_NOW)),
            "EVIDENCE_TRUNCATED",
            "len {len}"
        );
    }
    let mut long = raw.clone();
    long.push(0);
    assert_eq!(
        code_of(verify(&long, &inputs, GO_NOW)),
        "EVIDENCE_MALFORMED"
    );
    let mut v9 = raw.clone();
    v9[0] = 4;
    assert_eq!(
        code_of(verify(&v9, &inputs, GO_NOW)),
        "UNSUPPORTED_EVIDENCE"
    );
}

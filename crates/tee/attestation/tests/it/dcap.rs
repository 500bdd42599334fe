//! Every verdict of `sgx_tdx_dcap/README.md`.

use arcanum_attestation::dcap::INTEL_SGX_ROOT_CA_DER;
use arcanum_attestation::{PlatformKind, Verdict, VerifyInputs, inspect_evidence};
use sha2::{Digest, Sha256};

use crate::{code_of, read, read_str, unhex, verify};

const QVL: &str = "sgx_tdx_dcap/dcap-qvl";
const AUT: &str = "sgx_tdx_dcap/automata";
const INTEL: &str = "sgx_tdx_dcap/intel-qvl-sample-sgx";

fn set(quote: &str, collateral: &str) -> (Vec<u8>, VerifyInputs) {
    (
        read(quote),
        VerifyInputs {
            collateral: Some(read(collateral)),
            ..VerifyInputs::default()
        },
    )
}

fn sgx_quote() -> (Vec<u8>, VerifyInputs) {
    set(
        &format!("{QVL}/sgx_quote"),
        &format!("{QVL}/sgx_quote_collateral.json"),
    )
}
fn tdx_quote() -> (Vec<u8>, VerifyInputs) {
    set(
        &format!("{QVL}/tdx_quote"),
        &format!("{QVL}/tdx_quote_collateral.json"),
    )
}
fn near_quote() -> (Vec<u8>, VerifyInputs) {
    set(
        &format!("{QVL}/near_quote_hex.txt"),
        &format!("{QVL}/near_quote_collateral.json"),
    )
}

fn ok(v: Result<Verdict, arcanum_attestation::AttestError>) -> Verdict {
    v.unwrap_or_else(|e| panic!("expected a valid verdict, got {} ({e})", e.code()))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn embedded_root_is_intels_production_root() {
    assert_eq!(
        hex::encode(Sha256::digest(INTEL_SGX_ROOT_CA_DER)),
        "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"
    );
    assert_eq!(
        INTEL_SGX_ROOT_CA_DER,
        read(&format!("{AUT}/intel_sgx_root_ca.der")).as_slice()
    );
}

#[test]
fn dcap_qvl_sgx_quote_is_configuration_and_sw_hardening_needed() {
    let (q, inputs) = sgx_quote();
    let v = ok(verify(&q, &inputs, 1_752_919_277));
    assert_eq!(v.platform, PlatformKind::Sgx);
    assert_eq!(v.tcb_status, "ConfigurationAndSWHardeningNeeded");
    assert_eq!(v.advisories, strings(&["INTEL-SA-00289", "INTEL-SA-00615"]));
    assert_eq!(
        hex::encode(&v.measurement),
        "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"
    );
    assert_eq!(
        v.extra["mrsigner"],
        "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6"
    );
    assert_eq!(v.extra["isv_prod_id"], "0");
    assert_eq!(v.extra["isv_svn"], "0");
    assert_eq!(v.extra["attributes"], "0500000000000000e700000000000000");
    assert_eq!(v.extra["fmspc"], "00a067110000");
    assert_eq!(v.extra["qe_tcb_status"], "UpToDate");
    let mut rd = b"Hello, world!".to_vec();
    rd.resize(64, 0);
    assert_eq!(v.report_data, rd);
    assert!(!v.debug);
    assert!(v.is_secure);
    // Same bytes given as hex.
    let v2 = ok(verify(hex::encode(&q).as_bytes(), &inputs, 1_752_919_277));
    assert_eq!(v2, v);
}

#[test]
fn dcap_qvl_tdx_quote_is_up_to_date() {
    let (q, inputs) = tdx_quote();
    let v = ok(verify(&q, &inputs, 1_752_919_234));
    assert_eq!(v.platform, PlatformKind::Tdx);
    assert_eq!(v.tcb_status, "UpToDate");
    assert!(v.advisories.is_empty());
    assert_eq!(
        hex::encode(&v.measurement),
        "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"
    );
    assert_eq!(
        v.extra["mrseam"],
        "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1"
    );
    assert_eq!(v.extra["td_attributes"], "0000001000000000");
    assert_eq!(v.extra["fmspc"], "b0c06f000000");
    assert!(v.extra["tee_tcb_svn"].starts_with("06010300"));
    assert_eq!(
        hex::encode(&v.report_data),
        "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20"
    );
    assert!(!v.debug);
}

#[test]
fn dcap_qvl_tdx_quote_v5_outdated_has_no_matching_tcb_level() {
    let (q, inputs) = set(
        &format!("{QVL}/tdx_quote_outdated"),
        &format!("{QVL}/tdx_quote_outdated_collateral.json"),
    );
    assert_eq!(
        code_of(verify(&q, &inputs, 1_774_003_274)),
        "TCB_LEVEL_NOT_FOUND"
    );
    let i = inspect_evidence(&q).expect("parses");
    assert_eq!(i.version, 5);
    assert_eq!(
        hex::encode(&i.measurement),
        "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd"
    );
}

#[test]
fn near_quote_hex_in_json_string_is_up_to_date() {
    let (q, inputs) = near_quote();
    let v = ok(verify(&q, &inputs, 1_759_388_630));
    assert_eq!(v.platform, PlatformKind::Tdx);
    assert_eq!(v.tcb_status, "UpToDate");
    assert!(v.advisories.is_empty());
    assert_eq!(
        hex::encode(&v.measurement),
        "f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7a4a13e14c536ec6c9c3c8fa87077"
    );
    assert_eq!(v.extra["fmspc"], "20a06f000000");
    assert_ne!(v.extra["mrconfigid"], "0".repeat(96));
    // Wrapped as a JSON string, and with 0x.
    let quoted = format!("\"{}\"", String::from_utf8_lossy(&q).trim());
    assert_eq!(ok(verify(quoted.as_bytes(), &inputs, 1_759_388_630)), v);
}

#[test]
fn parse_only_quotes() {
    for (file, prefix, suffix) in [
        ("tdx-quote.hex", "7ba9e262", "05bb29"),
        ("quote-from-tappd.hex", "c68518a0", "0e91fd"),
    ] {
        let q = read(&format!("{QVL}/{file}"));
        let i = inspect_evidence(&q).expect("parses");
        assert_eq!(i.platform, PlatformKind::Tdx, "{file}");
        assert_eq!(i.version, 4);
        let m = hex::encode(&i.measurement);
        assert!(m.starts_with(prefix) && m.ends_with(suffix), "{file}: {m}");
        // No collateral: refused with a precise code.
        assert_eq!(
            code_of(verify(&q, &VerifyInputs::default(), 1_752_919_234)),
            "MISSING_COLLATERAL"
        );
        // Collateral for another FMSPC: the TCB info does not describe this platform.
        let (_, inputs) = near_quote();
        assert_eq!(
            code_of(verify(&q, &inputs, 1_759_388_630)),
            "TCB_INFO_MISMATCH",
            "{file}"
        );
        // Collateral for the same FMSPC (b0c06f000000, like `tdx_quote`): the chain and
        // signatures verify, but the platform meets none of its TCB levels.
        let (_, inputs) = tdx_quote();
        assert_eq!(
            code_of(verify(&q, &inputs, 1_752_919_234)),
            "TCB_LEVEL_NOT_FOUND",
            "{file}"
        );
    }
    let i = inspect_evidence(&read(&format!("{AUT}/quotev5.dat"))).expect("parses");
    assert_eq!((i.platform, i.version), (PlatformKind::Tdx, 5));
    assert_eq!(
        hex::encode(&i.measurement),
        "157768a71a6a31f5561978c4cde665809d22976ef5dead2952839b7b3ea23b6c2931c9148fe1d117c99faefac18bb73b"
    );
}

#[test]
fn automata_quotev3_is_sw_hardening_needed() {
    let (q, inputs) = set(
        &format!("{AUT}/quotev3.hex"),
        &format!("{AUT}/DERIVED_collateral_quotev3_0825.json"),
    );
    let v = ok(verify(&q, &inputs, 1_755_236_700));
    assert_eq!(v.platform, PlatformKind::Sgx);
    assert_eq!(v.tcb_status, "SWHardeningNeeded");
    assert_eq!(v.advisories, strings(&["INTEL-SA-00615"]));
    assert_eq!(v.extra["qe_tcb_status"], "UpToDate");
    assert_eq!(
        hex::encode(&v.measurement),
        "a4f45c39dac622cb1dd32ddb35a52ec92db41d0fa88a1c911c49e59c534f61cd"
    );
    assert_eq!(
        v.extra["mrsigner"],
        "8f2dbc0f9c5d3378d596974b2deed1f93223cc49242899f83809bcc92546132c"
    );
    assert_eq!(v.extra["fmspc"], "00606a000000");
    assert_eq!(v.report_data, vec![0u8; 64]);
    // Inside the window too.
    assert!(verify(&q, &inputs, 1_755_236_486).is_ok());
    assert!(verify(&q, &inputs, 1_757_824_606).is_ok());
    // Two minutes before the PCK CRL's thisUpdate: this verifier checks thisUpdate.
    assert_eq!(
        code_of(verify(&q, &inputs, 1_755_236_400)),
        "COLLATERAL_NOT_YET_VALID"
    );
}

#[test]
fn automata_quotev4_with_zero_padding_is_out_of_date() {
    let advisories = strings(&["INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"]);
    for (coll, now) in [
        ("DERIVED_collateral_quotev4_0625.json", 1_749_095_100),
        ("DERIVED_collateral_quotev4_1025.json", 1_761_289_818),
    ] {
        let (q, inputs) = set(&format!("{AUT}/quotev4.hex"), &format!("{AUT}/{coll}"));
        let v = ok(verify(&q, &inputs, now));
        assert_eq!(v.platform, PlatformKind::Tdx);
        assert_eq!(v.tcb_status, "OutOfDate", "{coll}");
        assert_eq!(v.advisories, advisories, "{coll}");
        assert_eq!(
            hex::encode(&v.measurement),
            "935be7742dd89c6a4df6dba8353d89041ae0f052beef993b1e7f4524d3bc57650df20e5582158352e1240b3f1fed55d8"
        );
        assert_eq!(v.extra["trailing_zero_padding"], "3065");
        assert!(v.extra["tee_tcb_svn"].starts_with("04010700"));
    }
}

#[test]
fn trailing_non_zero_bytes_are_rejected() {
    let (q, inputs) = set(
        &format!("{AUT}/quotev4.hex"),
        &format!("{AUT}/DERIVED_collateral_quotev4_0625.json"),
    );
    let mut raw = unhex(std::str::from_utf8(&q).expect("ascii").trim());
    assert_eq!(raw.len(), 8000);
    *raw.last_mut().expect("non-empty") = 1;
    assert_eq!(
        code_of(verify(&raw, &inputs, 1_749_095_100)),
        "EVIDENCE_MALFORMED"
    );
    // The exact 4935-byte quote, without padding, verifies the same.
    raw.truncate(4935);
    let v = ok(verify(&raw, &inputs, 1_749_095_100));
    assert_eq!(v.tcb_status, "OutOfDate");
    assert!(!v.extra.contains_key("trailing_zero_padding"));
}

/// Collateral in dcap-qvl's format built from Intel's QVL sample files (PCS JSON cut
/// byte-exactly); the PCK chain, which the quote does not carry (cert type 1), goes in
/// `pck_certificate_chain`.
fn intel_sample_collateral(with_pck_chain: bool) -> Vec<u8> {
    fn cut(pcs: &str, key: &str) -> (String, String) {
        let prefix = format!("{{\"{key}\":");
        let end = pcs.rfind(",\"signature\":").expect("signature");
        assert!(pcs.starts_with(&prefix));
        let body = pcs[prefix.len()..end].to_string();
        let v: serde_json::Value = serde_json::from_str(pcs).expect("json");
        (body, v["signature"].as_str().expect("sig").to_string())
    }
    let (tcb, tcb_sig) = cut(read_str(&format!("{INTEL}/tcbInfo.json")).trim(), "tcbInfo");
    let (qe, qe_sig) = cut(
        read_str(&format!("{INTEL}/qeIdentity.json")).trim(),
        "enclaveIdentity",
    );
    let tcb_chain = read_str(&format!("{INTEL}/tcbSignChain.pem"));
    let mut c = serde_json::json!({
        "pck_crl_issuer_chain": read_str(&format!("{INTEL}/pckSignChain.pem")),
        "root_ca_crl": hex::encode(read(&format!("{INTEL}/rootCaCrl.der"))),
        "pck_crl": hex::encode(read(&format!("{INTEL}/intermediateCaCrl.der"))),
        "tcb_info_issuer_chain": tcb_chain,
        "tcb_info": tcb,
        "tcb_info_signature": tcb_sig,
        "qe_identity_issuer_chain": tcb_chain,
        "qe_identity": qe,
        "qe_identity_signature": qe_sig,
    });
    if with_pck_chain {
        c["pck_certificate_chain"] = (read_str(&format!("{INTEL}/pckCert.pem"))
            + &read_str(&format!("{INTEL}/pckSignChain.pem")))
            .into();
    }
    serde_json::to_vec(&c).expect("json")
}

#[test]
fn intel_qvl_sample_is_up_to_date_under_its_test_root() {
    let q = read(&format!("{INTEL}/quote.dat"));
    let root = read(&format!("{INTEL}/trustedRootCaCert.pem"));
    let inputs = VerifyInputs {
        collateral: Some(intel_sample_collateral(true)),
        root: Some(root.clone()),
        ..VerifyInputs::default()
    };
    for now in [1_700_000_000, 1_567_669_628, 1_787_917_015] {
        let v = ok(verify(&q, &inputs, now));
        assert_eq!(v.platform, PlatformKind::Sgx);
        assert_eq!(v.tcb_status, "UpToDate");
        assert!(v.advisories.is_empty());
        assert_eq!(v.measurement, vec![0u8; 32]);
        assert_eq!(v.extra["mrsigner"], "0".repeat(64));
        assert_eq!(v.report_data, vec![0u8; 64]);
        assert_eq!(v.extra["qe_tcb_status"], "UpToDate");
        assert_eq!(v.extra["pce_svn"], "3");
    }
    // Past the TCB signing certificate's notAfter.
    assert_eq!(code_of(verify(&q, &inputs, 1_787_917_016)), "CERT_EXPIRED");
    // The PCK chain may also come through `VerifyInputs::chain`.
    let via_chain = VerifyInputs {
        collateral: Some(intel_sample_collateral(false)),
        chain: Some(
            [
                read(&format!("{INTEL}/pckCert.pem")),
                read(&format!("{INTEL}/pckSignChain.pem")),
            ]
            .concat(),
        ),
        root: Some(root),
        ..VerifyInputs::default()
    };
    assert_eq!(
        ok(verify(&q, &via_chain, 1_700_000_000)).tcb_status,
        "UpToDate"
    );
    let no_chain = VerifyInputs {
        chain: None,
        ..via_chain
    };
    assert_eq!(
        code_of(verify(&q, &no_chain, 1_700_000_000)),
        "MISSING_COLLATERAL"
    );
}

#[test]
fn intel_qvl_sample_under_the_production_root_is_untrusted() {
    let q = read(&format!("{INTEL}/quote.dat"));
    for root in [None, Some(INTEL_SGX_ROOT_CA_DER.to_vec())] {
        let inputs = VerifyInputs {
            collateral: Some(intel_sample_collateral(true)),
            root,
            ..VerifyInputs::default()
        };
        assert_eq!(
            code_of(verify(&q, &inputs, 1_700_000_000)),
            "UNTRUSTED_ROOT"
        );
    }
}

#[test]
fn real_quotes_under_the_intel_test_root_are_untrusted() {
    let (q, mut inputs) = sgx_quote();
    inputs.root = Some(read(&format!("{INTEL}/trustedRootCaCert.pem")));
    assert_eq!(
        code_of(verify(&q, &inputs, 1_752_919_277)),
        "UNTRUSTED_ROOT"
    );
    inputs.root = Some(b"not a certificate".to_vec());
    assert_eq!(
        code_of(verify(&q, &inputs, 1_752_919_277)),
        "TRUST_ANCHOR_INVALID"
    );
}

#[test]
fn collateral_time_window_is_enforced() {
    const DAY: u64 = 86_400;
    for ((q, inputs), start, end) in [
        (sgx_quote(), 1_750_330_571, 1_752_919_278),
        (tdx_quote(), 1_750_329_147, 1_752_919_235),
        (near_quote(), 1_756_798_919, 1_759_388_631),
    ] {
        assert!(verify(&q, &inputs, start).is_ok());
        assert!(verify(&q, &inputs, end).is_ok());
        assert_eq!(
            code_of(verify(&q, &inputs, start - 40 * DAY)),
            "COLLATERAL_NOT_YET_VALID"
        );
        assert_eq!(
            code_of(verify(&q, &inputs, end + DAY)),
            "COLLATERAL_EXPIRED"
        );
        assert_eq!(code_of(verify(&q, &inputs, 1_790_000_000)), "CRL_EXPIRED");
    }
}

fn flip(q: &[u8], at: usize) -> Vec<u8> {
    let mut m = q.to_vec();
    m[at] ^= 0x01;
    m
}

#[test]
fn tampered_quotes_are_rejected() {
    let (q, inputs) = sgx_quote();
    let now = 1_752_919_277;
    // Header (QE SVN) and body bytes (MRENCLAVE, report data): quote signature.
    for at in [8, 48 + 64, 48 + 320, 48 + 383] {
        assert_eq!(
            code_of(verify(&flip(&q, at), &inputs, now)),
            "QUOTE_SIGNATURE_INVALID",
            "byte {at}"
        );
    }
    // The signature itself (after the 4-byte length at 432).
    assert_eq!(
        code_of(verify(&flip(&q, 436), &inputs, now)),
        "QUOTE_SIGNATURE_INVALID"
    );
    assert_eq!(
        code_of(verify(&flip(&q, 436 + 63), &inputs, now)),
        "QUOTE_SIGNATURE_INVALID"
    );
    // The attestation key: the QE report no longer commits to it.
    assert_eq!(
        code_of(verify(&flip(&q, 436 + 64), &inputs, now)),
        "QE_REPORT_DATA_MISMATCH"
    );
    // The QE report: its PCK signature.
    assert_eq!(
        code_of(verify(&flip(&q, 436 + 128 + 64), &inputs, now)),
        "QE_REPORT_SIGNATURE_INVALID"
    );
    // The TDX quote: TD report bytes (MRTD, report data).
    let (t, tin) = tdx_quote();
    for at in [48 + 136, 48 + 520] {
        assert_eq!(
            code_of(verify(&flip(&t, at), &tin, 1_752_919_234)),
            "QUOTE_SIGNATURE_INVALID"
        );
    }
}

fn edit_collateral(inputs: &VerifyInputs, f: impl FnOnce(&mut serde_json::Value)) -> VerifyInputs {
    let mut c: serde_json::Value =
        serde_json::from_slice(inputs.collateral.as_deref().expect("collateral")).expect("json");
    f(&mut c);
    VerifyInputs {
        collateral: Some(serde_json::to_vec(&c).expect("json")),
        ..inputs.clone()
    }
}

#[test]
fn tampered_collateral_is_rejected() {
    let (q, inputs) = sgx_quote();
    let now = 1_752_919_277;
    let edited = edit_collateral(&inputs, |c| {
        let t = c["tcb_info"]
            .as_str()
            .expect("str")
            .replacen("\"tcbType\":0", "\"tcbType\":1", 1);
        c["tcb_info"] = t.into();
    });
    assert_eq!(
        code_of(verify(&q, &edited, now)),
        "COLLATERAL_SIGNATURE_INVALID"
    );
    let edited = edit_collateral(&inputs, |c| {
        let t = c["qe_identity"].as_str().expect("str").replacen(
            "\"isvprodid\":1",
            "\"isvprodid\": 1",
            1,
        );
        c["qe_identity"] = t.into();
    });
    assert_eq!(
        code_of(verify(&q, &edited, now)),
        "COLLATERAL_SIGNATURE_INVALID"
    );
    // PCK CRL replaced by the root CA CRL: not issued by the PCK's issuer.
    let edited = edit_collateral(&inputs, |c| c["pck_crl"] = c["root_ca_crl"].clone());
    assert_eq!(code_of(verify(&q, &edited, now)), "CRL_INVALID");
    let edited = edit_collateral(&inputs, |c| c["pck_crl"] = "zz".into());
    assert_eq!(code_of(verify(&q, &edited, now)), "COLLATERAL_MALFORMED");
    let edited = edit_collateral(&inputs, |c| {
        c["tcb_info_signature"] = "00".repeat(64).into()
    });
    assert_eq!(
        code_of(verify(&q, &edited, now)),
        "COLLATERAL_SIGNATURE_INVALID"
    );
    let broken = VerifyInputs {
        collateral: Some(b"{".to_vec()),
        ..inputs.clone()
    };
    assert_eq!(code_of(verify(&q, &broken, now)), "COLLATERAL_MALFORMED");
    // TDX collateral for an SGX quote: its PCK CRL is another CA's.
    let (_, tin) = tdx_quote();
    assert_eq!(code_of(verify(&q, &tin, 1_752_919_234)), "CRL_INVALID");
}

#[test]
fn truncated_quotes_give_precise_errors() {
    let (q, inputs) = sgx_quote();
    for len in [8, 47, 48, 431, 432, 500, 1000, q.len() - 1] {
        assert_eq!(
            code_of(verify(&q[..len], &inputs, 1_752_919_277)),
            "EVIDENCE_TRUNCATED",
            "len {len}"
        );
    }
}

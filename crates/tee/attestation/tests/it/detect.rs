//! Evidence encodings and type detection; garbage, truncated and oversized inputs.

use arcanum_attestation::sim::{SimEvidence, vendor_key};
use arcanum_attestation::{
    EvidenceKind, MAX_EVIDENCE_BYTES, VerifyInputs, detect_evidence, verify_evidence,
};

use crate::{code_of, read};

#[test]
fn detects_every_type_in_every_encoding() {
    let sgx = read("sgx_tdx_dcap/dcap-qvl/sgx_quote");
    let tdx = read("sgx_tdx_dcap/dcap-qvl/tdx_quote");
    let snp = read("sev_snp/go-sev-guest/attestation.bin");
    let sim = SimEvidence::new([1; 32], [2; 64], false).sign(&vendor_key());
    for (raw, kind) in [
        (sgx, EvidenceKind::DcapQuote),
        (tdx, EvidenceKind::DcapQuote),
        (snp, EvidenceKind::SnpReport),
        (sim, EvidenceKind::Simulated),
    ] {
        let h = hex::encode(&raw);
        let spaced: String = h
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c) + "\n")
            .collect();
        for form in [
            raw.clone(),
            h.clone().into_bytes(),
            format!("0x{h}").into_bytes(),
            format!("\"{h}\"").into_bytes(),
            format!("  \"0x{}\"\n", h.to_uppercase()).into_bytes(),
            spaced.into_bytes(),
        ] {
            assert_eq!(detect_evidence(&form), Ok(kind));
        }
    }
    // Text files as shipped: hex (virtee report, automata quote), 0x-hex (dcap-qvl).
    assert_eq!(
        detect_evidence(&read("sev_snp/virtee-sev/report_milan.hex")),
        Ok(EvidenceKind::SnpReport)
    );
    assert_eq!(
        detect_evidence(&read("sgx_tdx_dcap/dcap-qvl/tdx-quote.hex")),
        Ok(EvidenceKind::DcapQuote)
    );
    assert_eq!(
        detect_evidence(&read("sgx_tdx_dcap/automata/quotev3.hex")),
        Ok(EvidenceKind::DcapQuote)
    );
}

#[test]
fn garbage_gives_precise_codes() {
    let none = VerifyInputs::default();
    for (input, code) in [
        (&b""[..], "EVIDENCE_MALFORMED"),
        (b"  \n", "EVIDENCE_MALFORMED"),
        (b"\"\"", "EVIDENCE_MALFORMED"),
        (b"hello world", "UNKNOWN_EVIDENCE_TYPE"),
        (b"\"hello\"", "EVIDENCE_MALFORMED"),
        (b"0xabc", "EVIDENCE_MALFORMED"),
        (b"\"abcd", "EVIDENCE_MALFORMED"),
        (&[0u8; 100], "UNKNOWN_EVIDENCE_TYPE"),
        (&[0xFFu8; 2000], "UNKNOWN_EVIDENCE_TYPE"),
        (b"00", "UNKNOWN_EVIDENCE_TYPE"),
        (b"ARCSIM0", "UNKNOWN_EVIDENCE_TYPE"),
        (b"ARCSIM01", "EVIDENCE_TRUNCATED"),
        (&[3, 0, 2, 0, 0, 0, 0, 0], "EVIDENCE_TRUNCATED"),
        (&[4, 0, 2, 0, 0x81, 0, 0, 0, 0, 0], "EVIDENCE_TRUNCATED"),
    ] {
        assert_eq!(code_of(verify_evidence(input, &none, 0)), code, "{input:?}");
    }
}

#[test]
fn oversized_inputs_are_rejected_before_parsing() {
    let none = VerifyInputs::default();
    let mut big = read("sgx_tdx_dcap/dcap-qvl/sgx_quote");
    big.resize(MAX_EVIDENCE_BYTES + 1, 0);
    assert_eq!(
        code_of(verify_evidence(&big, &none, 0)),
        "EVIDENCE_TOO_LARGE"
    );
    let big_hex = hex::encode(&big);
    assert_eq!(
        code_of(verify_evidence(big_hex.as_bytes(), &none, 0)),
        "EVIDENCE_TOO_LARGE"
    );
    let huge = vec![b'a'; 10 * MAX_EVIDENCE_BYTES];
    assert_eq!(
        code_of(verify_evidence(&huge, &none, 0)),
        "EVIDENCE_TOO_LARGE"
    );
}

#[test]
fn unsupported_quote_variants() {
    let q = read("sgx_tdx_dcap/dcap-qvl/sgx_quote");
    let none = VerifyInputs::default();
    let mut key384 = q.clone();
    key384[2] = 3; // ECDSA P-384 attestation key
    assert_eq!(
        code_of(verify_evidence(&key384, &none, 0)),
        "UNSUPPORTED_EVIDENCE"
    );
    let mut vendor = q.clone();
    vendor[12] ^= 1;
    assert_eq!(
        code_of(verify_evidence(&vendor, &none, 0)),
        "UNSUPPORTED_EVIDENCE"
    );
    let mut v3tdx = q.clone();
    v3tdx[4] = 0x81;
    assert_eq!(
        code_of(verify_evidence(&v3tdx, &none, 0)),
        "UNSUPPORTED_EVIDENCE"
    );
}

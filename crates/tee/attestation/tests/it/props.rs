//! Property tests: random mutations of real evidence never panic, and mutations of signed
//! regions never verify.

use arcanum_attestation::sim::{SimEvidence, vendor_key};
use arcanum_attestation::{VerifyInputs, inspect_evidence, verify_evidence};
use proptest::prelude::*;

use crate::read;

fn sgx() -> (Vec<u8>, VerifyInputs) {
    (
        read("sgx_tdx_dcap/dcap-qvl/sgx_quote"),
        VerifyInputs {
            collateral: Some(read("sgx_tdx_dcap/dcap-qvl/sgx_quote_collateral.json")),
            ..VerifyInputs::default()
        },
    )
}

fn tdx() -> (Vec<u8>, VerifyInputs) {
    (
        read("sgx_tdx_dcap/dcap-qvl/tdx_quote"),
        VerifyInputs {
            collateral: Some(read("sgx_tdx_dcap/dcap-qvl/tdx_quote_collateral.json")),
            ..VerifyInputs::default()
        },
    )
}

fn snp() -> (Vec<u8>, VerifyInputs) {
    (
        read("sev_snp/go-sev-guest/attestation.bin"),
        VerifyInputs {
            vcek: Some(read("sev_snp/go-sev-guest/vcek.testcer")),
            chain: Some(read("sev_snp/go-sev-guest/ask_ark_milan.pem")),
            ..VerifyInputs::default()
        },
    )
}

const SGX_NOW: u64 = 1_752_919_277;
const TDX_NOW: u64 = 1_752_919_234;
const SNP_NOW: u64 = 1_663_981_200;

/// Byte flips: `(position fraction, xor mask)`.
fn flips() -> impl Strategy<Value = Vec<(prop::sample::Index, u8)>> {
    prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// SGX: header, body, signature, key, QE report and QE signature are all covered by some
    /// signature; any flip there must be rejected.
    #[test]
    fn sgx_signed_region_flips_never_verify(fl in flips()) {
        let (q, inputs) = sgx();
        let signed_end = 436 + 64 + 64 + 384 + 64; // through the QE report signature
        let mut m = q.clone();
        for (i, x) in &fl {
            m[i.index(signed_end)] ^= x;
        }
        prop_assert!(verify_evidence(&m, &inputs, SGX_NOW).is_err());
    }

    #[test]
    fn tdx_body_flips_never_verify(fl in flips()) {
        let (q, inputs) = tdx();
        let mut m = q.clone();
        for (i, x) in &fl {
            m[i.index(48 + 584)] ^= x;
        }
        prop_assert!(verify_evidence(&m, &inputs, TDX_NOW).is_err());
    }

    #[test]
    fn snp_signed_region_flips_never_verify(fl in flips()) {
        let (r, inputs) = snp();
        let mut m = r.clone();
        for (i, x) in &fl {
            m[i.index(0x2A0 + 144)] ^= x;
        }
        prop_assert!(verify_evidence(&m, &inputs, SNP_NOW).is_err());
    }

    #[test]
    fn sim_flips_never_verify(fl in flips(), debug: bool, rd in any::<[u8; 32]>()) {
        let mut report_data = [0u8; 64];
        report_data[..32].copy_from_slice(&rd);
        let ev = SimEvidence::new(rd, report_data, debug).sign(&vendor_key());
        let mut m = ev.clone();
        for (i, x) in &fl {
            // Past the magic (a flip there only changes the detected type).
            let at = 8 + i.index(ev.len() - 8);
            m[at] ^= x;
        }
        prop_assert!(verify_evidence(&m, &VerifyInputs::default(), 0).is_err());
    }

    /// Anywhere, including the unsigned certification data and lengths: no panic.
    #[test]
    fn arbitrary_mutations_never_panic(
        which in 0usize..3,
        fl in flips(),
        cut in any::<prop::sample::Index>(),
        truncate: bool,
    ) {
        let ((e, inputs), now) = match which {
            0 => (sgx(), SGX_NOW),
            1 => (tdx(), TDX_NOW),
            _ => (snp(), SNP_NOW),
        };
        let mut m = e.clone();
        for (i, x) in &fl {
            let n = m.len();
            m[i.index(n)] ^= x;
        }
        if truncate {
            m.truncate(cut.index(m.len()));
        }
        let _ = inspect_evidence(&m);
        let _ = verify_evidence(&m, &inputs, now);
        let _ = verify_evidence(hex::encode(&m).as_bytes(), &inputs, now);
    }

    /// Random bytes, with any DCAP/SNP/sim prefix: never panic.
    #[test]
    fn random_inputs_never_panic(prefix in 0usize..4, tail in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut m: Vec<u8> = match prefix {
            0 => vec![3, 0, 2, 0, 0, 0, 0, 0],
            1 => vec![4, 0, 2, 0, 0x81, 0, 0, 0],
            2 => b"ARCSIM01".to_vec(),
            _ => vec![],
        };
        m.extend(tail);
        let (_, inputs) = sgx();
        let _ = verify_evidence(&m, &inputs, SGX_NOW);
        let _ = inspect_evidence(&m);
    }

    /// Mutated collateral never panics and, in the signed JSON bodies, never verifies.
    #[test]
    fn collateral_mutations(field in 0usize..2, fl in flips()) {
        let (q, inputs) = sgx();
        let mut c: serde_json::Value = serde_json::from_slice(inputs.collateral.as_deref().unwrap_or_default()).unwrap_or_default();
        let key = ["tcb_info", "qe_identity"][field];
        let mut body = c[key].as_str().unwrap_or_default().as_bytes().to_vec();
        for (i, x) in &fl {
            let n = body.len();
            body[i.index(n)] ^= x;
        }
        c[key] = String::from_utf8_lossy(&body).into_owned().into();
        let coll = serde_json::to_vec(&c).unwrap_or_default();
        let inputs = VerifyInputs { collateral: Some(coll), ..inputs };
        prop_assert!(verify_evidence(&q, &inputs, SGX_NOW).is_err());
    }
}

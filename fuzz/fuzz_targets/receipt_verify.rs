//! Offline receipt verification (`arcanum_sdk::receipt::verify_receipt_json`) of a file anyone
//! can hand a verifier. The input is the file's text; or, after a first byte `0xB0` (never the
//! start of UTF-8), the receipt's borsh bytes, which the target wraps in a well-formed file so
//! that mutations reach the chain-of-trust checks instead of the hex and JSON layers.
//!
//! Invariants: never panic; a valid verdict names no broken link and only ever comes for one
//! of the genuine receipts (`receipt::testkit`, signed by keys the fuzzer does not have); an
//! invalid verdict names its link and a stable code; the verdict of the file equals the
//! verdict of the receipt it reads.

#![no_main]

use std::sync::LazyLock;

use arcanum_fuzz::offchain::{RECEIPT_BORSH_MODE, genuine_receipts, receipt_policy};
use arcanum_sdk::offchain::ClientPolicy;
use arcanum_sdk::receipt::{Receipt, verify_receipt, verify_receipt_json};
use libfuzzer_sys::fuzz_target;

static POLICY: LazyLock<ClientPolicy> = LazyLock::new(receipt_policy);
static GENUINE: LazyLock<Vec<Receipt>> = LazyLock::new(genuine_receipts);

fuzz_target!(|data: &[u8]| {
    let text = match data.split_first() {
        Some((&RECEIPT_BORSH_MODE, borsh)) => format!(
            r#"{{"format":"arcanum-receipt","version":1,"receipt":"{}"}}"#,
            hex::encode(borsh)
        ),
        _ => match std::str::from_utf8(data) {
            Ok(t) => t.to_owned(),
            Err(_) => return,
        },
    };
    let verdict = verify_receipt_json(&text, &POLICY);
    let read = Receipt::from_json(&text);
    if let Ok(receipt) = &read {
        assert_eq!(verify_receipt(receipt, &POLICY), verdict);
    }
    if verdict.valid {
        assert_eq!(verdict.link, None);
        assert_eq!(verdict.error, None);
        let receipt = read.unwrap_or_else(|e| panic!("valid but unreadable: {e}"));
        assert!(
            GENUINE.contains(&receipt),
            "a receipt that is not genuine verified: {receipt:?}"
        );
    } else {
        assert!(
            verdict.link.is_some(),
            "invalid without a link: {verdict:?}"
        );
        let error = verdict
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("no error: {verdict:?}"));
        assert!(
            ["RECEIPT_INVALID", "REPORT_INVALID", "ATTESTATION_POLICY"]
                .contains(&error.code.as_str()),
            "{verdict:?}"
        );
    }
});

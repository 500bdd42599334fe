//! Strict decoding of client transactions and endorsed transactions (what the management device
//! and the endorsement devices accept from the network), and the stateless checks on them.
//! Invariants: never panic; whatever decodes re-encodes to exactly the input (canonical).

#![no_main]

use arcanum_fuzz::FIXTURE;
use arcanum_ledger::{check_client, check_shape, verify_endorsements};
use arcanum_types::{EndorsedTx, SignedTx, decode, encode, limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = &FIXTURE.config;
    if let Ok(tx) = decode::<SignedTx>(data, limits::MAX_TX_BYTES) {
        assert_eq!(encode(&tx), data, "non-canonical SignedTx accepted");
        let _ = tx.payload.id();
        let _ = check_shape(&tx);
        let _ = check_client(config, &tx);
    }
    if let Ok(etx) = decode::<EndorsedTx>(data, limits::MAX_ENDORSED_TX_BYTES) {
        assert_eq!(encode(&etx), data, "non-canonical EndorsedTx accepted");
        let _ = etx.endorsement_message();
        let _ = etx.response.rwset.is_canonical();
        let _ = check_shape(&etx.tx);
        let _ = check_client(config, &etx.tx);
        if let Ok(signers) = verify_endorsements(config, &etx) {
            assert!(signers.len() <= etx.endorsements.len());
        }
    }
});

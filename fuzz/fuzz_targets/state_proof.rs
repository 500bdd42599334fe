//! State proofs from untrusted bytes: a `StateProof` (what a peer's answer carries), a borsh
//! `StateProofBundle` (what the endorsement enclave will read), a JSON `StateProofJson` (the
//! `state verify` file), and genuine bundles with edited bytes.
//!
//! Invariants: decoding and verification never panic; what decodes strictly re-encodes to
//! exactly the input; a JSON document that reads as a bundle reads back the same from the
//! bundle's own JSON; and whatever verifies under the fixture's management key (whose secret
//! key the fuzzer does not use) is genuine: a header the world signed, and exactly the world's
//! value or absence at that key and height (`StateWorld::assert_genuine`). A bare proof that
//! verifies against a genuine root proves the genuine value or absence.

#![no_main]

use arcanum_api::StateProofJson;
use arcanum_fuzz::FIXTURE;
use arcanum_fuzz::state::{KEYS, MODE_BUNDLE, MODE_JSON, MODE_PROOF, MODES, WORLD};
use arcanum_ledger::contract_key;
use arcanum_types::state::{MAX_STATE_BUNDLE_BYTES, MAX_STATE_PROOF_BYTES};
use arcanum_types::{StateProof, StateProofBundle, decode, encode};
use libfuzzer_sys::fuzz_target;

fn verify_bundle(bundle: &StateProofBundle) {
    if bundle.verify(&FIXTURE.orderer.key.public_key()).is_ok() {
        WORLD.assert_genuine(bundle);
    }
}

fn bare_proof(data: &[u8]) {
    let Ok(proof) = decode::<StateProof>(data, MAX_STATE_PROOF_BYTES) else {
        return;
    };
    assert_eq!(encode(&proof), data, "non-canonical proof accepted");
    let w = &*WORLD;
    for (header, _) in &w.headers {
        for (contract, key) in KEYS {
            let state_key = contract_key(contract, key);
            let genuine = w.value_at(&state_key, header.height);
            let forged = Some(arcanum_types::VersionedValue {
                value: b"forged".to_vec(),
                version: arcanum_types::Version { block: 1, tx: 0 },
            });
            for claim in [genuine.clone(), None, forged] {
                if proof
                    .verify(&header.state_root, &state_key, claim.as_ref())
                    .is_ok()
                {
                    assert_eq!(claim, genuine, "{state_key:?} at {}", header.height);
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % MODES {
        MODE_PROOF => bare_proof(rest),
        MODE_BUNDLE => {
            if let Ok(bundle) = decode::<StateProofBundle>(rest, MAX_STATE_BUNDLE_BYTES) {
                assert_eq!(encode(&bundle), rest, "non-canonical bundle accepted");
                verify_bundle(&bundle);
            }
        }
        MODE_JSON => {
            let Ok(json) = StateProofJson::parse(rest) else {
                return;
            };
            if let Ok(bundle) = json.to_bundle() {
                assert_eq!(
                    StateProofJson::from(&bundle).to_bundle(),
                    Ok(bundle.clone())
                );
                verify_bundle(&bundle);
            }
        }
        _ => {
            // MODE_EDIT
            let Some((&pick, edits)) = rest.split_first() else {
                return;
            };
            let genuine = &WORLD.bundles[pick as usize % WORLD.bundles.len()];
            let mut bytes = encode(genuine);
            for edit in edits.chunks_exact(3) {
                let at = u16::from_le_bytes([edit[0], edit[1]]) as usize % bytes.len();
                bytes[at] ^= edit[2];
            }
            if let Ok(bundle) = decode::<StateProofBundle>(&bytes, MAX_STATE_BUNDLE_BYTES) {
                verify_bundle(&bundle);
            }
        }
    }
});

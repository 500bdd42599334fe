//! Host input to the endorsement enclave's chain view: arbitrary bytes decoded strictly as
//! signed headers and state-read witnesses (with their jmt proofs), applied to a header chain
//! pinned to a management key the fuzzer cannot sign with. No input may panic, extend the chain
//! or have a read accepted (the only verified root is the empty state's, and nothing is cached).

#![no_main]

use arcanum_crypto::{Hash, SigningKey};
use arcanum_enclave::chain::{ChainPin, HeaderChain, SignedHeader, StateCache, Witness, verify_reads};
use arcanum_types::{IdentityId, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((headers, witnesses, height)) =
        decode::<(Vec<SignedHeader>, Vec<Witness>, u64)>(data, 1 << 20)
    else {
        return;
    };
    let key = SigningKey::from_ed25519_seed(&[7; 32]);
    let pin = ChainPin {
        channel: "fuzz".into(),
        orderer: IdentityId(Hash([1; 32])),
        orderer_key: key.public_key(),
        members: Vec::new(),
    };
    let Ok(mut chain) = HeaderChain::new(pin) else {
        panic!("an empty pin is valid")
    };
    for h in &headers {
        assert!(chain.apply(h).is_err(), "a header nobody signed was accepted");
    }
    assert_eq!(chain.height(), 0);
    let mut cache = StateCache::default();
    if let Ok(reads) = verify_reads(&chain, &mut cache, height, &witnesses) {
        // Only absences (or nothing) can be proven against the empty state.
        assert!(reads.values().all(Option::is_none), "a value was proven in an empty state");
    }
});

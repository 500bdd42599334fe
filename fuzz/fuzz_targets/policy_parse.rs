//! Endorsement-policy text (deploy transactions carry it; the CLI reads it). The first byte picks
//! a set of signers, the rest is the policy. Invariants: never panic; a parsed policy prints to
//! text that parses back to the very same policy; evaluation terminates without panicking.

#![no_main]

use arcanum_policy::{Policy, Signer};
use arcanum_types::{Hash, IdentityId, Role};
use libfuzzer_sys::fuzz_target;

const PRINCIPALS: [(&str, Role); 8] = [
    ("Org1", Role::Peer),
    ("Org2", Role::Peer),
    ("Org1", Role::Admin),
    ("Org2", Role::Client),
    ("Org3", Role::Member),
    ("Org1", Role::Peer),
    ("A", Role::Orderer),
    ("Org2", Role::Peer),
];

fuzz_target!(|data: &[u8]| {
    let Some((&mask, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(policy) = Policy::parse(text) else {
        return;
    };
    let printed = policy.to_string();
    let reparsed = Policy::parse(&printed)
        .unwrap_or_else(|e| panic!("printed policy {printed:?} does not parse: {e}"));
    assert_eq!(reparsed, policy, "{text:?} printed as {printed:?}");
    let signers: Vec<Signer> = PRINCIPALS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(i, (msp, role))| Signer {
            // Index 5 repeats index 0's identity: merged by id.
            id: IdentityId(Hash([if i == 5 { 0 } else { i as u8 }; 32])),
            msp_id: (*msp).to_owned(),
            role: *role,
        })
        .collect();
    let orgs = vec!["Org1".to_owned(), "Org2".to_owned(), "Org3".to_owned()];
    let _ = policy.evaluate(&signers, &orgs);
    let _ = policy.msp_ids(&orgs);
});

//! Strict decoding (`arcanum_types::decode`) of the off-chain statement types that cross a
//! trust boundary: TEE node HTTP bodies (`SealedRequest`, `ClusterMember`, the join-complete
//! and install bodies), transaction payloads (`SignedRegistration`, `SignedDeployment`,
//! `OracleCallback`) and chain proofs (`TxProof`), each with the bound its reader uses
//! (`arcanum_fuzz::offchain::bounds`).
//!
//! Invariants: never panic; input over the bound is `TooLarge` and within it never is; what
//! decodes re-encodes to exactly the input; the checks run on decoded values (signature
//! verification, hashes, proof verification) never panic, and whatever verifies is genuine
//! material of `receipt::testkit` (signed with keys the fuzzer does not hold): a proof that
//! verifies under the fixture's orderer key proves a genuine header and transaction.

#![no_main]

use arcanum_crypto::{Signature, domain};
use arcanum_fuzz::offchain::{FIXTURE, GENUINE, bounds};
use arcanum_types::offchain::{
    ClusterMember, OracleCallback, SealedRequest, SignedDeployment, SignedOffer, SignedRegistration,
};
use arcanum_types::{DecodeError, TxProof, decode, encode};
use borsh::{BorshDeserialize, BorshSerialize};
use libfuzzer_sys::fuzz_target;

fn strict<T: BorshDeserialize + BorshSerialize + std::fmt::Debug>(
    data: &[u8],
    max: usize,
    what: &str,
) -> Option<T> {
    match decode::<T>(data, max) {
        Ok(v) => {
            assert!(data.len() <= max);
            assert_eq!(encode(&v), data, "non-canonical {what} accepted: {v:?}");
            if let Some(smaller) = data.len().checked_sub(1) {
                assert!(matches!(
                    decode::<T>(data, smaller),
                    Err(DecodeError::TooLarge { .. })
                ));
            }
            Some(v)
        }
        Err(DecodeError::TooLarge { len, max: m }) => {
            assert!(len > m && m == max, "{what}: TooLarge within the bound");
            None
        }
        Err(DecodeError::Malformed(_)) => {
            assert!(data.len() <= max);
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let g = &*GENUINE;
    if let Some(r) = strict::<SealedRequest>(data, bounds::INVOKE_BODY, "SealedRequest") {
        assert!(r.sealed.ciphertext.len() < bounds::INVOKE_BODY);
    }
    if let Some(m) = strict::<ClusterMember>(data, bounds::MEMBER_BODY, "ClusterMember") {
        let _ = m.card.hash();
        let signed = m
            .card
            .node_key
            .verify(domain::NODE_CARD, &encode(&m.card), &m.card_signature);
        if signed.is_ok() {
            assert!(
                g.members.iter().any(|x| x.card == m.card),
                "a card that is not genuine verified: {m:?}"
            );
        }
    }
    for offer in [
        strict::<SignedOffer>(data, bounds::JOIN_COMPLETE_BODY, "SignedOffer"),
        strict::<(SignedOffer, Signature)>(data, bounds::JOIN_COMPLETE_BODY, "join complete")
            .map(|(o, _)| o),
    ]
    .into_iter()
    .flatten()
    {
        let _ = offer.hash();
        let key = &offer.offer.keys.signing_key;
        if key
            .verify(domain::JOIN_OFFER, &encode(&offer.offer), &offer.signature)
            .is_ok()
        {
            assert!(
                g.offers.contains(&offer),
                "an offer that is not genuine verified"
            );
        }
    }
    for deployment in [
        strict::<SignedDeployment>(data, bounds::RECORD, "SignedDeployment"),
        strict::<(SignedDeployment, Vec<u8>)>(data, bounds::INSTALL_BODY, "install")
            .map(|(d, _)| d),
    ]
    .into_iter()
    .flatten()
    {
        if deployment.verify() {
            assert!(
                g.deployments.contains(&deployment),
                "a deployment that is not genuine verified: {deployment:?}"
            );
        }
    }
    if let Some(r) = strict::<SignedRegistration>(data, bounds::TX, "SignedRegistration")
        && r.verify()
    {
        assert!(
            g.registrations.contains(&r),
            "a registration that is not genuine verified"
        );
    }
    if let Some(c) = strict::<OracleCallback>(data, bounds::TX, "OracleCallback") {
        let _ = c.request.invocation(c.origin).hash();
        if c.result.verify(&FIXTURE.contract.public_key()) {
            assert!(
                g.callbacks.iter().any(|x| x.result == c.result)
                    || g.receipts.iter().any(|x| x.result == c.result),
                "a result that is not genuine verified: {:?}",
                c.result
            );
        }
    }
    if let Some(p) = strict::<TxProof>(data, bounds::PROOF, "TxProof") {
        let _ = p.tx_id();
        if p.verify(&FIXTURE.orderer.public_key()).is_ok() {
            assert!(
                g.proves(&p),
                "a proof of a transaction that is not genuine verified: {p:?}"
            );
        }
    }
});

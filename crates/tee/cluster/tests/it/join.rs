//! Forming a cluster: genesis, the four-step mutual-attestation join, and every refusal.

use arcanum_cluster::ClusterConfig;
use arcanum_crypto::domain;
use arcanum_crypto::hpke;
use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse};
use arcanum_types::encode;
use arcanum_types::offchain::{ClusterRegistration, SignedOffer};

use crate::support::*;

#[test]
fn two_nodes_join_and_share_the_cluster_keys() {
    let world = World::new();
    let a = world.node(1);
    let b = world.node(2);
    let keys = a.genesis();
    assert_eq!(join(&world, &a, &b), keys);

    // Both survive a restart from their sealed state, with the same card and keys.
    let b_again = world.node_with(
        BINARY,
        2,
        world.trust.clone(),
        Some(b.sealed.lock().clone()),
        ClusterConfig::default(),
    );
    assert_eq!(b_again.card, b.card);
    assert_eq!(b_again.keys(), keys);

    // Either member signs a registration listing both.
    let registration = ClusterRegistration {
        keys: keys.clone(),
        epoch: 1,
        members: vec![world.member(&a), world.member(&b)],
    };
    match b.call(ClusterRequest::SignRegistration {
        registration: registration.clone(),
        now: NOW,
    }) {
        ClusterResponse::Registration(signed) => {
            assert!(signed.verify());
            assert_eq!(signed.registration, registration);
        }
        other => panic!("{other:?}"),
    }
    // A registration with an expired member report is refused.
    let mut stale = registration.clone();
    stale.members[1] = b.member(world.report(&b, NOW - TTL - 10, TTL));
    let message = expect_error(
        a.call(ClusterRequest::SignRegistration {
            registration: stale,
            now: NOW,
        }),
        "REPORT_INVALID",
    );
    assert!(message.contains("REPORT_EXPIRED"), "{message}");
    // Other keys: refused.
    let mut other = registration;
    other.keys = world.node(9).genesis();
    expect_error(
        a.call(ClusterRequest::SignRegistration {
            registration: other,
            now: NOW,
        }),
        "CLUSTER_KEY_MISMATCH",
    );

    // A member cannot form or join again.
    expect_error(a.call(ClusterRequest::Genesis), "CLUSTER_EXISTS");
    let offer = offer(&world, &a, &world.node(3));
    expect_error(
        b.call(ClusterRequest::JoinAccept { offer, now: NOW }),
        "CLUSTER_EXISTS",
    );
}

fn offer_for(
    world: &World,
    member: &Node,
    joiner_report: Vec<u8>,
    joiner: &Node,
    now: u64,
) -> ClusterResponse {
    member.call(ClusterRequest::JoinOffer {
        joiner: joiner.member(joiner_report),
        own_report: world.report(member, NOW, TTL),
        now,
    })
}

#[test]
fn member_refuses_bad_joiners_with_the_precise_cause() {
    let world = World::new();
    let a = world.node(1);
    a.genesis();
    let b = world.node(2);

    // Expired report.
    let expired = world.report(&b, NOW - 100, 60);
    expect_refused(offer_for(&world, &a, expired, &b, NOW), "REPORT_EXPIRED: ");
    // Not yet valid.
    let future = world.report(&b, NOW + 100, 60);
    expect_refused(
        offer_for(&world, &a, future, &b, NOW),
        "REPORT_NOT_YET_VALID: ",
    );
    // Foreign issuer.
    let foreign = report_by(&key(), &b, NOW, TTL);
    expect_refused(offer_for(&world, &a, foreign, &b, NOW), "FOREIGN_ISSUER: ");
    // A report for another node's key.
    let c = world.node(3);
    let others = world.report(&c, NOW, TTL);
    expect_refused(offer_for(&world, &a, others, &b, NOW), "KEY_MISMATCH: ");
    // Garbage report.
    expect_refused(
        offer_for(&world, &a, vec![1, 2, 3], &b, NOW),
        "REPORT_MALFORMED: ",
    );

    // Wrong measurement: another enclave binary, same trust.
    let rogue = world.node_with(
        b"some other enclave",
        4,
        world.trust.clone(),
        None,
        ClusterConfig::default(),
    );
    let report = world.report(&rogue, NOW, TTL);
    expect_refused(
        offer_for(&world, &a, report, &rogue, NOW),
        "MEASUREMENT_NOT_ALLOWED: ",
    );

    // Trust mismatch: same code, but its host gave it other anchors.
    let mut trust = world.trust.clone();
    let ca = arcanum_enclave_tls::test_server::TestCa::new("another CA").expect("ca");
    trust.tls_roots.push(ca.der().to_vec());
    let odd = world.node_with(BINARY, 5, trust, None, ClusterConfig::default());
    let report = world.report(&odd, NOW, TTL);
    expect_refused(offer_for(&world, &a, report, &odd, NOW), "TRUST_MISMATCH");

    // Tampered card: another HPKE key under the same node key and report.
    let mut member = world.member(&b);
    member.card.hpke_key = world.node(6).card.card.hpke_key;
    expect_refused(
        a.call(ClusterRequest::JoinOffer {
            joiner: member,
            own_report: world.report(&a, NOW, TTL),
            now: NOW,
        }),
        "CARD_SIGNATURE_INVALID",
    );

    // A member whose own report is bad does not make offers.
    let message = expect_error(
        a.call(ClusterRequest::JoinOffer {
            joiner: world.member(&b),
            own_report: world.report(&b, NOW, TTL),
            now: NOW,
        }),
        "REPORT_INVALID",
    );
    assert!(message.contains("KEY_MISMATCH"), "{message}");
}

#[test]
fn simulation_and_debug_follow_the_policy() {
    let world = World::new();
    let strict = arcanum_enclave_protocol::cluster::ClusterTrust {
        policy_toml: String::new(),
        ..world.trust.clone()
    };
    let a = world.node_with(BINARY, 1, strict.clone(), None, ClusterConfig::default());
    a.genesis();
    let b = world.node_with(BINARY, 2, strict, None, ClusterConfig::default());
    let report = world.report(&b, NOW, TTL);
    expect_refused(
        offer_for(&world, &a, report, &b, NOW),
        "SIMULATION_NOT_ALLOWED: ",
    );
}

#[test]
fn joiner_refuses_bad_members_and_stale_offers() {
    let world = World::new();
    let a = world.node(1);
    a.genesis();
    let b = world.node(2);

    // The member's report expires between offer and acceptance.
    let offer = match a.call(ClusterRequest::JoinOffer {
        joiner: world.member(&b),
        own_report: world.report(&a, NOW - 50, 60),
        now: NOW,
    }) {
        ClusterResponse::Offer(o) => o,
        other => panic!("{other:?}"),
    };
    expect_refused(
        b.call(ClusterRequest::JoinAccept {
            offer: offer.clone(),
            now: NOW + 20,
        }),
        "REPORT_EXPIRED: ",
    );
    // A stale offer.
    let fresh = crate::support::offer(&world, &a, &b);
    expect_refused(
        b.call(ClusterRequest::JoinAccept {
            offer: fresh.clone(),
            now: NOW + 121,
        }),
        "STALE_OFFER",
    );
    // An offer made out to another node.
    let c = world.node(3);
    expect_refused(
        c.call(ClusterRequest::JoinAccept {
            offer: fresh.clone(),
            now: NOW,
        }),
        "NOT_FOR_THIS_NODE",
    );
    // A cluster signature that does not verify.
    let mut forged = fresh.clone();
    forged.offer.offered_at -= 1;
    expect_refused(
        b.call(ClusterRequest::JoinAccept {
            offer: forged,
            now: NOW,
        }),
        "CLUSTER_SIGNATURE_INVALID",
    );
    // A joiner refuses to finish an offer it never accepted.
    let sealed_secret = hpke::seal(
        &b.card.card.hpke_key,
        domain::JOIN_SECRET.as_bytes(),
        &fresh.hash().0,
        &[7; 32],
        &mut rand::rngs::OsRng,
    )
    .expect("seal");
    expect_refused(
        b.call(ClusterRequest::JoinFinish {
            offer: fresh,
            sealed_secret,
        }),
        "UNKNOWN_OFFER",
    );
    assert!(b.keys.lock().is_none());
}

#[test]
fn member_refuses_stale_unknown_and_unaccepted_completions() {
    let world = World::new();
    let a = world.node(1);
    a.genesis();
    let b = world.node(2);
    let offer = offer(&world, &a, &b);
    let acceptance = match b.call(ClusterRequest::JoinAccept {
        offer: offer.clone(),
        now: NOW,
    }) {
        ClusterResponse::Accepted { acceptance } => acceptance,
        other => panic!("{other:?}"),
    };
    // Older than 120 s.
    expect_refused(
        a.call(ClusterRequest::JoinComplete {
            offer: offer.clone(),
            acceptance: acceptance.clone(),
            now: NOW + 121,
        }),
        "STALE_OFFER",
    );
    // An acceptance by someone other than the joiner.
    let wrong = key().sign(domain::JOIN_ACCEPT, &offer.hash().0);
    expect_refused(
        a.call(ClusterRequest::JoinComplete {
            offer: offer.clone(),
            acceptance: wrong,
            now: NOW,
        }),
        "ACCEPTANCE_INVALID",
    );
    // The joiner's report has expired by completion time (re-checked).
    let short = world.node(4);
    let offer_short = match a.call(ClusterRequest::JoinOffer {
        joiner: short.member(world.report(&short, NOW - 50, 60)),
        own_report: world.report(&a, NOW, TTL),
        now: NOW,
    }) {
        ClusterResponse::Offer(o) => o,
        other => panic!("{other:?}"),
    };
    let acceptance_short = match short.call(ClusterRequest::JoinAccept {
        offer: offer_short.clone(),
        now: NOW,
    }) {
        ClusterResponse::Accepted { acceptance } => acceptance,
        other => panic!("{other:?}"),
    };
    expect_refused(
        a.call(ClusterRequest::JoinComplete {
            offer: offer_short,
            acceptance: acceptance_short,
            now: NOW + 20,
        }),
        "REPORT_EXPIRED: ",
    );
    // Another cluster's offer.
    let other = world.node(5);
    other.genesis();
    let foreign = crate::support::offer(&world, &other, &b);
    expect_refused(
        a.call(ClusterRequest::JoinComplete {
            offer: foreign,
            acceptance: acceptance.clone(),
            now: NOW,
        }),
        "UNKNOWN_OFFER",
    );
    // The honest completion works once; the offer is then used up.
    let welcome = a.call(ClusterRequest::JoinComplete {
        offer: offer.clone(),
        acceptance: acceptance.clone(),
        now: NOW + 5,
    });
    assert!(matches!(welcome, ClusterResponse::Welcome { .. }));
    expect_refused(
        a.call(ClusterRequest::JoinComplete {
            offer,
            acceptance,
            now: NOW + 5,
        }),
        "UNKNOWN_OFFER",
    );
}

/// A rogue that pairs a genuine member's card and report with its own cluster key cannot plant
/// that key: the member's report must bind the offered cluster key (refused at step 2 with
/// `KEY_MISMATCH`), and even past that the secret must come HPKE-authenticated from the attested
/// member's card key.
#[test]
fn a_fake_offer_cannot_plant_a_cluster_key() {
    let world = World::new();
    let a = world.node(1);
    a.genesis();
    let b = world.node(2);
    let genuine = offer(&world, &a, &b);

    let rogue_secret = arcanum_cluster::ClusterSecret::from_bytes([42; 32]);
    let rogue = arcanum_cluster::KeySchedule::derive(&rogue_secret);
    let mut fake = genuine.offer.clone();
    fake.keys = rogue.public().clone();
    let signature = rogue.signing().sign(domain::JOIN_OFFER, &encode(&fake));
    let fake = SignedOffer {
        offer: fake,
        signature,
    };
    expect_refused(
        b.call(ClusterRequest::JoinAccept {
            offer: fake.clone(),
            now: NOW,
        }),
        "KEY_MISMATCH",
    );
    let sealed_secret = hpke::seal(
        &b.card.card.hpke_key,
        domain::JOIN_SECRET.as_bytes(),
        &fake.hash().0,
        rogue_secret.expose(),
        &mut rand::rngs::OsRng,
    )
    .expect("seal");
    expect_error(
        b.call(ClusterRequest::JoinFinish {
            offer: fake,
            sealed_secret,
        }),
        "JOIN_REFUSED",
    );
    assert!(b.keys.lock().is_none());
    // The genuine join still works afterwards.
    assert_eq!(join(&world, &a, &b), a.keys());
}

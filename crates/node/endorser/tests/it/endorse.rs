//! What a successful endorsement contains.

use arcanum_contracts::ASSET_WASM;
use arcanum_crypto::domain;
use arcanum_endorser::Endorser;
use arcanum_ledger::{contract_key, definition_key, deploy_writes, verify_endorsements};
use arcanum_types::{EndorsedTx, Event, KvRead, KvWrite, TxStatus, Version, Vote};

use crate::support::{AND_POLICY, Net, account_record, deploy, invoke};

/// A device hosting all four peers, with `asset` deployed (block 1) and the accounts `alice`
/// (the client's, 100) and `bob` (the admin's, 5) created in block 2.
pub fn asset_world() -> (Net, Endorser) {
    let net = Net::new();
    let dev = net.endorser(&[0, 1, 2, 3]);
    let etx = net.endorsed(
        &dev,
        net.tx(&net.admin, 1, deploy("asset", ASSET_WASM, AND_POLICY)),
        &[0, 2],
    );
    assert_valid(&net.commit(dev.ledger(), vec![etx]).receipts);
    let alice = net.endorsed(
        &dev,
        net.tx(
            &net.client,
            1,
            invoke("asset", "create", &[b"alice", b"100"]),
        ),
        &[0, 2],
    );
    let bob = net.endorsed(
        &dev,
        net.tx(&net.admin, 2, invoke("asset", "create", &[b"bob", b"5"])),
        &[0, 2],
    );
    assert_eq!(
        alice.response.rwset.reads,
        vec![KvRead {
            key: contract_key("asset", b"acct/alice"),
            version: None
        }]
    );
    assert_eq!(
        alice.response.rwset.writes,
        vec![KvWrite {
            key: contract_key("asset", b"acct/alice"),
            value: Some(account_record(&net.client, 100))
        }]
    );
    assert_valid(&net.commit(dev.ledger(), vec![alice, bob]).receipts);
    (net, dev)
}

pub fn assert_valid(receipts: &[arcanum_types::TxReceipt]) {
    assert!(!receipts.is_empty());
    for r in receipts {
        assert_eq!(r.status, TxStatus::Valid, "receipt {r:?}");
    }
}

/// Every endorsement verifies under the endorsement domain with its peer's key, and under no
/// other domain or key.
fn assert_signatures(net: &Net, etx: &EndorsedTx, peers: &[usize]) {
    let msg = etx.endorsement_message();
    assert_eq!(etx.endorsements.len(), peers.len());
    for (e, &i) in etx.endorsements.iter().zip(peers) {
        assert_eq!(e.endorser, net.peers[i].id);
        let pk = net.peers[i].key().public_key();
        pk.verify(domain::ENDORSEMENT, &msg, &e.signature).unwrap();
        assert!(pk.verify(domain::TX_SIGNATURE, &msg, &e.signature).is_err());
        let other = net.peers[(i + 1) % 4].key().public_key();
        assert!(
            other
                .verify(domain::ENDORSEMENT, &msg, &e.signature)
                .is_err()
        );
    }
}

#[test]
fn deploy_endorsement_reads_the_absent_definition_and_writes_definition_and_code() {
    let net = Net::new();
    let dev = net.endorser(&[0, 1, 2, 3]);
    let tx = net.tx(&net.admin, 7, deploy("asset", ASSET_WASM, AND_POLICY));
    let etx = net.endorsed(&dev, tx.clone(), &[0, 2]);
    let r = &etx.response;
    assert_eq!(r.tx_id, tx.payload.id());
    assert_eq!(r.vote, Vote::Approve);
    assert!(r.result.is_empty() && r.events.is_empty());
    assert_eq!(
        r.rwset.reads,
        vec![KvRead {
            key: definition_key("asset"),
            version: None
        }]
    );
    assert_eq!(
        r.rwset.writes,
        deploy_writes("asset", ASSET_WASM, AND_POLICY)
    );
    assert!(r.rwset.is_canonical());
    assert_signatures(&net, &etx, &[0, 2]);

    // The signers satisfy the lifecycle policy (MAJORITY of two organisations = both).
    let signers = verify_endorsements(&net.config, &etx).unwrap();
    assert!(
        net.config
            .lifecycle_policy
            .evaluate(&signers, &net.config.orgs)
            .unwrap()
    );
    assert!(
        !net.config
            .lifecycle_policy
            .evaluate(&signers[..1], &net.config.orgs)
            .unwrap()
    );
    assert_eq!(dev.load(), 0);
}

#[test]
fn invoke_under_and_policy_records_read_versions_and_new_values() {
    let (net, dev) = asset_world();
    let tx = net.tx(
        &net.client,
        2,
        invoke("asset", "transfer", &[b"alice", b"bob", b"30"]),
    );
    let etx = net.endorsed(&dev, tx, &[1, 3]);
    let r = &etx.response;
    let (alice, bob) = (
        contract_key("asset", b"acct/alice"),
        contract_key("asset", b"acct/bob"),
    );
    assert_eq!(
        r.rwset.reads,
        vec![
            KvRead {
                key: alice.clone(),
                version: Some(Version { block: 2, tx: 0 })
            },
            KvRead {
                key: bob.clone(),
                version: Some(Version { block: 2, tx: 1 })
            },
        ]
    );
    assert_eq!(
        r.rwset.writes,
        vec![
            KvWrite {
                key: alice.clone(),
                value: Some(account_record(&net.client, 70))
            },
            KvWrite {
                key: bob.clone(),
                value: Some(account_record(&net.admin, 35))
            },
        ]
    );
    assert_eq!(
        r.events,
        vec![Event {
            contract: "asset".into(),
            name: "transfer".into(),
            data: b"alice bob 30".to_vec()
        }]
    );
    assert_signatures(&net, &etx, &[1, 3]);

    // One peer per organisation satisfies AND('Org1.peer','Org2.peer'); one alone does not.
    let policy = dev.ledger().policy_at_tip(&etx.tx.payload.action).unwrap();
    let signers = verify_endorsements(&net.config, &etx).unwrap();
    assert!(policy.evaluate(&signers, &net.config.orgs).unwrap());
    assert!(!policy.evaluate(&signers[1..], &net.config.orgs).unwrap());

    // Peers accept it; the writes land at version (3, 0).
    assert_valid(&net.commit(dev.ledger(), vec![etx]).receipts);
    let stored = dev.ledger().store().get(&alice).unwrap().unwrap();
    assert_eq!(stored.value, account_record(&net.client, 70));
    assert_eq!(stored.version, Version { block: 3, tx: 0 });
}

#[test]
fn two_devices_at_the_same_height_agree_on_the_response() {
    let (net, dev) = asset_world();
    let tx = net.tx(
        &net.client,
        2,
        invoke("asset", "transfer", &[b"alice", b"bob", b"1"]),
    );
    let a = net.endorsed(&dev, tx.clone(), &[0, 2]);
    let other = net.endorser(&[1, 3]);
    // A second device with its own, equally advanced replica agrees on the response.
    for block in 1..=2 {
        let bytes = dev.ledger().store().block(block).unwrap().unwrap();
        other.ledger().commit_bytes(&bytes).unwrap();
    }
    let b = net.endorsed(&other, tx, &[1, 3]);
    assert_eq!(a.response, b.response);
    assert_eq!(a.endorsement_message(), b.endorsement_message());
}

#[test]
fn simulation_reads_the_snapshot_and_signs_nothing() {
    let (net, dev) = asset_world();
    let query = net.tx(&net.client, 50, invoke("asset", "balance", &[b"alice"]));
    let sim = dev.simulate(&query).unwrap();
    assert_eq!(sim.result, b"100");
    let alice = contract_key("asset", b"acct/alice");
    assert_eq!(
        sim.rwset.reads,
        vec![KvRead {
            key: alice.clone(),
            version: Some(Version { block: 2, tx: 0 })
        }]
    );
    assert!(sim.rwset.writes.is_empty());

    // No peers: simulate only, no endorsement.
    let resp = crate::support::endorse_one(&dev, &query, Vec::new()).unwrap();
    assert!(resp.endorsements.is_empty());
    assert_eq!(resp.response, sim);

    // Keep a replica at height 2, then move the device to height 3.
    let stale = net.endorser(&[0]);
    for block in 1..=2 {
        stale
            .ledger()
            .commit_bytes(&dev.ledger().store().block(block).unwrap().unwrap())
            .unwrap();
    }
    let transfer = net.endorsed(
        &dev,
        net.tx(
            &net.client,
            2,
            invoke("asset", "transfer", &[b"alice", b"bob", b"40"]),
        ),
        &[0, 2],
    );
    assert_valid(&net.commit(dev.ledger(), vec![transfer]).receipts);

    let now = dev.simulate(&query).unwrap();
    assert_eq!(now.result, b"60");
    assert_eq!(
        now.rwset.reads,
        vec![KvRead {
            key: alice.clone(),
            version: Some(Version { block: 3, tx: 0 })
        }]
    );
    // The stale replica answers from its own snapshot: the old value at the old version.
    let old = stale.simulate(&query).unwrap();
    assert_eq!(old.result, b"100");
    assert_eq!(old.rwset.reads, sim.rwset.reads);
    assert_ne!(old.hash(), now.hash());
}

//! L7 key rotation as the peers see it: an admin's `RotateKey` transaction, endorsed under the
//! lifecycle policy, replaces a peer's endorsement key from the next transaction on (also within
//! the same block); every malformed or unauthorised rotation is rejected with its code. A ledger
//! inside the management network (`SignatureTrust::TrustOrderer`) judges every one of these
//! blocks as the peer does: an endorsement under a key rotated away is refused there too.

use arcanum_crypto::{SigningKey, domain};
use arcanum_ledger::{peer_key_key, rotation_writes};
use arcanum_storage::StateReader;
use arcanum_types::ErrorCode::{BadEndorsement, InvalidTx, NotAdmin, PolicyNotSatisfied};
use arcanum_types::{
    EndorsedTx, Endorsement, KvRead, PublicKey, RwSet, TxAction, TxStatus, decode,
};

use crate::harness::{Actor, BOTH_ORGS, Net, ORG1_ORG2};

pub(crate) fn new_key(tag: &str) -> SigningKey {
    Actor::new(tag).key
}

/// The rotation of peer `peer`'s key to `key`, by `creator`, endorsed by `endorsers`.
pub(crate) fn rotation(
    net: &Net,
    creator: &Actor,
    peer: usize,
    key: &PublicKey,
    endorsers: &[usize],
) -> EndorsedTx {
    let id = net.peers[peer].id;
    let action = TxAction::RotateKey {
        peer: id,
        public_key: key.clone(),
    };
    let tx = Net::sign(net.payload(creator, action), creator);
    let current = StateReader::get(net.ledgers[0].store().as_ref(), &peer_key_key(&id))
        .expect("reads")
        .map(|v| v.version);
    let rwset = RwSet {
        reads: vec![KvRead {
            key: peer_key_key(&id),
            version: current,
        }],
        writes: rotation_writes(&id, key),
    };
    let response = Net::response(&tx, rwset);
    net.endorse(tx, response, endorsers)
}

/// A put of `key` endorsed by peer 0 with `peer0_key` and by peer 2 with its own key.
pub(crate) fn put_endorsed_with(net: &Net, key: &[u8], peer0_key: &SigningKey) -> EndorsedTx {
    let mut etx = net.put("kv", key, b"v", &[2]);
    let e = Endorsement {
        endorser: net.peers[0].id,
        signature: peer0_key.sign(domain::ENDORSEMENT, &etx.endorsement_message()),
    };
    etx.endorsements.insert(0, e);
    etx
}

#[test]
fn a_rotated_key_replaces_the_old_one_from_the_next_transaction_on() {
    // Every delivery checks that the peer and the replica judge alike.
    let net = Net::peer_and_replica();
    net.setup_contract("kv", BOTH_ORGS);
    let old = &net.peers[0].key;
    let fresh = new_key("peer0.org1 rotated");
    assert_eq!(
        net.commit_one(put_endorsed_with(&net, b"before", old)),
        TxStatus::Valid
    );

    let (_, st) = net.commit(vec![
        put_endorsed_with(&net, b"same-block-old-first", old),
        rotation(&net, &net.admin, 0, &fresh.public_key(), ORG1_ORG2),
        put_endorsed_with(&net, b"same-block-new", &fresh),
        put_endorsed_with(&net, b"same-block-old", old),
    ]);
    assert_eq!(
        st,
        [
            TxStatus::Valid,
            TxStatus::Valid,
            TxStatus::Valid,
            TxStatus::Invalid(BadEndorsement)
        ]
    );
    for l in &net.ledgers {
        let stored = StateReader::get(l.store().as_ref(), &peer_key_key(&net.peers[0].id))
            .expect("reads")
            .expect("stored");
        assert_eq!(
            decode::<PublicKey>(&stored.value, 4096).expect("decodes"),
            fresh.public_key()
        );
        assert_eq!(
            l.peer_key_at_tip(&net.config.members[&net.peers[0].id])
                .expect("reads"),
            fresh.public_key()
        );
    }
    net.assert_rejected(put_endorsed_with(&net, b"after-old", old), BadEndorsement);
    assert_eq!(
        net.commit_one(put_endorsed_with(&net, b"after-new", &fresh)),
        TxStatus::Valid
    );
    assert_eq!(net.value("kv", b"same-block-old"), None);
    assert!(net.value("kv", b"same-block-new").is_some());

    // A second rotation must be endorsed with the current key.
    let again = new_key("peer0.org1 rotated twice");
    let mut second = rotation(&net, &net.admin, 0, &again.public_key(), &[2]);
    let e = Endorsement {
        endorser: net.peers[0].id,
        signature: old.sign(domain::ENDORSEMENT, &second.endorsement_message()),
    };
    second.endorsements.push(e);
    net.assert_rejected(second, BadEndorsement);
    let mut second = rotation(&net, &net.admin, 0, &again.public_key(), &[2]);
    let e = Endorsement {
        endorser: net.peers[0].id,
        signature: fresh.sign(domain::ENDORSEMENT, &second.endorsement_message()),
    };
    second.endorsements.push(e);
    assert_eq!(net.commit_one(second), TxStatus::Valid);
}

#[test]
fn unauthorised_or_malformed_rotations_are_rejected() {
    let net = Net::peer_and_replica();
    let fresh = new_key("rotated").public_key();
    let (_, _, root) = net.fingerprint();
    // Only an admin of the peer's own organisation may rotate it (the admin is Org1's).
    net.assert_rejected(rotation(&net, &net.client, 0, &fresh, ORG1_ORG2), NotAdmin);
    net.assert_rejected(rotation(&net, &net.admin, 2, &fresh, ORG1_ORG2), NotAdmin);
    // The lifecycle policy applies.
    net.assert_rejected(
        rotation(&net, &net.admin, 0, &fresh, &[0, 1]),
        PolicyNotSatisfied,
    );
    // The target must be a peer.
    let action = TxAction::RotateKey {
        peer: net.client.id,
        public_key: fresh.clone(),
    };
    let tx = Net::sign(net.payload(&net.admin, action), &net.admin);
    let response = Net::response(
        &tx,
        RwSet {
            reads: vec![],
            writes: rotation_writes(&net.client.id, &fresh),
        },
    );
    net.assert_rejected(net.endorse(tx, response, ORG1_ORG2), InvalidTx);
    // The write set must record exactly the requested key.
    let mut wrong = rotation(&net, &net.admin, 0, &fresh, &[]);
    wrong.response.rwset.writes = rotation_writes(&net.peers[0].id, &new_key("other").public_key());
    net.reendorse(&mut wrong, ORG1_ORG2);
    net.assert_rejected(wrong, InvalidTx);
    // An empty key is malformed.
    let empty = PublicKey {
        algorithm: fresh.algorithm,
        bytes: vec![],
    };
    net.assert_rejected(rotation(&net, &net.admin, 0, &empty, ORG1_ORG2), InvalidTx);
    assert_eq!(net.fingerprint().2, root);
    // The original key still endorses.
    net.setup_contract("kv", BOTH_ORGS);
    assert_eq!(
        net.commit_one(net.put("kv", b"k", b"v", ORG1_ORG2)),
        TxStatus::Valid
    );
}

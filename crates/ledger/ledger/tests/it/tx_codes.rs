//! Every per-transaction rejection code, each with state left unchanged, and mixed blocks.

use arcanum_crypto::domain;
use arcanum_ledger::{contract_key, definition_key};
use arcanum_types::ErrorCode::{
    BadClientSignature, ClientNotAllowed, ContractExists, ContractNotFound, DuplicateTx,
    EndorsementRejected, InvalidTx, MvccReadConflict, NotAdmin, PolicyNotSatisfied,
    PolicyParseError, WrongChannel,
};
use arcanum_types::{KvRead, KvWrite, RwSet, Signature, TxAction, TxStatus, Version, Vote, limits};

use crate::harness::{Actor, BOTH_ORGS, Net, ORG1_ORG2, rwset};

fn net() -> Net {
    let net = Net::new();
    net.setup_contract("kv", BOTH_ORGS);
    net
}

const INVALID: fn(arcanum_types::ErrorCode) -> TxStatus = TxStatus::Invalid;

#[test]
fn bad_client_signature() {
    let net = net();
    // Signed by someone else's key.
    let mut put = net.put("kv", b"k", b"v", ORG1_ORG2);
    put.tx.signature = net.stranger.key.sign(domain::TX_SIGNATURE, &put.id().0);
    net.assert_rejected(put, BadClientSignature);
    // The client's key over another payload's id.
    let mut put = net.put("kv", b"k", b"v", ORG1_ORG2);
    let other = net.payload(&net.client, put.tx.payload.action.clone());
    put.tx.signature = net.client.key.sign(domain::TX_SIGNATURE, &other.id().0);
    net.assert_rejected(put, BadClientSignature);
    // The right bytes under the endorsement domain.
    let mut put = net.put("kv", b"k", b"v", ORG1_ORG2);
    put.tx.signature = net.client.key.sign(domain::ENDORSEMENT, &put.id().0);
    net.assert_rejected(put, BadClientSignature);
    // Garbage.
    let mut put = net.put("kv", b"k", b"v", ORG1_ORG2);
    put.tx.signature = Signature(vec![7; 64]);
    net.assert_rejected(put, BadClientSignature);
    assert_eq!(net.value("kv", b"k"), None);
}

#[test]
fn client_not_allowed() {
    let net = net();
    // A member that is not on the allow-list, one that is not a client, and a stranger: each
    // signs correctly and is endorsed correctly.
    let outsider = Actor::new("nobody");
    for who in [
        &net.unlisted,
        &net.peers[0],
        &net.orderer,
        &net.stranger,
        &outsider,
    ] {
        let tx = net.invoke_tx(who, "kv", "put");
        let response = Net::response(&tx, rwset("kv", &[], &[(b"k", Some(b"v"))]));
        net.assert_rejected(net.endorse(tx, response, ORG1_ORG2), ClientNotAllowed);
    }
    assert_eq!(net.value("kv", b"k"), None);
}

#[test]
fn wrong_channel() {
    let net = net();
    let mut payload = net.payload(
        &net.client,
        TxAction::Invoke {
            contract: "kv".into(),
            function: "put".into(),
            args: vec![],
        },
    );
    payload.channel = "other-channel".into();
    let tx = Net::sign(payload, &net.client);
    let response = Net::response(&tx, rwset("kv", &[], &[(b"k", Some(b"v"))]));
    net.assert_rejected(net.endorse(tx, response, ORG1_ORG2), WrongChannel);
}

#[test]
fn duplicate_in_one_block_and_in_a_later_block() {
    let net = net();
    let put = net.put("kv", b"k", b"v", ORG1_ORG2);
    let (_, st) = net.commit(vec![put.clone(), put.clone()]);
    assert_eq!(st, [TxStatus::Valid, INVALID(DuplicateTx)]);
    let (height, _, _) = net.fingerprint();
    let first = Version {
        block: height,
        tx: 0,
    };
    assert_eq!(net.version("kv", b"k"), Some(first));
    // The first receipt stays the indexed one.
    for l in &net.ledgers {
        let r = l
            .store()
            .receipt(&put.id())
            .expect("reads")
            .expect("indexed");
        assert_eq!((r.block, r.index, r.status), (height, 0, TxStatus::Valid));
    }
    // Replayed later: rejected, and the value keeps its first version.
    let root = net.fingerprint().2;
    let (_, st) = net.commit(vec![put.clone()]);
    assert_eq!(st, [INVALID(DuplicateTx)]);
    assert_eq!(net.fingerprint().2, root);
    assert_eq!(net.version("kv", b"k"), Some(first));
    // A replay re-endorsed with a fresh, consistent response is still a replay.
    let mut replay = put;
    replay.response.rwset = rwset("kv", &[(b"k", Some(first))], &[(b"k", Some(b"again"))]);
    net.reendorse(&mut replay, ORG1_ORG2);
    net.assert_rejected(replay, DuplicateTx);
}

#[test]
fn an_invalid_transaction_still_uses_up_its_id() {
    let net = net();
    let good = net.put("kv", b"k", b"v", ORG1_ORG2);
    let mut lacking = good.clone();
    lacking.endorsements.truncate(1);
    net.assert_rejected(lacking, PolicyNotSatisfied);
    net.assert_rejected(good, DuplicateTx);
    assert_eq!(net.value("kv", b"k"), None);
}

#[test]
fn a_copy_with_a_bad_client_signature_takes_the_id_first() {
    // The first occurrence of an id, valid or not, owns it: the index keeps its receipt, so a
    // later copy in the same block must not apply its writes (it would contradict the index).
    let net = net();
    let good = net.put("kv", b"k", b"v", ORG1_ORG2);
    let mut forged = good.clone();
    forged.tx.signature = net.stranger.key.sign(domain::TX_SIGNATURE, &good.id().0);
    let id = good.id();
    let (block, st) = net.commit(vec![forged, good]);
    assert_eq!(st, [INVALID(BadClientSignature), INVALID(DuplicateTx)]);
    assert_eq!(net.value("kv", b"k"), None);
    for l in &net.ledgers {
        let r = l.store().receipt(&id).expect("reads").expect("indexed");
        assert_eq!(
            (r.block, r.index, r.status),
            (block.header.height, 0, INVALID(BadClientSignature))
        );
    }
}

#[test]
fn invalid_tx_response_id_mismatch() {
    let net = net();
    let mut put = net.put("kv", b"k", b"v", ORG1_ORG2);
    put.response.tx_id = net.put("kv", b"k", b"v", ORG1_ORG2).id();
    net.reendorse(&mut put, ORG1_ORG2);
    net.assert_rejected(put, InvalidTx);
}

#[test]
fn invalid_tx_non_canonical_rwset() {
    let net = net();
    let w = |k: &[u8]| KvWrite {
        key: contract_key("kv", k),
        value: Some(b"v".to_vec()),
    };
    let r = |k: &[u8]| KvRead {
        key: contract_key("kv", k),
        version: None,
    };
    let sets = [
        RwSet {
            reads: vec![],
            writes: vec![w(b"b"), w(b"a")],
        },
        RwSet {
            reads: vec![],
            writes: vec![w(b"a"), w(b"a")],
        },
        RwSet {
            reads: vec![r(b"b"), r(b"a")],
            writes: vec![],
        },
        RwSet {
            reads: vec![r(b"a"), r(b"a")],
            writes: vec![w(b"a")],
        },
    ];
    for set in sets {
        net.assert_rejected(net.invoke("kv", set, ORG1_ORG2), InvalidTx);
    }
    assert_eq!(net.value("kv", b"a"), None);
}

#[test]
fn invalid_tx_outside_the_contract_namespace() {
    let net = net();
    net.setup_contract("other", BOTH_ORGS);
    let foreign = |key: Vec<u8>| RwSet {
        reads: vec![],
        writes: vec![KvWrite {
            key,
            value: Some(b"x".to_vec()),
        }],
    };
    // Another contract's key, a key of a contract whose name extends ours, the lifecycle records
    // (overwriting kv's own definition), and a raw key without namespace.
    for key in [
        contract_key("other", b"k"),
        contract_key("kv2", b"k"),
        definition_key("kv"),
        b"kv".to_vec(),
    ] {
        let (_, _, root) = net.fingerprint();
        net.assert_rejected(net.invoke("kv", foreign(key), ORG1_ORG2), InvalidTx);
        assert_eq!(net.fingerprint().2, root);
    }
    // A read outside the namespace is refused too.
    let set = RwSet {
        reads: vec![KvRead {
            key: contract_key("other", b"k"),
            version: None,
        }],
        writes: vec![],
    };
    net.assert_rejected(net.invoke("kv", set, ORG1_ORG2), InvalidTx);
}

#[test]
fn invalid_tx_bad_shape() {
    let net = net();
    let set = || rwset("kv", &[], &[(b"k", Some(b"v"))]);
    let actions = [
        TxAction::Invoke {
            contract: "KV".into(),
            function: "put".into(),
            args: vec![],
        },
        TxAction::Invoke {
            contract: "_lifecycle".into(),
            function: "put".into(),
            args: vec![],
        },
        TxAction::Invoke {
            contract: "kv".into(),
            function: String::new(),
            args: vec![],
        },
        TxAction::Invoke {
            contract: "kv".into(),
            function: "pütt".into(),
            args: vec![],
        },
        TxAction::Invoke {
            contract: "kv".into(),
            function: "put".into(),
            args: vec![vec![]; limits::MAX_ARGS + 1],
        },
        TxAction::Deploy {
            contract: "new".into(),
            wasm: vec![],
            policy: BOTH_ORGS.into(),
        },
    ];
    for action in actions {
        let tx = Net::sign(net.payload(&net.client, action), &net.client);
        let response = Net::response(&tx, set());
        net.assert_rejected(net.endorse(tx, response, ORG1_ORG2), InvalidTx);
    }
}

#[test]
fn deploy_with_wrong_writes_or_policy() {
    let net = net();
    // Extra write next to the definition and code.
    let tx = net.deploy_tx(&net.admin, "new", BOTH_ORGS);
    let mut set = Net::deploy_rwset("new", BOTH_ORGS);
    set.writes.push(KvWrite {
        key: contract_key("new", b"seed"),
        value: Some(b"1".to_vec()),
    });
    let response = Net::response(&tx, set);
    net.assert_rejected(net.endorse(tx, response, ORG1_ORG2), InvalidTx);
    // Definition for another policy than the one requested.
    let tx = net.deploy_tx(&net.admin, "new", BOTH_ORGS);
    let response = Net::response(&tx, Net::deploy_rwset("new", "OR('Org1.peer')"));
    net.assert_rejected(net.endorse(tx, response, ORG1_ORG2), InvalidTx);
    // A policy that does not parse.
    net.assert_rejected(
        net.deploy(&net.admin, "new", "AND('Org1.peer'", ORG1_ORG2),
        PolicyParseError,
    );
    assert_eq!(
        net.ledgers[0]
            .policy_at_tip(&TxAction::Invoke {
                contract: "new".into(),
                function: "f".into(),
                args: vec![]
            })
            .map_err(|e| e.code)
            .err(),
        Some(ContractNotFound)
    );
}

#[test]
fn endorsement_rejected() {
    let net = net();
    let mut put = net.put("kv", b"k", b"v", ORG1_ORG2);
    put.response.vote = Vote::Reject;
    net.reendorse(&mut put, ORG1_ORG2);
    net.assert_rejected(put, EndorsementRejected);
}

#[test]
fn contract_not_found() {
    let net = net();
    net.assert_rejected(net.put("nosuch", b"k", b"v", ORG1_ORG2), ContractNotFound);
}

#[test]
fn not_admin() {
    let net = net();
    net.assert_rejected(
        net.deploy(&net.client, "new", BOTH_ORGS, ORG1_ORG2),
        NotAdmin,
    );
}

#[test]
fn contract_exists() {
    let net = net();
    net.assert_rejected(
        net.deploy(&net.admin, "kv", "OR('Org1.peer')", ORG1_ORG2),
        ContractExists,
    );
    // Two deploys of one name in one block: the second finds the first.
    let (_, st) = net.commit(vec![
        net.deploy(&net.admin, "twin", BOTH_ORGS, ORG1_ORG2),
        net.deploy(&net.admin, "twin", "OR('Org1.peer')", ORG1_ORG2),
    ]);
    assert_eq!(st, [TxStatus::Valid, INVALID(ContractExists)]);
}

#[test]
fn policy_not_satisfied() {
    let net = net();
    net.setup_contract("org2", "OR('Org2.peer')");
    net.assert_rejected(net.put("org2", b"k", b"v", &[0, 1]), PolicyNotSatisfied);
    // An implicit-meta policy over an unknown sub-policy parses but is never satisfied.
    net.setup_contract("odd", "ANY Nonsense");
    net.assert_rejected(
        net.put("odd", b"k", b"v", &[0, 1, 2, 3]),
        PolicyNotSatisfied,
    );
}

#[test]
fn mvcc_stale_read_version() {
    let net = net();
    assert_eq!(
        net.commit_one(net.put("kv", b"k", b"1", ORG1_ORG2)),
        TxStatus::Valid
    );
    let v1 = net.version("kv", b"k").expect("k is set");
    // Read as absent although it exists.
    let stale = net.invoke(
        "kv",
        rwset("kv", &[(b"k", None)], &[(b"k", Some(b"2"))]),
        ORG1_ORG2,
    );
    net.assert_rejected(stale, MvccReadConflict);
    // Read at an older version after an update.
    let read_v1 = |value: &'static [u8]| {
        net.invoke(
            "kv",
            rwset("kv", &[(b"k", Some(v1))], &[(b"k", Some(value))]),
            ORG1_ORG2,
        )
    };
    assert_eq!(net.commit_one(read_v1(b"2")), TxStatus::Valid);
    net.assert_rejected(read_v1(b"3"), MvccReadConflict);
    // Read at a version of a key that was deleted since.
    let v2 = net.version("kv", b"k");
    let del = net.invoke("kv", rwset("kv", &[(b"k", v2)], &[(b"k", None)]), ORG1_ORG2);
    assert_eq!(net.commit_one(del), TxStatus::Valid);
    net.assert_rejected(
        net.invoke("kv", rwset("kv", &[(b"k", v2)], &[]), ORG1_ORG2),
        MvccReadConflict,
    );
    assert_eq!(net.value("kv", b"k"), None);
}

#[test]
fn mvcc_two_transactions_of_one_block_read_the_same_key() {
    let net = net();
    // Both simulated against the same state; the first's write makes the second's read stale.
    let a = net.put("kv", b"k", b"a", ORG1_ORG2);
    let b = net.put("kv", b"k", b"b", ORG1_ORG2);
    // A read-only transaction of the same key after them conflicts as well.
    let c = net.invoke("kv", rwset("kv", &[(b"k", None)], &[]), ORG1_ORG2);
    let (block, st) = net.commit(vec![a, b, c]);
    assert_eq!(
        st,
        [
            TxStatus::Valid,
            INVALID(MvccReadConflict),
            INVALID(MvccReadConflict)
        ]
    );
    let v = net.value("kv", b"k").expect("k is set");
    assert_eq!(
        (v.value.as_slice(), v.version),
        (
            b"a".as_slice(),
            Version {
                block: block.header.height,
                tx: 0
            }
        )
    );
    // Two readers that do not write do not conflict with each other.
    let r = net.version("kv", b"k");
    let (_, st) = net.commit(vec![
        net.invoke(
            "kv",
            rwset("kv", &[(b"k", r)], &[(b"x", Some(b"1"))]),
            ORG1_ORG2,
        ),
        net.invoke(
            "kv",
            rwset("kv", &[(b"k", r)], &[(b"y", Some(b"1"))]),
            ORG1_ORG2,
        ),
    ]);
    assert_eq!(st, [TxStatus::Valid, TxStatus::Valid]);
}

#[test]
fn mixed_block_applies_only_the_valid_transactions() {
    let net = net();
    let ok0 = net.put("kv", b"a", b"1", ORG1_ORG2);
    let mut bad_sig = net.put("kv", b"b", b"1", ORG1_ORG2);
    bad_sig.tx.signature = net.client.key.sign(domain::TX_SIGNATURE, b"something else");
    let ok2 = net.put("kv", b"c", b"1", ORG1_ORG2);
    let unendorsed = net.put("kv", b"d", b"1", &[2]);
    let replay = ok0.clone();
    let conflict = net.put("kv", b"c", b"2", ORG1_ORG2);
    let not_found = net.put("ghost", b"e", b"1", ORG1_ORG2);
    let unlisted = {
        let tx = net.invoke_tx(&net.unlisted, "kv", "put");
        let response = Net::response(&tx, rwset("kv", &[], &[(b"f", Some(b"1"))]));
        net.endorse(tx, response, ORG1_ORG2)
    };
    let ok8 = net.put("kv", b"g", b"1", ORG1_ORG2);
    let (block, st) = net.commit(vec![
        ok0, bad_sig, ok2, unendorsed, replay, conflict, not_found, unlisted, ok8,
    ]);
    assert_eq!(
        st,
        [
            TxStatus::Valid,
            INVALID(BadClientSignature),
            TxStatus::Valid,
            INVALID(PolicyNotSatisfied),
            INVALID(DuplicateTx),
            INVALID(MvccReadConflict),
            INVALID(ContractNotFound),
            INVALID(ClientNotAllowed),
            TxStatus::Valid,
        ]
    );
    let h = block.header.height;
    assert_eq!(net.version("kv", b"a"), Some(Version { block: h, tx: 0 }));
    assert_eq!(
        net.value("kv", b"c").map(|v| (v.value, v.version)),
        Some((b"1".to_vec(), Version { block: h, tx: 2 }))
    );
    assert_eq!(net.version("kv", b"g"), Some(Version { block: h, tx: 8 }));
    for absent in [b"b", b"d", b"e", b"f"] {
        assert_eq!(net.value("kv", absent), None);
    }
    assert_eq!(net.value("ghost", b"e"), None);
}

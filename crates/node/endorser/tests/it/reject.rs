//! Every request the device must refuse, with its exact error code. A refusal signs nothing:
//! `endorse` returns an error instead of a response.

use arcanum_contracts::{ASSET_WASM, KV_WASM};
use arcanum_crypto::SigningKey;
use arcanum_endorser::Endorser;
use arcanum_types::{ErrorCode, SignedTx, TxAction, TxPayload, limits};

use crate::endorse::{assert_valid, asset_world};
use crate::support::{
    AND_POLICY, CHANNEL, Net, SPIN_WASM, deploy, endorse_one, invoke, other_id, sign,
};

/// Endorses for peers 0 and 2 and returns the error code; also checks that a pure simulation
/// refuses the same way (the checks do not depend on signing).
fn refused(dev: &Endorser, net: &Net, tx: SignedTx) -> ErrorCode {
    let code = endorse_one(dev, &tx, net.peer_ids(&[0, 2]))
        .unwrap_err()
        .code;
    assert_eq!(dev.simulate(&tx).unwrap_err().code, code);
    assert_eq!(
        dev.load(),
        0,
        "the load figure returns to zero after a refusal"
    );
    code
}

#[test]
fn bad_client_signature() {
    let (net, dev) = asset_world();
    let mut tx = net.tx(&net.client, 9, invoke("asset", "balance", &[b"alice"]));
    tx.signature.0[0] ^= 1;
    assert_eq!(refused(&dev, &net, tx), ErrorCode::BadClientSignature);

    // Signed by someone else's key.
    let payload = net
        .tx(&net.client, 9, invoke("asset", "balance", &[b"alice"]))
        .payload;
    let forged = sign(
        &net.admin,
        TxPayload {
            creator: net.client.id,
            ..payload.clone()
        },
    );
    assert_eq!(refused(&dev, &net, forged), ErrorCode::BadClientSignature);

    // A signature over another transaction.
    let mut swapped = net.tx(&net.client, 9, invoke("asset", "balance", &[b"alice"]));
    swapped.signature = net
        .tx(&net.client, 10, invoke("asset", "balance", &[b"alice"]))
        .signature;
    assert_eq!(refused(&dev, &net, swapped), ErrorCode::BadClientSignature);
}

#[test]
fn client_not_allowed() {
    let (net, dev) = asset_world();
    let listed_not_allowed = net.tx(&net.unlisted, 1, invoke("asset", "balance", &[b"alice"]));
    assert_eq!(
        refused(&dev, &net, listed_not_allowed),
        ErrorCode::ClientNotAllowed
    );
    let unknown = net.tx(&net.outsider, 1, invoke("asset", "balance", &[b"alice"]));
    assert_eq!(refused(&dev, &net, unknown), ErrorCode::ClientNotAllowed);
    // A peer is a member but not a client.
    let peer = net.tx(&net.peers[0], 1, invoke("asset", "balance", &[b"alice"]));
    assert_eq!(refused(&dev, &net, peer), ErrorCode::ClientNotAllowed);
}

#[test]
fn wrong_channel() {
    let (net, dev) = asset_world();
    let payload = TxPayload {
        channel: format!("{CHANNEL}-other"),
        creator: net.client.id,
        nonce: 1,
        action: invoke("asset", "balance", &[b"alice"]),
    };
    assert_eq!(
        refused(&dev, &net, sign(&net.client, payload)),
        ErrorCode::WrongChannel
    );
}

#[test]
fn duplicate_of_a_committed_transaction() {
    let (net, dev) = asset_world();
    // The very deploy of block 1 and the create of block 2, sent again.
    let deploy_again = net.tx(&net.admin, 1, deploy("asset", ASSET_WASM, AND_POLICY));
    assert_eq!(refused(&dev, &net, deploy_again), ErrorCode::DuplicateTx);
    let create_again = net.tx(
        &net.client,
        1,
        invoke("asset", "create", &[b"alice", b"100"]),
    );
    assert_eq!(refused(&dev, &net, create_again), ErrorCode::DuplicateTx);
    // A fresh nonce makes it a new transaction (then refused by the contract, not as a replay).
    let fresh = net.tx(
        &net.client,
        77,
        invoke("asset", "create", &[b"alice", b"100"]),
    );
    assert_eq!(refused(&dev, &net, fresh), ErrorCode::ContractError);
}

#[test]
fn contract_not_found() {
    let (net, dev) = asset_world();
    let tx = net.tx(&net.client, 1_000, invoke("nosuch", "get", &[b"k"]));
    assert_eq!(refused(&dev, &net, tx), ErrorCode::ContractNotFound);
}

#[test]
fn only_admins_deploy() {
    let (net, dev) = asset_world();
    let tx = net.tx(&net.client, 1_000, deploy("kv", KV_WASM, AND_POLICY));
    assert_eq!(refused(&dev, &net, tx), ErrorCode::NotAdmin);
}

#[test]
fn contract_exists() {
    let (net, dev) = asset_world();
    let tx = net.tx(&net.admin, 1_000, deploy("asset", KV_WASM, AND_POLICY));
    assert_eq!(refused(&dev, &net, tx), ErrorCode::ContractExists);
}

#[test]
fn invalid_contract() {
    let (net, dev) = asset_world();
    let garbage = net.tx(
        &net.admin,
        1_000,
        deploy("junk", b"definitely not wasm", AND_POLICY),
    );
    assert_eq!(refused(&dev, &net, garbage), ErrorCode::InvalidContract);
    // Well-formed WebAssembly without memory or entry points.
    let empty_module = net.tx(
        &net.admin,
        1_001,
        deploy("empty", b"\0asm\x01\0\0\0", AND_POLICY),
    );
    assert_eq!(
        refused(&dev, &net, empty_module),
        ErrorCode::InvalidContract
    );
    // A truncated copy of a real contract.
    let truncated = net.tx(
        &net.admin,
        1_002,
        deploy("cut", &ASSET_WASM[..ASSET_WASM.len() / 2], AND_POLICY),
    );
    assert_eq!(refused(&dev, &net, truncated), ErrorCode::InvalidContract);
}

#[test]
fn contract_errors() {
    let (net, dev) = asset_world();
    let too_much = net.tx(
        &net.client,
        1_000,
        invoke("asset", "transfer", &[b"alice", b"bob", b"101"]),
    );
    assert_eq!(refused(&dev, &net, too_much), ErrorCode::ContractError);
    let not_owner = net.tx(
        &net.client,
        1_001,
        invoke("asset", "transfer", &[b"bob", b"alice", b"1"]),
    );
    assert_eq!(refused(&dev, &net, not_owner), ErrorCode::ContractError);
    let unknown_account = net.tx(&net.client, 1_002, invoke("asset", "balance", &[b"nobody"]));
    assert_eq!(
        refused(&dev, &net, unknown_account),
        ErrorCode::ContractError
    );
}

#[test]
fn out_of_fuel() {
    let (net, dev) = asset_world();
    let etx = net.endorsed(
        &dev,
        net.tx(&net.admin, 1_000, deploy("spin", SPIN_WASM, AND_POLICY)),
        &[0, 2],
    );
    assert_valid(&net.commit(dev.ledger(), vec![etx]).receipts);
    let tx = net.tx(&net.client, 1_001, invoke("spin", "spin", &[]));
    assert_eq!(refused(&dev, &net, tx), ErrorCode::OutOfFuel);
}

#[test]
fn malformed_transactions() {
    let (net, dev) = asset_world();
    let cases = [
        invoke("Asset", "balance", &[b"alice"]),
        invoke("_lifecycle", "balance", &[b"alice"]),
        invoke("", "balance", &[b"alice"]),
        invoke("asset", "", &[b"alice"]),
        invoke(
            "asset",
            &"f".repeat(limits::MAX_FUNCTION_NAME + 1),
            &[b"alice"],
        ),
        TxAction::Invoke {
            contract: "asset".into(),
            function: "balance".into(),
            args: vec![b"x".to_vec(); limits::MAX_ARGS + 1],
        },
        // An entry point the contract does not export.
        invoke("asset", "mint", &[b"alice"]),
        deploy("bad name", KV_WASM, AND_POLICY),
        deploy("kv", b"", AND_POLICY),
    ];
    for (i, action) in cases.into_iter().enumerate() {
        let tx = net.tx(&net.admin, 2_000 + i as u64, action.clone());
        assert_eq!(
            refused(&dev, &net, tx),
            ErrorCode::InvalidTx,
            "case {i}: {action:?}"
        );
    }
}

#[test]
fn policy_parse_error_on_deploy() {
    let (net, dev) = asset_world();
    for (i, policy) in ["AND('Org1.peer'", "MAJORITY", "OR('Org1.nobody')", ""]
        .into_iter()
        .enumerate()
    {
        let tx = net.tx(&net.admin, 3_000 + i as u64, deploy("kv", KV_WASM, policy));
        assert_eq!(
            refused(&dev, &net, tx),
            ErrorCode::PolicyParseError,
            "policy {policy:?}"
        );
    }
}

#[test]
fn unhosted_peer_is_unavailable_and_nothing_is_signed() {
    let (net, full) = asset_world();
    // A device hosting only Org1's peers, on a replica at the same height.
    let org1 = net.endorser(&[0, 1]);
    for block in 1..=2 {
        org1.ledger()
            .commit_bytes(&full.ledger().store().block(block).unwrap().unwrap())
            .unwrap();
    }
    let tx = net.tx(
        &net.client,
        1_000,
        invoke("asset", "transfer", &[b"alice", b"bob", b"1"]),
    );
    let req = |peers: &[usize]| endorse_one(&org1, &tx, net.peer_ids(peers));
    assert_eq!(
        req(&[0, 2]).unwrap_err().code,
        ErrorCode::EndorserUnavailable
    );
    assert_eq!(req(&[3]).unwrap_err().code, ErrorCode::EndorserUnavailable);
    // Checked before anything else: even a request that would fail simulation says so.
    let mut bad = tx.clone();
    bad.signature.0[0] ^= 1;
    assert_eq!(
        endorse_one(&org1, &bad, net.peer_ids(&[2]))
            .unwrap_err()
            .code,
        ErrorCode::EndorserUnavailable
    );
    // Its own peers are fine.
    assert_eq!(req(&[1, 0]).unwrap().endorsements.len(), 2);
    assert_eq!(org1.hosted_peers().len(), 2);
}

#[test]
fn hosted_keys_must_belong_to_consortium_peers() {
    let net = Net::new();
    let ledger = net.ledger();
    let unknown = Endorser::in_process(
        ledger.clone(),
        vec![(other_id("ghost"), SigningKey::from_ed25519_seed(&[99; 32]))],
    );
    assert_eq!(unknown.unwrap_err().code, ErrorCode::UnknownIdentity);
    // A client's key is not a peer's.
    let client = Endorser::in_process(ledger.clone(), vec![(net.client.id, net.client.key())]);
    assert_eq!(client.unwrap_err().code, ErrorCode::UnknownIdentity);
    // Peer 0's id with peer 1's key.
    let mismatched = Endorser::in_process(ledger, vec![(net.peers[0].id, net.peers[1].key())]);
    assert_eq!(mismatched.unwrap_err().code, ErrorCode::KeyFile);
}

//! C3: every node holding the cluster secret derives the same contract key for (id, version),
//! and a different one for each version.

use arcanum_cluster::{ClusterSecret, KeySchedule};
use arcanum_crypto::Hash;
use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse};

use crate::support::*;

#[test]
fn key_schedule_is_deterministic() {
    let s = ClusterSecret::from_bytes([7; 32]);
    let a = KeySchedule::derive(&s);
    let b = KeySchedule::derive(&s.clone());
    assert_eq!(a.public(), b.public());
    assert_eq!(a.id(), a.public().id());
    let id = Hash([1; 32]);
    assert_eq!(
        a.contract_key(&id, 3).public_key(),
        b.contract_key(&id, 3).public_key()
    );
    assert_ne!(
        a.contract_key(&id, 3).public_key(),
        a.contract_key(&id, 4).public_key()
    );
    let other = KeySchedule::derive(&ClusterSecret::from_bytes([8; 32]));
    assert_ne!(a.public(), other.public());
}

#[test]
fn every_member_derives_the_same_contract_key_and_rotation_changes_it() {
    let world = World::new();
    let a = world.node(1);
    let b = world.node(2);
    a.genesis();
    join(&world, &a, &b);
    let host_a = MemHost::default();
    let v1 = deploy(&a, &host_a, arcanum_contracts::KV_WASM, 1);
    assert_eq!(v1.statement.key_version, 1);
    assert_eq!(v1.statement.cluster_key, a.keys().signing_key);

    // B installs A's deployment (replication) and signs results with the same key.
    let host_b = MemHost::default();
    let (dep, code) = host_a.code.lock()[&v1.statement.contract_id].clone();
    assert!(matches!(
        b.call_with(
            ClusterRequest::InstallCode {
                deployment: dep,
                code: code.clone(),
            },
            &host_b
        ),
        ClusterResponse::Ok
    ));
    let id = v1.statement.contract_id;
    let put = request(id, "put", &[b"k", b"v"]);
    expect_ok(invoke(&b, &host_b, &put).0, &v1);

    // Rotation at A: version 2, another key; B derives the same one.
    let v2 = match a.call_with(
        ClusterRequest::RotateContractKey { contract_id: id },
        &host_a,
    ) {
        ClusterResponse::Deployment(d) => d,
        other => panic!("{other:?}"),
    };
    assert!(v2.verify());
    assert_eq!(v2.statement.key_version, 2);
    assert_ne!(v2.statement.contract_key, v1.statement.contract_key);
    assert_eq!(v2.statement.code_hash, v1.statement.code_hash);
    assert!(matches!(
        b.call_with(
            ClusterRequest::InstallCode {
                deployment: v2.clone(),
                code: code.clone(),
            },
            &host_b
        ),
        ClusterResponse::Ok
    ));
    let get = request(id, "get", &[b"k"]);
    assert_eq!(expect_ok(invoke(&b, &host_b, &get).0, &v2), b"v");
    // An older statement does not roll the version back.
    assert!(matches!(
        b.call_with(
            ClusterRequest::InstallCode {
                deployment: v1.clone(),
                code,
            },
            &host_b
        ),
        ClusterResponse::Ok
    ));
    let get = request(id, "get", &[b"k"]);
    expect_ok(invoke(&b, &host_b, &get).0, &v2);
    // A, rotated, signs with version 2 as well.
    let put = request(id, "put", &[b"x", b"y"]);
    expect_ok(invoke(&a, &host_a, &put).0, &v2);

    // A contract the node has never heard of cannot rotate.
    expect_error(
        a.call_with(
            ClusterRequest::RotateContractKey {
                contract_id: Hash([5; 32]),
            },
            &host_a,
        ),
        "OFFCHAIN_CONTRACT_UNKNOWN",
    );
}

#[test]
fn install_checks_the_statement_and_the_code() {
    let world = World::new();
    let a = world.node(1);
    a.genesis();
    let other = world.node(2);
    other.genesis();
    let host = MemHost::default();
    let dep = deploy(&a, &host, arcanum_contracts::KV_WASM, 1);
    let (_, code) = host.code.lock()[&dep.statement.contract_id].clone();

    // Tampered code record.
    let mut bad = code.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    expect_error(
        a.call(ClusterRequest::InstallCode {
            deployment: dep.clone(),
            code: bad,
        }),
        "DECRYPTION_FAILED",
    );
    // Another cluster's statement.
    let host_other = MemHost::default();
    let foreign = deploy(&other, &host_other, arcanum_contracts::KV_WASM, 1);
    expect_error(
        a.call(ClusterRequest::InstallCode {
            deployment: foreign,
            code: code.clone(),
        }),
        "CLUSTER_SIGNATURE_INVALID",
    );
    // A statement whose signature no longer verifies.
    let mut tampered = dep.clone();
    tampered.statement.key_version = 7;
    expect_error(
        a.call(ClusterRequest::InstallCode {
            deployment: tampered,
            code,
        }),
        "CLUSTER_SIGNATURE_INVALID",
    );
}

//! TEE nodes on loopback with the real cluster enclave: forming, joining, registering on a
//! real chain, deploying and invoking across nodes, and the refusals.

use std::collections::BTreeSet;
use std::time::Duration;

use arcanum_cluster::encode_args;
use arcanum_crypto::Hash;
use arcanum_enclave_protocol::cluster::StateRecord;
use arcanum_tee_node::routes;
use arcanum_types::offchain::wire::{seal_deploy, seal_invoke};
use arcanum_types::offchain::{
    ClusterKeys, DeployRequest, InvokeReply, InvokeRequest, SignedDeployment,
};
use arcanum_types::{decode, encode};

use crate::support::{Net, cluster_info, post};

fn request(contract: Hash, function: &str, args: &[&[u8]]) -> InvokeRequest {
    InvokeRequest {
        contract_id: contract,
        function: function.into(),
        input: encode_args(&args.iter().map(|a| a.to_vec()).collect::<Vec<_>>()),
        nonce: rand::random(),
        origin: None,
    }
}

/// Seals and sends an invocation to the TEE node at `url`; opens the reply.
async fn invoke(url: &str, keys: &ClusterKeys, req: &InvokeRequest) -> InvokeReply {
    let (sealed, reply_key) = seal_invoke(keys, req, &mut rand::rngs::OsRng).expect("seal");
    let reply = post(url, routes::INVOKE, encode(&sealed))
        .await
        .unwrap_or_else(|e| panic!("invoke at {url}: {e:?}"));
    reply_key
        .open_reply(&req.hash(), &reply)
        .expect("the reply opens")
}

#[track_caller]
fn output(reply: InvokeReply, deployment: &SignedDeployment) -> Vec<u8> {
    match reply {
        InvokeReply::Ok(signed) => {
            assert!(
                signed.verify(&deployment.statement.contract_key),
                "signed by the registered contract key"
            );
            signed.result.output
        }
        InvokeReply::Failed { code } => panic!("{code}: {}", code.description()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_form_register_deploy_and_invoke() {
    let net = Net::start(3, true).await.expect("network");
    let tee0 = net
        .start_tee(net.tee_config("tee0").expect("config"))
        .await
        .expect("genesis");
    let keys = tee0.keys().expect("genesis made the cluster keys");
    // Both joiners join through tee0 at the same time.
    let (tee1, tee2) = tokio::try_join!(
        net.start_tee(net.tee_config("tee1").expect("config")),
        net.start_tee(net.tee_config("tee2").expect("config")),
    )
    .expect("joins");
    assert_eq!(tee1.keys().as_ref(), Some(&keys));
    assert_eq!(tee2.keys().as_ref(), Some(&keys));

    // The chain ends up with every member, whatever order the registrations raced in.
    let cards: BTreeSet<_> = [&tee0, &tee1, &tee2]
        .iter()
        .map(|n| n.me().expect("member").card.node_key)
        .collect();
    let registered = net
        .wait_registration(
            |r| r.registration.members.len() == 3,
            Duration::from_secs(60),
        )
        .await
        .expect("registered");
    assert!(registered.verify());
    assert_eq!(registered.registration.keys, keys);
    assert_eq!(registered.registration.epoch, 2);
    let listed: BTreeSet<_> = registered
        .registration
        .members
        .iter()
        .map(|m| m.card.node_key.clone())
        .collect();
    assert_eq!(listed, cards);
    let info = cluster_info(&net.url("tee1")).await;
    assert_eq!(info.keys.as_ref(), Some(&keys));
    assert_eq!(
        info.node.card.node_key,
        tee1.me().expect("me").card.node_key
    );

    // Deploy on tee0: the code reaches the other members before the answer.
    let sealed = seal_deploy(
        &keys,
        &DeployRequest {
            wasm: arcanum_contracts::KV_WASM.to_vec(),
            salt: [7; 16],
        },
        &mut rand::rngs::OsRng,
    )
    .expect("seal");
    let deployment: SignedDeployment = decode(
        &post(&net.url("tee0"), routes::DEPLOY, encode(&sealed))
            .await
            .expect("deploy"),
        1 << 20,
    )
    .expect("deployment");
    assert!(deployment.verify());
    assert_eq!(deployment.statement.cluster_key, keys.signing_key);
    let id = deployment.statement.contract_id;
    for node in [&tee1, &tee2] {
        let stored = node.store.code(&id).expect("store");
        assert_eq!(
            stored.map(|(d, _)| d),
            Some(deployment.clone()),
            "replicated"
        );
    }

    // Invoke on tee1 and tee2: both sign with the one contract key (C3).
    for (url, value) in [(net.url("tee1"), &b"blue"[..]), (net.url("tee2"), b"green")] {
        let put = invoke(&url, &keys, &request(id, "put", &[b"color", value])).await;
        output(put, &deployment);
        let get = invoke(&url, &keys, &request(id, "get", &[b"color"])).await;
        assert_eq!(output(get, &deployment), value);
    }
    // The state the host stored is ciphertext bound to its key...
    let record = tee1
        .store
        .state(&id, b"color")
        .expect("store")
        .expect("the write was stored before the reply");
    assert!(!record.windows(4).any(|w| w == b"blue"));
    // ...so a host that serves it for another key is caught.
    tee1.store
        .put_states(&[StateRecord {
            contract_id: id,
            key: b"shape".to_vec(),
            record,
        }])
        .expect("swap");
    match invoke(&net.url("tee1"), &keys, &request(id, "get", &[b"shape"])).await {
        InvokeReply::Failed { code } => assert_eq!(code.as_str(), "STATE_ROLLBACK"),
        InvokeReply::Ok(r) => panic!("swapped state accepted: {:?}", r.result),
    }

    // Requests to another cluster, garbage and oversized bodies get precise codes.
    let (mut other, _) = seal_invoke(
        &keys,
        &request(id, "get", &[b"color"]),
        &mut rand::rngs::OsRng,
    )
    .expect("seal");
    other.cluster = Hash([1; 32]);
    let (code, _) = post(&net.url("tee2"), routes::INVOKE, encode(&other))
        .await
        .expect_err("wrong cluster");
    assert_eq!(code, "WRONG_CLUSTER_KEY");
    let (code, _) = post(&net.url("tee2"), routes::INVOKE, vec![1, 2, 3])
        .await
        .expect_err("garbage");
    assert_eq!(code, "MALFORMED_ENCODING");
    let (code, _) = post(&net.url("tee2"), routes::INVOKE, vec![0; 200 * 1024])
        .await
        .expect_err("oversized");
    assert_eq!(code, "BODY_TOO_LARGE");

    // Rotation on tee2 signs the next key version, replicated to the others.
    let rotated: SignedDeployment = decode(
        &post(&net.url("tee2"), routes::ROTATE, encode(&id))
            .await
            .expect("rotate"),
        1 << 20,
    )
    .expect("deployment");
    assert!(rotated.verify());
    assert_eq!(rotated.statement.key_version, 2);
    assert_ne!(
        rotated.statement.contract_key,
        deployment.statement.contract_key
    );
    assert_eq!(
        tee0.store.code(&id).expect("store").map(|(d, _)| d),
        Some(rotated)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_joiners_get_the_precise_cause() {
    let net = Net::start(3, false).await.expect("network");
    // The genesis node runs as `arcanum node` runs it.
    net.run_tee(net.tee_config("tee0").expect("config"))
        .await
        .expect("genesis");
    let genesis = cluster_info(&net.url("tee0")).await;
    assert!(
        genesis.keys.is_some(),
        "the genesis node holds the cluster keys"
    );

    // tee1's attestation report is already expired when it asks to join.
    net.attestation.expired.lock().insert("tee1".into());
    let err = net
        .start_tee(net.tee_config("tee1").expect("config"))
        .await
        .expect_err("refused");
    let message = format!("{err:#}");
    assert!(message.contains("JOIN_REFUSED"), "{message}");
    assert!(message.contains("REPORT_EXPIRED"), "{message}");

    // tee2 runs another enclave binary: its measurement is not the allowed one.
    let dir = tempfile::tempdir().expect("tempdir");
    let other = dir
        .path()
        .join(arcanum_enclave_host::CLUSTER_ENCLAVE_BINARY);
    let mut bytes = std::fs::read(crate::support::binary(
        arcanum_enclave_host::CLUSTER_ENCLAVE_BINARY,
    ))
    .expect("binary");
    bytes.extend_from_slice(b"another build");
    std::fs::write(&other, bytes).expect("write");
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let mut config = net.tee_config("tee2").expect("config");
    config.enclave_binary = Some(other);
    let err = net.start_tee(config).await.expect_err("refused");
    let message = format!("{err:#}");
    assert!(message.contains("JOIN_REFUSED"), "{message}");
    assert!(message.contains("MEASUREMENT_NOT_ALLOWED"), "{message}");
}

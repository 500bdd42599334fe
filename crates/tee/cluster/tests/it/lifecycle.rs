//! Hello / Init / phases, sealing across restarts, and requests before the cluster exists.

use arcanum_cluster::{ClusterConfig, ClusterService, PlatformSource};
use arcanum_crypto::Hash;
use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse};
use arcanum_enclave_protocol::{PROTOCOL_VERSION, Secret};
use arcanum_types::offchain::SealedRequest;

use crate::support::*;

fn fresh() -> ClusterService {
    ClusterService::new(PlatformSource::Simulated {
        binary: BINARY.to_vec(),
    })
}

#[test]
fn handshake_then_init_and_failed_init_poisons() {
    let world = World::new();
    let host = MemHost::default();
    let s = fresh();
    expect_error(
        s.handle(ClusterRequest::Evidence, &host),
        "HANDSHAKE_REQUIRED",
    );
    expect_error(
        s.handle(ClusterRequest::Hello { version: 99 }, &host),
        "VERSION_MISMATCH",
    );
    match s.handle(
        ClusterRequest::Hello {
            version: PROTOCOL_VERSION,
        },
        &host,
    ) {
        ClusterResponse::Hello {
            measurement,
            is_secure,
            ..
        } => {
            assert_eq!(measurement, arcanum_crypto::sha256(BINARY).0.to_vec());
            assert!(!is_secure);
        }
        other => panic!("{other:?}"),
    }
    expect_error(s.handle(ClusterRequest::Genesis, &host), "INIT_REQUIRED");
    let mut trust = world.trust.clone();
    trust.policy_toml = "min_tcb_status = \"Sparkling\"".into();
    expect_error(
        s.handle(
            ClusterRequest::Init {
                platform_secret: Some(Secret(vec![1; 32])),
                sealed: None,
                trust,
            },
            &host,
        ),
        "BAD_INIT",
    );
    expect_error(s.handle(ClusterRequest::Evidence, &host), "ENCLAVE_FAILED");

    // A ready node refuses a second Init.
    let node = world.node(1);
    expect_error(
        node.call(ClusterRequest::Init {
            platform_secret: Some(Secret(vec![1; 32])),
            sealed: None,
            trust: world.trust.clone(),
        }),
        "ALREADY_INITIALISED",
    );
    assert!(matches!(
        node.call(ClusterRequest::Shutdown),
        ClusterResponse::Ok
    ));
}

#[test]
fn sealed_state_restores_keys_only_on_the_same_platform() {
    let world = World::new();
    let a = world.node(1);
    assert!(a.keys.lock().is_none());
    let keys = a.genesis();
    let sealed = a.sealed.lock().clone();
    let again = world.node_with(
        BINARY,
        1,
        world.trust.clone(),
        Some(sealed.clone()),
        ClusterConfig::default(),
    );
    assert_eq!(again.card, a.card);
    assert_eq!(again.keys(), keys);
    expect_error(again.call(ClusterRequest::Genesis), "CLUSTER_EXISTS");

    // Another fuse (another machine) cannot unseal it.
    let service = fresh();
    let host = MemHost::default();
    service.handle(
        ClusterRequest::Hello {
            version: PROTOCOL_VERSION,
        },
        &host,
    );
    expect_error(
        service.handle(
            ClusterRequest::Init {
                platform_secret: Some(Secret(vec![2; 32])),
                sealed: Some(sealed),
                trust: world.trust.clone(),
            },
            &host,
        ),
        "UNSEAL_FAILED",
    );
    // Different nodes have different node keys.
    assert_ne!(world.node(1).card.card.node_key, a.card.card.node_key);
}

#[test]
fn cluster_operations_need_a_cluster() {
    let world = World::new();
    let a = world.node(1);
    let sealed = arcanum_crypto::hpke::Sealed {
        enc: [0; 32],
        ciphertext: vec![0; 16],
    };
    let request = SealedRequest {
        cluster: Hash([0; 32]),
        sealed,
    };
    expect_error(
        a.call(ClusterRequest::Invoke {
            request: request.clone(),
        }),
        "CLUSTER_NOT_FORMED",
    );
    expect_error(
        a.call(ClusterRequest::Deploy { request }),
        "CLUSTER_NOT_FORMED",
    );
    expect_error(
        a.call(ClusterRequest::RotateContractKey {
            contract_id: Hash([0; 32]),
        }),
        "CLUSTER_NOT_FORMED",
    );
}

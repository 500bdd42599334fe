//! C5: `https_get` with TLS inside the enclave over the host's TCP relay (ocalls), the body's
//! hash bound into the signed result, and a relay that alters bytes or a bad answer refused.

use arcanum_cluster::ClusterConfig;
use arcanum_enclave_tls::test_server::serve_json;
use arcanum_types::offchain::{FetchRecord, InvokeReply};

use crate::support::*;

const BODY: &str = r#"{"price": 123.45}"#;

#[test]
fn a_fetch_is_bound_into_the_signed_result() {
    let server = serve_json("/price", BODY).expect("server");
    let world = World::with_roots(vec![server.ca_der().to_vec()]);
    let node = world.node(1);
    node.genesis();
    let host = MemHost::default();
    let dep = deploy(&node, &host, arcanum_contracts::PRICE_FEED_WASM, 1);
    let id = dep.statement.contract_id;
    let url = server.url("/price");

    let (reply, writes) = invoke(&node, &host, &request(id, "fetch", &[url.as_bytes()]));
    let InvokeReply::Ok(signed) = reply.clone() else {
        panic!("{reply:?}");
    };
    assert_eq!(
        signed.result.fetches,
        vec![FetchRecord {
            url: url.clone(),
            body_hash: arcanum_crypto::sha256(BODY.as_bytes()),
        }]
    );
    assert_eq!(expect_ok(reply, &dep), b"12345");
    assert_eq!(writes.len(), 1);
    assert_eq!(server.requests(), 1);

    // A relay that flips one bit of the TLS stream breaks the session: TLS_FAILURE, and the
    // invocation changes nothing.
    let before = host.state_snapshot();
    host.tamper_next_recv
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (reply, writes) = invoke(&node, &host, &request(id, "fetch", &[url.as_bytes()]));
    expect_failed(reply, "TLS_FAILURE");
    assert!(writes.is_empty());
    assert_eq!(host.state_snapshot(), before);

    // An authentic answer that is not 200.
    let missing = server.url("/nothing");
    let (reply, writes) = invoke(&node, &host, &request(id, "fetch", &[missing.as_bytes()]));
    expect_failed(reply, "HTTPS_FAILURE");
    assert!(writes.is_empty());
    server.shutdown();
}

#[test]
fn without_trusted_roots_every_fetch_fails() {
    let server = serve_json("/price", BODY).expect("server");
    let world = World::new();
    let node = world.node_with(
        BINARY,
        1,
        world.trust.clone(),
        None,
        ClusterConfig::default(),
    );
    node.genesis();
    let host = MemHost::default();
    let dep = deploy(&node, &host, arcanum_contracts::PRICE_FEED_WASM, 1);
    let url = server.url("/price");
    let request = request(dep.statement.contract_id, "fetch", &[url.as_bytes()]);
    expect_failed(invoke(&node, &host, &request).0, "TLS_FAILURE");
    // A server whose CA the node does not trust.
    let other = serve_json("/price", BODY).expect("server");
    let world = World::with_roots(vec![other.ca_der().to_vec()]);
    let node = world.node(2);
    node.genesis();
    let dep = deploy(&node, &host, arcanum_contracts::PRICE_FEED_WASM, 1);
    let request = crate::support::request(dep.statement.contract_id, "fetch", &[url.as_bytes()]);
    expect_failed(invoke(&node, &host, &request).0, "TLS_FAILURE");
    server.shutdown();
    other.shutdown();
}

//! C2/C4/T2: encrypted deployment and invocation of a real contract, the state cache, and
//! every bad input of issue #4 — each with its precise code and no state change.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arcanum_cluster::{
    ClusterConfig, HostPort, MAX_INVOKE_PLAINTEXT, Ocall, OcallReturn, encode_args,
};
use arcanum_crypto::Hash;
use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse};
use arcanum_types::ErrorCode;
use arcanum_types::offchain::wire;
use arcanum_types::offchain::{
    DeployRequest, InvokeReply, MAX_FUNCTION_NAME, MAX_OFFCHAIN_CODE, MAX_OFFCHAIN_INPUT,
    OracleOrigin, OracleRequest, SealedRequest, SignedDeployment,
};

use crate::support::*;

/// `write_then_spin` writes key "k" then loops forever; `range_all` asks for a range.
const SPIN_WAT: &str = r#"(module
  (import "arcanum" "state_put" (func $put (param i32 i32 i32 i32)))
  (import "arcanum" "state_range" (func $range (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "kv")
  (func (export "write_then_spin")
    (call $put (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1))
    (loop (br 0)))
  (func (export "range_all")
    (drop (call $range (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1) (i32.const 10)))))"#;

fn cluster(config: ClusterConfig) -> (World, Node, MemHost, SignedDeployment) {
    let world = World::new();
    let node = world.node_with(BINARY, 1, world.trust.clone(), None, config);
    node.genesis();
    let host = MemHost::default();
    let dep = deploy(&node, &host, arcanum_contracts::KV_WASM, 1);
    (world, node, host, dep)
}

fn no_cache() -> ClusterConfig {
    ClusterConfig {
        max_cached_bytes: 0,
        ..ClusterConfig::default()
    }
}

#[test]
fn deploy_and_invoke_round_trip_with_state() {
    let (_, node, host, dep) = cluster(ClusterConfig::default());
    let id = dep.statement.contract_id;
    assert_eq!(
        dep.statement.code_hash,
        arcanum_crypto::tagged_hash(
            arcanum_crypto::domain::CODE_HASH,
            &[arcanum_contracts::KV_WASM]
        )
    );
    assert_eq!(
        id,
        arcanum_types::offchain::contract_id(&dep.statement.code_hash, &[1; 16])
    );
    // The host never holds plaintext code.
    let (_, code) = host.code.lock()[&id].clone();
    let sample = &arcanum_contracts::KV_WASM[64..96];
    assert!(!code.windows(sample.len()).any(|w| w == sample));

    let put = request(id, "put", &[b"color", b"blue"]);
    let (sealed, key) = seal(&node, &put);
    let (reply, writes) = send(&node, &host, sealed, &put, &key);
    let InvokeReply::Ok(signed) = reply.clone() else {
        panic!("{reply:?}");
    };
    assert_eq!(signed.result.request, put.hash());
    assert!(signed.result.fetches.is_empty());
    expect_ok(reply, &dep);
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].contract_id, id);
    assert_eq!(writes[0].key, b"color");
    // The record is ciphertext, bound to the contract, key and version 1.
    assert!(!writes[0].record.windows(4).any(|w| w == b"blue"));
    assert_eq!(writes[0].record[..8], 1u64.to_le_bytes());

    let get = request(id, "get", &[b"color"]);
    assert_eq!(expect_ok(invoke(&node, &host, &get).0, &dep), b"blue");
    // The cache served it: no state load after the put's first miss.
    assert_eq!(host.state_loads.load(Ordering::SeqCst), 1);

    // Delete writes a tombstone at the next version.
    let del = request(id, "delete", &[b"color"]);
    let (reply, writes) = invoke(&node, &host, &del);
    expect_ok(reply, &dep);
    assert_eq!(writes[0].record[..8], 2u64.to_le_bytes());
    let get = request(id, "get", &[b"color"]);
    // The contract's own message ("key not found") stays in the enclave: the code only.
    expect_failed(invoke(&node, &host, &get).0, "CONTRACT_ERROR");

    // The same node restarted from its sealed state (empty caches) loads the code and the
    // state from the host and agrees.
    let restarted = {
        let world = World::new();
        world.node_with(
            BINARY,
            1,
            world.trust.clone(),
            Some(node.sealed.lock().clone()),
            ClusterConfig::default(),
        )
    };
    let put = request(id, "put", &[b"shape", b"round"]);
    expect_ok(invoke(&node, &host, &put).0, &dep);
    let get = request(id, "get", &[b"shape"]);
    let loads = host.code_loads.load(Ordering::SeqCst);
    assert_eq!(expect_ok(invoke(&restarted, &host, &get).0, &dep), b"round");
    assert_eq!(host.code_loads.load(Ordering::SeqCst), loads + 1);
}

#[test]
fn oracle_invocations_carry_their_origin() {
    let (_, node, host, dep) = cluster(ClusterConfig::default());
    let id = dep.statement.contract_id;
    let oracle = OracleRequest {
        contract_id: id,
        function: "put".into(),
        input: encode_args(&[b"a".to_vec(), b"b".to_vec()]),
    };
    let origin = OracleOrigin {
        tx: Hash([3; 32]),
        event_index: 0,
    };
    let req = oracle.invocation(origin);
    expect_ok(invoke(&node, &host, &req).0, &dep);
    // The same origin again is a replay; another event index is not.
    expect_failed(invoke(&node, &host, &req).0, "REPLAYED_REQUEST");
    let req = oracle.invocation(OracleOrigin {
        event_index: 1,
        ..origin
    });
    expect_ok(invoke(&node, &host, &req).0, &dep);
}

#[test]
fn tampered_ciphertext_and_wrong_cluster_key_are_refused_before_decryption() {
    let (world, node, host, dep) = cluster(ClusterConfig::default());
    let id = dep.statement.contract_id;
    let before = host.state_snapshot();

    let put = request(id, "put", &[b"k", b"v"]);
    let (mut sealed, _) = seal(&node, &put);
    sealed.sealed.ciphertext[3] ^= 0x80;
    expect_error(
        node.call_with(ClusterRequest::Invoke { request: sealed }, &host),
        "DECRYPTION_FAILED",
    );
    let (mut sealed, _) = seal(&node, &put);
    sealed.sealed.enc[0] ^= 1;
    expect_error(
        node.call_with(ClusterRequest::Invoke { request: sealed }, &host),
        "DECRYPTION_FAILED",
    );

    // Sealed to another cluster.
    let other = world.node(7);
    let other_keys = other.genesis();
    let (sealed, _) = wire::seal_invoke(&other_keys, &put, &mut rand::rngs::OsRng).expect("seal");
    expect_error(
        node.call_with(
            ClusterRequest::Invoke {
                request: sealed.clone(),
            },
            &host,
        ),
        "WRONG_CLUSTER_KEY",
    );
    // Relabelled as ours, it still does not open.
    let relabelled = SealedRequest {
        cluster: node.keys().id(),
        sealed: sealed.sealed,
    };
    expect_error(
        node.call_with(
            ClusterRequest::Invoke {
                request: relabelled,
            },
            &host,
        ),
        "DECRYPTION_FAILED",
    );
    // A deployment to another cluster, or tampered.
    let dreq = DeployRequest {
        wasm: arcanum_contracts::KV_WASM.to_vec(),
        salt: [9; 16],
    };
    let sealed = wire::seal_deploy(&other_keys, &dreq, &mut rand::rngs::OsRng).expect("seal");
    expect_error(
        node.call(ClusterRequest::Deploy { request: sealed }),
        "WRONG_CLUSTER_KEY",
    );
    let mut sealed = wire::seal_deploy(&node.keys(), &dreq, &mut rand::rngs::OsRng).expect("seal");
    sealed.sealed.ciphertext[100] ^= 1;
    expect_error(
        node.call(ClusterRequest::Deploy { request: sealed }),
        "DECRYPTION_FAILED",
    );

    assert_eq!(host.state_snapshot(), before);
    // The untampered request still runs (nothing was consumed).
    expect_ok(invoke(&node, &host, &put).0, &dep);
}

#[test]
fn unknown_contract_and_invalid_code() {
    let (_, node, host, _) = cluster(ClusterConfig::default());
    let req = request(Hash([0xEE; 32]), "get", &[b"k"]);
    expect_failed(invoke(&node, &host, &req).0, "OFFCHAIN_CONTRACT_UNKNOWN");
    // Not yet known, so not a replay either.
    let (reply, writes) = invoke(&node, &host, &req);
    expect_failed(reply, "OFFCHAIN_CONTRACT_UNKNOWN");
    assert!(writes.is_empty());

    let sealed = wire::seal_deploy(
        &node.keys(),
        &DeployRequest {
            wasm: b"\0asm not really".to_vec(),
            salt: [0; 16],
        },
        &mut rand::rngs::OsRng,
    )
    .expect("seal");
    expect_error(
        node.call(ClusterRequest::Deploy { request: sealed }),
        "INVALID_CONTRACT",
    );
}

#[test]
fn fuel_exhaustion_changes_nothing() {
    let config = ClusterConfig {
        fuel: 200_000,
        ..ClusterConfig::default()
    };
    let world = World::new();
    let node = world.node_with(BINARY, 1, world.trust.clone(), None, config);
    node.genesis();
    let host = MemHost::default();
    let wasm = wat::parse_str(SPIN_WAT).expect("wat");
    let dep = deploy(&node, &host, &wasm, 2);
    let id = dep.statement.contract_id;

    let spin = request(id, "write_then_spin", &[]);
    let (reply, writes) = invoke(&node, &host, &spin);
    expect_failed(reply, "OUT_OF_FUEL");
    assert!(writes.is_empty());
    assert!(host.state_snapshot().is_empty());

    // Range queries are refused off-chain, with a precise code.
    let range = request(id, "range_all", &[]);
    expect_failed(invoke(&node, &host, &range).0, "CONTRACT_TRAP");

    // An unknown entry point.
    let nope = request(id, "nope", &[]);
    expect_failed(invoke(&node, &host, &nope).0, "INVALID_TX");
}

#[test]
fn oversized_inputs_are_refused() {
    let (_, node, host, dep) = cluster(ClusterConfig::default());
    let id = dep.statement.contract_id;
    // Just over the input limit: refused inside the encrypted reply.
    let mut req = request(id, "put", &[b"k", b"v"]);
    req.input = vec![0; MAX_OFFCHAIN_INPUT + 1];
    let (reply, writes) = invoke(&node, &host, &req);
    expect_failed(reply, "INPUT_TOO_LARGE");
    assert!(writes.is_empty());
    // A function name over its limit.
    let req = request(id, &"f".repeat(MAX_FUNCTION_NAME + 1), &[]);
    expect_failed(invoke(&node, &host, &req).0, "INPUT_TOO_LARGE");
    // Far over: refused before decryption.
    let mut req = request(id, "put", &[b"k", b"v"]);
    req.input = vec![0; MAX_INVOKE_PLAINTEXT + 1];
    let (sealed, _) = seal(&node, &req);
    expect_error(
        node.call_with(ClusterRequest::Invoke { request: sealed }, &host),
        "INPUT_TOO_LARGE",
    );
    // Code over the deployment limit.
    let sealed = wire::seal_deploy(
        &node.keys(),
        &DeployRequest {
            wasm: vec![0; MAX_OFFCHAIN_CODE + 1],
            salt: [0; 16],
        },
        &mut rand::rngs::OsRng,
    )
    .expect("seal");
    expect_error(
        node.call(ClusterRequest::Deploy { request: sealed }),
        "INPUT_TOO_LARGE",
    );
    // Input that is not an argument list.
    let mut req = request(id, "put", &[]);
    req.input = vec![1, 2, 3];
    expect_failed(invoke(&node, &host, &req).0, "MALFORMED_ENCODING");
    assert!(host.state_snapshot().is_empty());
}

#[test]
fn replayed_requests_are_refused_and_failures_are_not_remembered() {
    let (_, node, host, dep) = cluster(ClusterConfig::default());
    let id = dep.statement.contract_id;
    let put = request(id, "put", &[b"k", b"v1"]);
    let (sealed, key) = seal(&node, &put);
    expect_ok(send(&node, &host, sealed.clone(), &put, &key).0, &dep);
    let after_first = host.state_snapshot();
    // The same bytes again.
    let (reply, writes) = send(&node, &host, sealed, &put, &key);
    expect_failed(reply, "REPLAYED_REQUEST");
    assert!(writes.is_empty());
    // The same request sealed afresh (other HPKE ephemeral key) is the same request.
    let (reply, writes) = invoke(&node, &host, &put);
    expect_failed(reply, "REPLAYED_REQUEST");
    assert!(writes.is_empty());
    assert_eq!(host.state_snapshot(), after_first);

    // A failed invocation can be retried: its hash was not kept.
    let get = request(id, "get", &[b"missing"]);
    expect_failed(invoke(&node, &host, &get).0, "CONTRACT_ERROR");
    expect_failed(invoke(&node, &host, &get).0, "CONTRACT_ERROR");
}

/// Sets up `k1 = v1`, `k2 = v2`, then `k1 = v1b` (version 2) with no value cache, so every
/// read goes to the host. Returns the node, host, deployment and k1's version-1 record.
fn swapped_setup() -> (Node, MemHost, SignedDeployment, Vec<u8>) {
    let (_, node, host, dep) = cluster(no_cache());
    let id = dep.statement.contract_id;
    expect_ok(
        invoke(&node, &host, &request(id, "put", &[b"k1", b"v1"])).0,
        &dep,
    );
    let old = host.record(id, b"k1").expect("stored");
    expect_ok(
        invoke(&node, &host, &request(id, "put", &[b"k2", b"v2"])).0,
        &dep,
    );
    expect_ok(
        invoke(&node, &host, &request(id, "put", &[b"k1", b"v1b"])).0,
        &dep,
    );
    (node, host, dep, old)
}

fn get_k1(node: &Node, host: &MemHost, dep: &SignedDeployment) -> InvokeReply {
    invoke(
        node,
        host,
        &request(dep.statement.contract_id, "get", &[b"k1"]),
    )
    .0
}

#[test]
fn a_host_swapping_state_is_caught() {
    let (node, host, dep, old) = swapped_setup();
    let id = dep.statement.contract_id;
    let current = host.record(id, b"k1").expect("stored");
    assert_eq!(expect_ok(get_k1(&node, &host, &dep), &dep), b"v1b");

    // Another key's record.
    host.set_record(id, b"k1", host.record(id, b"k2"));
    expect_failed(get_k1(&node, &host, &dep), "STATE_ROLLBACK");
    // An older version of the same key.
    host.set_record(id, b"k1", Some(old.clone()));
    expect_failed(get_k1(&node, &host, &dep), "STATE_ROLLBACK");
    // The old record relabelled as the current version: the AEAD catches it.
    let mut relabelled = old.clone();
    relabelled[..8].copy_from_slice(&2u64.to_le_bytes());
    host.set_record(id, b"k1", Some(relabelled));
    expect_failed(get_k1(&node, &host, &dep), "STATE_ROLLBACK");
    // Nothing at all.
    host.set_record(id, b"k1", None);
    expect_failed(get_k1(&node, &host, &dep), "STATE_ROLLBACK");
    // `delete` reads first: it fails on the stale record and writes nothing.
    host.set_record(id, b"k1", Some(old));
    let (reply, writes) = invoke(&node, &host, &request(id, "delete", &[b"k1"]));
    expect_failed(reply, "STATE_ROLLBACK");
    assert!(writes.is_empty());

    // Restored, the state is unchanged by all of the above.
    host.set_record(id, b"k1", Some(current));
    assert_eq!(expect_ok(get_k1(&node, &host, &dep), &dep), b"v1b");
}

#[test]
fn another_contracts_record_is_caught() {
    let (node, host, dep, _) = swapped_setup();
    let other = deploy(&node, &host, arcanum_contracts::KV_WASM, 2);
    let oid = other.statement.contract_id;
    expect_ok(
        invoke(&node, &host, &request(oid, "put", &[b"k1", b"x"])).0,
        &other,
    );
    expect_ok(
        invoke(&node, &host, &request(oid, "put", &[b"k1", b"y"])).0,
        &other,
    );
    // Version 2 of k1 in both contracts: only the AAD tells them apart.
    let theirs = host.record(oid, b"k1");
    host.set_record(dep.statement.contract_id, b"k1", theirs);
    expect_failed(get_k1(&node, &host, &dep), "STATE_ROLLBACK");
}

#[test]
fn a_failed_invocation_applies_none_of_its_writes() {
    let (_, node, host, dep) = cluster(ClusterConfig::default());
    let id = dep.statement.contract_id;
    expect_ok(
        invoke(&node, &host, &request(id, "put", &[b"k", b"v"])).0,
        &dep,
    );
    let before = host.state_snapshot();
    // `delete` of a missing key fails after nothing was written; `put` with an empty key fails
    // before its write.
    expect_failed(
        invoke(&node, &host, &request(id, "delete", &[b"nope"])).0,
        "CONTRACT_ERROR",
    );
    expect_failed(
        invoke(&node, &host, &request(id, "put", &[b"", b"v"])).0,
        "CONTRACT_ERROR",
    );
    assert_eq!(host.state_snapshot(), before);
    assert_eq!(
        expect_ok(invoke(&node, &host, &request(id, "get", &[b"k"])).0, &dep),
        b"v"
    );
}

#[test]
fn concurrent_invocations_on_one_service() {
    let (_, node, host, dep) = cluster(ClusterConfig::default());
    let node = Arc::new(node);
    let host = Arc::new(host);
    let id = dep.statement.contract_id;
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let (node, host, dep) = (node.clone(), host.clone(), dep.clone());
            std::thread::spawn(move || {
                for i in 0..5u8 {
                    let put = request(id, "put", &[&[t, i], &[i]]);
                    expect_ok(invoke(&node, &host, &put).0, &dep);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(host.state_snapshot().len(), 20);
    let get = request(id, "get", &[&[3, 4]]);
    assert_eq!(expect_ok(invoke(&node, &host, &get).0, &dep), vec![4]);
}

/// A host that answers every state load with an error of its own wording.
struct TalkativeHost<'a>(&'a MemHost);

const HOST_TEXT: &str = "host-chosen words the client must never decrypt";

impl HostPort for TalkativeHost<'_> {
    fn ocall(&self, call: Ocall) -> Result<OcallReturn, String> {
        match call {
            Ocall::LoadState { .. } => Ok(OcallReturn::Error {
                code: "HOST".into(),
                message: HOST_TEXT.into(),
            }),
            other => self.0.ocall(other),
        }
    }
}

/// The raw reply bytes of one invocation.
fn raw_reply(node: &Node, host: &dyn HostPort, sealed: SealedRequest) -> Vec<u8> {
    match node.call_with(ClusterRequest::Invoke { request: sealed }, host) {
        ClusterResponse::Invoked { reply, writes } => {
            assert!(writes.is_empty());
            reply
        }
        other => panic!("invoke: {other:?}"),
    }
}

#[test]
fn a_failure_reply_carries_only_a_code_and_a_retry_gets_a_fresh_nonce() {
    let (_, node, host, dep) = cluster(no_cache());
    let id = dep.statement.contract_id;
    // The host's own error text for a state load: the reply is `INTERNAL` and nothing else.
    let get = request(id, "get", &[b"k"]);
    let (sealed, key) = seal(&node, &get);
    let reply = raw_reply(&node, &TalkativeHost(&host), sealed.clone());
    assert_eq!(reply.len(), wire::FAILED_REPLY_LEN);
    assert_eq!(
        key.open_reply(&get.hash(), &reply),
        Ok(InvokeReply::Failed {
            code: ErrorCode::Internal
        })
    );
    // The failure released the request's replay slot: the same sealed request is served again,
    // under the same reply key, and fails again (`CONTRACT_ERROR`, the key is missing). The two
    // replies have different nonces, so no keystream is shared.
    let again = raw_reply(&node, &host, sealed.clone());
    assert_eq!(again.len(), wire::FAILED_REPLY_LEN);
    let nonce = wire::REPLY_NONCE_LEN;
    assert_ne!(reply[..nonce], again[..nonce]);
    expect_failed(
        key.open_reply(&get.hash(), &again).expect("opens"),
        "CONTRACT_ERROR",
    );
    // Once it succeeds the slot is kept: the third answer is a replay refusal.
    expect_ok(
        invoke(&node, &host, &request(id, "put", &[b"k", b"v"])).0,
        &dep,
    );
    let ok = raw_reply(&node, &host, sealed.clone());
    assert_eq!(
        expect_ok(key.open_reply(&get.hash(), &ok).expect("opens"), &dep),
        b"v"
    );
    let replayed = raw_reply(&node, &host, sealed);
    assert_ne!(ok[..nonce], replayed[..nonce]);
    expect_failed(
        key.open_reply(&get.hash(), &replayed).expect("opens"),
        "REPLAYED_REQUEST",
    );
}

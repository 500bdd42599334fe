//! A hostile host driving a formed cluster enclave (`arcanum_cluster::ClusterService`): raw
//! protocol requests of its choosing, and client requests (sealed by the target with the
//! cluster's public keys) whose ocalls it answers with forged, swapped, bit-flipped or missing
//! code and state records and arbitrary TLS bytes. Input format: `arcanum_fuzz::cluster`.
//!
//! Invariants: never panic; every error is `ClusterResponse::Error` with a stable code
//! (`UPPER_SNAKE`); raw host requests get nothing but errors, evidence, a key rotation, or an
//! install of a genuine stored deployment; a client request that opens always gets a reply
//! that opens under the client's key, and a failure reply is a code alone (its sealed length is
//! `wire::FAILED_REPLY_LEN`); a result is never produced after a forged record or code
//! was served, never carries a fetch (no TLS server here), answers its request and verifies
//! under a contract key the cluster registered; a failed invocation writes nothing; a genuine
//! install succeeds and a tampered one is refused.

#![no_main]

use arcanum_crypto::{Hash, domain, tagged_hash};
use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse};
use arcanum_fuzz::cluster::{FUNCTIONS, FuzzHost, Input, WORLD, World, request_hash};
use arcanum_sdk::offchain::ReplyKey;
use arcanum_types::offchain::{
    DeployRequest, InvokeReply, InvokeRequest, OracleOrigin, contract_id, wire,
};
use arcanum_types::{ErrorCode, decode, encode};
use libfuzzer_sys::fuzz_target;

/// A stable error code: non-empty `UPPER_SNAKE`.
fn check_code(code: &str, context: &dyn std::fmt::Debug) {
    assert!(
        !code.is_empty()
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
        "bad error code {code:?} for {context:?}"
    );
}

fn seed_of(bytes: &[u8]) -> u64 {
    let h = arcanum_crypto::sha256(bytes).0;
    u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
}

fuzz_target!(|data: &[u8]| {
    let world = &*WORLD;
    let mut input = Input::new(data);
    match input.u8() % 7 {
        0 => raw(world, &mut input),
        1 => {
            let request = build_invoke(world, &mut input);
            invoke(world, &encode(&request), &mut input);
        }
        2 => {
            let plain = input.chunk();
            invoke(world, plain, &mut input);
        }
        3 => {
            let plain = input.chunk();
            deploy(world, plain, &mut input);
        }
        4 => rotate(world, &mut input),
        5 => install(world, &mut input),
        _ => {
            let salt = [input.u8(); 16];
            let wasm = input.chunk().to_vec();
            deploy(world, &encode(&DeployRequest { wasm, salt }), &mut input);
        }
    }
});

fn build_invoke(world: &World, input: &mut Input<'_>) -> InvokeRequest {
    let contract = world.store.lock().contract(input.u8());
    let f = usize::from(input.u8());
    let function = match FUNCTIONS.get(f) {
        Some(name) => (*name).to_owned(),
        None => String::from_utf8_lossy(input.short()).into_owned(),
    };
    let nargs = input.u8() % 4;
    let args: Vec<Vec<u8>> = (0..nargs).map(|_| input.short().to_vec()).collect();
    let mut nonce = [0u8; 16];
    let given = input.bytes(16);
    nonce[..given.len()].copy_from_slice(given);
    let origin = (input.u8() % 2 == 1).then_some(OracleOrigin {
        tx: Hash([0x0A; 32]),
        event_index: 3,
    });
    InvokeRequest {
        contract_id: contract,
        function,
        input: arcanum_cluster::encode_args(&args),
        nonce,
        origin,
    }
}

/// A client invocation whose plaintext is `plain`; the rest of the input is the host script.
fn invoke(world: &World, plain: &[u8], input: &mut Input<'_>) {
    let (request, key): (_, ReplyKey) = world.seal_invoke(plain, seed_of(plain));
    let host = FuzzHost::new(input.rest(), &world.store);
    let response = world
        .service
        .handle(ClusterRequest::Invoke { request }, &host);
    let (sealed_reply, writes) = match response {
        ClusterResponse::Invoked { reply, writes } => (reply, writes),
        ClusterResponse::Error { code, message } => {
            // The only refusal before decryption a client request can meet is its size.
            assert_eq!(code, "INPUT_TOO_LARGE", "{message}");
            return;
        }
        other => panic!("an invocation answered {other:?}"),
    };
    let hash = request_hash(plain);
    let reply = key
        .open_reply(&hash, &sealed_reply)
        .unwrap_or_else(|e| panic!("the reply does not open under the client's key: {e}"));
    let decoded = decode::<InvokeRequest>(plain, arcanum_cluster::MAX_INVOKE_PLAINTEXT);
    match reply {
        InvokeReply::Failed { code } => {
            // A code and nothing else: whatever the host answered, the reply has one length.
            assert_eq!(sealed_reply.len(), wire::FAILED_REPLY_LEN, "{code}");
            assert!(writes.is_empty(), "a failed invocation wrote {writes:?}");
            if decoded.is_err() {
                assert_eq!(code, ErrorCode::MalformedEncoding);
            }
        }
        InvokeReply::Ok(signed) => {
            let forged = host.forged.lock().clone();
            assert!(
                forged.is_empty(),
                "a result after forged answers to {forged:?}"
            );
            let request = decoded.unwrap_or_else(|e| panic!("a result for a bad request: {e}"));
            let result = &signed.result;
            assert_eq!(result.request, hash);
            assert_eq!(result.request, request.hash());
            assert_eq!(result.contract_id, request.contract_id);
            assert!(
                result.fetches.is_empty(),
                "a fetch succeeded without a TLS server ({} connects): {:?}",
                *host.connects.lock(),
                result.fetches
            );
            let mut store = world.store.lock();
            let key = store
                .contract_keys
                .get(&(result.contract_id, result.key_version))
                .unwrap_or_else(|| panic!("a result under an unregistered key: {result:?}"));
            assert!(signed.verify(key), "the result does not verify");
            for w in &writes {
                assert_eq!(w.contract_id, result.contract_id);
            }
            store.store(&writes);
        }
    }
}

/// A client deployment whose plaintext is `plain`.
fn deploy(world: &World, plain: &[u8], input: &mut Input<'_>) {
    let request = world.seal_deploy(plain, seed_of(plain));
    let host = FuzzHost::new(input.rest(), &world.store);
    match world
        .service
        .handle(ClusterRequest::Deploy { request }, &host)
    {
        ClusterResponse::Deployed { deployment, code } => {
            let req: DeployRequest = decode(plain, arcanum_cluster::MAX_DEPLOY_PLAINTEXT)
                .unwrap_or_else(|e| panic!("deployed a request that does not decode: {e}"));
            let st = &deployment.statement;
            let code_hash = tagged_hash(domain::CODE_HASH, &[&req.wasm]);
            assert_eq!(st.code_hash, code_hash);
            assert_eq!(st.contract_id, contract_id(&code_hash, &req.salt));
            assert_eq!(st.cluster_key, world.keys.signing_key);
            assert!(
                deployment.verify(),
                "the deployment statement does not verify"
            );
            world.store.lock().learn(&deployment, Some(code));
        }
        ClusterResponse::Error { code, message } => check_code(&code, &message),
        other => panic!("a deployment answered {other:?}"),
    }
}

fn rotate(world: &World, input: &mut Input<'_>) {
    let contract_id = world.store.lock().contract(input.u8());
    let host = FuzzHost::new(input.rest(), &world.store);
    match world
        .service
        .handle(ClusterRequest::RotateContractKey { contract_id }, &host)
    {
        ClusterResponse::Deployment(deployment) => {
            let forged = host.forged.lock().clone();
            assert!(
                forged.is_empty(),
                "a rotation after forged answers to {forged:?}"
            );
            let st = &deployment.statement;
            assert_eq!(st.contract_id, contract_id);
            assert_eq!(st.cluster_key, world.keys.signing_key);
            assert!(deployment.verify(), "the rotated statement does not verify");
            world.store.lock().learn(&deployment, None);
        }
        ClusterResponse::Error { code, message } => check_code(&code, &message),
        other => panic!("a rotation answered {other:?}"),
    }
}

/// Installs a stored deployment, genuine or with one bit flipped in its encoding.
fn install(world: &World, input: &mut Input<'_>) {
    let id = world.store.lock().contract(input.u8());
    let tamper = input.u8() % 2 == 1;
    let bit = input.u16();
    let Some(pair) = world.store.lock().code.get(&id).cloned() else {
        return;
    };
    let pair = if tamper {
        let mut bytes = encode(&pair);
        let bit = usize::from(bit) % (bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        match borsh::from_slice(&bytes) {
            Ok(p) => p,
            Err(_) => return,
        }
    } else {
        pair
    };
    let (deployment, code) = pair;
    let host = FuzzHost::new(input.rest(), &world.store);
    let response = world
        .service
        .handle(ClusterRequest::InstallCode { deployment, code }, &host);
    match (tamper, response) {
        (false, ClusterResponse::Ok) => {}
        (true, ClusterResponse::Error { code, message }) => check_code(&code, &message),
        (tamper, other) => panic!("install (tampered: {tamper}) answered {other:?}"),
    }
}

/// A request of the host's own making.
fn raw(world: &World, input: &mut Input<'_>) {
    let Ok(request) = borsh::from_slice::<ClusterRequest>(input.chunk()) else {
        return;
    };
    if matches!(request, ClusterRequest::Shutdown) {
        return;
    }
    let host = FuzzHost::new(input.rest(), &world.store);
    let response = world.service.handle(request.clone(), &host);
    match (&request, response) {
        (_, ClusterResponse::Error { code, message }) => check_code(&code, &message),
        (ClusterRequest::Evidence, ClusterResponse::Evidence { .. }) => {}
        (ClusterRequest::RotateContractKey { contract_id }, ClusterResponse::Deployment(d)) => {
            assert_eq!(d.statement.contract_id, *contract_id);
            assert!(d.verify());
            world.store.lock().learn(&d, None);
        }
        (ClusterRequest::InstallCode { deployment, code }, ClusterResponse::Ok) => {
            let stored = world
                .store
                .lock()
                .code
                .get(&deployment.statement.contract_id)
                .cloned();
            assert_eq!(
                stored.as_ref().map(|(_, c)| c),
                Some(code),
                "an install of code the cluster never stored succeeded"
            );
        }
        (request, other) => panic!("the host's {request:?} got {other:?}"),
    }
}

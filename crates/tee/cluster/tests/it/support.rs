//! Test fixtures: an attestation issuer, simulated nodes with real signed reports, and a host
//! backed by in-memory maps.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use arcanum_attestation::{VerifyInputs, issue, verify_evidence};
use arcanum_cluster::{
    ClusterConfig, ClusterService, HostPort, Ocall, OcallReturn, PlatformSource, encode_args,
};
use arcanum_crypto::{Algorithm, Hash, SigningKey};
use arcanum_enclave_protocol::cluster::{
    ClusterRequest, ClusterResponse, ClusterTrust, NodeCardSigned, StateRecord,
};
use arcanum_enclave_protocol::{PROTOCOL_VERSION, Secret};
use arcanum_enclave_tls::ByteRelay;
use arcanum_enclave_tls::test_server::TcpRelay;
use arcanum_types::offchain::wire::{self, ReplyKey};
use arcanum_types::offchain::{
    ClusterKeys, ClusterMember, DeployRequest, InvokeReply, InvokeRequest, SignedDeployment,
    SignedOffer,
};
use parking_lot::Mutex;

pub const NOW: u64 = 1_700_000_000;
pub const TTL: u64 = 3600;
pub const BINARY: &[u8] = b"arcanum cluster enclave test binary";

pub fn key() -> SigningKey {
    SigningKey::generate(Algorithm::Ed25519, &mut rand::rngs::OsRng).expect("key")
}

/// The consortium's attestation issuer and the trust configuration every honest node gets.
pub struct World {
    pub issuer: SigningKey,
    pub trust: ClusterTrust,
}

pub fn policy_for(binary: &[u8]) -> String {
    format!(
        "allow_simulation = true\nallowed_measurements = [\"{}\"]\n",
        hex::encode(arcanum_crypto::sha256(binary).0)
    )
}

impl World {
    pub fn new() -> World {
        World::with_roots(vec![])
    }

    /// A world whose nodes trust `tls_roots` for `https_get`.
    pub fn with_roots(tls_roots: Vec<Vec<u8>>) -> World {
        let issuer = key();
        let trust = ClusterTrust {
            issuers: vec![issuer.public_key()],
            policy_toml: policy_for(BINARY),
            tls_roots,
        };
        World { issuer, trust }
    }

    pub fn node(&self, fuse: u8) -> Node {
        self.node_with(
            BINARY,
            fuse,
            self.trust.clone(),
            None,
            ClusterConfig::default(),
        )
    }

    pub fn node_with(
        &self,
        binary: &[u8],
        fuse: u8,
        trust: ClusterTrust,
        sealed: Option<Vec<u8>>,
        config: ClusterConfig,
    ) -> Node {
        let service = ClusterService::with_config(
            PlatformSource::Simulated {
                binary: binary.to_vec(),
            },
            config,
        );
        let host = MemHost::default();
        assert!(matches!(
            service.handle(
                ClusterRequest::Hello {
                    version: PROTOCOL_VERSION
                },
                &host
            ),
            ClusterResponse::Hello { .. }
        ));
        match service.handle(
            ClusterRequest::Init {
                platform_secret: Some(Secret(vec![fuse; 32])),
                sealed,
                trust,
            },
            &host,
        ) {
            ClusterResponse::Ready {
                card,
                cluster,
                sealed,
            } => Node {
                service,
                card,
                keys: Mutex::new(cluster),
                sealed: Mutex::new(sealed),
            },
            other => panic!("init: {other:?}"),
        }
    }

    /// A report by the world's issuer for `node`, issued at `at`, valid for `ttl` seconds.
    pub fn report(&self, node: &Node, at: u64, ttl: u64) -> Vec<u8> {
        report_by(&self.issuer, node, at, ttl)
    }

    pub fn member(&self, node: &Node) -> ClusterMember {
        node.member(self.report(node, NOW, TTL))
    }
}

/// A report by `issuer` for the node's evidence.
pub fn report_by(issuer: &SigningKey, node: &Node, at: u64, ttl: u64) -> Vec<u8> {
    let (evidence, bound_keys) = match node.call(ClusterRequest::Evidence) {
        ClusterResponse::Evidence {
            evidence,
            bound_keys,
        } => (evidence, bound_keys),
        other => panic!("evidence: {other:?}"),
    };
    // The node key, and once the node holds the cluster key, that key too.
    let mut expected = vec![node.card.card.node_key.clone()];
    expected.extend(node.keys.lock().as_ref().map(|k| k.signing_key.clone()));
    assert_eq!(bound_keys, expected);
    let verdict = verify_evidence(&evidence, &VerifyInputs::default(), at).expect("verdict");
    issue(&verdict, "tee node", &bound_keys, issuer, at, ttl)
        .expect("issue")
        .to_bytes()
}

/// A started cluster enclave.
pub struct Node {
    pub service: ClusterService,
    pub card: NodeCardSigned,
    pub keys: Mutex<Option<ClusterKeys>>,
    pub sealed: Mutex<Vec<u8>>,
}

impl Node {
    pub fn call(&self, request: ClusterRequest) -> ClusterResponse {
        self.service.handle(request, &MemHost::default())
    }

    pub fn call_with(&self, request: ClusterRequest, host: &dyn HostPort) -> ClusterResponse {
        self.service.handle(request, host)
    }

    pub fn keys(&self) -> ClusterKeys {
        self.keys.lock().clone().expect("formed")
    }

    pub fn member(&self, report: Vec<u8>) -> ClusterMember {
        ClusterMember {
            card: self.card.card.clone(),
            card_signature: self.card.signature.clone(),
            report,
        }
    }

    pub fn genesis(&self) -> ClusterKeys {
        match self.call(ClusterRequest::Genesis) {
            ClusterResponse::Formed { keys, sealed } => {
                *self.keys.lock() = Some(keys.clone());
                *self.sealed.lock() = sealed;
                keys
            }
            other => panic!("genesis: {other:?}"),
        }
    }
}

/// Asserts an error response with `code`; returns its message.
#[track_caller]
pub fn expect_error(response: ClusterResponse, code: &str) -> String {
    match response {
        ClusterResponse::Error { code: c, message } => {
            assert_eq!(c, code, "{message}");
            message
        }
        other => panic!("expected {code}, got {other:?}"),
    }
}

/// Asserts a `JOIN_REFUSED` whose message starts with `cause`.
#[track_caller]
pub fn expect_refused(response: ClusterResponse, cause: &str) {
    let message = expect_error(response, "JOIN_REFUSED");
    assert!(
        message.starts_with(cause),
        "expected cause {cause}, got {message}"
    );
}

/// Join step 1 at `member` for `joiner` with both reports fresh at `NOW`.
pub fn offer(world: &World, member: &Node, joiner: &Node) -> SignedOffer {
    match member.call(ClusterRequest::JoinOffer {
        joiner: world.member(joiner),
        own_report: world.report(member, NOW, TTL),
        now: NOW,
    }) {
        ClusterResponse::Offer(o) => o,
        other => panic!("offer: {other:?}"),
    }
}

/// The full four-step join; returns the joiner's new keys.
pub fn join(world: &World, member: &Node, joiner: &Node) -> ClusterKeys {
    let offer = offer(world, member, joiner);
    let acceptance = match joiner.call(ClusterRequest::JoinAccept {
        offer: offer.clone(),
        now: NOW + 1,
    }) {
        ClusterResponse::Accepted { acceptance } => acceptance,
        other => panic!("accept: {other:?}"),
    };
    let sealed_secret = match member.call(ClusterRequest::JoinComplete {
        offer: offer.clone(),
        acceptance,
        now: NOW + 2,
    }) {
        ClusterResponse::Welcome { sealed_secret } => sealed_secret,
        other => panic!("complete: {other:?}"),
    };
    match joiner.call(ClusterRequest::JoinFinish {
        offer,
        sealed_secret,
    }) {
        ClusterResponse::Formed { keys, sealed } => {
            *joiner.keys.lock() = Some(keys.clone());
            *joiner.sealed.lock() = sealed;
            keys
        }
        other => panic!("finish: {other:?}"),
    }
}

/// Stored state records by (contract, key).
pub type StateMap = BTreeMap<(Hash, Vec<u8>), Vec<u8>>;

/// A host: stored code and state in maps, as the TEE node host keeps them.
#[derive(Default)]
pub struct MemHost {
    pub code: Mutex<BTreeMap<Hash, (SignedDeployment, Vec<u8>)>>,
    pub state: Mutex<StateMap>,
    pub state_loads: AtomicUsize,
    pub code_loads: AtomicUsize,
    /// Relays TCP for in-enclave TLS, as the real host does.
    pub relay: TcpRelay,
    /// Flip one bit of the next non-empty received chunk (a relay altering the bytes).
    pub tamper_next_recv: AtomicBool,
}

impl HostPort for MemHost {
    fn ocall(&self, call: Ocall) -> Result<OcallReturn, String> {
        Ok(match call {
            Ocall::LoadCode { contract_id } => {
                self.code_loads.fetch_add(1, Ordering::SeqCst);
                OcallReturn::Code(self.code.lock().get(&contract_id).cloned())
            }
            Ocall::LoadState { contract_id, key } => {
                self.state_loads.fetch_add(1, Ordering::SeqCst);
                OcallReturn::State(self.state.lock().get(&(contract_id, key)).cloned())
            }
            Ocall::TcpConnect { host, port } => match self.relay.connect(&host, port) {
                Ok(conn) => OcallReturn::Connected { conn },
                Err(e) => relay_error(e),
            },
            Ocall::TcpSend { conn, bytes } => match self.relay.send(conn, &bytes) {
                Ok(()) => OcallReturn::Sent,
                Err(e) => relay_error(e),
            },
            Ocall::TcpRecv { conn, max } => match self.relay.recv(conn, max as usize) {
                Ok(mut bytes) => {
                    if !bytes.is_empty() && self.tamper_next_recv.swap(false, Ordering::SeqCst) {
                        let last = bytes.len() - 1;
                        bytes[last] ^= 0x01;
                    }
                    OcallReturn::Received(bytes)
                }
                Err(e) => relay_error(e),
            },
            Ocall::TcpClose { conn } => {
                self.relay.close(conn);
                OcallReturn::Closed
            }
        })
    }
}

fn relay_error(e: arcanum_enclave_tls::TlsError) -> OcallReturn {
    OcallReturn::Error {
        code: "RELAY".into(),
        message: e.to_string(),
    }
}

impl MemHost {
    pub fn store(&self, writes: &[StateRecord]) {
        let mut state = self.state.lock();
        for w in writes {
            state.insert((w.contract_id, w.key.clone()), w.record.clone());
        }
    }

    pub fn record(&self, contract: Hash, key: &[u8]) -> Option<Vec<u8>> {
        self.state.lock().get(&(contract, key.to_vec())).cloned()
    }

    pub fn set_record(&self, contract: Hash, key: &[u8], record: Option<Vec<u8>>) {
        let mut state = self.state.lock();
        match record {
            Some(r) => state.insert((contract, key.to_vec()), r),
            None => state.remove(&(contract, key.to_vec())),
        };
    }

    pub fn state_snapshot(&self) -> StateMap {
        self.state.lock().clone()
    }
}

/// Deploys `wasm` with `salt` at `node`; the host stores the code. Returns the deployment.
pub fn deploy(node: &Node, host: &MemHost, wasm: &[u8], salt: u8) -> SignedDeployment {
    let sealed = wire::seal_deploy(
        &node.keys(),
        &DeployRequest {
            wasm: wasm.to_vec(),
            salt: [salt; 16],
        },
        &mut rand::rngs::OsRng,
    )
    .expect("seal");
    match node.call_with(ClusterRequest::Deploy { request: sealed }, host) {
        ClusterResponse::Deployed { deployment, code } => {
            assert!(deployment.verify());
            host.code
                .lock()
                .insert(deployment.statement.contract_id, (deployment.clone(), code));
            deployment
        }
        other => panic!("deploy: {other:?}"),
    }
}

/// A client invocation with a random nonce.
pub fn request(contract: Hash, function: &str, args: &[&[u8]]) -> InvokeRequest {
    let mut nonce = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    InvokeRequest {
        contract_id: contract,
        function: function.into(),
        input: encode_args(&args.iter().map(|a| a.to_vec()).collect::<Vec<_>>()),
        nonce,
        origin: None,
    }
}

/// Seals `request` to the node's cluster (unchecked: tests send oversized requests too).
pub fn seal(
    node: &Node,
    request: &InvokeRequest,
) -> (arcanum_types::offchain::SealedRequest, ReplyKey) {
    wire::seal_invoke(&node.keys(), request, &mut rand::rngs::OsRng).expect("seal")
}

/// Sends a sealed invocation; the host stores the writes (as the real host does before it
/// passes the reply on). Returns the opened reply and the writes.
pub fn send(
    node: &Node,
    host: &MemHost,
    sealed: arcanum_types::offchain::SealedRequest,
    request: &InvokeRequest,
    key: &ReplyKey,
) -> (InvokeReply, Vec<StateRecord>) {
    match node.call_with(ClusterRequest::Invoke { request: sealed }, host) {
        ClusterResponse::Invoked { reply, writes } => {
            host.store(&writes);
            let opened = key.open_reply(&request.hash(), &reply);
            (opened.expect("reply opens"), writes)
        }
        other => panic!("invoke: {other:?}"),
    }
}

/// Seals and sends a request.
pub fn invoke(
    node: &Node,
    host: &MemHost,
    request: &InvokeRequest,
) -> (InvokeReply, Vec<StateRecord>) {
    let (sealed, key) = seal(node, request);
    send(node, host, sealed, request, &key)
}

/// Asserts a successful reply signed by `deployment`'s contract key; returns the output.
#[track_caller]
pub fn expect_ok(reply: InvokeReply, deployment: &SignedDeployment) -> Vec<u8> {
    match reply {
        InvokeReply::Ok(signed) => {
            assert!(signed.verify(&deployment.statement.contract_key));
            assert_eq!(signed.result.contract_id, deployment.statement.contract_id);
            assert_eq!(signed.result.key_version, deployment.statement.key_version);
            signed.result.output
        }
        InvokeReply::Failed { code } => panic!("failed {code}: {}", code.description()),
    }
}

/// Asserts a failed reply with `code` (a failure reply carries its code and nothing else).
#[track_caller]
pub fn expect_failed(reply: InvokeReply, code: &str) {
    match reply {
        InvokeReply::Failed { code: c } => assert_eq!(c.as_str(), code),
        InvokeReply::Ok(r) => panic!("expected {code}, got a result {:?}", r.result),
    }
}

//! The real `arcanum-cluster-enclave` process over the rings: handshake, a deploy and
//! pipelined invocations whose state ocalls the test host answers, malformed frames, shutdown.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use arcanum_cluster::encode_args;
use arcanum_crypto::Hash;
use arcanum_enclave_protocol::cluster::{
    ClusterRequest, ClusterResponse, ClusterTrust, OCALL_ID_BIT, Ocall, OcallReturn,
};
use arcanum_enclave_protocol::{
    Envelope, MAX_FRAME, PROTOCOL_VERSION, Secret, decode_frame, encode_frame,
};
use arcanum_ring::{Duplex, Reader, RingOptions, Writer};
use arcanum_types::offchain::wire::{self, ReplyKey};
use arcanum_types::offchain::{
    ClusterKeys, DeployRequest, InvokeReply, InvokeRequest, SignedDeployment,
};

/// A safety net against a broken enclave; the test never waits for it to expire.
const TIMEOUT: Duration = Duration::from_secs(60);

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_arcanum-cluster-enclave")
}

struct Enclave {
    child: Child,
    to: Writer,
    from: Reader,
    code: BTreeMap<Hash, (SignedDeployment, Vec<u8>)>,
    state: BTreeMap<(Hash, Vec<u8>), Vec<u8>>,
    ocalls: usize,
}

impl Drop for Enclave {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Enclave {
    fn launch() -> Enclave {
        let options = RingOptions {
            max_frame: Some(MAX_FRAME as u32),
            ..RingOptions::default()
        };
        let (host, enclave) = Duplex::create_with(8 * 1024 * 1024, &options).expect("rings");
        let fds = enclave.into_fds().expect("fds");
        fds.set_inheritable().expect("inheritable");
        let child = Command::new(binary())
            .arg("--ring-fds")
            .arg(fds.encode())
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn");
        drop(fds);
        let (to, from) = host.split();
        Enclave {
            child,
            to,
            from,
            code: BTreeMap::new(),
            state: BTreeMap::new(),
            ocalls: 0,
        }
    }

    fn send(&self, id: u64, request: &ClusterRequest) {
        self.to
            .send(&encode_frame(id, request), Some(TIMEOUT))
            .expect("send");
    }

    /// Receives frames, answering ocalls, until a response with a host id arrives.
    fn next_response(&mut self) -> (u64, ClusterResponse) {
        loop {
            let frame = self.from.recv(Some(TIMEOUT)).expect("recv");
            let env: Envelope<ClusterResponse> = decode_frame(&frame).expect("decode");
            if env.id & OCALL_ID_BIT == 0 {
                return (env.id, env.body);
            }
            let ClusterResponse::Ocall(call) = env.body else {
                panic!("ocall id without an ocall: {:?}", env.body);
            };
            self.ocalls += 1;
            let ret = match call {
                Ocall::LoadCode { contract_id } => {
                    OcallReturn::Code(self.code.get(&contract_id).cloned())
                }
                Ocall::LoadState { contract_id, key } => {
                    OcallReturn::State(self.state.get(&(contract_id, key)).cloned())
                }
                other => OcallReturn::Error {
                    code: "UNSUPPORTED".into(),
                    message: format!("{other:?}"),
                },
            };
            self.send(env.id, &ClusterRequest::OcallReturn(ret));
        }
    }

    fn call(&mut self, id: u64, request: &ClusterRequest) -> ClusterResponse {
        self.send(id, request);
        let (got, response) = self.next_response();
        assert_eq!(got, id);
        response
    }
}

/// A sealed invocation, and what opens its reply: the request hash and the reply key.
fn invocation(
    keys: &ClusterKeys,
    contract: Hash,
    function: &str,
    args: &[&[u8]],
) -> (ClusterRequest, (Hash, ReplyKey)) {
    let mut nonce = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    let request = InvokeRequest {
        contract_id: contract,
        function: function.into(),
        input: encode_args(&args.iter().map(|a| a.to_vec()).collect::<Vec<_>>()),
        nonce,
        origin: None,
    };
    let (sealed, key) = wire::seal_invoke(keys, &request, &mut rand::rngs::OsRng).expect("seal");
    (
        ClusterRequest::Invoke { request: sealed },
        (request.hash(), key),
    )
}

#[test]
fn the_enclave_process_serves_requests_and_ocalls_over_the_rings() {
    let mut enclave = Enclave::launch();
    match enclave.call(
        1,
        &ClusterRequest::Hello {
            version: PROTOCOL_VERSION,
        },
    ) {
        ClusterResponse::Hello {
            measurement,
            is_secure,
            ..
        } => {
            let expected = arcanum_crypto::sha256(&std::fs::read(binary()).expect("binary"));
            assert_eq!(
                measurement,
                expected.0.to_vec(),
                "measured by its own binary"
            );
            assert!(!is_secure);
        }
        other => panic!("{other:?}"),
    }
    let init = ClusterRequest::Init {
        platform_secret: Some(Secret(vec![3; 32])),
        sealed: None,
        trust: ClusterTrust {
            issuers: vec![],
            policy_toml: "allow_simulation = true".into(),
            tls_roots: vec![],
        },
    };
    assert!(matches!(
        enclave.call(2, &init),
        ClusterResponse::Ready { .. }
    ));

    // A malformed frame is answered and serving goes on.
    enclave.to.send(&[1, 2, 3], Some(TIMEOUT)).expect("send");
    match enclave.next_response() {
        (0, ClusterResponse::Error { code, .. }) => assert_eq!(code, "MALFORMED_FRAME"),
        other => panic!("{other:?}"),
    }

    let keys = match enclave.call(3, &ClusterRequest::Genesis) {
        ClusterResponse::Formed { keys, .. } => keys,
        other => panic!("{other:?}"),
    };
    let deploy = wire::seal_deploy(
        &keys,
        &DeployRequest {
            wasm: arcanum_contracts::KV_WASM.to_vec(),
            salt: [1; 16],
        },
        &mut rand::rngs::OsRng,
    )
    .expect("seal");
    let deployment = match enclave.call(4, &ClusterRequest::Deploy { request: deploy }) {
        ClusterResponse::Deployed { deployment, code } => {
            enclave
                .code
                .insert(deployment.statement.contract_id, (deployment.clone(), code));
            deployment
        }
        other => panic!("{other:?}"),
    };
    let id = deployment.statement.contract_id;

    // Eight pipelined invocations on four workers, each loading state through an ocall.
    let mut pending = BTreeMap::new();
    for i in 0..8u8 {
        let (request, opener) = invocation(&keys, id, "put", &[&[i], &[i, i]]);
        enclave.send(100 + u64::from(i), &request);
        pending.insert(100 + u64::from(i), opener);
    }
    while !pending.is_empty() {
        let (rid, response) = enclave.next_response();
        let (hash, key) = pending.remove(&rid).expect("an outstanding id");
        let ClusterResponse::Invoked { reply, writes } = response else {
            panic!("{response:?}");
        };
        match key.open_reply(&hash, &reply).expect("reply") {
            InvokeReply::Ok(signed) => assert!(signed.verify(&deployment.statement.contract_key)),
            InvokeReply::Failed { code } => panic!("{code}: {}", code.description()),
        }
        for w in writes {
            enclave.state.insert((w.contract_id, w.key), w.record);
        }
    }
    assert_eq!(enclave.ocalls, 8);
    assert_eq!(enclave.state.len(), 8);

    // An unknown contract: the enclave asks the host for its code, which has none.
    let (request, (hash, key)) = invocation(&keys, Hash([9; 32]), "get", &[b"k"]);
    match enclave.call(200, &request) {
        ClusterResponse::Invoked { reply, .. } => {
            match key.open_reply(&hash, &reply).expect("reply") {
                InvokeReply::Failed { code } => {
                    assert_eq!(code.as_str(), "OFFCHAIN_CONTRACT_UNKNOWN")
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(enclave.ocalls, 9);

    assert!(matches!(
        enclave.call(300, &ClusterRequest::Shutdown),
        ClusterResponse::Ok
    ));
    let status = enclave.child.wait().expect("wait");
    assert!(status.success(), "{status}");
}

//! An encrypted off-chain invocation in-process (C4): the client seals the request to the
//! cluster key, the enclave's `ClusterService` opens it, runs the key/value contract and signs
//! and encrypts the reply, and the client opens it. No rings, no host process.
//!
//! `cargo bench -p arcanum-cluster --bench invoke`

use std::collections::BTreeMap;

use arcanum_cluster::{ClusterService, HostPort, Ocall, OcallReturn, PlatformSource, encode_args};
use arcanum_crypto::Hash;
use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse, ClusterTrust};
use arcanum_enclave_protocol::{PROTOCOL_VERSION, Secret};
use arcanum_types::offchain::wire::{seal_deploy, seal_invoke};
use arcanum_types::offchain::{ClusterKeys, DeployRequest, InvokeReply, InvokeRequest};
use criterion::{Criterion, criterion_group, criterion_main};
use parking_lot::Mutex;

type StateMap = BTreeMap<(Hash, Vec<u8>), Vec<u8>>;

#[derive(Default)]
struct Host {
    code: Mutex<BTreeMap<Hash, OcallReturn>>,
    state: Mutex<StateMap>,
}

impl HostPort for Host {
    fn ocall(&self, call: Ocall) -> Result<OcallReturn, String> {
        Ok(match call {
            Ocall::LoadCode { contract_id } => self
                .code
                .lock()
                .get(&contract_id)
                .cloned()
                .unwrap_or(OcallReturn::Code(None)),
            Ocall::LoadState { contract_id, key } => {
                OcallReturn::State(self.state.lock().get(&(contract_id, key)).cloned())
            }
            _ => OcallReturn::Error {
                code: "UNSUPPORTED".into(),
                message: String::new(),
            },
        })
    }
}

fn setup() -> (ClusterService, Host, ClusterKeys, Hash) {
    let service = ClusterService::new(PlatformSource::Simulated {
        binary: b"bench enclave".to_vec(),
    });
    let host = Host::default();
    service.handle(
        ClusterRequest::Hello {
            version: PROTOCOL_VERSION,
        },
        &host,
    );
    service.handle(
        ClusterRequest::Init {
            platform_secret: Some(Secret(vec![1; 32])),
            sealed: None,
            trust: ClusterTrust {
                issuers: vec![],
                policy_toml: "allow_simulation = true".into(),
                tls_roots: vec![],
            },
        },
        &host,
    );
    let ClusterResponse::Formed { keys, .. } = service.handle(ClusterRequest::Genesis, &host)
    else {
        panic!("genesis failed");
    };
    let deploy = seal_deploy(
        &keys,
        &DeployRequest {
            wasm: arcanum_contracts::KV_WASM.to_vec(),
            salt: [0; 16],
        },
        &mut rand::rngs::OsRng,
    )
    .expect("seal");
    let ClusterResponse::Deployed { deployment, code } =
        service.handle(ClusterRequest::Deploy { request: deploy }, &host)
    else {
        panic!("deploy failed");
    };
    let id = deployment.statement.contract_id;
    host.code
        .lock()
        .insert(id, OcallReturn::Code(Some((deployment, code))));
    (service, host, keys, id)
}

/// One full round: seal, invoke, store the writes, open.
fn round(service: &ClusterService, host: &Host, keys: &ClusterKeys, request: &InvokeRequest) {
    let (sealed, reply_key) = seal_invoke(keys, request, &mut rand::rngs::OsRng).expect("seal");
    let ClusterResponse::Invoked { reply, writes } =
        service.handle(ClusterRequest::Invoke { request: sealed }, host)
    else {
        panic!("invoke failed");
    };
    let mut state = host.state.lock();
    for w in writes {
        state.insert((w.contract_id, w.key), w.record);
    }
    drop(state);
    match reply_key
        .open_reply(&request.hash(), &reply)
        .expect("reply")
    {
        InvokeReply::Ok(_) => {}
        InvokeReply::Failed { code } => panic!("{code}: {}", code.description()),
    }
}

fn request(id: Hash, function: &str, args: &[&[u8]], n: u64) -> InvokeRequest {
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&n.to_le_bytes());
    InvokeRequest {
        contract_id: id,
        function: function.into(),
        input: encode_args(&args.iter().map(|a| a.to_vec()).collect::<Vec<_>>()),
        nonce,
        origin: None,
    }
}

fn bench(c: &mut Criterion) {
    let (service, host, keys, id) = setup();
    let mut n = 0u64;
    round(
        &service,
        &host,
        &keys,
        &request(id, "put", &[b"k", b"v"], n),
    );
    c.bench_function("encrypted invoke: kv get (cache hit)", |b| {
        b.iter(|| {
            n += 1;
            round(&service, &host, &keys, &request(id, "get", &[b"k"], n));
        })
    });
    c.bench_function("encrypted invoke: kv put (one state record)", |b| {
        b.iter(|| {
            n += 1;
            round(
                &service,
                &host,
                &keys,
                &request(id, "put", &[b"k", b"v"], n),
            );
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

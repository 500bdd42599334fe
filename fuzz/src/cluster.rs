//! The `cluster_service` target's world: one formed cluster enclave (`ClusterService` on the
//! simulated platform, TLS roots configured) with two deployed probe contracts, the honest host
//! store the target keeps beside it, the input format, and the hostile host that answers ocalls
//! from the fuzz input.
//!
//! Input format (every read past the end yields zeros / empty slices):
//!
//! ```text
//! op u8, then by op % 7:
//!   0 raw:            u16-len chunk = borsh ClusterRequest from the host (Shutdown skipped)
//!   1 invoke:         contract u8, function u8 (>= FUNCTIONS.len(): u8-len name follows),
//!                     nargs u8 (% 4) × u8-len arg, 16-byte nonce, origin u8 (odd: Some)
//!   2 invoke plain:   u16-len chunk sealed by the client as the invocation plaintext
//!   3 deploy plain:   u16-len chunk sealed by the client as the deployment plaintext
//!   4 rotate:         contract u8
//!   5 install:        contract u8, tamper u8 (0: honest), bit u16
//!   6 deploy wasm:    salt u8, u16-len chunk = the code
//! then the host script: one answer per ocall, see [`FuzzHost`].
//! ```

use std::collections::BTreeMap;
use std::sync::LazyLock;

use arcanum_cluster::{
    ClusterConfig, ClusterService, HostPort, Ocall, OcallReturn, PlatformSource,
};
use arcanum_crypto::hpke;
use arcanum_crypto::{Hash, PublicKey, domain, tagged_hash};
use arcanum_enclave_protocol::cluster::{
    ClusterRequest, ClusterResponse, ClusterTrust, StateRecord,
};
use arcanum_enclave_protocol::{PROTOCOL_VERSION, Secret};
use arcanum_types::encode;
use arcanum_types::offchain::{ClusterKeys, DeployRequest, SealedRequest, SignedDeployment};
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The simulated enclave binary (its hash is the measurement).
pub const BINARY: &[u8] = b"arcanum cluster enclave fuzz binary";

/// A contract exercising every state host call and `https_get`. Each entry point takes its
/// arguments (key, value, URL) with `arg`; values and bodies go back with `set_return`.
pub const PROBE_WAT: &str = r#"(module
  (import "arcanum" "arg" (func $arg (param i32) (result i32)))
  (import "arcanum" "scratch_read" (func $read (param i32)))
  (import "arcanum" "state_get" (func $get (param i32 i32) (result i32)))
  (import "arcanum" "state_put" (func $put (param i32 i32 i32 i32)))
  (import "arcanum" "state_delete" (func $del (param i32 i32)))
  (import "arcanum" "https_get" (func $https (param i32 i32) (result i32)))
  (import "arcanum" "set_return" (func $ret (param i32 i32)))
  (memory (export "memory") 3)
  ;; argument i into memory at `at`; its length (0 if absent)
  (func $load (param $i i32) (param $at i32) (result i32)
    (local $n i32)
    (local.set $n (call $arg (local.get $i)))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (i32.const 0))))
    (call $read (local.get $at))
    (local.get $n))
  ;; state_get of the key at 0; the value to 131072 and returned
  (func $getkey (param $k i32)
    (local $n i32)
    (local.set $n (call $get (i32.const 0) (local.get $k)))
    (if (i32.ge_s (local.get $n) (i32.const 0))
      (then
        (call $read (i32.const 131072))
        (call $ret (i32.const 131072) (local.get $n)))))
  (func (export "get")
    (call $getkey (call $load (i32.const 0) (i32.const 0))))
  (func (export "put")
    (local $k i32) (local $v i32)
    (local.set $k (call $load (i32.const 0) (i32.const 0)))
    (local.set $v (call $load (i32.const 1) (i32.const 65536)))
    (call $put (i32.const 0) (local.get $k) (i32.const 65536) (local.get $v)))
  (func (export "del")
    (call $del (i32.const 0) (call $load (i32.const 0) (i32.const 0))))
  (func (export "getput")
    (local $k i32) (local $v i32)
    (local.set $k (call $load (i32.const 0) (i32.const 0)))
    (call $getkey (local.get $k))
    (local.set $v (call $load (i32.const 1) (i32.const 65536)))
    (call $put (i32.const 0) (local.get $k) (i32.const 65536) (local.get $v)))
  (func (export "fetch")
    (local $n i32)
    (local.set $n (call $https (i32.const 0) (call $load (i32.const 0) (i32.const 0))))
    (call $read (i32.const 131072))
    (call $ret (i32.const 131072) (local.get $n))))"#;

/// Entry points the fuzzer picks by index (the last does not exist).
pub const FUNCTIONS: &[&str] = &["get", "put", "del", "getput", "fetch", "nope"];

/// Captured records and code kept for swapping (most recent last).
const MAX_CAPTURED: usize = 64;

/// The probe contract's code.
pub fn probe_wasm() -> Vec<u8> {
    wat::parse_str(PROBE_WAT).unwrap_or_else(|e| panic!("probe contract: {e}"))
}

/// What an honest host stores, plus what the target learnt from the enclave's answers.
#[derive(Default)]
pub struct HostStore {
    /// The latest deployment and code record of each contract.
    pub code: BTreeMap<Hash, (SignedDeployment, Vec<u8>)>,
    /// The latest state record of each key.
    pub state: BTreeMap<(Hash, Vec<u8>), Vec<u8>>,
    /// Recent state records (any key), for swapping.
    pub captured: Vec<StateRecord>,
    /// Every contract key the cluster signed a statement for, by contract and version.
    pub contract_keys: BTreeMap<(Hash, u32), PublicKey>,
}

impl HostStore {
    /// Records a deployment statement the enclave returned (and its code, if given).
    pub fn learn(&mut self, deployment: &SignedDeployment, code: Option<Vec<u8>>) {
        let st = &deployment.statement;
        self.contract_keys
            .insert((st.contract_id, st.key_version), st.contract_key.clone());
        let code = match code {
            Some(c) => Some(c),
            None => self.code.get(&st.contract_id).map(|(_, c)| c.clone()),
        };
        if let Some(code) = code {
            self.code.insert(st.contract_id, (deployment.clone(), code));
        }
    }

    /// Stores the records of a successful invocation, as the real host does.
    pub fn store(&mut self, writes: &[StateRecord]) {
        for w in writes {
            self.state
                .insert((w.contract_id, w.key.clone()), w.record.clone());
            self.captured.push(w.clone());
        }
        if self.captured.len() > MAX_CAPTURED {
            let excess = self.captured.len() - MAX_CAPTURED;
            self.captured.drain(..excess);
        }
    }

    /// The contract at index `sel` (sorted by id), or an unknown id.
    pub fn contract(&self, sel: u8) -> Hash {
        let ids: Vec<Hash> = self.code.keys().copied().collect();
        match ids.get(usize::from(sel) % (ids.len() + 1)) {
            Some(id) => *id,
            None => Hash([sel; 32]),
        }
    }
}

/// The formed enclave and what the target knows about it.
pub struct World {
    pub service: ClusterService,
    pub keys: ClusterKeys,
    pub store: Mutex<HostStore>,
}

/// A host that refuses every ocall (used while setting the world up).
struct NoHost;

impl HostPort for NoHost {
    fn ocall(&self, _call: Ocall) -> Result<OcallReturn, String> {
        Err("no host during setup".into())
    }
}

/// Hello, Init (simulation, TLS roots of a test CA), Genesis, and two deployments of the probe.
pub static WORLD: LazyLock<World> = LazyLock::new(|| {
    let service = ClusterService::with_config(
        PlatformSource::Simulated {
            binary: BINARY.to_vec(),
        },
        ClusterConfig {
            fuel: 2_000_000,
            // Alternating between contracts makes the enclave load code from the host.
            max_compiled: 1,
            replay_capacity: 1 << 16,
            // Small: most reads go to the host, whose answers are the fuzzer's.
            max_cached_bytes: 256,
        },
    );
    let expect = |r: ClusterResponse, what: &str| -> ClusterResponse {
        if let ClusterResponse::Error { code, message } = &r {
            panic!("{what}: {code}: {message}");
        }
        r
    };
    expect(
        service.handle(
            ClusterRequest::Hello {
                version: PROTOCOL_VERSION,
            },
            &NoHost,
        ),
        "hello",
    );
    let ca = arcanum_enclave_tls::test_server::TestCa::new("arcanum fuzz root")
        .unwrap_or_else(|e| panic!("test CA: {e}"));
    let issuer = arcanum_crypto::SigningKey::from_ed25519_seed(&[0x15; 32]);
    let trust = ClusterTrust {
        issuers: vec![issuer.public_key()],
        policy_toml: format!(
            "allow_simulation = true\nallowed_measurements = [\"{}\"]\n",
            hex::encode(arcanum_crypto::sha256(BINARY).0)
        ),
        tls_roots: vec![ca.der().to_vec()],
    };
    expect(
        service.handle(
            ClusterRequest::Init {
                platform_secret: Some(Secret(vec![0x42; 32])),
                sealed: None,
                trust,
            },
            &NoHost,
        ),
        "init",
    );
    let keys = match expect(service.handle(ClusterRequest::Genesis, &NoHost), "genesis") {
        ClusterResponse::Formed { keys, .. } => keys,
        other => panic!("genesis: {other:?}"),
    };
    let world = World {
        service,
        keys,
        store: Mutex::new(HostStore::default()),
    };
    let wasm = probe_wasm();
    for salt in [1u8, 2] {
        let request = encode(&DeployRequest {
            wasm: wasm.clone(),
            salt: [salt; 16],
        });
        match world.deploy(&request, u64::from(salt)) {
            ClusterResponse::Deployed { deployment, code } => {
                world.store.lock().learn(&deployment, Some(code));
            }
            other => panic!("deploy: {other:?}"),
        }
    }
    world
});

impl World {
    /// The client's HPKE sealing of a deployment plaintext.
    pub fn seal_deploy(&self, plain: &[u8], seed: u64) -> SealedRequest {
        let cluster = self.keys.id();
        let sealed = hpke::seal(
            &self.keys.hpke_key,
            domain::OFFCHAIN_DEPLOY.as_bytes(),
            &cluster.0,
            plain,
            &mut StdRng::seed_from_u64(seed),
        )
        .unwrap_or_else(|e| panic!("seal: {e}"));
        SealedRequest { cluster, sealed }
    }

    /// The client's HPKE sealing of an invocation plaintext, and its reply key.
    pub fn seal_invoke(
        &self,
        plain: &[u8],
        seed: u64,
    ) -> (SealedRequest, arcanum_sdk::offchain::ReplyKey) {
        let cluster = self.keys.id();
        let (sealed, export) = hpke::seal_with_export(
            &self.keys.hpke_key,
            domain::OFFCHAIN_INVOKE.as_bytes(),
            &cluster.0,
            plain,
            domain::OFFCHAIN_REPLY.as_bytes(),
            32,
            &mut StdRng::seed_from_u64(seed),
        )
        .unwrap_or_else(|e| panic!("seal: {e}"));
        let key = arcanum_sdk::offchain::ReplyKey::from_export(&export)
            .unwrap_or_else(|| panic!("a 32-byte export"));
        (SealedRequest { cluster, sealed }, key)
    }

    fn deploy(&self, plain: &[u8], seed: u64) -> ClusterResponse {
        let request = self.seal_deploy(plain, seed);
        self.service
            .handle(ClusterRequest::Deploy { request }, &NoHost)
    }
}

/// The hash an enclave gives an invocation plaintext (equal to `InvokeRequest::hash` when it
/// decodes).
pub fn request_hash(plain: &[u8]) -> Hash {
    tagged_hash(domain::OFFCHAIN_REQUEST, &[plain])
}

/// A cursor over the fuzz input; reads past the end give zeros and empty slices.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    pub fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }

    pub fn u16(&mut self) -> u16 {
        u16::from(self.u8()) | (u16::from(self.u8()) << 8)
    }

    /// A slice prefixed by its u8 length.
    pub fn short(&mut self) -> &'a [u8] {
        let n = self.u8();
        self.bytes(usize::from(n))
    }

    /// A slice prefixed by its u16 (LE) length.
    pub fn chunk(&mut self) -> &'a [u8] {
        let n = self.u16();
        self.bytes(usize::from(n))
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let n = self.data.len();
        self.bytes(n)
    }
}

/// Builds inputs in the same format (for seeds).
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(mut self, b: u8) -> Writer {
        self.0.push(b);
        self
    }

    pub fn u16(mut self, v: u16) -> Writer {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn raw(mut self, bytes: &[u8]) -> Writer {
        self.0.extend_from_slice(bytes);
        self
    }

    pub fn short(self, bytes: &[u8]) -> Writer {
        let n = u8::try_from(bytes.len()).unwrap_or(u8::MAX);
        self.u8(n).raw(&bytes[..usize::from(n)])
    }

    pub fn chunk(self, bytes: &[u8]) -> Writer {
        let n = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        self.u16(n).raw(&bytes[..usize::from(n)])
    }
}

/// Answer kinds of the host script (one byte per ocall, then its operands).
pub mod answer {
    /// The honest answer (stored code or record; for TCP, a plausible one).
    pub const HONEST: u8 = 0;
    /// Nothing: no code, no record, an empty receive.
    pub const NOTHING: u8 = 1;
    /// Another stored item (operand: index u8): code of a contract, a captured state record.
    pub const SWAP: u8 = 2;
    /// The honest item with one bit flipped (operand: bit u16).
    pub const FLIP: u8 = 3;
    /// A borsh `OcallReturn` (operand: u16-len chunk); a wrong variant if it does not decode.
    pub const RAW: u8 = 4;
    /// The transport fails.
    pub const TRANSPORT: u8 = 5;
    /// `OcallReturn::Error`.
    pub const ERROR: u8 = 6;
    /// Bytes of the fuzzer's choice (operand: u16-len chunk) as record, code or TLS bytes.
    pub const BYTES: u8 = 7;
}

/// A hostile host: each ocall reads its answer from the script. Remembers whether it ever
/// served stored data other than the honest latest (a *forgery*: the enclave must not produce
/// a result from it) and whether TCP was used.
pub struct FuzzHost<'a> {
    script: Mutex<Input<'a>>,
    store: &'a Mutex<HostStore>,
    pub forged: Mutex<Vec<String>>,
    pub connects: Mutex<usize>,
}

impl<'a> FuzzHost<'a> {
    pub fn new(script: &'a [u8], store: &'a Mutex<HostStore>) -> FuzzHost<'a> {
        FuzzHost {
            script: Mutex::new(Input::new(script)),
            store,
            forged: Mutex::new(Vec::new()),
            connects: Mutex::new(0),
        }
    }

    fn answer(&self, call: &Ocall) -> Result<OcallReturn, String> {
        let mut s = self.script.lock();
        let kind = s.u8() % 8;
        match kind {
            answer::TRANSPORT => return Err("transport: the host is gone".into()),
            answer::ERROR => {
                return Ok(OcallReturn::Error {
                    code: "HOST_REFUSED".into(),
                    message: "refused".into(),
                });
            }
            answer::RAW => {
                let bytes = s.chunk();
                return Ok(borsh::from_slice::<OcallReturn>(bytes).unwrap_or(OcallReturn::Sent));
            }
            _ => {}
        }
        let store = self.store.lock();
        Ok(match call {
            Ocall::LoadCode { contract_id } => {
                let honest = store.code.get(contract_id).cloned();
                OcallReturn::Code(match kind {
                    answer::NOTHING => None,
                    answer::SWAP => {
                        let all: Vec<_> = store.code.values().cloned().collect();
                        let i = usize::from(s.u8());
                        all.get(i % all.len().max(1)).cloned()
                    }
                    answer::FLIP => {
                        let bit = s.u16();
                        honest.and_then(|pair| {
                            let mut bytes = encode(&pair);
                            flip(&mut bytes, bit);
                            borsh::from_slice(&bytes).ok()
                        })
                    }
                    answer::BYTES => {
                        let code = s.chunk().to_vec();
                        honest.map(|(deployment, _)| (deployment, code))
                    }
                    _ => honest,
                })
            }
            Ocall::LoadState { contract_id, key } => {
                let honest = store.state.get(&(*contract_id, key.clone())).cloned();
                OcallReturn::State(match kind {
                    answer::NOTHING => None,
                    answer::SWAP => {
                        let i = usize::from(s.u8());
                        let n = store.captured.len().max(1);
                        store.captured.get(i % n).map(|r| r.record.clone())
                    }
                    answer::FLIP => {
                        let bit = s.u16();
                        honest.map(|mut r| {
                            flip(&mut r, bit);
                            r
                        })
                    }
                    answer::BYTES => Some(s.chunk().to_vec()),
                    _ => honest,
                })
            }
            Ocall::TcpConnect { .. } => {
                *self.connects.lock() += 1;
                OcallReturn::Connected {
                    conn: u32::from(s.u8()),
                }
            }
            Ocall::TcpSend { .. } => OcallReturn::Sent,
            Ocall::TcpRecv { max, .. } => match kind {
                answer::NOTHING => OcallReturn::Received(Vec::new()),
                // More than was asked for.
                answer::FLIP => OcallReturn::Received(vec![0x16; *max as usize + 1]),
                _ => OcallReturn::Received(s.chunk().to_vec()),
            },
            Ocall::TcpClose { .. } => OcallReturn::Closed,
        })
    }

    /// Whether `answer` to `call` differs from the honest host's.
    fn note(&self, call: &Ocall, answer: &OcallReturn) {
        let store = self.store.lock();
        let forged = match (call, answer) {
            (Ocall::LoadCode { contract_id }, OcallReturn::Code(Some(pair))) => {
                store.code.get(contract_id) != Some(pair)
            }
            (Ocall::LoadState { contract_id, key }, OcallReturn::State(record)) => {
                store.state.get(&(*contract_id, key.clone())) != record.as_ref()
            }
            _ => false,
        };
        if forged {
            self.forged.lock().push(format!("{call:?}"));
        }
    }
}

impl HostPort for FuzzHost<'_> {
    fn ocall(&self, call: Ocall) -> Result<OcallReturn, String> {
        let answer = self.answer(&call)?;
        self.note(&call, &answer);
        Ok(answer)
    }
}

fn flip(bytes: &mut [u8], bit: u16) {
    if bytes.is_empty() {
        return;
    }
    let bit = usize::from(bit) % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
}

/// Seeds of the `cluster_service` target.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    use answer::*;
    let invoke = |contract: u8, function: u8, args: &[&[u8]]| {
        let mut w = Writer::default()
            .u8(1)
            .u8(contract)
            .u8(function)
            .u8(args.len() as u8);
        for a in args {
            w = w.short(a);
        }
        w.raw(&[contract ^ function; 16]).u8(0)
    };
    let raw = |request: &ClusterRequest| Writer::default().u8(0).chunk(&encode(request));
    let tls_hello = [0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00];
    vec![
        ("put".into(), invoke(0, 1, &[b"color", b"blue"]).0),
        ("get".into(), invoke(0, 0, &[b"color"]).0),
        (
            "getput-swapped".into(),
            invoke(0, 3, &[b"color", b"red"]).u8(SWAP).u8(0).0,
        ),
        (
            "get-other-contract-flipped-code".into(),
            invoke(1, 0, &[b"k"]).u8(FLIP).u16(77).0,
        ),
        (
            "del-record-bytes".into(),
            invoke(1, 2, &[b"k"]).u8(BYTES).chunk(&[0; 48]).0,
        ),
        (
            "fetch".into(),
            invoke(0, 4, &[b"https://example.com/price"])
                .u8(HONEST)
                .u8(1)
                .u8(HONEST)
                .u8(BYTES)
                .chunk(&tls_hello)
                .0,
        ),
        ("rotate".into(), Writer::default().u8(4).u8(1).0),
        (
            "install-tampered".into(),
            Writer::default().u8(5).u8(0).u8(1).u16(300).0,
        ),
        ("raw-evidence".into(), raw(&ClusterRequest::Evidence).0),
        (
            "raw-rotate".into(),
            raw(&ClusterRequest::RotateContractKey {
                contract_id: Hash([1; 32]),
            })
            .0,
        ),
        (
            "invoke-plain".into(),
            Writer::default().u8(2).chunk(b"\x01\x02garbage").0,
        ),
        (
            "deploy-wasm".into(),
            Writer::default().u8(6).u8(9).chunk(&probe_wasm()).0,
        ),
    ]
}

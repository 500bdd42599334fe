//! [`ClusterService`]: the request → response state machine of a cluster enclave.

use std::collections::HashMap;
use std::sync::Arc;

use arcanum_attestation::key_binding;
use arcanum_crypto::hpke::{self, Aead, HpkePrivateKey, Sealed};
use arcanum_crypto::{Hash, Signature, SigningKey, domain, tagged_hash};
use arcanum_enclave::PlatformSource;
use arcanum_enclave_protocol::cluster::{
    ClusterRequest, ClusterResponse, ClusterTrust, NodeCardSigned, Ocall, OcallReturn, StateRecord,
};
use arcanum_enclave_protocol::{PROTOCOL_VERSION, Secret};
use arcanum_enclave_tls::HttpsClient;
use arcanum_tee::{Platform, Sealer, SimFuse, Simulated};
use arcanum_types::offchain::{
    ClusterMember, ClusterRegistration, DeployRequest, DeploymentStatement, InvokeReply,
    InvokeRequest, JoinOffer, MAX_CLUSTER_MEMBERS, MAX_FUNCTION_NAME, MAX_OFFCHAIN_CODE,
    MAX_OFFCHAIN_INPUT, NodeCard, OffchainResult, SealedRequest, SignedDeployment, SignedOffer,
    SignedRegistration, SignedResult, contract_id, wire,
};
use arcanum_types::{decode, encode};
use arcanum_vm::{Caller, Contract, Engine, EngineConfig, Limits, VmError};
use borsh::{BorshDeserialize, BorshSerialize};
use parking_lot::{Mutex, RwLock};
use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::HostPort;
use crate::error::{ClusterError, Refusal};
use crate::fifo::Fifo;
use crate::keys::{ClusterSecret, KeySchedule, RecordKind, SECRET_LEN};
use crate::state::{ContractState, MAX_CACHED_BYTES, ReplaySet, Run, variant_name};
use crate::verify::Trust;

/// Sealing purpose of the node state (node keys and, once formed, the cluster secret).
pub const NODE_PURPOSE: &str = "cluster-node";
/// How long a join offer stays valid, in seconds.
pub const OFFER_WINDOW_SECS: u64 = 120;
/// Request hashes remembered against replays: the last 2^20 (about 70 MiB at capacity). A
/// request older than that many newer ones is no longer recognised.
pub const REPLAY_CAPACITY: usize = 1 << 20;
/// Largest plaintext of an encrypted invocation (input + function + fixed fields, with room
/// so that a slightly oversized input is refused inside the encrypted reply).
pub const MAX_INVOKE_PLAINTEXT: usize = MAX_OFFCHAIN_INPUT + 1024;
/// Largest plaintext of an encrypted deployment.
pub const MAX_DEPLOY_PLAINTEXT: usize = MAX_OFFCHAIN_CODE + 1024;
/// Join offers a member keeps pending, and offers a joiner remembers accepting.
const MAX_PENDING_OFFERS: usize = 64;

/// Tunables of a [`ClusterService`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Fuel of one invocation (wasmi units).
    pub fuel: u64,
    /// Compiled modules kept in the enclave (others are reloaded from the host on use).
    pub max_compiled: usize,
    /// Request hashes remembered against replays.
    pub replay_capacity: usize,
    /// Bytes of state values each contract keeps cached (0: every read goes to the host;
    /// versions are always kept).
    pub max_cached_bytes: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            fuel: Limits::default().fuel,
            max_compiled: 64,
            replay_capacity: REPLAY_CAPACITY,
            max_cached_bytes: MAX_CACHED_BYTES,
        }
    }
}

enum Phase {
    New(PlatformSource),
    Greeted(PlatformSource),
    Ready(Arc<Node>),
    Poisoned,
}

/// The cluster enclave's request handler.
///
/// Thread-safe and concurrent: the lifecycle lock is held only to pick the phase; requests of a
/// ready node then run in parallel, with fine-grained locks (one per contract's state cache,
/// short ones for the code table, the replay set and the pending offers).
pub struct ClusterService {
    phase: Mutex<Phase>,
    config: ClusterConfig,
}

fn error_response(code: &str, message: impl Into<String>) -> ClusterResponse {
    ClusterResponse::Error {
        code: code.to_owned(),
        message: message.into(),
    }
}

impl ClusterService {
    pub fn new(platform: PlatformSource) -> ClusterService {
        ClusterService::with_config(platform, ClusterConfig::default())
    }

    pub fn with_config(platform: PlatformSource, config: ClusterConfig) -> ClusterService {
        ClusterService {
            phase: Mutex::new(Phase::New(platform)),
            config,
        }
    }

    /// Handles one request; `host` serves the ocalls it makes on the way.
    pub fn handle(&self, request: ClusterRequest, host: &dyn HostPort) -> ClusterResponse {
        let node = {
            let mut phase = self.phase.lock();
            let current = std::mem::replace(&mut *phase, Phase::Poisoned);
            let (next, outcome) = self.lifecycle(current, request);
            *phase = next;
            outcome
        };
        match node {
            Err(response) => response,
            Ok((node, request)) => match node.handle(request, host) {
                Ok(response) => response,
                Err(e) => error_response(e.code().as_str(), e.to_string()),
            },
        }
    }

    /// The phase transition for `request`: either the response, or the ready node and the
    /// request to run outside the lifecycle lock.
    #[allow(clippy::type_complexity)]
    fn lifecycle(
        &self,
        current: Phase,
        request: ClusterRequest,
    ) -> (Phase, Result<(Arc<Node>, ClusterRequest), ClusterResponse>) {
        match (current, request) {
            (Phase::New(source), ClusterRequest::Hello { version }) => {
                if version != PROTOCOL_VERSION {
                    let e = error_response(
                        "VERSION_MISMATCH",
                        format!("enclave speaks {PROTOCOL_VERSION}, host {version}"),
                    );
                    return (Phase::New(source), Err(e));
                }
                let (measurement, is_secure) = match &source {
                    PlatformSource::Hardware(p) => {
                        (p.measurement().unwrap_or_default(), p.is_secure())
                    }
                    PlatformSource::Simulated { binary } => {
                        (arcanum_crypto::sha256(binary).0.to_vec(), false)
                    }
                };
                (
                    Phase::Greeted(source),
                    Err(ClusterResponse::Hello {
                        version: PROTOCOL_VERSION,
                        measurement,
                        is_secure,
                    }),
                )
            }
            (Phase::New(source), _) => (
                Phase::New(source),
                Err(error_response(
                    "HANDSHAKE_REQUIRED",
                    "the first request must be Hello",
                )),
            ),
            (
                Phase::Greeted(source),
                ClusterRequest::Init {
                    platform_secret,
                    sealed,
                    trust,
                },
            ) => match Node::init(source, platform_secret, sealed, trust, self.config.clone()) {
                // A failed Init leaves the enclave unusable: the host restarts it.
                Err(e) => (Phase::Poisoned, Err(error_response(e.code, e.message))),
                Ok((node, sealed)) => {
                    let response = ClusterResponse::Ready {
                        card: node.card.clone(),
                        cluster: node.formed().map(|c| c.keys.public().clone()),
                        sealed,
                    };
                    (Phase::Ready(Arc::new(node)), Err(response))
                }
            },
            (Phase::Greeted(source), _) => (
                Phase::Greeted(source),
                Err(error_response("INIT_REQUIRED", "Init must follow Hello")),
            ),
            (Phase::Ready(node), ClusterRequest::Hello { .. } | ClusterRequest::Init { .. }) => (
                Phase::Ready(node),
                Err(error_response(
                    "ALREADY_INITIALISED",
                    "the enclave is already initialised",
                )),
            ),
            (Phase::Ready(node), request) => (Phase::Ready(node.clone()), Ok((node, request))),
            (Phase::Poisoned, _) => (
                Phase::Poisoned,
                Err(error_response(
                    "ENCLAVE_FAILED",
                    "the enclave is in a failed state",
                )),
            ),
        }
    }
}

/// The sealed node state.
#[derive(BorshSerialize, BorshDeserialize)]
struct NodeSecrets {
    node_seed: [u8; 32],
    hpke: [u8; 32],
    cluster: Option<[u8; SECRET_LEN]>,
}

impl Drop for NodeSecrets {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.node_seed);
        zeroize::Zeroize::zeroize(&mut self.hpke);
        if let Some(s) = self.cluster.as_mut() {
            zeroize::Zeroize::zeroize(s);
        }
    }
}

/// What the enclave knows of a deployed contract.
#[derive(Clone)]
struct Known {
    code_hash: Hash,
    key_version: u32,
    key: Arc<SigningKey>,
}

struct Contracts {
    known: HashMap<Hash, Known>,
    compiled: Fifo<Hash, Contract>,
}

/// A formed cluster: its keys and everything keyed by them.
struct Cluster {
    secret: ClusterSecret,
    keys: KeySchedule,
    contracts: Mutex<Contracts>,
    states: Mutex<HashMap<Hash, Arc<Mutex<ContractState>>>>,
    replay: Mutex<ReplaySet>,
    max_cached_bytes: usize,
}

impl Cluster {
    fn new(secret: ClusterSecret, config: &ClusterConfig) -> Cluster {
        Cluster {
            keys: KeySchedule::derive(&secret),
            secret,
            contracts: Mutex::new(Contracts {
                known: HashMap::new(),
                compiled: Fifo::new(config.max_compiled),
            }),
            states: Mutex::new(HashMap::new()),
            replay: Mutex::new(ReplaySet::new(config.replay_capacity)),
            max_cached_bytes: config.max_cached_bytes,
        }
    }

    fn check_recipient(&self, request: &SealedRequest) -> Result<(), ClusterError> {
        if request.cluster != self.keys.id() {
            return Err(ClusterError::WrongClusterKey {
                named: request.cluster,
                ours: self.keys.id(),
            });
        }
        Ok(())
    }

    /// Records `key_version` of a contract (a higher known version stays) and its compiled
    /// module; returns what is now known.
    fn register(&self, id: Hash, code_hash: Hash, key_version: u32, compiled: Contract) -> Known {
        let mut contracts = self.contracts.lock();
        let known = match contracts.known.get(&id) {
            Some(k) if k.key_version >= key_version => k.clone(),
            _ => Known {
                code_hash,
                key_version,
                key: Arc::new(self.keys.contract_key(&id, key_version)),
            },
        };
        contracts.known.insert(id, known.clone());
        contracts.compiled.insert(id, compiled);
        known
    }

    fn cached(&self, id: &Hash) -> Option<(Contract, Known)> {
        let contracts = self.contracts.lock();
        let compiled = contracts.compiled.get(id)?.clone();
        let known = contracts.known.get(id)?.clone();
        Some((compiled, known))
    }

    fn statement(&self, id: Hash, known: &Known) -> SignedDeployment {
        let statement = DeploymentStatement {
            contract_id: id,
            code_hash: known.code_hash,
            contract_key: known.key.public_key(),
            key_version: known.key_version,
            cluster_key: self.keys.public().signing_key.clone(),
        };
        let signature = self
            .keys
            .signing()
            .sign(domain::DEPLOYMENT_STATEMENT, &encode(&statement));
        SignedDeployment {
            statement,
            signature,
        }
    }

    fn state_of(&self, id: &Hash) -> Arc<Mutex<ContractState>> {
        self.states
            .lock()
            .entry(*id)
            .or_insert_with(|| Arc::new(Mutex::new(ContractState::new(self.max_cached_bytes))))
            .clone()
    }
}

/// An initialised enclave.
struct Node {
    platform: Box<dyn Platform>,
    sealer: Sealer,
    node_seed: Zeroizing<[u8; 32]>,
    node_key: SigningKey,
    hpke: HpkePrivateKey,
    trust: Trust,
    card: NodeCardSigned,
    cluster: RwLock<Option<Arc<Cluster>>>,
    /// Member side: offers made, by offer hash, with the joiner they were made to.
    offers_made: Mutex<Fifo<Hash, ClusterMember>>,
    /// Joiner side: hashes of the offers this node accepted.
    offers_accepted: Mutex<Fifo<Hash, ()>>,
    engine: Engine,
    /// The in-enclave HTTPS client; `None` when the trust configuration has no TLS roots.
    https: Option<HttpsClient>,
    config: ClusterConfig,
}

/// Why `Init` failed: a lifecycle code (`BAD_INIT`, `UNSEAL_FAILED`, …) and a message.
#[derive(Debug)]
struct InitError {
    code: &'static str,
    message: String,
}

impl InitError {
    fn new(code: &'static str, message: impl Into<String>) -> InitError {
        InitError {
            code,
            message: message.into(),
        }
    }
}

fn platform_of(
    source: PlatformSource,
    platform_secret: Option<Secret>,
) -> Result<Box<dyn Platform>, InitError> {
    match source {
        PlatformSource::Hardware(p) => Ok(p),
        PlatformSource::Simulated { binary } => {
            let secret = platform_secret.filter(|s| s.0.len() == 32).ok_or_else(|| {
                InitError::new("BAD_INIT", "the simulation needs a 32-byte platform secret")
            })?;
            let fuse = SimFuse::from_slice(&secret.0)
                .map_err(|e| InitError::new("BAD_INIT", e.to_string()))?;
            Ok(Box::new(Simulated::new(&binary, fuse)))
        }
    }
}

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut b);
    b
}

impl Node {
    fn init(
        source: PlatformSource,
        platform_secret: Option<Secret>,
        sealed: Option<Vec<u8>>,
        trust: ClusterTrust,
        config: ClusterConfig,
    ) -> Result<(Node, Vec<u8>), InitError> {
        let platform = platform_of(source, platform_secret)?;
        let sealer = Sealer::new(platform.as_ref())
            .map_err(|e| InitError::new("SEALING_UNAVAILABLE", e.to_string()))?;
        let trust_config = trust;
        let trust = Trust::parse(&trust_config).map_err(|e| InitError::new("BAD_INIT", e))?;
        let secrets = match sealed {
            Some(blob) => {
                let plain = sealer.unseal(NODE_PURPOSE, &blob, b"").map_err(|e| {
                    InitError::new("UNSEAL_FAILED", format!("sealed node state rejected: {e}"))
                })?;
                NodeSecrets::try_from_slice(&plain).map_err(|_| {
                    InitError::new("SEALED_STATE_CORRUPT", "sealed node state does not decode")
                })?
            }
            None => NodeSecrets {
                node_seed: random32(),
                hpke: random32(),
                cluster: None,
            },
        };
        let node_key = SigningKey::from_ed25519_seed(&secrets.node_seed);
        let hpke = HpkePrivateKey::from_bytes(secrets.hpke);
        let card = NodeCard {
            node_key: node_key.public_key(),
            hpke_key: hpke.public_key(),
            trust: trust.hash,
        };
        let signature = node_key.sign(domain::NODE_CARD, &encode(&card));
        let cluster = secrets
            .cluster
            .map(|s| Arc::new(Cluster::new(ClusterSecret::from_bytes(s), &config)));
        let engine = Engine::with_config(EngineConfig {
            max_module_bytes: MAX_OFFCHAIN_CODE,
            ..EngineConfig::default()
        });
        let https = if trust_config.tls_roots.is_empty() {
            None
        } else {
            Some(
                HttpsClient::new(&trust_config.tls_roots)
                    .map_err(|e| InitError::new("BAD_INIT", format!("TLS roots: {e}")))?,
            )
        };
        let node = Node {
            platform,
            sealer,
            node_seed: Zeroizing::new(secrets.node_seed),
            node_key,
            hpke,
            trust,
            card: NodeCardSigned { card, signature },
            cluster: RwLock::new(cluster),
            offers_made: Mutex::new(Fifo::new(MAX_PENDING_OFFERS)),
            offers_accepted: Mutex::new(Fifo::new(MAX_PENDING_OFFERS)),
            engine,
            https,
            config,
        };
        let sealed = node
            .seal(node.formed().as_deref().map(|c| &c.secret))
            .map_err(|e| InitError::new("SEAL_FAILED", e.to_string()))?;
        Ok((node, sealed))
    }

    fn seal(&self, cluster: Option<&ClusterSecret>) -> Result<Vec<u8>, ClusterError> {
        let secrets = NodeSecrets {
            node_seed: *self.node_seed,
            hpke: *self.hpke.to_bytes(),
            cluster: cluster.map(|s| *s.expose()),
        };
        let plain = Zeroizing::new(encode(&secrets));
        self.sealer
            .seal(NODE_PURPOSE, &plain, b"")
            .map_err(|e| ClusterError::Internal(format!("sealing: {e}")))
    }

    fn formed(&self) -> Option<Arc<Cluster>> {
        self.cluster.read().clone()
    }

    fn cluster(&self) -> Result<Arc<Cluster>, ClusterError> {
        self.formed().ok_or(ClusterError::NotFormed)
    }

    fn handle(
        &self,
        request: ClusterRequest,
        host: &dyn HostPort,
    ) -> Result<ClusterResponse, ClusterError> {
        match request {
            ClusterRequest::Hello { .. } | ClusterRequest::Init { .. } => Err(
                ClusterError::BadRequest("the enclave is already initialised"),
            ),
            ClusterRequest::Evidence => {
                // Once formed, the report also vouches that this enclave holds the cluster key.
                let mut bound_keys = vec![self.node_key.public_key()];
                bound_keys.extend(self.formed().map(|c| c.keys.public().signing_key.clone()));
                let evidence = self
                    .platform
                    .evidence(&key_binding(&bound_keys))
                    .map_err(|e| ClusterError::Internal(format!("evidence: {e}")))?;
                Ok(ClusterResponse::Evidence {
                    evidence,
                    bound_keys,
                })
            }
            ClusterRequest::Genesis => self.genesis(),
            ClusterRequest::JoinOffer {
                joiner,
                own_report,
                now,
            } => self.join_offer(joiner, own_report, now),
            ClusterRequest::JoinAccept { offer, now } => self.join_accept(&offer, now),
            ClusterRequest::JoinComplete {
                offer,
                acceptance,
                now,
            } => self.join_complete(&offer, &acceptance, now),
            ClusterRequest::JoinFinish {
                offer,
                sealed_secret,
            } => self.join_finish(&offer, &sealed_secret),
            ClusterRequest::SignRegistration { registration, now } => {
                self.sign_registration(registration, now)
            }
            ClusterRequest::Deploy { request } => self.deploy(self.cluster()?.as_ref(), &request),
            ClusterRequest::InstallCode { deployment, code } => {
                self.install(self.cluster()?.as_ref(), &deployment, &code)?;
                Ok(ClusterResponse::Ok)
            }
            ClusterRequest::RotateContractKey { contract_id } => {
                self.rotate(self.cluster()?.as_ref(), contract_id, host)
            }
            ClusterRequest::Invoke { request } => {
                self.invoke(self.cluster()?.as_ref(), &request, host)
            }
            ClusterRequest::OcallReturn(_) => Err(ClusterError::BadRequest(
                "an ocall return that answers no pending ocall",
            )),
            ClusterRequest::Shutdown => Ok(ClusterResponse::Ok),
        }
    }

    fn genesis(&self) -> Result<ClusterResponse, ClusterError> {
        let mut slot = self.cluster.write();
        if slot.is_some() {
            return Err(ClusterError::Exists);
        }
        let secret = ClusterSecret::generate(&mut OsRng);
        let sealed = self.seal(Some(&secret))?;
        let cluster = Arc::new(Cluster::new(secret, &self.config));
        let keys = cluster.keys.public().clone();
        *slot = Some(cluster);
        Ok(ClusterResponse::Formed { keys, sealed })
    }

    fn own_member(&self, report: Vec<u8>) -> ClusterMember {
        ClusterMember {
            card: self.card.card.clone(),
            card_signature: self.card.signature.clone(),
            report,
        }
    }

    /// Join step 1 (member).
    fn join_offer(
        &self,
        joiner: ClusterMember,
        own_report: Vec<u8>,
        now: u64,
    ) -> Result<ClusterResponse, ClusterError> {
        let cluster = self.cluster()?;
        self.trust
            .check_member(&joiner, None, now)
            .map_err(ClusterError::JoinRefused)?;
        // Our own report must be one the joiner can accept (binding our node key and the
        // cluster key); catch a host mistake here.
        let own_keys = [
            self.node_key.public_key(),
            cluster.keys.public().signing_key.clone(),
        ];
        self.trust
            .check_report(&own_report, &own_keys, now)
            .map_err(|e| ClusterError::ReportInvalid(format!("own report: {}: {e}", e.code())))?;
        let offer = JoinOffer {
            joiner: joiner.card.clone(),
            member: self.own_member(own_report),
            keys: cluster.keys.public().clone(),
            offered_at: now,
        };
        let signature = cluster
            .keys
            .signing()
            .sign(domain::JOIN_OFFER, &encode(&offer));
        let signed = SignedOffer { offer, signature };
        self.offers_made.lock().insert(signed.hash(), joiner);
        Ok(ClusterResponse::Offer(signed))
    }

    /// Join step 2 (joiner).
    fn join_accept(&self, offer: &SignedOffer, now: u64) -> Result<ClusterResponse, ClusterError> {
        if self.formed().is_some() {
            return Err(ClusterError::Exists);
        }
        let refuse = ClusterError::JoinRefused;
        if offer.offer.joiner != self.card.card {
            return Err(refuse(Refusal::NotForThisNode));
        }
        check_fresh(offer.offer.offered_at, now).map_err(refuse)?;
        self.trust
            .check_member(
                &offer.offer.member,
                Some(&offer.offer.keys.signing_key),
                now,
            )
            .map_err(refuse)?;
        offer
            .offer
            .keys
            .signing_key
            .verify(domain::JOIN_OFFER, &encode(&offer.offer), &offer.signature)
            .map_err(|_| refuse(Refusal::OfferSignature))?;
        let hash = offer.hash();
        let acceptance = self.node_key.sign(domain::JOIN_ACCEPT, &hash.0);
        self.offers_accepted.lock().insert(hash, ());
        Ok(ClusterResponse::Accepted { acceptance })
    }

    /// Join step 3 (member).
    fn join_complete(
        &self,
        offer: &SignedOffer,
        acceptance: &Signature,
        now: u64,
    ) -> Result<ClusterResponse, ClusterError> {
        let cluster = self.cluster()?;
        let refuse = ClusterError::JoinRefused;
        if offer.offer.keys != *cluster.keys.public() {
            return Err(refuse(Refusal::UnknownOffer("made for another cluster")));
        }
        cluster
            .keys
            .public()
            .signing_key
            .verify(domain::JOIN_OFFER, &encode(&offer.offer), &offer.signature)
            .map_err(|_| refuse(Refusal::OfferSignature))?;
        check_fresh(offer.offer.offered_at, now).map_err(refuse)?;
        let hash = offer.hash();
        let joiner = self
            .offers_made
            .lock()
            .get(&hash)
            .cloned()
            .ok_or(refuse(Refusal::UnknownOffer("not pending at this member")))?;
        joiner
            .card
            .node_key
            .verify(domain::JOIN_ACCEPT, &hash.0, acceptance)
            .map_err(|_| refuse(Refusal::Acceptance))?;
        self.trust
            .check_member(&joiner, None, now)
            .map_err(refuse)?;
        // Auth mode: the joiner checks that the secret comes from the member whose attested
        // card it accepted, so nobody else can plant a cluster secret matching a fake offer.
        let (enc, mut ctx) = hpke::setup_sender_auth(
            Aead::ChaCha20Poly1305,
            &joiner.card.hpke_key,
            &self.hpke,
            domain::JOIN_SECRET.as_bytes(),
            &mut OsRng,
        )
        .map_err(|e| ClusterError::Internal(format!("hpke: {e}")))?;
        let ciphertext = ctx
            .seal(&hash.0, cluster.secret.expose())
            .map_err(|e| ClusterError::Internal(format!("hpke: {e}")))?;
        self.offers_made.lock().remove(&hash);
        Ok(ClusterResponse::Welcome {
            sealed_secret: Sealed { enc, ciphertext },
        })
    }

    /// Join step 4 (joiner).
    fn join_finish(
        &self,
        offer: &SignedOffer,
        sealed_secret: &Sealed,
    ) -> Result<ClusterResponse, ClusterError> {
        let mut slot = self.cluster.write();
        if slot.is_some() {
            return Err(ClusterError::Exists);
        }
        let hash = offer.hash();
        if !self.offers_accepted.lock().contains(&hash) {
            return Err(ClusterError::JoinRefused(Refusal::UnknownOffer(
                "this node did not accept it",
            )));
        }
        let secret = hpke::setup_recipient_auth(
            Aead::ChaCha20Poly1305,
            &self.hpke,
            &sealed_secret.enc,
            &offer.offer.member.card.hpke_key,
            domain::JOIN_SECRET.as_bytes(),
        )
        .and_then(|mut ctx| ctx.open(&hash.0, &sealed_secret.ciphertext))
        .map_err(|_| ClusterError::Decryption("the cluster secret does not open"))?;
        let secret = ClusterSecret::from_slice(&secret).ok_or(ClusterError::Malformed {
            what: "cluster secret",
            reason: format!("{} bytes", secret.len()),
        })?;
        let cluster = Cluster::new(secret, &self.config);
        if *cluster.keys.public() != offer.offer.keys {
            return Err(ClusterError::KeyMismatch(
                "the received secret does not derive the offered keys",
            ));
        }
        let sealed = self.seal(Some(&cluster.secret))?;
        let keys = cluster.keys.public().clone();
        *slot = Some(Arc::new(cluster));
        self.offers_accepted.lock().remove(&hash);
        Ok(ClusterResponse::Formed { keys, sealed })
    }

    fn sign_registration(
        &self,
        registration: ClusterRegistration,
        now: u64,
    ) -> Result<ClusterResponse, ClusterError> {
        let cluster = self.cluster()?;
        if registration.keys != *cluster.keys.public() {
            return Err(ClusterError::KeyMismatch(
                "the registration names other cluster keys",
            ));
        }
        if registration.members.is_empty() || registration.members.len() > MAX_CLUSTER_MEMBERS {
            return Err(ClusterError::BadRequest(
                "a registration lists between 1 and MAX_CLUSTER_MEMBERS members",
            ));
        }
        for (i, member) in registration.members.iter().enumerate() {
            self.trust
                .check_member(member, Some(&cluster.keys.public().signing_key), now)
                .map_err(|r| ClusterError::ReportInvalid(format!("member {i}: {r}")))?;
        }
        let signature = cluster
            .keys
            .signing()
            .sign(domain::CLUSTER_REGISTRATION, &encode(&registration));
        Ok(ClusterResponse::Registration(SignedRegistration {
            registration,
            signature,
        }))
    }

    fn deploy(
        &self,
        cluster: &Cluster,
        request: &SealedRequest,
    ) -> Result<ClusterResponse, ClusterError> {
        cluster.check_recipient(request)?;
        check_size(
            "deploy request",
            request.sealed.ciphertext.len(),
            MAX_DEPLOY_PLAINTEXT + hpke::TAG_LEN,
        )?;
        let plain = wire::open_deploy(cluster.keys.hpke(), request)
            .map_err(|_| ClusterError::Decryption("the deploy request does not open"))?;
        let req: DeployRequest =
            decode(&plain, MAX_DEPLOY_PLAINTEXT).map_err(|e| ClusterError::Malformed {
                what: "deploy request",
                reason: e.to_string(),
            })?;
        let wasm = Zeroizing::new(req.wasm);
        check_size("code", wasm.len(), MAX_OFFCHAIN_CODE)?;
        let compiled = self
            .engine
            .compile(&wasm)
            .map_err(ClusterError::InvalidContract)?;
        let code_hash = tagged_hash(domain::CODE_HASH, &[&wasm]);
        let id = contract_id(&code_hash, &req.salt);
        let known = cluster.register(id, code_hash, 1, compiled);
        let code = cluster
            .keys
            .seal_record(RecordKind::Code, &id, b"", 0, &wasm, &mut OsRng);
        Ok(ClusterResponse::Deployed {
            deployment: cluster.statement(id, &known),
            code,
        })
    }

    /// Installs another member's deployment (or the host's stored one): statement signed by
    /// our cluster key with the contract key we derive, code decrypting under the storage key
    /// for that contract and matching the code hash.
    fn install(
        &self,
        cluster: &Cluster,
        deployment: &SignedDeployment,
        code: &[u8],
    ) -> Result<Known, ClusterError> {
        let st = &deployment.statement;
        if st.cluster_key != cluster.keys.public().signing_key || !deployment.verify() {
            return Err(ClusterError::ClusterSignature(
                "the deployment statement is not signed by this cluster's key",
            ));
        }
        if st.key_version == 0
            || st.contract_key
                != cluster
                    .keys
                    .contract_key(&st.contract_id, st.key_version)
                    .public_key()
        {
            return Err(ClusterError::DeploymentInvalid(
                "the contract key is not the one derived for this contract and version",
            ));
        }
        check_size("code record", code.len(), MAX_DEPLOY_PLAINTEXT)?;
        let wasm = cluster
            .keys
            .open_record(RecordKind::Code, &st.contract_id, b"", 0, code)
            .map_err(|_| ClusterError::Decryption("the code record does not open"))?;
        if tagged_hash(domain::CODE_HASH, &[&wasm]) != st.code_hash {
            return Err(ClusterError::DeploymentInvalid(
                "the code does not match the statement's code hash",
            ));
        }
        let compiled = self
            .engine
            .compile(&wasm)
            .map_err(ClusterError::InvalidContract)?;
        Ok(cluster.register(st.contract_id, st.code_hash, st.key_version, compiled))
    }

    /// The compiled contract and what is known of it: from the cache, else from the host.
    fn contract(
        &self,
        cluster: &Cluster,
        id: &Hash,
        host: &dyn HostPort,
    ) -> Result<(Contract, Known), ClusterError> {
        if let Some(found) = cluster.cached(id) {
            return Ok(found);
        }
        let answer = host
            .ocall(Ocall::LoadCode { contract_id: *id })
            .map_err(ClusterError::Host)?;
        match answer {
            OcallReturn::Code(None) => Err(ClusterError::ContractUnknown(*id)),
            OcallReturn::Code(Some((deployment, code))) => {
                if deployment.statement.contract_id != *id {
                    return Err(ClusterError::DeploymentInvalid(
                        "the host returned another contract's deployment",
                    ));
                }
                self.install(cluster, &deployment, &code)?;
                cluster
                    .cached(id)
                    .ok_or_else(|| ClusterError::Internal("contract evicted while loading".into()))
            }
            OcallReturn::Error { code, message } => {
                Err(ClusterError::Host(format!("{code}: {message}")))
            }
            other => Err(ClusterError::Host(format!(
                "unexpected answer to LoadCode: {}",
                variant_name(&other)
            ))),
        }
    }

    fn rotate(
        &self,
        cluster: &Cluster,
        id: Hash,
        host: &dyn HostPort,
    ) -> Result<ClusterResponse, ClusterError> {
        self.contract(cluster, &id, host)?;
        let known = {
            let mut contracts = cluster.contracts.lock();
            let current = contracts
                .known
                .get(&id)
                .cloned()
                .ok_or(ClusterError::ContractUnknown(id))?;
            let next = current
                .key_version
                .checked_add(1)
                .ok_or(ClusterError::BadRequest("the key version is exhausted"))?;
            let known = Known {
                code_hash: current.code_hash,
                key_version: next,
                key: Arc::new(cluster.keys.contract_key(&id, next)),
            };
            contracts.known.insert(id, known.clone());
            known
        };
        Ok(ClusterResponse::Deployment(cluster.statement(id, &known)))
    }

    fn invoke(
        &self,
        cluster: &Cluster,
        request: &SealedRequest,
        host: &dyn HostPort,
    ) -> Result<ClusterResponse, ClusterError> {
        cluster.check_recipient(request)?;
        check_size(
            "invoke request",
            request.sealed.ciphertext.len(),
            MAX_INVOKE_PLAINTEXT + hpke::TAG_LEN,
        )?;
        let (plain, reply_key) = wire::open_invoke(cluster.keys.hpke(), request)
            .map_err(|_| ClusterError::Decryption("the invoke request does not open"))?;
        // Equal to `InvokeRequest::hash` of the decoded request (strict borsh round-trips).
        let request_hash = tagged_hash(domain::OFFCHAIN_REQUEST, &[&plain]);
        let (reply, writes) = match self.serve(cluster, &plain, request_hash, host) {
            Ok((result, writes)) => (InvokeReply::Ok(result), writes),
            // The code only: the error's text can hold what the host, an HTTPS server or the
            // contract chose (ocall errors, response parse failures, contract messages), and
            // none of it is encrypted under the client's key.
            Err(e) => (InvokeReply::Failed { code: e.code() }, Vec::new()),
        };
        // A fresh random nonce for every reply: the same request can be answered again under
        // the same reply key (by another member, or retried after a failure released its
        // replay slot).
        Ok(ClusterResponse::Invoked {
            reply: reply_key.seal_reply(&request_hash, &reply, &mut OsRng),
            writes,
        })
    }

    /// Everything after decryption; a failure leaves no trace (cache, versions, replay set).
    fn serve(
        &self,
        cluster: &Cluster,
        plain: &[u8],
        request_hash: Hash,
        host: &dyn HostPort,
    ) -> Result<(SignedResult, Vec<StateRecord>), ClusterError> {
        let req: InvokeRequest =
            decode(plain, MAX_INVOKE_PLAINTEXT).map_err(|e| ClusterError::Malformed {
                what: "invoke request",
                reason: e.to_string(),
            })?;
        check_size("input", req.input.len(), MAX_OFFCHAIN_INPUT)?;
        check_size("function name", req.function.len(), MAX_FUNCTION_NAME)?;
        let args = crate::decode_args(&req.input)?;
        if !cluster.replay.lock().insert(request_hash) {
            return Err(ClusterError::Replayed);
        }
        let outcome = self.execute(cluster, &req, &args, request_hash, host);
        if outcome.is_err() {
            // The client may retry. Its next reply comes under the same reply key, which is
            // safe only because every reply has its own random nonce (`wire::ReplyKey`).
            cluster.replay.lock().remove(&request_hash);
        }
        outcome
    }

    fn execute(
        &self,
        cluster: &Cluster,
        req: &InvokeRequest,
        args: &[Vec<u8>],
        request_hash: Hash,
        host: &dyn HostPort,
    ) -> Result<(SignedResult, Vec<StateRecord>), ClusterError> {
        let (compiled, known) = self.contract(cluster, &req.contract_id, host)?;
        let limits = Limits {
            fuel: self.config.fuel,
            max_return: MAX_OFFCHAIN_INPUT,
            max_args_bytes: MAX_OFFCHAIN_INPUT,
            ..Limits::default()
        };
        let caller = match req.origin {
            Some(origin) => Caller {
                id: origin.tx.0,
                msp_id: String::new(),
                role: "oracle".into(),
            },
            None => Caller {
                id: [0; 32],
                msp_id: String::new(),
                role: "offchain".into(),
            },
        };
        let state = cluster.state_of(&req.contract_id);
        let mut state = state.lock();
        let mut run = Run::new(req.contract_id, &mut state, host, &cluster.keys);
        run.https = self.https.as_ref();
        run.fetch_limits.max_body = limits.max_fetch_body;
        let outcome = match compiled.invoke(&mut run, &caller, &req.function, args, &limits) {
            Ok(outcome) => outcome,
            Err(VmError::Host(e)) => {
                return Err(run
                    .failure
                    .take()
                    .unwrap_or(ClusterError::Vm(VmError::Host(e))));
            }
            Err(e) => return Err(ClusterError::Vm(e)),
        };
        let fetches = std::mem::take(&mut run.fetches);
        let writes = run.commit(&mut OsRng);
        drop(state);
        let result = OffchainResult {
            contract_id: req.contract_id,
            key_version: known.key_version,
            request: request_hash,
            output: outcome.return_data,
            fetches,
        };
        let signature = known.key.sign(domain::OFFCHAIN_RESULT, &encode(&result));
        Ok((SignedResult { result, signature }, writes))
    }
}

fn check_size(what: &'static str, len: usize, max: usize) -> Result<(), ClusterError> {
    if len > max {
        return Err(ClusterError::TooLarge { what, len, max });
    }
    Ok(())
}

fn check_fresh(offered_at: u64, now: u64) -> Result<(), Refusal> {
    if now < offered_at || now - offered_at > OFFER_WINDOW_SECS {
        return Err(Refusal::StaleOffer {
            offered_at,
            now,
            window: OFFER_WINDOW_SECS,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(fuse: u8) -> Node {
        let trust = ClusterTrust {
            issuers: vec![],
            policy_toml: "allow_simulation = true".into(),
            tls_roots: vec![],
        };
        match Node::init(
            PlatformSource::Simulated {
                binary: b"unit".to_vec(),
            },
            Some(Secret(vec![fuse; 32])),
            None,
            trust,
            ClusterConfig::default(),
        ) {
            Ok((node, _)) => node,
            Err(e) => panic!("init: {e:?}"),
        }
    }

    /// Defence in depth: even an authenticated secret must derive the offered keys.
    #[test]
    fn a_secret_for_other_keys_is_refused() {
        let member = node(1);
        let joiner = node(2);
        let offered = KeySchedule::derive(&ClusterSecret::from_bytes([1; 32]));
        let offer = JoinOffer {
            joiner: joiner.card.card.clone(),
            member: member.own_member(vec![]),
            keys: offered.public().clone(),
            offered_at: 0,
        };
        let signature = offered.signing().sign(domain::JOIN_OFFER, &encode(&offer));
        let offer = SignedOffer { offer, signature };
        let hash = offer.hash();
        joiner.offers_accepted.lock().insert(hash, ());
        let (enc, mut ctx) = hpke::setup_sender_auth(
            Aead::ChaCha20Poly1305,
            &joiner.card.card.hpke_key,
            &member.hpke,
            domain::JOIN_SECRET.as_bytes(),
            &mut OsRng,
        )
        .expect("hpke");
        let ciphertext = ctx.seal(&hash.0, &[2; 32]).expect("seal");
        let sealed = Sealed { enc, ciphertext };
        match joiner.join_finish(&offer, &sealed) {
            Err(e) => assert_eq!(e.code(), arcanum_types::ErrorCode::ClusterKeyMismatch),
            Ok(r) => panic!("accepted: {r:?}"),
        }
        assert!(joiner.formed().is_none());
        // The matching secret is accepted.
        let (enc, mut ctx) = hpke::setup_sender_auth(
            Aead::ChaCha20Poly1305,
            &joiner.card.card.hpke_key,
            &member.hpke,
            domain::JOIN_SECRET.as_bytes(),
            &mut OsRng,
        )
        .expect("hpke");
        let ciphertext = ctx.seal(&hash.0, &[1; 32]).expect("seal");
        let formed = joiner.join_finish(&offer, &Sealed { enc, ciphertext });
        assert!(matches!(formed, Ok(ClusterResponse::Formed { .. })));
        assert_eq!(
            joiner.cluster().map(|c| c.keys.id()).ok(),
            Some(offered.id())
        );
    }
}

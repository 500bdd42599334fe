//! The trusted core of an endorsement enclave (SPEC L1.3, L7, T2): it holds the device key and
//! the hosted peer keys, seals them to the platform (T4), produces evidence binding their public
//! keys and the pinned consortium (A2), and decides itself what it signs: it keeps the block
//! headers it verified under the pinned management key ([`chain`]), checks every state read the
//! host serves against a verified state root, runs the transaction in the contract VM over
//! those reads (`arcanum-simulation`, the same code as the host's), and signs the response it
//! computed. Endorsement requests are batches: all client signatures of a batch are verified
//! together, then each task is simulated and signed or refused on its own.
//!
//! Key type: [`EnclaveService`], a request → response state machine over the protocol of
//! `arcanum-enclave-protocol`, testable in-process without a TEE. The `arcanum-enclave` binary
//! (`src/main.rs`) only connects it to the ring buffers.
//!
//! Invariants:
//! - No private key ever leaves: no response variant carries one, and sealed blobs are encrypted
//!   to this platform and measurement.
//! - The first request must be `Hello` with this protocol version, then `Init`; anything else
//!   first is refused.
//! - Every host input is hostile: bounded, strictly decoded, authenticated before use.
//! - This crate does not depend on networking, storage backends, HTTP or the CLI.

pub mod chain;

use std::collections::BTreeMap;

use std::cell::RefCell;

use arcanum_crypto::{
    Algorithm, Hash, PublicKey, Signature, SigningKey, VerifiedSet, domain, tagged_hash,
};
use arcanum_enclave_protocol::{
    ChainPin, EnclaveResponse, EndorseOutcome, EndorseTask, HostRequest, HostedPeer,
    MAX_ENDORSE_SIGNATURES, MAX_ENDORSE_TASKS, MAX_FRAME, MAX_HEADERS, MAX_TASK_PEERS,
    PROTOCOL_VERSION, Secret, SignedHeader, refusal,
};
use arcanum_ledger::{ChainConfig, Signatures, check_client_with, check_shape};
use arcanum_simulation::{CodeSource, ContractCache, is_lifecycle, simulate};
use arcanum_storage::{StateReader, StorageError};
use arcanum_tee::{Platform, Sealer, SimFuse, Simulated};
use arcanum_types::{
    ApiError, Endorsement, EndorsementPayload, ErrorCode, IdentityId, ProposalResponse, Role,
    VersionedValue, Vote, encode,
};
use borsh::{BorshDeserialize, BorshSerialize};
use parking_lot::Mutex;
use zeroize::Zeroizing;

/// Sealing purpose of the hosted key set.
const KEYS_PURPOSE: &str = "endorsement-keys";
/// Most peers one device hosts.
const MAX_PEERS: usize = MAX_TASK_PEERS;
/// Room left in an answer's frame for the envelope and the response's own header.
const ANSWER_HEADROOM: usize = 4096;

/// How the enclave obtains its platform: real hardware, or the simulation whose fuse secret the
/// host supplies at `Init`.
pub enum PlatformSource {
    Hardware(Box<dyn Platform>),
    /// The enclave binary's bytes (its measurement is their hash).
    Simulated {
        binary: Vec<u8>,
    },
}

/// The sealed form of the key set (plaintext only inside the enclave).
#[derive(BorshSerialize, BorshDeserialize)]
struct KeySet {
    device: (Algorithm, Vec<u8>),
    hosted: Vec<(IdentityId, Algorithm, Vec<u8>)>,
    pending: Vec<(IdentityId, Algorithm, Vec<u8>)>,
}

impl Drop for KeySet {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.device.1);
        for (_, _, k) in self.hosted.iter_mut().chain(self.pending.iter_mut()) {
            zeroize::Zeroize::zeroize(k);
        }
    }
}

struct Ready {
    platform: Box<dyn Platform>,
    sealer: Sealer,
    /// The pinned consortium, and its hash (bound into the evidence).
    config: ChainConfig,
    pin_hash: Hash,
    chain: chain::HeaderChain,
    cache: chain::StateCache,
    contracts: ContractCache,
    device: SigningKey,
    /// Peers this device may host, with their certified public keys.
    allowed: BTreeMap<IdentityId, PublicKey>,
    hosted: BTreeMap<IdentityId, SigningKey>,
    pending: BTreeMap<IdentityId, SigningKey>,
}

enum Phase {
    New(PlatformSource),
    Greeted(PlatformSource),
    Ready(Box<Ready>),
    Poisoned,
}

/// The enclave's request handler. Thread-safe: requests are serialised by an internal lock, so
/// several worker threads may call [`EnclaveService::handle`].
pub struct EnclaveService {
    phase: Mutex<Phase>,
}

fn refused(code: &str, message: String) -> EndorseOutcome {
    EndorseOutcome::Refused {
        code: code.to_owned(),
        message,
    }
}

fn error(code: &str, message: impl Into<String>) -> EnclaveResponse {
    EnclaveResponse::Error {
        code: code.to_owned(),
        message: message.into(),
    }
}

impl EnclaveService {
    pub fn new(platform: PlatformSource) -> EnclaveService {
        EnclaveService {
            phase: Mutex::new(Phase::New(platform)),
        }
    }

    /// Handles one request.
    pub fn handle(&self, request: HostRequest) -> EnclaveResponse {
        let mut phase = self.phase.lock();
        let current = std::mem::replace(&mut *phase, Phase::Poisoned);
        let (next, response) = match (current, request) {
            (Phase::New(source), HostRequest::Hello { version }) => {
                if version != PROTOCOL_VERSION {
                    (
                        Phase::New(source),
                        error(
                            "VERSION_MISMATCH",
                            format!("enclave speaks {PROTOCOL_VERSION}, host {version}"),
                        ),
                    )
                } else {
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
                        EnclaveResponse::Hello {
                            version: PROTOCOL_VERSION,
                            measurement,
                            is_secure,
                        },
                    )
                }
            }
            (Phase::New(source), _) => (
                Phase::New(source),
                error("HANDSHAKE_REQUIRED", "the first request must be Hello"),
            ),
            (
                Phase::Greeted(source),
                HostRequest::Init {
                    platform_secret,
                    sealed_keys,
                    peers,
                    pin,
                },
            ) => {
                // A failed Init leaves the enclave unusable: the host restarts it.
                match init(source, platform_secret, sealed_keys, peers, &pin) {
                    Ok(ready) => {
                        let response = EnclaveResponse::Ready {
                            device_key: ready.device.public_key(),
                            hosted: ready.hosted_list(),
                        };
                        (Phase::Ready(Box::new(ready)), response)
                    }
                    Err(e) => (Phase::Poisoned, e),
                }
            }
            (Phase::Greeted(source), _) => (
                Phase::Greeted(source),
                error("INIT_REQUIRED", "Init must follow Hello"),
            ),
            (Phase::Ready(mut ready), request) => {
                let response = ready.handle(request);
                (Phase::Ready(ready), response)
            }
            (Phase::Poisoned, _) => (
                Phase::Poisoned,
                error("ENCLAVE_FAILED", "the enclave is in a failed state"),
            ),
        };
        *phase = next;
        response
    }
}

fn init(
    source: PlatformSource,
    platform_secret: Option<Secret>,
    sealed_keys: Option<Vec<u8>>,
    peers: Vec<HostedPeer>,
    pin: &ChainPin,
) -> Result<Ready, EnclaveResponse> {
    if peers.len() > MAX_PEERS {
        return Err(error(
            "TOO_MANY_PEERS",
            format!("at most {MAX_PEERS} peers"),
        ));
    }
    let config = ChainConfig::from_pin(pin).map_err(|e| error(e.code.as_str(), e.message))?;
    let chain = chain::HeaderChain::new(&config)
        .ok_or_else(|| error("BAD_CHAIN_PIN", "the pinned orderer has no key"))?;
    if let Some(p) = peers
        .iter()
        .find(|p| config.member(&p.peer).is_none_or(|m| m.role != Role::Peer))
    {
        return Err(error(
            "PEER_NOT_ALLOWED",
            format!("{} is not a peer of the pinned consortium", p.peer),
        ));
    }
    let platform: Box<dyn Platform> = match source {
        PlatformSource::Hardware(p) => p,
        PlatformSource::Simulated { binary } => {
            let secret = platform_secret.filter(|s| s.0.len() == 32).ok_or_else(|| {
                error("BAD_INIT", "the simulation needs a 32-byte platform secret")
            })?;
            let fuse =
                SimFuse::from_slice(&secret.0).map_err(|e| error("BAD_INIT", e.to_string()))?;
            Box::new(Simulated::new(&binary, fuse))
        }
    };
    let sealer =
        Sealer::new(platform.as_ref()).map_err(|e| error("SEALING_UNAVAILABLE", e.to_string()))?;
    let device = SigningKey::generate(Algorithm::Ed25519, &mut rand_core::OsRng)
        .map_err(|_| error("KEYGEN_FAILED", "device key generation failed"))?;
    let allowed = peers.into_iter().map(|p| (p.peer, p.public_key)).collect();
    let mut ready = Ready {
        platform,
        sealer,
        pin_hash: pin.hash(),
        config,
        chain,
        cache: chain::StateCache::default(),
        contracts: ContractCache::new(),
        device,
        allowed,
        hosted: BTreeMap::new(),
        pending: BTreeMap::new(),
    };
    if let Some(blob) = sealed_keys {
        ready.restore(&blob)?;
    }
    Ok(ready)
}

fn to_pkcs8(key: &SigningKey) -> Result<Vec<u8>, EnclaveResponse> {
    key.to_pkcs8_der()
        .map(|d| d.to_vec())
        .map_err(|_| error("KEY_EXPORT_FAILED", "cannot serialise a key for sealing"))
}

fn from_pkcs8(algorithm: Algorithm, der: &[u8]) -> Result<SigningKey, EnclaveResponse> {
    SigningKey::from_pkcs8_der(algorithm, der)
        .map_err(|_| error("SEALED_KEYS_CORRUPT", "a sealed key does not parse"))
}

impl Ready {
    fn hosted_list(&self) -> Vec<HostedPeer> {
        self.hosted
            .iter()
            .map(|(peer, k)| HostedPeer {
                peer: *peer,
                public_key: k.public_key(),
            })
            .collect()
    }

    fn restore(&mut self, blob: &[u8]) -> Result<(), EnclaveResponse> {
        let plain = self
            .sealer
            .unseal(KEYS_PURPOSE, blob, b"")
            .map_err(|e| error("UNSEAL_FAILED", format!("sealed key set rejected: {e}")))?;
        let set: KeySet = borsh::from_slice(&plain)
            .map_err(|_| error("SEALED_KEYS_CORRUPT", "sealed key set does not decode"))?;
        self.device = from_pkcs8(set.device.0, &set.device.1)?;
        for (peer, alg, der) in &set.hosted {
            self.hosted.insert(*peer, from_pkcs8(*alg, der)?);
        }
        for (peer, alg, der) in &set.pending {
            self.pending.insert(*peer, from_pkcs8(*alg, der)?);
        }
        Ok(())
    }

    fn seal(&self) -> Result<Vec<u8>, EnclaveResponse> {
        let entry =
            |(peer, k): (&IdentityId, &SigningKey)| Ok((*peer, k.algorithm(), to_pkcs8(k)?));
        let set = KeySet {
            device: (self.device.algorithm(), to_pkcs8(&self.device)?),
            hosted: self
                .hosted
                .iter()
                .map(entry)
                .collect::<Result<_, EnclaveResponse>>()?,
            pending: self
                .pending
                .iter()
                .map(entry)
                .collect::<Result<_, EnclaveResponse>>()?,
        };
        let plain = Zeroizing::new(encode(&set));
        self.sealer
            .seal(KEYS_PURPOSE, &plain, b"")
            .map_err(|e| error("SEAL_FAILED", e.to_string()))
    }

    fn sealed(&self) -> EnclaveResponse {
        match self.seal() {
            Ok(blob) => EnclaveResponse::Sealed {
                blob,
                hosted: self.hosted_list(),
            },
            Err(e) => e,
        }
    }

    /// The next signed headers: each extends the verified chain (or is exactly a verified one).
    fn headers(&mut self, headers: &[SignedHeader]) -> EnclaveResponse {
        if headers.len() > MAX_HEADERS {
            return error(
                refusal::BAD_REQUEST,
                format!("at most {MAX_HEADERS} headers per request"),
            );
        }
        for h in headers {
            if let Err(e) = self.chain.extend(h) {
                return error(e.code(), e.to_string());
            }
        }
        EnclaveResponse::Chain {
            height: self.chain.height(),
        }
    }

    /// A batch of endorsement tasks: every client signature verified in one batch under the
    /// pinned keys, then each task judged on its own (a refused task never spoils the others).
    fn endorse(&mut self, tasks: &[EndorseTask]) -> EnclaveResponse {
        let signatures: usize = tasks.iter().map(|t| t.peers.len()).sum();
        if tasks.is_empty()
            || tasks.len() > MAX_ENDORSE_TASKS
            || signatures > MAX_ENDORSE_SIGNATURES
        {
            return error(
                refusal::BAD_REQUEST,
                format!(
                    "between 1 and {MAX_ENDORSE_TASKS} tasks and at most \
                     {MAX_ENDORSE_SIGNATURES} peers in all"
                ),
            );
        }
        let ids: Vec<Hash> = tasks.iter().map(|t| t.tx.payload.id()).collect();
        let items: Vec<(&PublicKey, &str, &[u8], &Signature)> = tasks
            .iter()
            .zip(&ids)
            .filter_map(|(t, id)| {
                let member = self.config.member(&t.tx.payload.creator)?;
                Some((
                    &member.public_key,
                    domain::TX_SIGNATURE,
                    id.0.as_slice(),
                    &t.tx.signature,
                ))
            })
            .collect();
        let verified = VerifiedSet::verify_all(&items);
        let mut room = MAX_FRAME - ANSWER_HEADROOM;
        let outcomes = tasks
            .iter()
            .zip(ids)
            .map(|(task, tx_id)| {
                let outcome = match self.endorse_task(task, tx_id, &verified) {
                    Ok(o) => o,
                    Err(e) => refused(e.code.as_str(), e.message),
                };
                let size = borsh::object_length(&outcome).unwrap_or(usize::MAX);
                match room.checked_sub(size) {
                    Some(left) => {
                        room = left;
                        outcome
                    }
                    None => refused(
                        refusal::ANSWER_FULL,
                        "the answer is full; send the task again".into(),
                    ),
                }
            })
            .collect();
        EnclaveResponse::Endorsements(outcomes)
    }

    /// Checks, simulates and signs one task.
    fn endorse_task(
        &mut self,
        task: &EndorseTask,
        tx_id: Hash,
        verified: &VerifiedSet,
    ) -> Result<EndorseOutcome, Refusal> {
        let keys = signing_keys(&self.hosted, &task.peers)?;
        check_shape(&task.tx)?;
        // The client's key is the pinned one, never the host's word.
        let creator = check_client_with(&self.config, &task.tx, Signatures::Verify(verified))?;
        let verified = chain::verify_reads(&self.chain, &self.cache, task.height, &task.witnesses)
            .map_err(|e| Refusal::new(e.code(), e.to_string()))?;
        let response = match (&task.lifecycle_rwset, is_lifecycle(&task.tx.payload.action)) {
            (Some(rwset), true) => ProposalResponse {
                tx_id,
                rwset: rwset.clone(),
                result: Vec::new(),
                events: Vec::new(),
                vote: Vote::Approve,
            },
            (None, false) => {
                let view = Witnessed {
                    height: task.height,
                    reads: &verified.reads,
                    unwitnessed: RefCell::new(None),
                };
                let code = TaskCode(task.code.as_deref());
                let simulated = simulate(
                    &self.config,
                    &self.contracts,
                    &view,
                    &code,
                    creator,
                    &task.tx,
                );
                if let Some(key) = view.unwitnessed.into_inner() {
                    return Err(Refusal::new(
                        refusal::READ_NOT_WITNESSED,
                        format!("the simulation read key {} without a witness", hex(&key)),
                    ));
                }
                simulated?
            }
            _ => {
                return Err(Refusal::new(
                    refusal::BAD_REQUEST,
                    "a host write set is taken for off-chain lifecycle actions only, and needed \
                     for them",
                ));
            }
        };
        let msg = encode(&EndorsementPayload {
            tx_id,
            response_hash: response.hash(),
            vote: response.vote,
        });
        let endorsements = keys
            .into_iter()
            .map(|(endorser, key)| Endorsement {
                endorser,
                signature: key.sign(domain::ENDORSEMENT, &msg),
            })
            .collect();
        self.cache.admit(&verified);
        Ok(EndorseOutcome::Signed {
            response,
            endorsements,
        })
    }

    fn handle(&mut self, request: HostRequest) -> EnclaveResponse {
        match request {
            HostRequest::Hello { .. } | HostRequest::Init { .. } => {
                error("ALREADY_INITIALISED", "the enclave is already initialised")
            }
            HostRequest::ImportKey {
                peer,
                key_file,
                passphrase,
            } => {
                let Some(certified) = self.allowed.get(&peer) else {
                    return error("PEER_NOT_ALLOWED", "this device may not host that peer");
                };
                let key = match arcanum_crypto::keyfile::open_key(&key_file, &passphrase.0) {
                    Ok(k) => k,
                    Err(e) => return error("KEY_FILE", e.to_string()),
                };
                if key.public_key() != *certified {
                    return error(
                        "KEY_CERT_MISMATCH",
                        "the key does not match the peer's certificate",
                    );
                }
                self.hosted.insert(peer, key);
                self.sealed()
            }
            HostRequest::GenerateKey { peer, algorithm } => {
                if !self.allowed.contains_key(&peer) {
                    return error("PEER_NOT_ALLOWED", "this device may not host that peer");
                }
                let key = match SigningKey::generate(algorithm, &mut rand_core::OsRng) {
                    Ok(k) => k,
                    Err(_) => return error("KEYGEN_FAILED", "key generation failed"),
                };
                let public_key = key.public_key();
                self.pending.insert(peer, key);
                match self.seal() {
                    Ok(blob) => EnclaveResponse::PendingKey {
                        peer,
                        public_key,
                        blob,
                    },
                    Err(e) => e,
                }
            }
            HostRequest::ActivateKey { peer, public_key } => {
                match self.pending.get(&peer) {
                    Some(k) if k.public_key() == public_key => {}
                    _ => return error("NO_PENDING_KEY", "no pending key with that public key"),
                }
                if let Some(key) = self.pending.remove(&peer) {
                    self.allowed.insert(peer, key.public_key());
                    self.hosted.insert(peer, key);
                }
                self.sealed()
            }
            HostRequest::Endorse { tasks } => self.endorse(&tasks),
            HostRequest::Headers { headers } => self.headers(&headers),
            HostRequest::Evidence => {
                let bound_keys: Vec<PublicKey> = std::iter::once(self.device.public_key())
                    .chain(self.hosted.values().map(SigningKey::public_key))
                    .collect();
                let report_data =
                    arcanum_attestation::key_binding_with_context(&bound_keys, &self.pin_hash.0);
                match self.platform.evidence(&report_data) {
                    Ok(evidence) => EnclaveResponse::Evidence {
                        evidence,
                        bound_keys,
                    },
                    Err(e) => error("EVIDENCE_FAILED", e.to_string()),
                }
            }
            HostRequest::Shutdown => EnclaveResponse::Ok,
        }
    }
}

/// The hosted keys of a task's peers: 1 to [`MAX_TASK_PEERS`], each hosted, each once.
fn signing_keys<'a>(
    hosted: &'a BTreeMap<IdentityId, SigningKey>,
    peers: &[IdentityId],
) -> Result<Vec<(IdentityId, &'a SigningKey)>, Refusal> {
    if peers.is_empty() || peers.len() > MAX_TASK_PEERS {
        return Err(Refusal::new(
            refusal::BAD_REQUEST,
            format!("between 1 and {MAX_TASK_PEERS} peers per task"),
        ));
    }
    let mut keys = Vec::with_capacity(peers.len());
    for (i, peer) in peers.iter().enumerate() {
        if peers[..i].contains(peer) {
            return Err(Refusal::new(
                refusal::BAD_REQUEST,
                format!("peer {peer} named twice"),
            ));
        }
        let Some(key) = hosted.get(peer) else {
            return Err(Refusal::new(
                refusal::PEER_NOT_HOSTED,
                format!("peer {peer} is not hosted here"),
            ));
        };
        keys.push((*peer, key));
    }
    Ok(keys)
}

/// A refused task: its stable code and why.
struct Refusal {
    code: String,
    message: String,
}

impl Refusal {
    fn new(code: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal::new(e.code.as_str(), e.message)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The state the simulation sees inside the enclave: exactly the verified reads of one task at
/// its height. A read of any other key fails, and is remembered so that the task is refused
/// with `READ_NOT_WITNESSED` whatever the contract does with the failure. A range answers the
/// witnessed keys in it (completeness of a range is not provable over hashed keys:
/// SECURITY.md).
struct Witnessed<'a> {
    height: u64,
    reads: &'a BTreeMap<Vec<u8>, Option<VersionedValue>>,
    unwitnessed: RefCell<Option<Vec<u8>>>,
}

impl StateReader for Witnessed<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<VersionedValue>, StorageError> {
        match self.reads.get(key) {
            Some(v) => Ok(v.clone()),
            None => {
                self.unwitnessed
                    .borrow_mut()
                    .get_or_insert_with(|| key.to_vec());
                Err(StorageError::Backend("read not witnessed".into()))
            }
        }
    }

    fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, VersionedValue)>, StorageError> {
        if start >= end {
            return Ok(Vec::new());
        }
        Ok(self
            .reads
            .range(start.to_vec()..end.to_vec())
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .take(limit)
            .collect())
    }

    fn height(&self) -> Result<u64, StorageError> {
        Ok(self.height)
    }
}

/// A task's contract code: accepted only if it hashes to the witnessed definition's code hash.
struct TaskCode<'a>(Option<&'a [u8]>);

impl CodeSource for TaskCode<'_> {
    fn code(&self, code_hash: &Hash) -> Result<Vec<u8>, ApiError> {
        match self.0 {
            Some(code) if tagged_hash(domain::CODE_HASH, &[code]) == *code_hash => {
                Ok(code.to_vec())
            }
            Some(_) => Err(ApiError::new(
                ErrorCode::ContractCodeRequired,
                "the task's code does not hash to the contract's code hash",
            )),
            None => Err(ApiError::new(
                ErrorCode::ContractCodeRequired,
                format!("contract code {code_hash} is not compiled here; send it"),
            )),
        }
    }
}

#[cfg(test)]
mod tests;

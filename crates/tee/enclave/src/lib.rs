//! The trusted core of an endorsement enclave (SPEC L7): it holds the device key and the hosted
//! peer keys, seals them to the platform (T4), produces evidence binding their public keys (A2),
//! and signs endorsements only after the client's reference signature verifies. Endorsement
//! requests are batches: all client signatures of a batch are verified together, then each task
//! is signed or refused on its own.
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

use arcanum_crypto::{Algorithm, Hash, PublicKey, Signature, SigningKey, VerifiedSet, domain};
use arcanum_enclave_protocol::{
    EnclaveResponse, EndorseOutcome, EndorseTask, HostRequest, HostedPeer, MAX_ENDORSE_SIGNATURES,
    MAX_ENDORSE_TASKS, MAX_TASK_PEERS, PROTOCOL_VERSION, Secret, refusal,
};
use arcanum_tee::{Platform, Sealer, SimFuse, Simulated};
use arcanum_types::{Endorsement, EndorsementPayload, IdentityId, encode};
use borsh::{BorshDeserialize, BorshSerialize};
use parking_lot::Mutex;
use zeroize::Zeroizing;

/// Sealing purpose of the hosted key set.
const KEYS_PURPOSE: &str = "endorsement-keys";
/// Most peers one device hosts.
const MAX_PEERS: usize = MAX_TASK_PEERS;

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
                },
            ) => {
                // A failed Init leaves the enclave unusable: the host restarts it.
                match init(source, platform_secret, sealed_keys, peers) {
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
) -> Result<Ready, EnclaveResponse> {
    if peers.len() > MAX_PEERS {
        return Err(error(
            "TOO_MANY_PEERS",
            format!("at most {MAX_PEERS} peers"),
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

    /// A batch of endorsement tasks: every client signature verified in one batch, then each
    /// task judged on its own (a refused task never spoils the others).
    fn endorse(&self, tasks: &[EndorseTask]) -> EnclaveResponse {
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
        let ids: Vec<_> = tasks.iter().map(|t| t.tx.payload.id()).collect();
        let items: Vec<(&PublicKey, &str, &[u8], &Signature)> = tasks
            .iter()
            .zip(&ids)
            .map(|(t, id)| {
                (
                    &t.client_key,
                    domain::TX_SIGNATURE,
                    id.0.as_slice(),
                    &t.tx.signature,
                )
            })
            .collect();
        let verified = VerifiedSet::verify_all(&items);
        let outcomes = tasks
            .iter()
            .zip(&ids)
            .zip(&items)
            .map(|((task, tx_id), (key, domain, msg, sig))| {
                if verified.verify(key, domain, msg, sig).is_err() {
                    return refused(
                        refusal::BAD_CLIENT_SIGNATURE,
                        "the client signature does not verify".into(),
                    );
                }
                self.sign_task(task, *tx_id)
            })
            .collect();
        EnclaveResponse::Endorsements(outcomes)
    }

    /// Signs one task whose client signature verified.
    fn sign_task(&self, task: &EndorseTask, tx_id: Hash) -> EndorseOutcome {
        if task.peers.is_empty() || task.peers.len() > MAX_TASK_PEERS {
            return refused(
                refusal::BAD_REQUEST,
                format!("between 1 and {MAX_TASK_PEERS} peers per task"),
            );
        }
        let mut keys = Vec::with_capacity(task.peers.len());
        for (i, peer) in task.peers.iter().enumerate() {
            if task.peers[..i].contains(peer) {
                return refused(refusal::BAD_REQUEST, format!("peer {peer} named twice"));
            }
            let Some(key) = self.hosted.get(peer) else {
                return refused(
                    refusal::PEER_NOT_HOSTED,
                    format!("peer {peer} is not hosted here"),
                );
            };
            keys.push((*peer, key));
        }
        let msg = encode(&EndorsementPayload {
            tx_id,
            response_hash: task.response_hash,
            vote: task.vote,
        });
        EndorseOutcome::Signed(
            keys.into_iter()
                .map(|(endorser, key)| Endorsement {
                    endorser,
                    signature: key.sign(domain::ENDORSEMENT, &msg),
                })
                .collect(),
        )
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
            HostRequest::Evidence => {
                let bound_keys: Vec<PublicKey> = std::iter::once(self.device.public_key())
                    .chain(self.hosted.values().map(SigningKey::public_key))
                    .collect();
                let report_data = arcanum_attestation::key_binding(&bound_keys);
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

#[cfg(test)]
mod tests;

//! The host↔enclave protocol (docs/design/host-enclave-protocol.md): one request enum (host →
//! enclave), one response enum (enclave → host), each variant's direction fixed by its enum, and
//! the [`Envelope`] that carries them with a correlation id over the ring buffers.
//!
//! Invariants: frames are decoded strictly with [`decode_frame`] under [`MAX_FRAME`]; the first
//! request must be [`HostRequest::Hello`] with [`PROTOCOL_VERSION`]. Secret-bearing fields are
//! zeroizing and never printed by `Debug`. Endorsement is batched: one [`HostRequest::Endorse`]
//! carries up to [`MAX_ENDORSE_TASKS`] tasks asking for up to [`MAX_ENDORSE_SIGNATURES`]
//! signatures in all; the answer has one [`EndorseOutcome`] per task, in task order, and a task
//! whose response would not fit the answer's frame is refused with [`refusal::ANSWER_FULL`] for
//! the host to send again.
//!
//! Version 3 (docs/design/endorsement-in-enclave.md): the enclave simulates. `Init` pins the
//! consortium ([`ChainPin`]); the host feeds the signed block headers ([`HostRequest::Headers`])
//! and sends each task with the state reads it proves ([`Witness`]); the enclave answers with
//! the [`ProposalResponse`] it computed itself and the endorsements of exactly that.

pub mod cluster;

use arcanum_crypto::{Algorithm, PublicKey, Signature};
use arcanum_types::{
    BlockHeader, Endorsement, IdentityId, ProposalResponse, RwSet, SignedTx, StateProof,
    VersionedValue,
};
use borsh::{BorshDeserialize, BorshSerialize};

pub use arcanum_ledger::ChainPin;

/// The protocol version both sides must speak.
pub const PROTOCOL_VERSION: u16 = 3;

/// Most headers one [`HostRequest::Headers`] carries.
pub const MAX_HEADERS: usize = 4096;

/// Largest frame either side accepts.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

/// Most tasks in one [`HostRequest::Endorse`].
pub const MAX_ENDORSE_TASKS: usize = 1024;

/// Most signatures (peers, summed over the tasks) one [`HostRequest::Endorse`] asks for. An
/// endorsement encodes to at most 32 + 4 + 256 bytes (peer id, RSA-2048 signature), so the answer
/// of a full request stays under 2.5 MiB, well inside [`MAX_FRAME`].
pub const MAX_ENDORSE_SIGNATURES: usize = 8192;

/// Most peers one endorsement task names (and most peers one device hosts).
pub const MAX_TASK_PEERS: usize = 256;

/// Stable refusal codes of one endorsement task. A refusal may also carry the code of the
/// ledger check or simulation that failed (an `arcanum_types::ErrorCode` name such as
/// `CLIENT_NOT_ALLOWED` or `CONTRACT_ERROR`), or of a read or header the enclave refused
/// (`arcanum_enclave::chain::ChainError::code`).
pub mod refusal {
    /// The client's reference signature does not verify under its pinned key.
    pub const BAD_CLIENT_SIGNATURE: &str = "BAD_CLIENT_SIGNATURE";
    /// A named peer's key is not hosted by this enclave.
    pub const PEER_NOT_HOSTED: &str = "PEER_NOT_HOSTED";
    /// The task is malformed (no peers, too many, or a peer twice; a lifecycle write set for an
    /// action that is simulated, or none for one that is not).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// The simulation read a key the host did not witness.
    pub const READ_NOT_WITNESSED: &str = "READ_NOT_WITNESSED";
    /// The contract's code is not compiled in the enclave and the task did not carry it (or
    /// carried other code): send the task again with the code.
    pub const CONTRACT_CODE_REQUIRED: &str = "CONTRACT_CODE_REQUIRED";
    /// The answer's frame is full: send the task again in another request.
    pub const ANSWER_FULL: &str = "ANSWER_FULL";
}

/// A block header with the management device's signature over its hash.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedHeader {
    pub header: BlockHeader,
    pub signature: Signature,
}

/// A state read as the host serves it: the value (or absence) of `key` at the task's height,
/// with its proof against that height's state root, or without one when the enclave has proven
/// that version before.
#[derive(Clone, Debug, PartialEq, BorshSerialize, BorshDeserialize)]
pub struct Witness {
    pub key: Vec<u8>,
    pub value: Option<VersionedValue>,
    pub proof: Option<StateProof>,
}

/// Busy-poll iterations of a ring end before it sleeps on its eventfd (pauses only, no
/// `sched_yield`). The link carries request/response batches, not a stream: a long spin only
/// burns a core that the host, the other enclave or another node needs. With the ring's default
/// (4,096 iterations, yielding every 8th), context switches were 20–45% of the endorsement
/// device's and the enclave's CPU in `arcanum bench e2e` on 2 cores.
pub const RING_SPIN: u32 = 64;

/// The ring settings both ends of every host↔enclave link use.
pub fn ring_options() -> arcanum_ring::RingOptions {
    arcanum_ring::RingOptions {
        max_frame: Some(MAX_FRAME as u32),
        spin: RING_SPIN,
    }
}

/// A message with its correlation id: a response carries its request's id.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Envelope<T> {
    pub id: u64,
    pub body: T,
}

/// A secret byte string (passphrases, platform secrets): zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Secret(pub Vec<u8>);

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<{} bytes>)", self.0.len())
    }
}

/// A peer identity the device may host, with the public key its certificate names.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct HostedPeer {
    pub peer: IdentityId,
    pub public_key: PublicKey,
}

/// One endorsement task: the enclave checks the transaction and its client (signature under the
/// pinned key, batched over the request), verifies the witnessed reads against the verified
/// state root at `height`, simulates the transaction over them, and signs the response it
/// computed once for each of `peers`.
#[derive(Clone, Debug, PartialEq, BorshSerialize, BorshDeserialize)]
pub struct EndorseTask {
    pub tx: SignedTx,
    pub peers: Vec<IdentityId>,
    /// The verified height whose state the reads are proven against.
    pub height: u64,
    /// Every key the simulation reads (for an invocation, the contract's definition too).
    pub witnesses: Vec<Witness>,
    /// The contract's module, when the enclave may not have compiled it yet.
    pub code: Option<Vec<u8>>,
    /// For an off-chain lifecycle action only: the host's read and write sets, which every peer
    /// re-derives from its own state and blocks (SECURITY.md).
    pub lifecycle_rwset: Option<RwSet>,
}

/// The enclave's verdict on one [`EndorseTask`].
#[derive(Clone, Debug, PartialEq, BorshSerialize, BorshDeserialize)]
pub enum EndorseOutcome {
    /// The response the enclave computed, and one endorsement of it per requested peer, in the
    /// task's peer order.
    Signed {
        response: ProposalResponse,
        endorsements: Vec<Endorsement>,
    },
    /// Nothing signed; `code` is stable (see [`refusal`]).
    Refused { code: String, message: String },
}

/// Host → enclave.
#[derive(Clone, Debug, PartialEq, BorshSerialize, BorshDeserialize)]
pub enum HostRequest {
    /// Host → enclave, first message: the protocol version the host speaks.
    Hello { version: u16 },
    /// Host → enclave: the simulation platform's fuse secret (ignored on real hardware), the sealed
    /// key set from a previous run, and the peers this device may host.
    /// `pin` is the consortium the enclave endorses for, fixed for its life: its hash is bound
    /// into the enclave's evidence.
    Init {
        platform_secret: Option<Secret>,
        sealed_keys: Option<Vec<u8>>,
        peers: Vec<HostedPeer>,
        pin: ChainPin,
    },
    /// Host → enclave: decrypt a passphrase-protected key file inside the enclave and host it for
    /// `peer` (its public key must match the peer's certificate).
    ImportKey {
        peer: IdentityId,
        key_file: Vec<u8>,
        passphrase: Secret,
    },
    /// Host → enclave: generate a new key for `peer` inside the enclave, pending until activated.
    GenerateKey {
        peer: IdentityId,
        algorithm: Algorithm,
    },
    /// Host → enclave: sign with the pending key `public_key` for `peer` from now on.
    ActivateKey {
        peer: IdentityId,
        public_key: PublicKey,
    },
    /// Host → enclave: endorse a batch (1 to [`MAX_ENDORSE_TASKS`] tasks, at most
    /// [`MAX_ENDORSE_SIGNATURES`] peers in all; otherwise the whole request is refused with
    /// `BAD_REQUEST`). Each task is judged on its own: a refused task never spoils the others.
    Endorse { tasks: Vec<EndorseTask> },
    /// Host → enclave: the next signed block headers, in height order (at most [`MAX_HEADERS`]);
    /// headers at or below the verified height are skipped if they are the verified ones. A
    /// refused header refuses the request and changes nothing after the last accepted one.
    Headers { headers: Vec<SignedHeader> },
    /// Host → enclave: evidence whose report data binds the device key and every hosted key
    /// (first 32 bytes) and the chain pin's hash (last 32).
    Evidence,
    /// Host → enclave: stop.
    Shutdown,
}

/// Enclave → host.
#[derive(Clone, Debug, PartialEq, BorshSerialize, BorshDeserialize)]
pub enum EnclaveResponse {
    /// Enclave → host: answer to `Hello`.
    Hello {
        version: u16,
        measurement: Vec<u8>,
        is_secure: bool,
    },
    /// Enclave → host: answer to `Init`: the enclave's own device key and the keys it hosts.
    Ready {
        device_key: PublicKey,
        hosted: Vec<HostedPeer>,
    },
    /// Enclave → host: the whole hosted key set sealed to this enclave, to store and hand back in `Init`.
    Sealed {
        blob: Vec<u8>,
        hosted: Vec<HostedPeer>,
    },
    /// Enclave → host: a generated key awaiting activation, and the sealed key set including it.
    PendingKey {
        peer: IdentityId,
        public_key: PublicKey,
        blob: Vec<u8>,
    },
    /// Enclave → host: answer to `Endorse`: one outcome per task, in task order.
    Endorsements(Vec<EndorseOutcome>),
    /// Enclave → host: answer to `Headers`: the verified height.
    Chain { height: u64 },
    /// Enclave → host: platform evidence and the keys its report data binds (device key first).
    Evidence {
        evidence: Vec<u8>,
        bound_keys: Vec<PublicKey>,
    },
    /// Enclave → host: done.
    Ok,
    /// Enclave → host: the request failed; `code` is stable.
    Error { code: String, message: String },
}

/// Encodes an envelope as a ring frame.
pub fn encode_frame<T: BorshSerialize>(id: u64, body: &T) -> Vec<u8> {
    borsh::to_vec(&Envelope { id, body }).unwrap_or_default()
}

/// Strictly decodes a ring frame (bounded, no trailing bytes).
pub fn decode_frame<T: BorshDeserialize>(bytes: &[u8]) -> Result<Envelope<T>, String> {
    if bytes.len() > MAX_FRAME {
        return Err(format!(
            "frame of {} bytes exceeds {MAX_FRAME}",
            bytes.len()
        ));
    }
    borsh::from_slice(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_reject_trailing_bytes() {
        let req = HostRequest::GenerateKey {
            peer: IdentityId(arcanum_crypto::sha256(b"p")),
            algorithm: Algorithm::Ed25519,
        };
        let bytes = encode_frame(42, &req);
        let env: Envelope<HostRequest> = decode_frame(&bytes).expect("decodes");
        assert_eq!(env.id, 42);
        assert_eq!(env.body, req);
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_frame::<HostRequest>(&longer).is_err());
        assert!(decode_frame::<HostRequest>(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn the_most_signatures_with_empty_responses_fit_one_frame() {
        // Every signature RSA-2048 sized, spread over the most tasks, each task's peer id distinct;
        // what responses add beyond this the enclave bounds itself (`ANSWER_FULL`).
        let per_task = MAX_ENDORSE_SIGNATURES / MAX_ENDORSE_TASKS;
        let outcomes: Vec<EndorseOutcome> = (0..MAX_ENDORSE_TASKS)
            .map(|t| EndorseOutcome::Signed {
                response: ProposalResponse {
                    tx_id: arcanum_crypto::Hash::ZERO,
                    rwset: RwSet::default(),
                    result: Vec::new(),
                    events: Vec::new(),
                    vote: arcanum_types::Vote::Approve,
                },
                endorsements: (0..per_task)
                    .map(|p| Endorsement {
                        endorser: IdentityId(arcanum_crypto::sha256(&[t as u8, p as u8])),
                        signature: arcanum_crypto::Signature(vec![0xaa; 256]),
                    })
                    .collect(),
            })
            .collect();
        let frame = encode_frame(u64::MAX, &EnclaveResponse::Endorsements(outcomes));
        assert!(frame.len() <= MAX_FRAME, "{} bytes", frame.len());
        assert!(decode_frame::<EnclaveResponse>(&frame).is_ok());
        // Refusals carry the enclave's own short messages.
        let refused = vec![
            EndorseOutcome::Refused {
                code: refusal::PEER_NOT_HOSTED.into(),
                message: "x".repeat(200),
            };
            MAX_ENDORSE_TASKS
        ];
        let frame = encode_frame(1, &EnclaveResponse::Endorsements(refused));
        assert!(frame.len() <= MAX_FRAME);
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret(b"hunter2".to_vec());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

//! The trusted core of a cluster enclave (SPEC C1–C5, T2; docs/design/offchain-cluster.md):
//! the cluster key schedule, the mutual-attestation join, encrypted deployment and encrypted
//! invocation of off-chain contracts in `arcanum-vm`, with the in-enclave state cache.
//!
//! Key types: [`ClusterService`], a request → response state machine over the
//! `ClusterRequest`/`ClusterResponse` protocol of `arcanum-enclave-protocol`, testable
//! in-process; [`HostPort`], through which it calls its host (ocalls: load code or state, relay
//! TCP bytes); [`KeySchedule`], every key derived from the cluster secret. The request and
//! reply encryption, both ends, is `arcanum_types::offchain::wire` (shared with the SDK). The
//! `arcanum-cluster-enclave` binary only connects the service to the rings.
//!
//! Invariants:
//! - No secret leaves: the cluster secret goes out only HPKE-sealed (Auth mode, from this
//!   node's attested HPKE key) to a joiner whose report, card and trust this node verified;
//!   sealed node state is bound to the platform and measurement; code and state go to the host
//!   only encrypted under the storage key.
//! - Every host input is hostile: requests are bounded before decryption, decoded strictly,
//!   and stored records are AEAD-bound to (kind, contract, key, version).
//! - A failed invocation changes nothing: writes are buffered and applied (cache, versions,
//!   records for the host) only on success, and its request hash is not kept.
//! - The first request is `Hello`, then `Init`; misuse is refused, a failed `Init` poisons.
//! - This crate does not depend on networking, storage backends, HTTP or the CLI, and reads
//!   no clock: `now` comes with each request.
//!
//! Formats fixed here (beyond `offchain-context`):
//! - `InvokeRequest::input` is the borsh encoding of the argument list (`Vec<Vec<u8>>`) the
//!   contract entry point receives ([`encode_args`]).
//! - A stored record is `version (u64 LE) ‖ nonce (24) ‖ XChaCha20-Poly1305 ciphertext`; the
//!   version travels in clear (it is authenticated through the AAD). State records hold
//!   `borsh(Option<Vec<u8>>)`: a delete writes a tombstone at the next version, so a host cannot
//!   resurrect a deleted value. Code records use key `""` and version 0.
//! - The join secret (`Welcome`) is HPKE **Auth** mode: the member's card HPKE key is the
//!   sender key, so a joiner takes a secret only from the member it attested.
//!
//! Known limits:
//! - Rollback detection covers keys whose version this enclave has seen since it started. After
//!   an enclave restart the version map is empty and the first record the host serves for each
//!   key is trusted (it still must be authentic for that contract and key); the same holds for
//!   the replay set, which remembers the last [`REPLAY_CAPACITY`] request hashes and is not
//!   persisted. Anchoring a state counter on chain would close this.
//! - Each member's host keeps its own state records; members do not share state.
//! - `range` is refused off-chain (the host cannot prove a range complete).
//! - `https_get` runs TLS in the enclave (`arcanum-enclave-tls`, roots = `ClusterTrust::
//!   tls_roots`) over the host's TCP relay; each body's SHA-256 is bound into the signed
//!   result. The per-contract state lock is held across fetches, so a slow server delays other
//!   invocations of the same contract (not of others).
//! - Report time checks use the host's `now`.

mod error;
mod fifo;
mod keys;
mod service;
mod state;
mod verify;

pub use arcanum_enclave::PlatformSource;
pub use arcanum_enclave_protocol::cluster::{Ocall, OcallReturn};
pub use error::{ClusterError, Refusal, Rollback};
pub use keys::{ClusterSecret, KeySchedule, RecordError, RecordKind, record_aad};
pub use service::{
    ClusterConfig, ClusterService, MAX_DEPLOY_PLAINTEXT, MAX_INVOKE_PLAINTEXT, NODE_PURPOSE,
    OFFER_WINDOW_SECS, REPLAY_CAPACITY,
};
pub use state::MAX_CACHED_BYTES;

/// How the service calls its host while serving a request. The binary implements it over the
/// rings (an `Ocall` frame, then a wait for the matching `OcallReturn`); tests implement it in
/// memory. An `Err` is a transport failure (timeout, host gone).
pub trait HostPort: Send + Sync {
    fn ocall(&self, call: Ocall) -> Result<OcallReturn, String>;
}

/// Encodes a contract's argument list as `InvokeRequest::input`.
pub fn encode_args(args: &[Vec<u8>]) -> Vec<u8> {
    arcanum_types::encode(&args.to_vec())
}

/// Decodes `InvokeRequest::input` into the argument list (strict borsh).
pub fn decode_args(input: &[u8]) -> Result<Vec<Vec<u8>>, ClusterError> {
    arcanum_types::decode(input, arcanum_types::offchain::MAX_OFFCHAIN_INPUT).map_err(|e| {
        ClusterError::Malformed {
            what: "input (the borsh argument list)",
            reason: e.to_string(),
        }
    })
}

//! The host↔enclave protocol (docs/design/host-enclave-protocol.md): one request enum (host →
//! enclave), one response enum (enclave → host), each variant's direction fixed by its enum, and
//! the [`Envelope`] that carries them with a correlation id over the ring buffers.
//!
//! Invariants: frames are decoded strictly with [`decode_frame`] under [`MAX_FRAME`]; the first
//! request must be [`HostRequest::Hello`] with [`PROTOCOL_VERSION`]. Secret-bearing fields are
//! zeroizing and never printed by `Debug`.

pub mod cluster;

use arcanum_crypto::{Algorithm, Hash, PublicKey};
use arcanum_types::{Endorsement, IdentityId, SignedTx, Vote};
use borsh::{BorshDeserialize, BorshSerialize};

/// The protocol version both sides must speak.
pub const PROTOCOL_VERSION: u16 = 1;

/// Largest frame either side accepts.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

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

/// Host → enclave.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum HostRequest {
    /// Host → enclave, first message: the protocol version the host speaks.
    Hello { version: u16 },
    /// Host → enclave: the simulation platform's fuse secret (ignored on real hardware), the sealed
    /// key set from a previous run, and the peers this device may host.
    Init {
        platform_secret: Option<Secret>,
        sealed_keys: Option<Vec<u8>>,
        peers: Vec<HostedPeer>,
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
    /// Host → enclave: verify the client's reference signature, then sign
    /// `(tx id, response hash, vote)` once for each of `peers`.
    Endorse {
        tx: Box<SignedTx>,
        client_key: PublicKey,
        response_hash: Hash,
        vote: Vote,
        peers: Vec<IdentityId>,
    },
    /// Host → enclave: evidence whose report data binds the device key and every hosted key.
    Evidence,
    /// Host → enclave: stop.
    Shutdown,
}

/// Enclave → host.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
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
    /// Enclave → host: one endorsement per requested peer.
    Endorsements(Vec<Endorsement>),
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
    fn secrets_do_not_print() {
        let s = Secret(b"hunter2".to_vec());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

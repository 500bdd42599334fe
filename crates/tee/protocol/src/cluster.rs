//! The host↔cluster-enclave protocol (SPEC C1–C6, T2; docs/design/offchain-cluster.md): the
//! same [`Envelope`](crate::Envelope) framing, version handshake and bounds as the endorsement
//! enclave's protocol, with its own request/response pair.
//!
//! Calls go both ways. The host calls the enclave with a [`ClusterRequest`] and gets one
//! [`ClusterResponse`] with the same envelope id. While serving a request the enclave may call
//! the host (an *ocall*: load a stored record, relay TLS bytes): it sends
//! [`ClusterResponse::Ocall`] under an envelope id with [`OCALL_ID_BIT`] set, and the host
//! answers with [`ClusterRequest::OcallReturn`] under the same id. Host ids never have that bit.
//!
//! Everything the host sends is hostile: the enclave bounds, decodes strictly and authenticates
//! it (sealed and storage-key records are AEAD-bound to what they claim to be).

use arcanum_crypto::hpke::Sealed;
use arcanum_crypto::{Hash, PublicKey, Signature, domain, tagged_hash};
use arcanum_types::offchain::{
    ClusterKeys, ClusterMember, ClusterRegistration, SealedRequest, SignedDeployment, SignedOffer,
    SignedRegistration,
};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::Secret;

/// Set in the envelope id of every ocall and its return.
pub const OCALL_ID_BIT: u64 = 1 << 63;

/// What a TEE node's enclave trusts, given by its host at `Init` and committed to in its node
/// card ([`ClusterTrust::hash`]), so that a host feeding its enclave other anchors produces a
/// card that honest members refuse (`JOIN_REFUSED`: trust mismatch).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ClusterTrust {
    /// Attestation service keys whose reports are accepted.
    pub issuers: Vec<PublicKey>,
    /// The attestation policy (TOML of `arcanum_attestation::AttestationPolicy`) member reports
    /// must pass.
    pub policy_toml: String,
    /// DER certificates of the roots `https_get` accepts.
    pub tls_roots: Vec<Vec<u8>>,
}

impl ClusterTrust {
    pub fn hash(&self) -> Hash {
        tagged_hash(domain::CLUSTER_TRUST, &[&arcanum_types::encode(self)])
    }
}

/// A state record as the host stores it: encrypted under the cluster storage key with the
/// contract, key and version as associated data.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StateRecord {
    pub contract_id: Hash,
    pub key: Vec<u8>,
    pub record: Vec<u8>,
}

/// Host → cluster enclave.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ClusterRequest {
    /// First message: the protocol version the host speaks.
    Hello { version: u16 },
    /// The simulation's fuse secret (ignored on hardware), the node's sealed state from a
    /// previous run (node key; cluster secret once formed), and the trust configuration.
    Init {
        platform_secret: Option<Secret>,
        sealed: Option<Vec<u8>>,
        trust: ClusterTrust,
    },
    /// Evidence whose report data binds the node key.
    Evidence,
    /// Create a new cluster: generate the cluster secret (refused once the node has one).
    Genesis,
    /// Member side, join step 1: verify the joiner's report and card; offer the cluster keys.
    JoinOffer {
        joiner: ClusterMember,
        /// This member's own current report, to show the joiner.
        own_report: Vec<u8>,
        now: u64,
    },
    /// Joiner side, join step 2: verify the member's report and card and the offer's cluster
    /// signature; sign an acceptance with the node key.
    JoinAccept { offer: SignedOffer, now: u64 },
    /// Member side, join step 3: check the offer is ours and fresh and the acceptance is the
    /// joiner's; re-check the joiner's report; seal the cluster secret to its HPKE key.
    JoinComplete {
        offer: SignedOffer,
        acceptance: Signature,
        now: u64,
    },
    /// Joiner side, join step 4: open the secret, derive the keys, check they are the offered
    /// ones, seal them.
    JoinFinish {
        offer: SignedOffer,
        sealed_secret: Sealed,
    },
    /// Sign a registration of this cluster; every listed member's card and report must verify
    /// at `now` under the trust configuration.
    SignRegistration {
        registration: ClusterRegistration,
        now: u64,
    },
    /// Open an encrypted deployment, validate the code, derive the contract key (version 1).
    Deploy { request: SealedRequest },
    /// Install code another member deployed (decrypted with the storage key, checked against
    /// the signed statement).
    InstallCode {
        deployment: SignedDeployment,
        code: Vec<u8>,
    },
    /// Sign the deployment statement of a contract's next key version.
    RotateContractKey { contract_id: Hash },
    /// Open an encrypted invocation and run it.
    Invoke { request: SealedRequest },
    /// The host's answer to an ocall (envelope id has [`OCALL_ID_BIT`]).
    OcallReturn(OcallReturn),
    /// Stop.
    Shutdown,
}

/// Cluster enclave → host.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ClusterResponse {
    Hello {
        version: u16,
        measurement: Vec<u8>,
        is_secure: bool,
    },
    /// Answer to `Init`: the node's signed card and, if it has one, the cluster's keys. `sealed`
    /// is the node state to store (it changes when the node key is first generated).
    Ready {
        card: NodeCardSigned,
        cluster: Option<ClusterKeys>,
        sealed: Vec<u8>,
    },
    Evidence {
        evidence: Vec<u8>,
        bound_keys: Vec<PublicKey>,
    },
    /// Answer to `Genesis` and `JoinFinish`: the cluster keys and the node state to store.
    Formed {
        keys: ClusterKeys,
        sealed: Vec<u8>,
    },
    Offer(SignedOffer),
    /// The joiner's node-key signature over the offer hash under `JOIN_ACCEPT`.
    Accepted {
        acceptance: Signature,
    },
    /// The cluster secret sealed to the joiner (HPKE info `JOIN_SECRET`, AAD the offer hash).
    Welcome {
        sealed_secret: Sealed,
    },
    Registration(SignedRegistration),
    /// Answer to `Deploy`: the signed statement and the code encrypted under the storage key (to
    /// store and replicate).
    Deployed {
        deployment: SignedDeployment,
        code: Vec<u8>,
    },
    /// Answer to `RotateContractKey`.
    Deployment(SignedDeployment),
    /// Answer to `Invoke`: the reply encrypted to the caller, and the state records the host
    /// must store before it passes the reply on.
    Invoked {
        reply: Vec<u8>,
        writes: Vec<StateRecord>,
    },
    /// The enclave calls the host (envelope id has [`OCALL_ID_BIT`]).
    Ocall(Ocall),
    Ok,
    /// The request failed; `code` is a stable error code.
    Error {
        code: String,
        message: String,
    },
}

/// A node card with the node key's signature (see `arcanum_types::offchain::NodeCard`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct NodeCardSigned {
    pub card: arcanum_types::offchain::NodeCard,
    pub signature: Signature,
}

/// Enclave → host calls made while serving a request.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Ocall {
    /// The stored deployment and storage-key-encrypted code of a contract.
    LoadCode {
        contract_id: Hash,
    },
    /// The stored state record of `(contract_id, key)`.
    LoadState {
        contract_id: Hash,
        key: Vec<u8>,
    },
    /// Open a TCP connection for an in-enclave TLS session.
    TcpConnect {
        host: String,
        port: u16,
    },
    /// Send bytes on a connection.
    TcpSend {
        conn: u32,
        bytes: Vec<u8>,
    },
    /// Receive up to `max` bytes (an empty answer means the peer closed).
    TcpRecv {
        conn: u32,
        max: u32,
    },
    TcpClose {
        conn: u32,
    },
}

/// Host → enclave answers to an [`Ocall`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum OcallReturn {
    Code(Option<(SignedDeployment, Vec<u8>)>),
    State(Option<Vec<u8>>),
    Connected { conn: u32 },
    Sent,
    Received(Vec<u8>),
    Closed,
    Error { code: String, message: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Envelope, decode_frame, encode_frame};

    #[test]
    fn cluster_frames_round_trip_and_trust_hash_commits_to_every_field() {
        let trust = ClusterTrust {
            issuers: vec![],
            policy_toml: "allow_simulation = true".into(),
            tls_roots: vec![vec![1, 2, 3]],
        };
        let req = ClusterRequest::Init {
            platform_secret: None,
            sealed: None,
            trust: trust.clone(),
        };
        let bytes = encode_frame(OCALL_ID_BIT | 7, &req);
        let env: Envelope<ClusterRequest> = decode_frame(&bytes).expect("decodes");
        assert_eq!(env.id, OCALL_ID_BIT | 7);
        assert_eq!(env.body, req);
        let mut other = trust.clone();
        other.tls_roots[0].push(4);
        assert_ne!(trust.hash(), other.hash());
        let mut other = trust.clone();
        other.policy_toml.push(' ');
        assert_ne!(trust.hash(), other.hash());
    }
}

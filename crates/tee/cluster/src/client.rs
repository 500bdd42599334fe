//! The client's half of the agreed encryption (for SDKs, tests and benchmarks): seal a
//! deployment or an invocation to the cluster key, and open the invocation's reply.

use arcanum_crypto::hpke::{self, HpkeError};
use arcanum_crypto::{Hash, domain};
use arcanum_types::encode;
use arcanum_types::offchain::{
    ClusterKeys, DeployRequest, InvokeReply, InvokeRequest, SealedRequest,
};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::keys::open_reply;

/// Why a client-side step failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("hpke: {0}")]
    Hpke(#[from] HpkeError),
    #[error("the reply does not authenticate under this request's reply key")]
    ReplyNotAuthentic,
    #[error("the reply does not decode")]
    ReplyMalformed,
}

/// What a client keeps to read the reply of one invocation.
pub struct PendingInvoke {
    /// [`InvokeRequest::hash`] of the sealed request.
    pub request_hash: Hash,
    reply_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for PendingInvoke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingInvoke")
            .field("request_hash", &self.request_hash)
            .finish_non_exhaustive()
    }
}

impl PendingInvoke {
    /// Decrypts and decodes the reply bytes the enclave produced.
    pub fn open(&self, reply: &[u8]) -> Result<InvokeReply, ClientError> {
        let plain = open_reply(&self.reply_key, &self.request_hash, reply)
            .ok_or(ClientError::ReplyNotAuthentic)?;
        borsh::from_slice(&plain).map_err(|_| ClientError::ReplyMalformed)
    }
}

/// Seals a deployment to the cluster (HPKE info `OFFCHAIN_DEPLOY`, AAD the cluster id).
pub fn seal_deploy(
    keys: &ClusterKeys,
    request: &DeployRequest,
    rng: &mut impl CryptoRngCore,
) -> Result<SealedRequest, ClientError> {
    let cluster = keys.id();
    let sealed = hpke::seal(
        &keys.hpke_key,
        domain::OFFCHAIN_DEPLOY.as_bytes(),
        &cluster.0,
        &encode(request),
        rng,
    )?;
    Ok(SealedRequest { cluster, sealed })
}

/// Seals an invocation to the cluster (HPKE info `OFFCHAIN_INVOKE`, AAD the cluster id) and
/// keeps the exported reply key.
pub fn seal_invoke(
    keys: &ClusterKeys,
    request: &InvokeRequest,
    rng: &mut impl CryptoRngCore,
) -> Result<(SealedRequest, PendingInvoke), ClientError> {
    let cluster = keys.id();
    let (sealed, export) = hpke::seal_with_export(
        &keys.hpke_key,
        domain::OFFCHAIN_INVOKE.as_bytes(),
        &cluster.0,
        &encode(request),
        domain::OFFCHAIN_REPLY.as_bytes(),
        32,
        rng,
    )?;
    let mut reply_key = Zeroizing::new([0u8; 32]);
    reply_key.copy_from_slice(&export);
    Ok((
        SealedRequest { cluster, sealed },
        PendingInvoke {
            request_hash: request.hash(),
            reply_key,
        },
    ))
}

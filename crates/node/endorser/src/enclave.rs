//! The endorsement device's side of its enclave (SPEC L7): the hosted keys sign inside it, and
//! the enclave verifies the client's reference signature itself before it signs.

use arcanum_crypto::{Hash, PublicKey};
use arcanum_enclave_protocol::{EnclaveResponse, HostRequest};
use arcanum_types::{ApiError, Endorsement, ErrorCode, IdentityId, SignedTx, Vote};
use parking_lot::RwLock;

/// How requests reach the enclave: over the shared-memory rings to the `arcanum-enclave`
/// process, or to its trusted code in this process.
pub trait EnclaveLink: Send + Sync {
    /// The enclave's answer to one request; a link failure is `ENDORSER_UNAVAILABLE`.
    fn request(&self, request: &HostRequest) -> Result<EnclaveResponse, ApiError>;
}

/// Maps an enclave error to the API's stable codes.
pub fn enclave_error(code: &str, message: &str) -> ApiError {
    let code = match code {
        "BAD_CLIENT_SIGNATURE" => ErrorCode::BadClientSignature,
        "PEER_NOT_HOSTED" | "PEER_NOT_ALLOWED" => ErrorCode::EndorserUnavailable,
        "KEY_FILE" | "KEY_CERT_MISMATCH" => ErrorCode::KeyFile,
        _ => ErrorCode::Internal,
    };
    ApiError::new(code, format!("enclave: {message}"))
}

/// An enclave and the peers whose keys it hosts.
pub struct EnclaveSigner {
    link: Box<dyn EnclaveLink>,
    hosted: RwLock<Vec<IdentityId>>,
}

impl EnclaveSigner {
    pub fn new(link: impl EnclaveLink + 'static, hosted: Vec<IdentityId>) -> EnclaveSigner {
        EnclaveSigner {
            link: Box::new(link),
            hosted: RwLock::new(hosted),
        }
    }

    /// One request, with enclave errors mapped to the API's codes.
    pub fn call(&self, request: &HostRequest) -> Result<EnclaveResponse, ApiError> {
        match self.link.request(request)? {
            EnclaveResponse::Error { code, message } => Err(enclave_error(&code, &message)),
            other => Ok(other),
        }
    }

    /// The peers whose keys are hosted.
    pub fn hosted(&self) -> Vec<IdentityId> {
        self.hosted.read().clone()
    }

    /// Replaces the hosted set (after an import or a key activation).
    pub fn set_hosted(&self, hosted: Vec<IdentityId>) {
        *self.hosted.write() = hosted;
    }

    /// Signs `(tx id, response hash, vote)` once for each of `peers`.
    pub fn sign(
        &self,
        tx: &SignedTx,
        client_key: &PublicKey,
        response_hash: Hash,
        vote: Vote,
        peers: &[IdentityId],
    ) -> Result<Vec<Endorsement>, ApiError> {
        let request = HostRequest::Endorse {
            tx: Box::new(tx.clone()),
            client_key: client_key.clone(),
            response_hash,
            vote,
            peers: peers.to_vec(),
        };
        match self.call(&request)? {
            EnclaveResponse::Endorsements(e) => Ok(e),
            other => Err(unexpected(&other)),
        }
    }
}

/// An answer of the wrong kind.
pub(crate) fn unexpected(answer: &EnclaveResponse) -> ApiError {
    ApiError::new(
        ErrorCode::Internal,
        format!("unexpected enclave answer {answer:?}"),
    )
}

//! The endorsement device's signer backed by a real enclave process.

use arcanum_crypto::{Hash, PublicKey};
use arcanum_enclave_protocol::{EnclaveResponse, HostRequest};
use arcanum_endorser::{EndorsementSigner, enclave_error};
use arcanum_types::{ApiError, Endorsement, ErrorCode, IdentityId, SignedTx, Vote};
use parking_lot::RwLock;

use crate::EnclaveClient;

/// Signs endorsements through an enclave; knows which peers it hosts.
pub struct EnclaveSigner {
    client: EnclaveClient,
    hosted: RwLock<Vec<IdentityId>>,
}

impl EnclaveSigner {
    pub fn new(client: EnclaveClient, hosted: Vec<IdentityId>) -> EnclaveSigner {
        EnclaveSigner {
            client,
            hosted: RwLock::new(hosted),
        }
    }

    /// One request, with enclave errors mapped to the API's codes.
    pub fn call(&self, request: &HostRequest) -> Result<EnclaveResponse, ApiError> {
        match self.client.call(request) {
            Ok(EnclaveResponse::Error { code, message }) => Err(enclave_error(&code, &message)),
            Ok(other) => Ok(other),
            Err(e) => Err(ApiError::new(
                ErrorCode::EndorserUnavailable,
                format!("enclave: {e}"),
            )),
        }
    }

    /// Replaces the hosted set (after an import or a key activation).
    pub fn set_hosted(&self, hosted: Vec<IdentityId>) {
        *self.hosted.write() = hosted;
    }
}

impl EndorsementSigner for EnclaveSigner {
    fn hosted(&self) -> Vec<IdentityId> {
        self.hosted.read().clone()
    }

    fn sign(
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
            other => Err(ApiError::new(
                ErrorCode::Internal,
                format!("unexpected enclave answer {other:?}"),
            )),
        }
    }
}

//! The endorsement enclave's trusted code run inside this process: the same request handling as
//! the `arcanum-enclave` process, without the process boundary. For tests and embedding.

use arcanum_crypto::{Hash, PublicKey, SigningKey, keyfile};
use arcanum_enclave::{EnclaveService, PlatformSource};
use arcanum_enclave_protocol::{
    EnclaveResponse, HostRequest, HostedPeer, PROTOCOL_VERSION, Secret,
};
use arcanum_ledger::Ledger;
use arcanum_types::{ApiError, Endorsement, ErrorCode, IdentityId, Role, SignedTx, Vote};
use parking_lot::Mutex;

use crate::EndorsementSigner;

/// An [`EnclaveService`] called directly.
pub struct InProcessEnclave {
    service: EnclaveService,
    hosted: Mutex<Vec<IdentityId>>,
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

fn expect_ok(response: EnclaveResponse) -> Result<EnclaveResponse, ApiError> {
    match response {
        EnclaveResponse::Error { code, message } => Err(enclave_error(&code, &message)),
        other => Ok(other),
    }
}

impl InProcessEnclave {
    /// Starts an in-process enclave that may host any consortium peer and imports `keys`.
    pub fn start(
        ledger: &Ledger,
        keys: Vec<(IdentityId, SigningKey)>,
    ) -> Result<InProcessEnclave, ApiError> {
        let service = EnclaveService::new(PlatformSource::Simulated {
            binary: b"arcanum in-process enclave".to_vec(),
        });
        expect_ok(service.handle(HostRequest::Hello {
            version: PROTOCOL_VERSION,
        }))?;
        let peers = ledger
            .config()
            .members
            .values()
            .filter(|m| m.role == Role::Peer)
            .map(|m| HostedPeer {
                peer: m.id,
                public_key: m.public_key.clone(),
            })
            .collect();
        let fuse = Secret(rand::random::<[u8; 32]>().to_vec());
        expect_ok(service.handle(HostRequest::Init {
            platform_secret: Some(fuse),
            sealed_keys: None,
            peers,
        }))?;
        let enclave = InProcessEnclave {
            service,
            hosted: Mutex::new(Vec::new()),
        };
        for (peer, key) in keys {
            if ledger
                .config()
                .member(&peer)
                .is_none_or(|m| m.role != Role::Peer)
            {
                return Err(ApiError::new(
                    ErrorCode::UnknownIdentity,
                    format!("hosted key for unknown peer {peer}"),
                ));
            }
            enclave.import(peer, &key)?;
        }
        Ok(enclave)
    }

    /// Hands a key to the enclave as a key file under a one-time random passphrase (the key file
    /// never leaves this process, so the cheap KDF costs nothing here).
    fn import(&self, peer: IdentityId, key: &SigningKey) -> Result<(), ApiError> {
        let passphrase = rand::random::<[u8; 32]>().to_vec();
        let file = keyfile::seal_key_with_params(
            key,
            &passphrase,
            keyfile::KdfParams::insecure_for_tests(),
            &mut rand::rngs::OsRng,
        )
        .map_err(|e| ApiError::new(ErrorCode::KeyFile, e.to_string()))?;
        match expect_ok(self.service.handle(HostRequest::ImportKey {
            peer,
            key_file: file,
            passphrase: Secret(passphrase),
        }))? {
            EnclaveResponse::Sealed { hosted, .. } => {
                *self.hosted.lock() = hosted.into_iter().map(|h: HostedPeer| h.peer).collect();
                Ok(())
            }
            other => Err(ApiError::new(
                ErrorCode::Internal,
                format!("unexpected enclave answer {other:?}"),
            )),
        }
    }
}

impl EndorsementSigner for InProcessEnclave {
    fn hosted(&self) -> Vec<IdentityId> {
        self.hosted.lock().clone()
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
        match expect_ok(self.service.handle(request))? {
            EnclaveResponse::Endorsements(e) => Ok(e),
            other => Err(ApiError::new(
                ErrorCode::Internal,
                format!("unexpected enclave answer {other:?}"),
            )),
        }
    }
}

//! The endorsement enclave's trusted code run inside this process: the same request handling as
//! the `arcanum-enclave` process, without the process boundary. For tests and embedding.

use arcanum_crypto::{SigningKey, keyfile};
use arcanum_enclave::{EnclaveService, PlatformSource};
use arcanum_enclave_protocol::{
    EnclaveResponse, HostRequest, HostedPeer, PROTOCOL_VERSION, Secret,
};
use arcanum_ledger::Ledger;
use arcanum_types::{ApiError, ErrorCode, IdentityId, Role};

use crate::enclave::{EnclaveLink, EnclaveSigner, unexpected};

impl EnclaveLink for EnclaveService {
    fn request(&self, request: &HostRequest) -> Result<EnclaveResponse, ApiError> {
        Ok(self.handle(request.clone()))
    }
}

/// Starts an in-process enclave that may host any consortium peer and imports `keys`.
pub(crate) fn start(
    ledger: &Ledger,
    keys: Vec<(IdentityId, SigningKey)>,
) -> Result<EnclaveSigner, ApiError> {
    let service = EnclaveService::new(PlatformSource::Simulated {
        binary: b"arcanum in-process enclave".to_vec(),
    });
    let signer = EnclaveSigner::new(service, Vec::new());
    signer.call(&HostRequest::Hello {
        version: PROTOCOL_VERSION,
    })?;
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
    signer.call(&HostRequest::Init {
        platform_secret: Some(fuse),
        sealed_keys: None,
        peers,
        pin: ledger.config().pin(),
    })?;
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
        import(&signer, peer, &key)?;
    }
    Ok(signer)
}

/// Hands a key to the enclave as a key file under a one-time random passphrase (the key file
/// never leaves this process, so the cheap KDF costs nothing here).
fn import(signer: &EnclaveSigner, peer: IdentityId, key: &SigningKey) -> Result<(), ApiError> {
    let passphrase = rand::random::<[u8; 32]>().to_vec();
    let file = keyfile::seal_key_with_params(
        key,
        &passphrase,
        keyfile::KdfParams::insecure_for_tests(),
        &mut rand::rngs::OsRng,
    )
    .map_err(|e| ApiError::new(ErrorCode::KeyFile, e.to_string()))?;
    match signer.call(&HostRequest::ImportKey {
        peer,
        key_file: file,
        passphrase: Secret(passphrase),
    })? {
        EnclaveResponse::Sealed { hosted, .. } => {
            signer.set_hosted(hosted.into_iter().map(|h| h.peer).collect());
            Ok(())
        }
        other => Err(unexpected(&other)),
    }
}

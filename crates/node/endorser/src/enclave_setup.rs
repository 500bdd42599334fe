//! Starting an endorsement device's enclave (SPEC L7): launch the confined `arcanum-enclave`
//! process, initialise it with its sealed key set, import hosted keys it does not hold yet (first
//! run), and keep a fresh remote attestation report from the attestation service.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use arcanum_api::{AttestRequest, routes};
use arcanum_enclave_host::{EnclaveProcess, sim_fuse, write_private};
use arcanum_enclave_protocol::{
    ChainPin, EnclaveResponse, HostRequest, HostedPeer, PROTOCOL_VERSION, Secret,
};
use arcanum_msp::{Consortium, NodeConfig};
use arcanum_types::{IdentityId, decode};
use parking_lot::RwLock;

use crate::EnclaveSigner;

/// File (in the data dir) of the sealed hosted key set.
const SEALED_KEYS: &str = "hosted-keys.sealed";

/// A running enclave and what the host knows about it.
pub struct EnclaveDevice {
    /// Held for its lifetime: dropping the device stops the enclave process.
    _process: EnclaveProcess,
    pub signer: Arc<EnclaveSigner>,
    /// The latest signed attestation report (borsh), once issued.
    pub report: Arc<RwLock<Option<Vec<u8>>>>,
    /// Wakes the attestation loop early (after a key change).
    pub reattest: Arc<tokio::sync::Notify>,
    /// The keys the enclave signs with, by peer.
    pub hosted: RwLock<Vec<HostedPeer>>,
    following: parking_lot::Mutex<()>,
    data_dir: PathBuf,
}

impl EnclaveDevice {
    fn set_hosted(&self, hosted: Vec<HostedPeer>) {
        self.signer
            .set_hosted(hosted.iter().map(|h| h.peer).collect());
        *self.hosted.write() = hosted;
    }

    /// Has the enclave generate a new key for `peer` (pending until a rotation commits).
    pub fn generate_key(
        &self,
        peer: IdentityId,
        algorithm: arcanum_crypto::Algorithm,
    ) -> Result<arcanum_crypto::PublicKey, arcanum_types::ApiError> {
        match self
            .signer
            .call(&HostRequest::GenerateKey { peer, algorithm })?
        {
            EnclaveResponse::PendingKey {
                public_key, blob, ..
            } => {
                write_private(&self.data_dir.join(SEALED_KEYS), &blob).map_err(|e| {
                    arcanum_types::ApiError::new(arcanum_types::ErrorCode::Internal, e.to_string())
                })?;
                Ok(public_key)
            }
            other => Err(crate::enclave::unexpected(&other)),
        }
    }

    /// After each block: a hosted peer whose key was rotated on chain switches to its pending
    /// key in the enclave, and the device is attested again with the new key bound.
    pub fn follow_rotations(&self, ledger: &arcanum_ledger::Ledger) {
        // One follower at a time (after each block, and before each endorsement).
        let _one = self.following.lock();
        let hosted = self.hosted.read().clone();
        for h in hosted {
            let Some(member) = ledger.config().member(&h.peer) else {
                continue;
            };
            let Ok(current) = ledger.peer_key_at_tip(member) else {
                continue;
            };
            if current == h.public_key {
                continue;
            }
            match self.signer.call(&HostRequest::ActivateKey {
                peer: h.peer,
                public_key: current,
            }) {
                Ok(EnclaveResponse::Sealed { blob, hosted }) => {
                    if let Err(e) = write_private(&self.data_dir.join(SEALED_KEYS), &blob) {
                        tracing::error!(error = %e, "cannot persist the sealed key set");
                    }
                    tracing::info!(peer = %member.name, "rotated endorsement key activated in the enclave");
                    self.set_hosted(hosted);
                    self.reattest.notify_one();
                }
                Ok(other) => tracing::error!(answer = ?other, "unexpected enclave answer"),
                Err(e) => {
                    tracing::warn!(peer = %member.name, error = %e, "rotated key is not pending in this enclave")
                }
            }
        }
    }
}

fn enclave_binary(config: &NodeConfig) -> anyhow::Result<PathBuf> {
    if let Some(p) = &config.enclave_binary {
        return Ok(p.clone());
    }
    arcanum_enclave_host::beside_running_binary(arcanum_enclave_host::ENDORSEMENT_ENCLAVE_BINARY)
        .context("locating the endorsement enclave")
}

fn unexpected(what: &str, r: EnclaveResponse) -> anyhow::Error {
    anyhow::anyhow!("enclave answered {what} with {r:?}")
}

/// Launches and initialises the device's enclave, pinned to the chain `pin` names.
pub fn start(
    config: &NodeConfig,
    consortium: &Consortium,
    pin: ChainPin,
) -> anyhow::Result<EnclaveDevice> {
    let me = consortium
        .endorser_by_name(&config.name)
        .context("this endorser is not in the consortium")?;
    let binary = enclave_binary(config)?;
    let (process, client) = EnclaveProcess::launch(&binary)
        .with_context(|| format!("launching {}", binary.display()))?;
    let signer = Arc::new(EnclaveSigner::new(client, Vec::new()));
    let call = |r: &HostRequest| signer.call(r).map_err(|e| anyhow::anyhow!("{e}"));

    let (measurement, is_secure) = match call(&HostRequest::Hello {
        version: PROTOCOL_VERSION,
    })? {
        EnclaveResponse::Hello {
            measurement,
            is_secure,
            ..
        } => (measurement, is_secure),
        other => return Err(unexpected("Hello", other)),
    };
    tracing::info!(measurement = %hex::encode(&measurement), is_secure, "enclave started");

    let peers: Vec<HostedPeer> = me
        .hosts
        .iter()
        .filter_map(|name| consortium.peer_by_name(name))
        .map(|p| HostedPeer {
            peer: p.id,
            public_key: p.public_key.clone(),
        })
        .collect();
    let sealed = std::fs::read(config.data_dir.join(SEALED_KEYS)).ok();
    let platform_secret = if is_secure {
        None
    } else {
        Some(sim_fuse(&config.data_dir)?)
    };
    let mut hosted: Vec<HostedPeer> = match call(&HostRequest::Init {
        platform_secret,
        sealed_keys: sealed,
        peers: peers.clone(),
        pin,
    })? {
        EnclaveResponse::Ready { hosted, .. } => hosted,
        other => return Err(unexpected("Init", other)),
    };

    // First run: hand each hosted key file to the enclave, which decrypts and seals it.
    let missing: Vec<&str> = me
        .hosts
        .iter()
        .filter(|name| {
            consortium
                .peer_by_name(name)
                .is_some_and(|p| !hosted.iter().any(|h| h.peer == p.id))
        })
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let dir = config
            .hosted_keys_dir
            .as_ref()
            .context("hosted_keys_dir is not set")?;
        let passphrase = config.passphrase()?;
        for name in missing {
            let peer = consortium
                .peer_by_name(name)
                .context("hosted peer vanished")?;
            let key_file = std::fs::read(dir.join(format!("{name}.key")))
                .with_context(|| format!("reading the key file of {name}"))?;
            let request = HostRequest::ImportKey {
                peer: peer.id,
                key_file,
                passphrase: Secret(passphrase.as_bytes().to_vec()),
            };
            match call(&request)? {
                EnclaveResponse::Sealed { blob, hosted: now } => {
                    write_private(&config.data_dir.join(SEALED_KEYS), &blob)?;
                    hosted = now;
                }
                other => return Err(unexpected("ImportKey", other)),
            }
        }
        tracing::info!(
            count = hosted.len(),
            "hosted keys imported into the enclave and sealed"
        );
    }
    let device = EnclaveDevice {
        _process: process,
        signer,
        report: Arc::new(RwLock::new(None)),
        reattest: Arc::new(tokio::sync::Notify::new()),
        hosted: RwLock::new(Vec::new()),
        following: parking_lot::Mutex::new(()),
        data_dir: config.data_dir.clone(),
    };
    device.set_hosted(hosted);
    Ok(device)
}

/// Keeps a fresh attestation report: evidence from the enclave, a report from the service,
/// renewed at half its lifetime (retried every second while the service is unreachable).
pub async fn keep_attested(
    device: Arc<EnclaveDevice>,
    subject: String,
    service_url: String,
    http: reqwest::Client,
) {
    loop {
        let wait = match attest_once(&device.signer, &subject, &service_url, &http).await {
            Ok((bytes, ttl)) => {
                *device.report.write() = Some(bytes);
                Duration::from_secs((ttl / 2).max(1))
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "attestation failed; retrying");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = device.reattest.notified() => {}
        }
    }
}

async fn attest_once(
    signer: &Arc<EnclaveSigner>,
    subject: &str,
    url: &str,
    http: &reqwest::Client,
) -> anyhow::Result<(Vec<u8>, u64)> {
    let s = signer.clone();
    let evidence = tokio::task::spawn_blocking(move || s.call(&HostRequest::Evidence)).await??;
    let EnclaveResponse::Evidence {
        evidence,
        bound_keys,
    } = evidence
    else {
        bail!("enclave did not return evidence");
    };
    let body = arcanum_types::encode(&AttestRequest {
        subject: subject.to_owned(),
        evidence,
        bound_keys,
    });
    let resp = http
        .post(format!("{url}{}", routes::ATTEST))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await?;
    let status = resp.status();
    let bytes = resp.bytes().await?;
    if !status.is_success() {
        bail!(
            "attestation service refused: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    let signed: arcanum_attestation::SignedReport = decode(&bytes, 1024 * 1024)?;
    let ttl = signed
        .report
        .expires_at
        .saturating_sub(signed.report.issued_at);
    Ok((bytes.to_vec(), ttl))
}

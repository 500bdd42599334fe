//! The TEE node's core: starting the enclave, staying attested, forming or joining the
//! cluster, registering it on chain, and the operations the HTTP API exposes.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use arcanum_api::{AttestRequest, routes as chain_routes};
use arcanum_crypto::hpke::Sealed;
use arcanum_crypto::{Hash, Signature};
use arcanum_enclave_protocol::PROTOCOL_VERSION;
use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse, NodeCardSigned};
use arcanum_sdk::{Client, Signer};
use arcanum_types::offchain::{
    ClusterInfo, ClusterKeys, ClusterMember, ClusterRegistration, MAX_CLUSTER_MEMBERS,
    SealedRequest, SignedDeployment, SignedOffer, SignedRegistration,
};
use arcanum_types::{ApiError, ErrorCode, TxAction, encode};
use parking_lot::RwLock;

use crate::enclave::{ClusterEnclave, unexpected};
use crate::http::{RemoteError, decode_answer, get_bytes, post_bytes};
use crate::routes;
use crate::settings::TeeSettings;
use crate::store::NodeStore;

/// Largest answer accepted from another member or service.
const MAX_ANSWER: usize = 4 * 1024 * 1024;
/// How long start-up waits for the attestation service and the bootstrap member.
const STARTUP_PATIENCE: Duration = Duration::from_secs(120);
/// Registration attempts before giving up (each after a growing pause).
const REGISTRATION_ATTEMPTS: u32 = 30;

pub use arcanum_msp::now_unix;

fn store_error(e: crate::store::StoreError) -> ApiError {
    ApiError::new(ErrorCode::Internal, format!("node store: {e}"))
}

/// A running TEE node host.
pub struct TeeNode {
    pub settings: TeeSettings,
    enclave: ClusterEnclave,
    pub store: Arc<NodeStore>,
    card: NodeCardSigned,
    measurement: Vec<u8>,
    keys: RwLock<Option<ClusterKeys>>,
    report: RwLock<Option<Vec<u8>>>,
    /// Other members' URLs (from config and the store).
    members: RwLock<Vec<String>>,
    http: reqwest::Client,
    /// Signs registration transactions (an org admin).
    signer: Signer,
}

impl std::fmt::Debug for TeeNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeeNode")
            .field("name", &self.settings.name)
            .finish_non_exhaustive()
    }
}

impl TeeNode {
    /// Says hello to a launched enclave and initialises it with the sim fuse, the sealed state
    /// from the store and the trust configuration. Blocking.
    pub fn start(
        settings: TeeSettings,
        enclave: ClusterEnclave,
        store: Arc<NodeStore>,
        signer: Signer,
    ) -> anyhow::Result<TeeNode> {
        let call = |r: &ClusterRequest| enclave.call(r).map_err(|e| anyhow::anyhow!("{e}"));
        let (measurement, is_secure) = match call(&ClusterRequest::Hello {
            version: PROTOCOL_VERSION,
        })? {
            ClusterResponse::Hello {
                version,
                measurement,
                is_secure,
            } if version == PROTOCOL_VERSION => (measurement, is_secure),
            other => bail!(unexpected("Hello", &other)),
        };
        tracing::info!(measurement = %hex::encode(&measurement), is_secure, "cluster enclave started");
        let platform_secret = if is_secure {
            None
        } else {
            Some(arcanum_enclave_host::sim_fuse(&settings.data_dir)?)
        };
        let (card, keys, sealed) = match call(&ClusterRequest::Init {
            platform_secret,
            sealed: store.sealed()?,
            trust: settings.trust.clone(),
        })? {
            ClusterResponse::Ready {
                card,
                cluster,
                sealed,
            } => (card, cluster, sealed),
            other => bail!(unexpected("Init", &other)),
        };
        store.put_sealed(&sealed)?;
        let mut members = store.members()?;
        members.extend(settings.cluster_peers.iter().cloned());
        members.sort();
        members.dedup();
        store.put_members(&members)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("building the HTTP client")?;
        Ok(TeeNode {
            settings,
            enclave,
            store,
            card,
            measurement,
            keys: RwLock::new(keys),
            report: RwLock::new(None),
            members: RwLock::new(members),
            http,
            signer,
        })
    }

    /// The enclave's measurement (hash of the cluster enclave binary in simulation).
    pub fn measurement(&self) -> &[u8] {
        &self.measurement
    }

    /// The cluster keys, once formed or joined.
    pub fn keys(&self) -> Option<ClusterKeys> {
        self.keys.read().clone()
    }

    /// The current attestation report (borsh `SignedReport`).
    pub fn report(&self) -> Option<Vec<u8>> {
        self.report.read().clone()
    }

    /// Other members' URLs.
    pub fn members(&self) -> Vec<String> {
        self.members.read().clone()
    }

    fn call(&self, request: &ClusterRequest) -> Result<ClusterResponse, ApiError> {
        self.enclave.call(request)
    }

    /// This node as a cluster member: its card and current report.
    pub fn me(&self) -> Result<ClusterMember, ApiError> {
        let report = self.report().ok_or_else(|| {
            ApiError::new(
                ErrorCode::ReportInvalid,
                "this node has no attestation report yet",
            )
        })?;
        Ok(ClusterMember {
            card: self.card.card.clone(),
            card_signature: self.card.signature.clone(),
            report,
        })
    }

    // ---- attestation ----

    /// Evidence from the enclave, a report from the attestation service; returns the report
    /// and its lifetime in seconds.
    pub async fn attest_once(self: &Arc<Self>) -> anyhow::Result<(Vec<u8>, u64)> {
        let node = self.clone();
        let evidence = arcanum_http::blocking(move || node.call(&ClusterRequest::Evidence)).await?;
        let ClusterResponse::Evidence {
            evidence,
            bound_keys,
        } = evidence
        else {
            bail!(unexpected("Evidence", &evidence));
        };
        let body = encode(&AttestRequest {
            subject: self.settings.name.clone(),
            evidence,
            bound_keys,
        });
        let url = format!("{}{}", self.settings.attestation_url, chain_routes::ATTEST);
        let bytes = post_bytes(&self.http, &url, body, MAX_ANSWER)
            .await
            .map_err(|e| anyhow::anyhow!("attestation service: {e}"))?;
        let signed: arcanum_attestation::SignedReport = decode_answer(&bytes, MAX_ANSWER)?;
        let ttl = signed
            .report
            .expires_at
            .saturating_sub(signed.report.issued_at);
        *self.report.write() = Some(bytes.clone());
        Ok((bytes, ttl))
    }

    /// Attests until it succeeds (start-up), for at most [`STARTUP_PATIENCE`].
    async fn first_report(self: &Arc<Self>) -> anyhow::Result<u64> {
        let start = tokio::time::Instant::now();
        loop {
            match self.attest_once().await {
                Ok((_, ttl)) => return Ok(ttl),
                Err(e) if start.elapsed() < STARTUP_PATIENCE => {
                    tracing::warn!(error = %format!("{e:#}"), "attestation failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e.context("no attestation report")),
            }
        }
    }

    /// Keeps the report fresh: renewed at half its lifetime, retried every second on failure.
    pub async fn keep_attested(self: Arc<Self>, mut wait: Duration) {
        loop {
            tokio::time::sleep(wait).await;
            wait = match self.attest_once().await {
                Ok((_, ttl)) => Duration::from_secs((ttl / 2).max(1)),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "attestation renewal failed; retrying");
                    Duration::from_secs(1)
                }
            };
        }
    }

    // ---- forming the cluster ----

    /// Attests, then forms the cluster (genesis) or joins it through the bootstrap member,
    /// unless the sealed state already holds the cluster secret. Returns whether this run
    /// formed or joined (so the registration must be submitted).
    pub async fn form(self: &Arc<Self>) -> anyhow::Result<bool> {
        let ttl = self.first_report().await?;
        tokio::spawn(
            self.clone()
                .keep_attested(Duration::from_secs((ttl / 2).max(1))),
        );
        if self.keys().is_some() {
            return Ok(false);
        }
        match self.settings.bootstrap.clone() {
            None => {
                let node = self.clone();
                arcanum_http::blocking(move || node.genesis())
                    .await
                    .map_err(|e| anyhow::anyhow!("genesis: {e}"))?;
                tracing::info!("cluster created (genesis)");
            }
            Some(url) => {
                self.join(&url).await?;
                tracing::info!(bootstrap = %url, "joined the cluster");
            }
        }
        // Attest again: the enclave's evidence now also binds the cluster key it holds, so its
        // report (registered on chain, shown to clients and joiners) vouches for that key.
        self.first_report().await?;
        Ok(true)
    }

    fn formed(&self, keys: ClusterKeys, sealed: &[u8]) -> Result<ClusterKeys, ApiError> {
        self.store.put_sealed(sealed).map_err(store_error)?;
        *self.keys.write() = Some(keys.clone());
        Ok(keys)
    }

    /// Creates a new cluster in the enclave.
    pub fn genesis(&self) -> Result<ClusterKeys, ApiError> {
        match self.call(&ClusterRequest::Genesis)? {
            ClusterResponse::Formed { keys, sealed } => self.formed(keys, &sealed),
            other => Err(unexpected("Genesis", &other)),
        }
    }

    /// The joiner's side of the 4-step join through member `url`. A refusal by either side
    /// fails with its code and cause.
    pub async fn join(self: &Arc<Self>, url: &str) -> anyhow::Result<ClusterKeys> {
        let me = self.me()?;
        let offer_url = format!("{url}{}", routes::JOIN_OFFER);
        let start = tokio::time::Instant::now();
        let offer: SignedOffer = loop {
            match post_bytes(&self.http, &offer_url, encode(&me), MAX_ANSWER).await {
                Ok(bytes) => break decode_answer(&bytes, MAX_ANSWER)?,
                Err(e) if e.is_transient() && start.elapsed() < STARTUP_PATIENCE => {
                    tracing::info!(member = %url, error = %e, "waiting for the bootstrap member");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => {
                    tracing::error!(member = %url, error = %e, "join refused by the member");
                    bail!("join refused by {url}: {e}");
                }
            }
        };
        let node = self.clone();
        let o = offer.clone();
        let acceptance = arcanum_http::blocking(move || {
            match node.call(&ClusterRequest::JoinAccept {
                offer: o,
                now: now_unix(),
            })? {
                ClusterResponse::Accepted { acceptance } => Ok(acceptance),
                other => Err(unexpected("JoinAccept", &other)),
            }
        })
        .await
        .map_err(|e| {
            tracing::error!(member = %url, error = %e, "this node refused the member's offer");
            anyhow::anyhow!("join refused by this node (member {url}): {e}")
        })?;
        let complete_url = format!("{url}{}", routes::JOIN_COMPLETE);
        let sealed: Sealed = post_bytes(
            &self.http,
            &complete_url,
            encode(&(offer.clone(), acceptance)),
            MAX_ANSWER,
        )
        .await
        .and_then(|b| decode_answer(&b, MAX_ANSWER))
        .map_err(|e| {
            tracing::error!(member = %url, error = %e, "join completion refused by the member");
            anyhow::anyhow!("join refused by {url}: {e}")
        })?;
        let node = self.clone();
        let keys = arcanum_http::blocking(move || {
            match node.call(&ClusterRequest::JoinFinish {
                offer,
                sealed_secret: sealed,
            })? {
                ClusterResponse::Formed { keys, sealed } => node.formed(keys, &sealed),
                other => Err(unexpected("JoinFinish", &other)),
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("finishing the join: {e}"))?;
        Ok(keys)
    }

    /// Member side, join step 1.
    pub fn join_offer(&self, joiner: ClusterMember) -> Result<SignedOffer, ApiError> {
        let own_report = self.me()?.report;
        match self.call(&ClusterRequest::JoinOffer {
            joiner,
            own_report,
            now: now_unix(),
        })? {
            ClusterResponse::Offer(offer) => Ok(offer),
            other => Err(unexpected("JoinOffer", &other)),
        }
    }

    /// Member side, join step 3.
    pub fn join_complete(
        &self,
        offer: SignedOffer,
        acceptance: Signature,
    ) -> Result<Sealed, ApiError> {
        match self.call(&ClusterRequest::JoinComplete {
            offer,
            acceptance,
            now: now_unix(),
        })? {
            ClusterResponse::Welcome { sealed_secret } => Ok(sealed_secret),
            other => Err(unexpected("JoinComplete", &other)),
        }
    }

    // ---- registration ----

    /// The registration the chain holds, if a chain peer is configured and serves it.
    async fn chain_registration(&self) -> Option<SignedRegistration> {
        let peer = self.settings.peer_url.as_ref()?;
        match Client::new(peer.clone()).cluster_registration().await {
            Ok(r) if r.verify() => Some(r),
            Ok(_) => {
                tracing::warn!("the chain's cluster registration does not verify");
                None
            }
            Err(e) => {
                tracing::debug!(error = %e, "no cluster registration from the chain");
                None
            }
        }
    }

    /// The newest registration of this cluster known to the chain, the members or this node.
    pub async fn latest_registration(&self) -> (Option<SignedRegistration>, bool) {
        let keys = self.keys();
        let ours =
            |r: &SignedRegistration| r.verify() && Some(&r.registration.keys) == keys.as_ref();
        if let Some(r) = self.chain_registration().await.filter(ours) {
            return (Some(r), true);
        }
        let mut best = self.store.registration().ok().flatten().filter(ours);
        for url in self.members() {
            let info = get_bytes(&self.http, &format!("{url}{}", routes::CLUSTER), MAX_ANSWER)
                .await
                .and_then(|b| decode_answer::<ClusterInfo>(&b, MAX_ANSWER));
            if let Ok(ClusterInfo {
                registration: Some(r),
                ..
            }) = info
                && ours(&r)
                && best
                    .as_ref()
                    .is_none_or(|b| b.registration.epoch < r.registration.epoch)
            {
                best = Some(r);
            }
        }
        (best, false)
    }

    /// The next registration: the previous one's members (this node's entry replaced) plus
    /// this node, one epoch on; epoch 0 with this node alone when there is none.
    pub fn next_registration(
        keys: &ClusterKeys,
        previous: Option<&SignedRegistration>,
        me: ClusterMember,
    ) -> Result<ClusterRegistration, ApiError> {
        let Some(prev) = previous else {
            return Ok(ClusterRegistration {
                keys: keys.clone(),
                epoch: 0,
                members: vec![me],
            });
        };
        let mut members: Vec<ClusterMember> = prev
            .registration
            .members
            .iter()
            .filter(|m| m.card.node_key != me.card.node_key)
            .cloned()
            .collect();
        members.push(me);
        if members.len() > MAX_CLUSTER_MEMBERS {
            return Err(ApiError::new(
                ErrorCode::InvalidTx,
                format!("a registration lists at most {MAX_CLUSTER_MEMBERS} members"),
            ));
        }
        Ok(ClusterRegistration {
            keys: keys.clone(),
            epoch: prev.registration.epoch.checked_add(1).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidTx, "registration epoch overflows")
            })?,
            members,
        })
    }

    /// One registration attempt. `Ok(None)`: the chain already lists this node.
    async fn register_once(self: &Arc<Self>) -> Result<Option<SignedRegistration>, ApiError> {
        let keys = self
            .keys()
            .ok_or_else(|| ApiError::new(ErrorCode::ClusterNotFormed, "no cluster keys"))?;
        let me = self.me()?;
        let (previous, on_chain) = self.latest_registration().await;
        if on_chain && let Some(p) = &previous {
            let _ = self.store.put_registration(p);
            if p.registration
                .members
                .iter()
                .any(|m| m.card.node_key == me.card.node_key)
            {
                return Ok(None);
            }
        }
        if previous.is_none() && self.settings.bootstrap.is_some() {
            // A joiner extends the cluster's registration; it never registers a genesis.
            return Err(ApiError::new(
                ErrorCode::ClusterNotRegistered,
                "the cluster's first registration is not known yet",
            ));
        }
        let registration = Self::next_registration(&keys, previous.as_ref(), me)?;
        let node = self.clone();
        let signed = arcanum_http::blocking(move || {
            match node.call(&ClusterRequest::SignRegistration {
                registration,
                now: now_unix(),
            })? {
                ClusterResponse::Registration(r) => Ok(r),
                other => Err(unexpected("SignRegistration", &other)),
            }
        })
        .await?;
        let tx = self.signer.sign(TxAction::RegisterCluster {
            registration: signed.clone(),
        });
        let outcome = Client::new(self.settings.management_url.clone())
            .execute(&tx, true)
            .await
            .map_err(|e| match e {
                arcanum_sdk::SdkError::Api(e) => e,
                other => ApiError::new(other.code(), other.to_string()),
            })?;
        if outcome.status == "VALID" {
            Ok(Some(signed))
        } else {
            let code = ErrorCode::parse(&outcome.status).unwrap_or(ErrorCode::Internal);
            Err(ApiError::new(
                code,
                format!(
                    "registration transaction {} invalid: {}",
                    outcome.tx_id, outcome.status
                ),
            ))
        }
    }

    /// Submits this node's registration, retrying while another registration raced it
    /// (`MVCC_READ_CONFLICT`, an epoch that no longer follows) or the chain is unreachable.
    pub async fn register(self: Arc<Self>) -> Result<(), ApiError> {
        let mut pause = Duration::from_millis(200);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.register_once().await {
                Ok(Some(r)) => {
                    let _ = self.store.put_registration(&r);
                    tracing::info!(
                        epoch = r.registration.epoch,
                        members = r.registration.members.len(),
                        "cluster registered on chain"
                    );
                    return Ok(());
                }
                Ok(None) => {
                    tracing::info!("the chain's cluster registration already lists this node");
                    return Ok(());
                }
                Err(e)
                    if attempt < REGISTRATION_ATTEMPTS
                        && matches!(
                            e.code,
                            ErrorCode::MvccReadConflict
                                | ErrorCode::ClusterNotRegistered
                                | ErrorCode::Busy
                                | ErrorCode::Timeout
                                | ErrorCode::EndorserUnavailable
                        ) =>
                {
                    tracing::info!(error = %e, "registration raced or the chain is unreachable; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::error!(error = %e, "cluster registration failed");
                    return Err(e);
                }
            }
        }
    }

    // ---- deployments and invocations ----

    /// What `GET /v1/cluster` shows.
    pub fn info(&self) -> Result<ClusterInfo, ApiError> {
        Ok(ClusterInfo {
            node: self.me()?,
            keys: self.keys(),
            registration: self.store.registration().map_err(store_error)?,
        })
    }

    /// Opens and checks an encrypted deployment in the enclave; stores its encrypted code.
    pub fn deploy(&self, request: SealedRequest) -> Result<(SignedDeployment, Vec<u8>), ApiError> {
        match self.call(&ClusterRequest::Deploy { request })? {
            ClusterResponse::Deployed { deployment, code } => {
                self.store
                    .put_code(&deployment, &code)
                    .map_err(store_error)?;
                Ok((deployment, code))
            }
            other => Err(unexpected("Deploy", &other)),
        }
    }

    /// Installs code another member deployed (the enclave checks it first).
    pub fn install(&self, deployment: SignedDeployment, code: Vec<u8>) -> Result<(), ApiError> {
        match self.call(&ClusterRequest::InstallCode {
            deployment: deployment.clone(),
            code: code.clone(),
        })? {
            ClusterResponse::Ok => self.store.put_code(&deployment, &code).map_err(store_error),
            other => Err(unexpected("InstallCode", &other)),
        }
    }

    /// Signs the next key version of a contract and stores it with the code.
    pub fn rotate(&self, contract_id: Hash) -> Result<(SignedDeployment, Vec<u8>), ApiError> {
        let (_, code) = self
            .store
            .code(&contract_id)
            .map_err(store_error)?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::OffchainContractUnknown,
                    format!("no off-chain contract {contract_id}"),
                )
            })?;
        match self.call(&ClusterRequest::RotateContractKey { contract_id })? {
            ClusterResponse::Deployment(deployment) => {
                self.store
                    .put_code(&deployment, &code)
                    .map_err(store_error)?;
                Ok((deployment, code))
            }
            other => Err(unexpected("RotateContractKey", &other)),
        }
    }

    /// Sends the code to every other member. A member that refuses fails the call; one that
    /// cannot be reached is logged and skipped (it can be sent the code again later).
    pub async fn replicate(
        &self,
        deployment: &SignedDeployment,
        code: &[u8],
    ) -> Result<(), ApiError> {
        let body = encode(&(deployment, code));
        let sends = self.members().into_iter().map(|url| {
            let body = body.clone();
            async move {
                let target = format!("{url}{}", routes::INSTALL);
                (url, post_bytes(&self.http, &target, body, 1024).await)
            }
        });
        for (url, result) in futures::future::join_all(sends).await {
            match result {
                Ok(_) => {}
                Err(RemoteError::Api(e)) => {
                    return Err(ApiError::new(
                        e.code,
                        format!("member {url} refused the code: {}", e.message),
                    ));
                }
                Err(e) => {
                    tracing::warn!(member = %url, error = %e, "could not replicate the code")
                }
            }
        }
        Ok(())
    }

    /// Runs an encrypted invocation; its state writes are stored before the reply is returned.
    pub fn invoke(&self, request: SealedRequest) -> Result<Vec<u8>, ApiError> {
        match self.call(&ClusterRequest::Invoke { request })? {
            ClusterResponse::Invoked { reply, writes } => {
                self.store.put_states(&writes).map_err(store_error)?;
                Ok(reply)
            }
            other => Err(unexpected("Invoke", &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arcanum_crypto::hpke::HpkePrivateKey;
    use arcanum_crypto::{Algorithm, SigningKey};
    use arcanum_types::offchain::NodeCard;

    fn member(seed: u8) -> ClusterMember {
        let key = SigningKey::generate(Algorithm::Ed25519, &mut rand::rngs::OsRng).expect("key");
        let hpke = HpkePrivateKey::derive(&[seed; 32]).public_key();
        let card = NodeCard {
            node_key: key.public_key(),
            hpke_key: hpke,
            trust: Hash([seed; 32]),
        };
        ClusterMember {
            card_signature: key.sign(arcanum_crypto::domain::NODE_CARD, &encode(&card)),
            card,
            report: vec![seed],
        }
    }

    #[test]
    fn registrations_grow_by_one_epoch_and_replace_a_rejoining_member() {
        let signing = SigningKey::generate(Algorithm::Ed25519, &mut rand::rngs::OsRng).expect("k");
        let keys = ClusterKeys {
            signing_key: signing.public_key(),
            hpke_key: HpkePrivateKey::derive(&[9; 32]).public_key(),
        };
        let (a, b) = (member(1), member(2));
        let first = TeeNode::next_registration(&keys, None, a.clone()).expect("genesis");
        assert_eq!((first.epoch, first.members.clone()), (0, vec![a.clone()]));
        let signed = SignedRegistration {
            signature: signing.sign(
                arcanum_crypto::domain::CLUSTER_REGISTRATION,
                &encode(&first),
            ),
            registration: first,
        };
        let second = TeeNode::next_registration(&keys, Some(&signed), b.clone()).expect("join");
        assert_eq!(second.epoch, 1);
        assert_eq!(second.members, vec![a.clone(), b]);
        // A member registering again (new report) replaces its old entry.
        let mut a2 = a.clone();
        a2.report = vec![42];
        let again = TeeNode::next_registration(&keys, Some(&signed), a2.clone()).expect("again");
        assert_eq!(again.members, vec![a2]);
    }
}

//! The Rust client SDK for Arcanum: build and sign transactions as a consortium client, submit
//! them to the management device, and query any node. The `arcanum` CLI is built on it.
//!
//! Key types: [`Signer`] (a client identity that signs transactions), [`Client`] (one node's HTTP
//! API), [`SdkError`]; off-chain cluster clients in [`offchain`] and verifiable receipts in
//! [`receipt`]. [`Client::verified_state_proof`] reads a contract key with its state proof and
//! checks it against the management device's key.
//!
//! Invariants: transactions are signed over their canonical borsh encoding, never over JSON; every
//! error the server reports keeps its stable [`arcanum_types::ErrorCode`].

mod chain_offchain;
pub mod offchain;
pub mod receipt;

pub use arcanum_types::{ProofError, StateBundleError, StateProofBundle, TxProof};

use std::time::Duration;

use arcanum_api::{
    BlockJson, CommitEvent, ErrorBody, HeightInfo, QueryResult, StateEntry, StateRootInfo,
    TxOutcome, routes,
};
use arcanum_crypto::{SigningKey, domain};
use arcanum_types::{
    ApiError, Block, EndorsedTx, ErrorCode, IdentityId, SignedTx, TxAction, TxPayload, decode,
    encode, limits,
};
use futures::{Stream, StreamExt};

pub use arcanum_msp::ClientIdentity;

/// What can go wrong talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The node answered with a stable error code.
    #[error("{0}")]
    Api(ApiError),
    /// The node could not be reached or the connection failed.
    #[error("transport: {0}")]
    Transport(String),
    /// The node's answer was not what the API promises.
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

impl SdkError {
    /// The stable code: the server's, or `TIMEOUT`/`INTERNAL` for transport and protocol failures.
    pub fn code(&self) -> ErrorCode {
        match self {
            SdkError::Api(e) => e.code,
            SdkError::Transport(_) => ErrorCode::Timeout,
            SdkError::Protocol(_) => ErrorCode::Internal,
        }
    }
}

/// A client identity that signs transactions for one channel.
pub struct Signer {
    pub id: IdentityId,
    pub name: String,
    pub channel: String,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish()
    }
}

impl Signer {
    pub fn new(identity: ClientIdentity, channel: impl Into<String>) -> Signer {
        Signer {
            id: identity.id,
            name: identity.name,
            channel: channel.into(),
            key: identity.key,
        }
    }

    /// Loads client `name` of the devnet in `dir`.
    pub fn from_devnet(dir: &std::path::Path, name: &str) -> Result<Signer, SdkError> {
        let layout =
            arcanum_msp::DevnetLayout::load(dir).map_err(|e| SdkError::Protocol(e.to_string()))?;
        let identity = arcanum_msp::load_client_key(dir, name)
            .map_err(|e| SdkError::Protocol(e.to_string()))?;
        Ok(Signer::new(identity, layout.channel))
    }

    /// Signs `action` with a fresh random nonce.
    pub fn sign(&self, action: TxAction) -> SignedTx {
        self.sign_with_nonce(action, rand::random())
    }

    pub fn sign_with_nonce(&self, action: TxAction, nonce: u64) -> SignedTx {
        let payload = TxPayload {
            channel: self.channel.clone(),
            creator: self.id,
            nonce,
            action,
        };
        let signature = self.key.sign(domain::TX_SIGNATURE, &payload.id().0);
        SignedTx { payload, signature }
    }

    /// An invocation with string arguments.
    pub fn invoke(&self, contract: &str, function: &str, args: &[&str]) -> SignedTx {
        self.sign(TxAction::Invoke {
            contract: contract.into(),
            function: function.into(),
            args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        })
    }
}

/// One node's HTTP API.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    /// Emulated link to the node (benchmarks): every request is a round trip over it.
    link: Option<std::sync::Arc<arcanum_api::link::LinkDelay>>,
}

impl Client {
    pub fn new(base_url: impl Into<String>) -> Client {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build()
            .unwrap_or_default();
        Client {
            http,
            base: base_url.into().trim_end_matches('/').to_owned(),
            link: None,
        }
    }

    /// The same node reached over an emulated cross-domain link.
    pub fn with_link(mut self, link: std::sync::Arc<arcanum_api::link::LinkDelay>) -> Client {
        self.link = Some(link);
        self
    }

    async fn over_link<T>(&self, request: impl std::future::Future<Output = T>) -> T {
        match &self.link {
            Some(link) => link.round_trip(request).await,
            None => request.await,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn check(resp: reqwest::Response) -> Result<reqwest::Response, SdkError> {
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| SdkError::Transport(e.to_string()))?;
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => Err(SdkError::Api(body.into_api_error())),
            Err(_) => Err(SdkError::Protocol(format!(
                "status {status} without an error body"
            ))),
        }
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, SdkError> {
        let request = self.http.get(self.url(path)).send();
        let resp = self
            .over_link(request)
            .await
            .map_err(|e| SdkError::Transport(e.to_string()))?;
        Self::check(resp).await
    }

    async fn post(&self, path: &str, body: Vec<u8>) -> Result<reqwest::Response, SdkError> {
        let request = self
            .http
            .post(self.url(path))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send();
        let resp = self
            .over_link(request)
            .await
            .map_err(|e| SdkError::Transport(e.to_string()))?;
        Self::check(resp).await
    }

    /// Asks a peer (Fabric flow) or an endorsement device to simulate and endorse `tx` for `peers`,
    /// once its ledger has reached `min_height`. Sent as a batch of one item; the item's error
    /// is an [`SdkError::Api`], as a refused request's is.
    pub async fn endorse_at(
        &self,
        tx: &SignedTx,
        peers: Vec<IdentityId>,
        min_height: u64,
    ) -> Result<arcanum_api::EndorseResponse, SdkError> {
        let batch = arcanum_api::EndorseBatch::single(tx.clone(), peers, min_height);
        let resp = self.post(routes::ENDORSE, encode(&batch)).await?;
        let outcomes: Vec<arcanum_api::EndorseOutcome> =
            Self::borsh(resp, arcanum_api::endorse_answer_limit(1)).await?;
        match <[arcanum_api::EndorseOutcome; 1]>::try_from(outcomes) {
            Ok([outcome]) => outcome.into_result().map_err(SdkError::Api),
            Err(o) => Err(SdkError::Protocol(format!(
                "{} outcomes for a batch of one",
                o.len()
            ))),
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> Result<T, SdkError> {
        resp.json()
            .await
            .map_err(|e| SdkError::Protocol(e.to_string()))
    }

    async fn borsh<T: borsh::BorshDeserialize>(
        resp: reqwest::Response,
        max: usize,
    ) -> Result<T, SdkError> {
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| SdkError::Transport(e.to_string()))?;
        decode(&bytes, max).map_err(|e| SdkError::Protocol(e.to_string()))
    }

    /// Endorse and order (management device). With `wait`, answers once the block is committed.
    pub async fn execute(&self, tx: &SignedTx, wait: bool) -> Result<TxOutcome, SdkError> {
        let resp = self
            .post(&format!("{}?wait={wait}", routes::TRANSACTIONS), encode(tx))
            .await?;
        Self::json(resp).await
    }

    /// Collect endorsements without ordering (management device).
    pub async fn endorse(&self, tx: &SignedTx) -> Result<EndorsedTx, SdkError> {
        let resp = self.post(routes::ENDORSE_TX, encode(tx)).await?;
        Self::borsh(resp, limits::MAX_ENDORSED_TX_BYTES).await
    }

    /// Order an endorsed transaction (management device).
    pub async fn submit(&self, etx: &EndorsedTx, wait: bool) -> Result<TxOutcome, SdkError> {
        let resp = self
            .post(&format!("{}?wait={wait}", routes::SUBMIT_TX), encode(etx))
            .await?;
        Self::json(resp).await
    }

    /// Evaluate read-only (management device).
    pub async fn query(&self, tx: &SignedTx) -> Result<QueryResult, SdkError> {
        let resp = self.post(routes::QUERY, encode(tx)).await?;
        Self::json(resp).await
    }

    /// Whether the node answers `/healthz`.
    pub async fn healthy(&self) -> bool {
        self.get(routes::HEALTHZ).await.is_ok()
    }

    /// An endorsement device's current attestation report, summarised (`/v1/attestation?format=json`).
    pub async fn attestation_summary(&self) -> Result<serde_json::Value, SdkError> {
        Self::json(
            self.get(&format!("{}?format=json", routes::ATTESTATION))
                .await?,
        )
        .await
    }

    /// Asks an endorsement device's enclave for a new key for hosted peer `peer` (by name); it
    /// signs only after a `RotateKey` transaction naming it commits.
    pub async fn generate_peer_key(
        &self,
        peer: &str,
    ) -> Result<(IdentityId, arcanum_crypto::PublicKey), SdkError> {
        let v: serde_json::Value = Self::json(
            self.post(&format!("{}?peer={peer}", routes::ROTATE_KEY), Vec::new())
                .await?,
        )
        .await?;
        let bad = || SdkError::Protocol("malformed rotate-key answer".into());
        let id = v["peer_id"]
            .as_str()
            .and_then(arcanum_crypto::Hash::from_hex)
            .ok_or_else(bad)?;
        let key_bytes = v["public_key"]
            .as_str()
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(bad)?;
        let key = decode(&key_bytes, 4096).map_err(|_| bad())?;
        Ok((IdentityId(id), key))
    }

    /// An endorsement device's signed attestation report, verified against the attestation
    /// service's key `issuer` at `now`: issuer, signature, validity window and (if given) the keys
    /// it must bind. Expired, foreign and mismatched reports fail with their precise codes.
    pub async fn verified_attestation(
        &self,
        issuer: &arcanum_crypto::PublicKey,
        now: u64,
        expected_keys: Option<&[arcanum_crypto::PublicKey]>,
    ) -> Result<arcanum_attestation::AttestationReport, SdkError> {
        let bytes = self
            .get(routes::ATTESTATION)
            .await?
            .bytes()
            .await
            .map_err(|e| SdkError::Transport(e.to_string()))?;
        let signed: arcanum_attestation::SignedReport =
            decode(&bytes, 1024 * 1024).map_err(|e| SdkError::Protocol(e.to_string()))?;
        arcanum_attestation::verify_report(
            &signed,
            std::slice::from_ref(issuer),
            now,
            expected_keys,
        )
        .cloned()
        .map_err(|e| {
            SdkError::Api(ApiError::new(
                ErrorCode::ReportInvalid,
                format!("{}: {e}", e.code()),
            ))
        })
    }

    /// The attestation service's recent verdicts.
    pub async fn attestation_verdicts(
        &self,
    ) -> Result<Vec<arcanum_api::AttestationVerdict>, SdkError> {
        Self::json(self.get(routes::ATTESTATIONS).await?).await
    }

    pub async fn height(&self) -> Result<HeightInfo, SdkError> {
        Self::json(self.get(routes::HEIGHT).await?).await
    }

    pub async fn state_root(&self) -> Result<StateRootInfo, SdkError> {
        Self::json(self.get(routes::STATE_ROOT).await?).await
    }

    pub async fn block(&self, height: u64) -> Result<Block, SdkError> {
        let resp = self
            .get(&routes::BLOCK_BY_HEIGHT.replace("{height}", &height.to_string()))
            .await?;
        Self::borsh(resp, limits::MAX_BLOCK_BYTES).await
    }

    pub async fn block_json(&self, height: u64) -> Result<BlockJson, SdkError> {
        let path = format!(
            "{}?format=json",
            routes::BLOCK_BY_HEIGHT.replace("{height}", &height.to_string())
        );
        Self::json(self.get(&path).await?).await
    }

    /// A transaction's receipt of commit on this node.
    pub async fn transaction(&self, tx_id: &str) -> Result<TxOutcome, SdkError> {
        Self::json(
            self.get(&routes::TX_BY_ID.replace("{tx_id}", tx_id))
                .await?,
        )
        .await
    }

    /// A contract key's current value (`NOT_FOUND` when absent), unproven; see
    /// [`Client::verified_state_proof`] for a proven one.
    pub async fn state(
        &self,
        contract: &str,
        key: impl AsRef<[u8]>,
    ) -> Result<StateEntry, SdkError> {
        let path = format!(
            "{}?contract={}&key_hex={}",
            routes::STATE,
            contract,
            hex::encode(key.as_ref())
        );
        Self::json(self.get(&path).await?).await
    }

    /// A contract key's value (or absence) with its state proof and the signed header of
    /// `height` (default: the node's tip), decoded but not verified: see
    /// [`Client::verified_state_proof`]. Bytes that do not decode are refused with the code of
    /// the part they were meant to be (`STATE_PROOF_INVALID`, `BLOCK_BAD_SIGNATURE`).
    pub async fn state_proof(
        &self,
        contract: &str,
        key: &[u8],
        height: Option<u64>,
    ) -> Result<StateProofBundle, SdkError> {
        if !arcanum_types::state::valid_name(contract) {
            return Err(SdkError::Api(ApiError::new(
                ErrorCode::BadRequest,
                format!("{contract:?} is not a contract name"),
            )));
        }
        let mut path = format!(
            "{}?contract={contract}&key_hex={}",
            routes::STATE_PROOF,
            hex::encode(key)
        );
        if let Some(h) = height {
            path.push_str(&format!("&height={h}"));
        }
        let json: arcanum_api::StateProofJson = Self::json(self.get(&path).await?).await?;
        let bundle = json.to_bundle().map_err(|e| match e.code {
            ErrorCode::MalformedEncoding => SdkError::Protocol(e.message),
            _ => SdkError::Api(e),
        })?;
        if bundle.contract != contract || bundle.key != key {
            return Err(SdkError::Protocol(
                "the node answered with the proof of another key".into(),
            ));
        }
        if height.is_some_and(|h| h != bundle.height) {
            return Err(SdkError::Protocol(
                "the node answered with the proof of another height".into(),
            ));
        }
        Ok(bundle)
    }

    /// [`Client::state_proof`], verified ([`StateProofBundle::verify`]) against the management
    /// device's key `orderer_key`: the header's signature, its height and root, and the proof of
    /// the value or absence. A bundle that does not verify is an [`SdkError::Api`] with its code
    /// (`BLOCK_BAD_SIGNATURE`, `STATE_HEIGHT_MISMATCH`, `STATE_ROOT_MISMATCH`,
    /// `STATE_PROOF_INVALID`).
    pub async fn verified_state_proof(
        &self,
        contract: &str,
        key: &[u8],
        height: Option<u64>,
        orderer_key: &arcanum_crypto::PublicKey,
    ) -> Result<StateProofBundle, SdkError> {
        let bundle = self.state_proof(contract, key, height).await?;
        bundle
            .verify(orderer_key)
            .map_err(|e| SdkError::Api(e.into()))?;
        Ok(bundle)
    }

    /// Delivers a raw block to a peer.
    pub async fn deliver_block(
        &self,
        bytes: Vec<u8>,
    ) -> Result<arcanum_api::BlockAccepted, SdkError> {
        Self::json(self.post(routes::BLOCKS, bytes).await?).await
    }

    /// Committed-transaction events from block `from` on (peers).
    pub async fn events(
        &self,
        from: u64,
    ) -> Result<impl Stream<Item = Result<CommitEvent, SdkError>> + use<>, SdkError> {
        let resp = self.get(&format!("{}?from={from}", routes::EVENTS)).await?;
        Ok(sse_events(resp.bytes_stream()))
    }
}

/// Parses a server-sent-events byte stream into events (`data:` lines, blank-line separated).
fn sse_events(
    bytes: impl Stream<Item = reqwest::Result<bytes::Bytes>> + Send + 'static,
) -> impl Stream<Item = Result<CommitEvent, SdkError>> {
    /// Bound on one event's size: a hostile server cannot grow the buffer without limit.
    const MAX_EVENT: usize = 1024 * 1024;
    futures::stream::unfold(
        (Box::pin(bytes), Vec::<u8>::new()),
        |(mut bytes, mut buf)| async move {
            loop {
                if let Some(pos) = buf.windows(2).position(|w| w == b"\n\n") {
                    let frame: Vec<u8> = buf.drain(..pos + 2).collect();
                    let data: String = String::from_utf8_lossy(&frame)
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .map(str::trim_start)
                        .collect();
                    if data.is_empty() {
                        continue; // keep-alive comment
                    }
                    let item =
                        serde_json::from_str(&data).map_err(|e| SdkError::Protocol(e.to_string()));
                    return Some((item, (bytes, buf)));
                }
                if buf.len() > MAX_EVENT {
                    return Some((
                        Err(SdkError::Protocol("event too large".into())),
                        (bytes, Vec::new()),
                    ));
                }
                match bytes.next().await {
                    Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                    Some(Err(e)) => {
                        return Some((Err(SdkError::Transport(e.to_string())), (bytes, buf)));
                    }
                    None => return None,
                }
            }
        },
    )
}

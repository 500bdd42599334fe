//! The demo's off-chain chapter (SPEC C1–C6): a cluster of three TEE nodes forms with mutual
//! attestation; a private contract is deployed encrypted; an on-chain contract asks for it
//! through the oracle relay, whose off-chain call reads HTTPS data with TLS ending inside the
//! enclave; the chain accepts the contract-key-signed callback; a receipt of the result verifies
//! offline; a tampered receipt and a forged callback are rejected.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use arcanum_sdk::offchain::{ClientPolicy, OffchainClient, register_deployment};
use arcanum_sdk::receipt::{Receipt, verify_receipt, verify_receipt_json};
use arcanum_sdk::{Client, SdkError, Signer};
use arcanum_types::offchain::{OracleCallback, OracleOrigin, OracleRequest, SignedResult};
use arcanum_types::{ApiError, ErrorCode, TxAction, encode};

use crate::demo::{Story, expect_valid};
use crate::network::{Network, eventually};

/// The path the local HTTPS data source serves.
pub const PRICE_PATH: &str = "/v1/price";
/// What it serves: the price the private contract reads, in cents once parsed.
const PRICE_JSON: &str = r#"{"symbol": "ARC", "price": 123.45}"#;

/// A local HTTPS server standing in for an external data source, with a certificate from a
/// fresh test CA whose root is written to `dir` for the TEE nodes to trust.
pub fn data_source(
    dir: &Path,
) -> anyhow::Result<(arcanum_enclave_tls::test_server::TestServer, PathBuf)> {
    let server = arcanum_enclave_tls::test_server::serve_json(PRICE_PATH, PRICE_JSON)
        .context("starting the local HTTPS data source")?;
    std::fs::create_dir_all(dir)?;
    let root = dir.join("data-source-ca.der");
    std::fs::write(&root, server.ca_der())?;
    Ok((server, root))
}

pub async fn run(
    net: &Network,
    story: &mut Story,
    server_url: &str,
    admin: &Signer,
    alice: &Signer,
) -> anyhow::Result<()> {
    let dir = &net.layout.dir;
    let consortium =
        arcanum_msp::Consortium::load(&net.layout.consortium, arcanum_server::now_unix())?;
    let policy = ClientPolicy::from_consortium(&consortium)?;
    let gateway = Client::new(net.management_url());
    let peer = Client::new(net.url(&net.peers()[0])?);
    let tees: Vec<OffchainClient> = net
        .layout
        .nodes
        .iter()
        .filter(|n| n.role == arcanum_msp::NodeRole::Tee)
        .map(|n| OffchainClient::new(n.url.clone()))
        .collect();
    if tees.len() < 3 {
        bail!("the demo needs three TEE nodes");
    }

    // C1: the three nodes attested each other; the cluster with all three is on chain.
    let registration = eventually(
        "the cluster registration with all three members",
        Duration::from_secs(60),
        || async {
            Ok(peer
                .cluster_registration()
                .await
                .ok()
                .filter(|r| r.registration.members.len() == 3))
        },
    )
    .await?;
    let now = arcanum_server::now_unix();
    let keys = tees[0]
        .verified_keys(&policy, now, Some(&peer))
        .await
        .context("verifying the cluster")?;
    for tee in &tees[1..] {
        let other = tee.verified_keys(&policy, now, Some(&peer)).await?;
        if other != keys {
            bail!("{} holds other cluster keys", tee.base_url());
        }
    }
    story.step(
        "off-chain cluster",
        format!(
            "3 TEE nodes (separate cluster enclaves) attested each other and share cluster key {}; registered on chain at epoch {}, each member's report binding its node key and the cluster key",
            &keys.id().to_hex()[..16],
            registration.registration.epoch
        ),
    );

    // C2/C3: the private contract, encrypted to the cluster key, registered on chain.
    let salt: [u8; 16] = rand::random();
    let deployment = tees[0]
        .deploy(&keys, arcanum_contracts::PRICE_FEED_WASM, salt)
        .await
        .context("deploying the private contract")?;
    let contract_id = deployment.statement.contract_id;
    let out = register_deployment(&gateway, alice, &deployment).await?;
    story.step(
        "deploy private contract",
        format!(
            "price-feed HPKE-encrypted to the cluster, replicated to every member; id {}…, contract key v{} registered in block {}",
            &contract_id.to_hex()[..16],
            deployment.statement.key_version,
            out.block.unwrap_or(0)
        ),
    );
    // Every member derives the same contract key: results from the other two verify under it.
    for (i, tee) in tees.iter().enumerate().skip(1) {
        let (_, result) = tee
            .invoke(&keys, contract_id, "echo", encode(&vec![b"hi".to_vec()]))
            .await?;
        if !result.verify(&deployment.statement.contract_key) {
            bail!("tee{i}'s result does not verify under the registered contract key");
        }
    }
    story.step(
        "one contract key",
        "encrypted invocations on tee1 and tee2 return results signed by the registered contract key",
    );

    // C5: the on-chain contract asks for the off-chain call; the relay answers; the chain
    // verifies the contract-key signature before accepting the callback.
    let tx = admin.sign(TxAction::Deploy {
        contract: "oracle".into(),
        wasm: arcanum_contracts::ORACLE_CALLER_WASM.to_vec(),
        policy: "OR('Org1.peer','Org2.peer')".into(),
    });
    expect_valid(&gateway.execute(&tx, true).await?.status, "deploy oracle")?;
    let url = format!("{server_url}{PRICE_PATH}");
    let input = encode(&vec![url.clone().into_bytes()]);
    let ask = alice.sign(TxAction::Invoke {
        contract: "oracle".into(),
        function: "request".into(),
        args: vec![contract_id.0.to_vec(), b"fetch".to_vec(), input.clone()],
    });
    let asked = gateway.execute(&ask, true).await?;
    expect_valid(&asked.status, "oracle request")?;
    let request = OracleRequest {
        contract_id,
        function: "fetch".into(),
        input,
    };
    let origin = OracleOrigin {
        tx: ask.payload.id(),
        event_index: 0,
    };
    let invocation = request.invocation(origin);
    let accepted: SignedResult = eventually(
        "the oracle callback on chain",
        Duration::from_secs(30),
        || async { Ok(peer.oracle_result(&invocation.hash()).await.ok()) },
    )
    .await?;
    let price = String::from_utf8_lossy(&accepted.result.output).into_owned();
    story.step(
        "oracle callback",
        format!(
            "oracle.request emitted an event (block {}); the relay invoked the cluster, the enclave fetched {url} over TLS ending inside it (body hash {}…), and the chain accepted the callback signed by the contract key: price = {price} cents",
            asked.block.unwrap_or(0),
            accepted
                .result
                .fetches
                .first()
                .map(|f| f.body_hash.to_hex()[..16].to_owned())
                .unwrap_or_default(),
        ),
    );

    // C6: a receipt of the result, verified offline.
    let receipt = Receipt::build(&peer, invocation, accepted.clone()).await?;
    let path = dir.join("oracle-receipt.json");
    std::fs::write(&path, serde_json::to_string_pretty(&receipt.to_json())?)?;
    let verdict = verify_receipt_json(&std::fs::read_to_string(&path)?, &policy);
    if !verdict.valid {
        bail!("the receipt does not verify: {:?}", verdict.error);
    }
    story.step(
        "receipt",
        format!(
            "{} verifies offline: result → contract key v{} → deployment on chain → cluster key → attestation reports → measurement {}…",
            path.display(),
            verdict.key_version.unwrap_or(0),
            verdict
                .measurement
                .as_deref()
                .map(|m| &m[..m.len().min(16)])
                .unwrap_or("?"),
        ),
    );

    // Rejections.
    let mut tampered = receipt.clone();
    if let Some(b) = tampered.result.result.output.first_mut() {
        *b ^= 0x01;
    }
    let verdict = verify_receipt(&tampered, &policy);
    story.expect_code(
        "tampered receipt (one output byte)",
        "RECEIPT_INVALID",
        match verdict.error {
            Some(e) if !verdict.valid => Err(SdkError::Api(ApiError::new(
                ErrorCode::parse(&e.code).unwrap_or(ErrorCode::Internal),
                e.message,
            ))),
            _ => Ok("valid".into()),
        },
    );
    let mut forged_result = accepted.clone();
    forged_result.result.output = b"99999999".to_vec();
    let forged = alice.sign(TxAction::OffchainCallback {
        callback: Box::new(OracleCallback {
            contract: "oracle".into(),
            origin,
            request: request.clone(),
            result: forged_result,
        }),
    });
    let r = gateway.execute(&forged, true).await.map(|o| o.status);
    story.expect_code(
        "forged oracle callback (result altered by the relay)",
        "CALLBACK_SIGNATURE_INVALID",
        r,
    );
    let wrong = tees[1]
        .invoke(
            &keys,
            arcanum_crypto::Hash([7; 32]),
            "echo",
            encode(&Vec::<Vec<u8>>::new()),
        )
        .await
        .map(|_| "answered".to_owned())
        .map_err(|e| {
            SdkError::Api(ApiError::new(
                ErrorCode::parse(e.code()).unwrap_or(ErrorCode::Internal),
                e.to_string(),
            ))
        });
    story.expect_code(
        "off-chain call of an unknown contract",
        "OFFCHAIN_CONTRACT_UNKNOWN",
        wrong,
    );
    Ok(())
}

//! `arcanum state get|verify`: a contract key's value from a peer, optionally with its state
//! proof verified against the consortium's management key before it is printed; and the offline
//! check of such a proof file.
//!
//! `state verify FILE --json` prints `{"valid": bool, "error": null | {"code", "message"}}`.
//! Exit 0: valid; 1: refused (`BLOCK_BAD_SIGNATURE`, `STATE_HEIGHT_MISMATCH`,
//! `STATE_ROOT_MISMATCH`, `STATE_PROOF_INVALID`); 2: unusable input (`USAGE`: no file, no devnet;
//! `MALFORMED_ENCODING`: not JSON, a missing field, bad hex).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use arcanum_api::StateProofJson;
use arcanum_crypto::PublicKey;
use arcanum_msp::{DevnetLayout, NodeRole};
use arcanum_sdk::Client;
use arcanum_types::{ApiError, ErrorCode};
use clap::Subcommand;
use serde_json::json;

use crate::output::{print_json, sdk_error, usage_error};

#[derive(Subcommand)]
pub enum StateCommand {
    /// A contract key's value, read from a peer. With --proof: the value or its absence, its
    /// state proof and the signed block header carrying the root, verified before printing
    /// (the output is a file `state verify` checks offline).
    Get {
        #[arg(long)]
        contract: String,
        /// The key as UTF-8 text.
        #[arg(long, required_unless_present = "key_hex", conflicts_with = "key_hex")]
        key: Option<String>,
        /// The key as hex bytes.
        #[arg(long)]
        key_hex: Option<String>,
        /// Prove the value (or absence) and verify the proof.
        #[arg(long)]
        proof: bool,
        /// The height to prove the state of (default: the node's tip); needs --proof.
        #[arg(long, requires = "proof")]
        height: Option<u64>,
        /// The devnet directory: its first peer is asked, its consortium gives the management
        /// key.
        #[arg(long, default_value = "arcanum-devnet")]
        devnet: PathBuf,
        /// Node URL (default: the devnet's first peer).
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Verify a `state get --proof` file offline against the consortium's management key.
    Verify {
        file: PathBuf,
        /// The devnet whose consortium gives the management key (no network is used).
        #[arg(long, default_value = "arcanum-devnet")]
        devnet: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// The management device's key from the devnet's consortium configuration.
pub fn management_key(devnet: &Path) -> anyhow::Result<PublicKey> {
    let layout = DevnetLayout::load(devnet)
        .map_err(|e| anyhow::anyhow!("no devnet at {}: {e}", devnet.display()))?;
    let consortium = arcanum_msp::Consortium::load(&layout.consortium, arcanum_server::now_unix())?;
    Ok(consortium.management().public_key.clone())
}

/// `--url`, else the devnet's first peer (its management device if it has no peer).
fn peer_client(devnet: &Path, url: Option<&str>) -> anyhow::Result<Client> {
    if let Some(u) = url {
        return Ok(Client::new(u));
    }
    let layout = DevnetLayout::load(devnet)
        .map_err(|e| anyhow::anyhow!("no devnet at {}: {e}", devnet.display()))?;
    let node = layout
        .nodes
        .iter()
        .find(|n| n.role == NodeRole::Peer)
        .or_else(|| layout.nodes.first())
        .ok_or_else(|| anyhow::anyhow!("the devnet has no nodes"))?;
    Ok(Client::new(node.url.clone()))
}

pub async fn run(cmd: StateCommand) -> ExitCode {
    match cmd {
        StateCommand::Get {
            contract,
            key,
            key_hex,
            proof,
            height,
            devnet,
            url,
            json,
        } => {
            let setup = (|| {
                let key = arcanum_api::key_bytes(key.as_deref(), key_hex.as_deref())?;
                let client = peer_client(&devnet, url.as_deref())?;
                let orderer = if proof {
                    Some(management_key(&devnet)?)
                } else {
                    None
                };
                Ok::<_, anyhow::Error>((key, client, orderer))
            })();
            let (key, client, orderer) = match setup {
                Ok(s) => s,
                Err(e) => return usage_error(&e, json),
            };
            let value = match &orderer {
                Some(orderer) => client
                    .verified_state_proof(&contract, &key, height, orderer)
                    .await
                    .map(|b| json!(StateProofJson::from(&b))),
                None => client.state(&contract, &key).await.map(|e| json!(e)),
            };
            match value {
                Ok(v) if json => {
                    println!("{v}");
                    ExitCode::SUCCESS
                }
                Ok(v) => {
                    print_json(&v);
                    ExitCode::SUCCESS
                }
                Err(e) => sdk_error(&e, json),
            }
        }
        StateCommand::Verify { file, devnet, json } => {
            let (verdict, exit) = verify_file(&file, &devnet);
            if json {
                println!("{verdict}");
            } else {
                match &verdict["error"] {
                    serde_json::Value::Null => println!("valid"),
                    e => eprintln!(
                        "invalid [{}]: {}",
                        e["code"].as_str().unwrap_or_default(),
                        e["message"].as_str().unwrap_or_default()
                    ),
                }
            }
            exit
        }
    }
}

/// The verdict on the bundle in `file` and the exit code: 0 valid, 1 refused, 2 unusable.
pub fn verify_file(file: &Path, devnet: &Path) -> (serde_json::Value, ExitCode) {
    let verdict = |e: Option<(&str, String)>| match e {
        None => json!({ "valid": true, "error": null }),
        Some((code, message)) => json!({
            "valid": false,
            "error": { "code": code, "message": message },
        }),
    };
    let api = |e: &ApiError| Some((e.code.as_str(), e.message.clone()));
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            let message = format!("reading {}: {e}", file.display());
            return (verdict(Some(("USAGE", message))), ExitCode::from(2));
        }
    };
    let orderer = match management_key(devnet) {
        Ok(k) => k,
        Err(e) => {
            return (
                verdict(Some(("USAGE", format!("{e:#}")))),
                ExitCode::from(2),
            );
        }
    };
    let bundle = StateProofJson::parse(&bytes).and_then(|j| j.to_bundle());
    match bundle {
        Err(e) if e.code == ErrorCode::MalformedEncoding => (verdict(api(&e)), ExitCode::from(2)),
        Err(e) => (verdict(api(&e)), ExitCode::from(1)),
        Ok(bundle) => match bundle.verify(&orderer) {
            Ok(()) => (verdict(None), ExitCode::SUCCESS),
            Err(e) => (
                verdict(Some((e.code().as_str(), e.to_string()))),
                ExitCode::from(1),
            ),
        },
    }
}

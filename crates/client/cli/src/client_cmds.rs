//! Client verbs: `policy check`, `contract deploy|invoke|query`, `tx get`, `block get`.

use std::path::PathBuf;
use std::process::ExitCode;

use arcanum_sdk::{Client, Signer};
use arcanum_types::TxAction;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::output::{print_error, print_json, sdk_error, usage_error};

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Evaluate a policy against a set of signers, each "MSP.role" naming one distinct identity.
    Check {
        #[arg(long)]
        policy: String,
        /// Comma-separated, e.g. "Org1.peer,Org2.admin".
        #[arg(long, default_value = "")]
        signers: String,
        /// The consortium's organisations (for ANY/ALL/MAJORITY), comma-separated.
        #[arg(long, default_value = "")]
        orgs: String,
        #[arg(long)]
        json: bool,
    },
}

/// Which devnet identity and node a client verb uses.
#[derive(Args, Clone)]
pub struct Target {
    /// The devnet directory (identities and endpoints).
    #[arg(long, default_value = "arcanum-devnet")]
    devnet: PathBuf,
    /// The client identity, e.g. client0.org1 or admin.org1.
    #[arg(long = "as", default_value = "client0.org1")]
    identity: String,
    /// Node URL (default: the devnet's management device).
    #[arg(long)]
    url: Option<String>,
    #[arg(long)]
    json: bool,
}

impl Target {
    fn client(&self) -> anyhow::Result<Client> {
        match &self.url {
            Some(u) => Ok(Client::new(u.clone())),
            None => {
                let layout = arcanum_msp::DevnetLayout::load(&self.devnet)?;
                let mgmt = layout
                    .nodes
                    .first()
                    .ok_or_else(|| anyhow::anyhow!("devnet has no nodes"))?;
                Ok(Client::new(mgmt.url.clone()))
            }
        }
    }

    /// `contract.function(args)` signed as this target's identity.
    fn invocation(
        &self,
        contract: &str,
        function: &str,
        args: &[String],
    ) -> anyhow::Result<arcanum_types::SignedTx> {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        Ok(self.signer()?.invoke(contract, function, &refs))
    }

    fn signer(&self) -> anyhow::Result<Signer> {
        Signer::from_devnet(&self.devnet, &self.identity).map_err(anyhow::Error::from)
    }
}

#[derive(Subcommand)]
pub enum ContractCommand {
    /// Deploy a contract (an admin transaction carrying its endorsement policy).
    Deploy {
        #[arg(long)]
        name: String,
        /// WebAssembly file; or use --builtin.
        #[arg(long)]
        wasm: Option<PathBuf>,
        /// A contract that ships with Arcanum: kv | asset.
        #[arg(long)]
        builtin: Option<String>,
        #[arg(long)]
        policy: String,
        #[command(flatten)]
        target: Target,
    },
    /// Invoke a function (endorse, order, wait for the commit).
    Invoke {
        #[arg(long)]
        contract: String,
        #[arg(long)]
        function: String,
        /// Repeat for each argument.
        #[arg(long = "arg")]
        args: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Evaluate a function read-only.
    Query {
        #[arg(long)]
        contract: String,
        #[arg(long)]
        function: String,
        #[arg(long = "arg")]
        args: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
pub enum PeerCommand {
    /// Rotate a peer's hosted endorsement key (SPEC L7): its endorsement enclave generates a new
    /// key, then an admin of the peer's organisation submits the signed rotation transaction.
    RotateKey {
        /// The peer's name, e.g. peer0.org1.
        #[arg(long)]
        peer: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
pub enum TxCommand {
    /// A transaction's receipt of commit: block, index and validation status.
    Get {
        tx_id: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
pub enum BlockCommand {
    /// A block by height.
    Get {
        height: u64,
        #[command(flatten)]
        target: Target,
    },
}

pub fn policy(cmd: PolicyCommand) -> ExitCode {
    let PolicyCommand::Check {
        policy,
        signers,
        orgs,
        json,
    } = cmd;
    let split = |s: &str| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let signers = split(&signers);
    let orgs = split(&orgs);
    let signer_refs: Vec<&str> = signers.iter().map(String::as_str).collect();
    match arcanum_policy::check(&policy, &signer_refs, &orgs) {
        Ok(satisfied) => {
            if json {
                println!("{}", json!({ "satisfied": satisfied }));
            } else {
                println!(
                    "{}",
                    if satisfied {
                        "satisfied"
                    } else {
                        "not satisfied"
                    }
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_error(e.code(), &e.to_string(), json);
            ExitCode::from(1)
        }
    }
}

pub async fn contract(cmd: ContractCommand) -> ExitCode {
    let (target, result) = match cmd {
        ContractCommand::Deploy {
            name,
            wasm,
            builtin,
            policy,
            target,
        } => {
            let code = match (wasm, builtin.as_deref()) {
                (Some(path), None) => std::fs::read(&path)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display())),
                (None, Some("kv")) => Ok(arcanum_contracts::KV_WASM.to_vec()),
                (None, Some("asset")) => Ok(arcanum_contracts::ASSET_WASM.to_vec()),
                (None, Some(other)) => Err(anyhow::anyhow!(
                    "unknown builtin contract {other:?} (kv | asset)"
                )),
                _ => Err(anyhow::anyhow!("give exactly one of --wasm and --builtin")),
            };
            let r = async {
                let code = code?;
                let signer = target.signer()?;
                let tx = signer.sign(TxAction::Deploy {
                    contract: name,
                    wasm: code,
                    policy,
                });
                Ok::<_, anyhow::Error>(target.client()?.execute(&tx, true).await.map(|o| json!(o)))
            }
            .await;
            (target, r)
        }
        ContractCommand::Invoke {
            contract,
            function,
            args,
            target,
        } => {
            let r = async {
                let tx = target.invocation(&contract, &function, &args)?;
                Ok(target.client()?.execute(&tx, true).await.map(|o| json!(o)))
            }
            .await;
            (target, r)
        }
        ContractCommand::Query {
            contract,
            function,
            args,
            target,
        } => {
            let r = async {
                let tx = target.invocation(&contract, &function, &args)?;
                Ok(target.client()?.query(&tx).await.map(|o| json!(o)))
            }
            .await;
            (target, r)
        }
    };
    report(&target, result)
}

pub async fn peer(cmd: PeerCommand) -> ExitCode {
    let PeerCommand::RotateKey { peer, target } = cmd;
    let r = async {
        let layout = arcanum_msp::DevnetLayout::load(&target.devnet)?;
        let signer = target.signer()?;
        let endorsers = layout
            .nodes
            .iter()
            .filter(|n| n.role == arcanum_msp::NodeRole::Endorser);
        Ok(rotate_key(
            &target.client()?,
            &signer,
            endorsers.map(|n| Client::new(n.url.clone())),
            &peer,
        )
        .await
        .map(|o| json!(o)))
    }
    .await;
    report(&target, r)
}

/// Generates the new key in the first endorsement device that hosts `peer`, submits the admin's
/// rotation transaction, waits for its commit, and then (when the device is attested) for the
/// device's new attestation report binding the new key.
pub async fn rotate_key(
    gateway: &Client,
    admin: &Signer,
    endorsers: impl IntoIterator<Item = Client>,
    peer: &str,
) -> Result<arcanum_api::TxOutcome, arcanum_sdk::SdkError> {
    let mut last = None;
    for endorser in endorsers {
        match endorser.generate_peer_key(peer).await {
            Ok((peer_id, public_key)) => {
                let bound = hex::encode(arcanum_types::encode(&public_key));
                let tx = admin.sign(TxAction::RotateKey {
                    peer: peer_id,
                    public_key,
                });
                let outcome = gateway.execute(&tx, true).await?;
                if outcome.status == "VALID" && endorser.attestation_summary().await.is_ok() {
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                    loop {
                        let summary = endorser.attestation_summary().await?;
                        let keys = summary["bound_keys"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        if keys.iter().any(|k| k.as_str() == Some(bound.as_str())) {
                            break;
                        }
                        if std::time::Instant::now() > deadline {
                            return Err(arcanum_sdk::SdkError::Protocol(
                                "the device was not re-attested with the new key".into(),
                            ));
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                }
                return Ok(outcome);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| arcanum_sdk::SdkError::Protocol("no endorsement devices".into())))
}

pub async fn tx(cmd: TxCommand) -> ExitCode {
    let TxCommand::Get { tx_id, target } = cmd;
    let r = async { Ok(target.client()?.transaction(&tx_id).await.map(|o| json!(o))) }.await;
    report(&target, r)
}

pub async fn block(cmd: BlockCommand) -> ExitCode {
    let BlockCommand::Get { height, target } = cmd;
    let r = async { Ok(target.client()?.block_json(height).await.map(|o| json!(o))) }.await;
    report(&target, r)
}

/// Prints an SDK call's outcome; a setup failure (files, flags) is a usage error.
fn report(
    target: &Target,
    r: anyhow::Result<Result<serde_json::Value, arcanum_sdk::SdkError>>,
) -> ExitCode {
    match r {
        Err(e) => usage_error(&e, target.json),
        Ok(Err(e)) => sdk_error(&e, target.json),
        Ok(Ok(value)) => {
            if target.json {
                println!("{value}");
            } else {
                print_json(&value);
            }
            ExitCode::SUCCESS
        }
    }
}

//! `arcanum offchain deploy|invoke|rotate`: the client side of the off-chain cluster (SPEC
//! C2–C4). Every verb first fetches the TEE node's view of the cluster and verifies it against
//! the client policy (the devnet consortium's, or `--policy FILE`) before encrypting anything.
//! Exit 0: done; 1: rejected (the error carries a stable code); 2: usage or environment error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use arcanum_crypto::Hash;
use arcanum_sdk::offchain::{ClientPolicy, OffchainClient, OffchainError, register_deployment};
use arcanum_sdk::receipt::{Receipt, verify_receipt};
use arcanum_sdk::{Client, Signer};
use arcanum_server::now_unix;
use arcanum_types::offchain::SignedDeployment;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::output::{print_error, print_json, usage_error};

/// Which devnet, identity, chain node and TEE node an off-chain verb uses.
#[derive(Args, Clone)]
pub struct OffchainTarget {
    /// The devnet directory (identities, endpoints, consortium).
    #[arg(long, default_value = "arcanum-devnet")]
    pub devnet: PathBuf,
    /// The client identity that registers deployments on chain.
    #[arg(long = "as", default_value = "client0.org1")]
    pub identity: String,
    /// Chain node URL (default: the devnet's management device).
    #[arg(long)]
    pub url: Option<String>,
    /// TEE node URL (default: the devnet's first TEE node).
    #[arg(long)]
    pub tee: Option<String>,
    /// Client policy (TOML or JSON; default: derived from the devnet's consortium).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

impl OffchainTarget {
    fn layout(&self) -> anyhow::Result<arcanum_msp::DevnetLayout> {
        arcanum_msp::DevnetLayout::load(&self.devnet).map_err(anyhow::Error::from)
    }

    fn chain(&self) -> anyhow::Result<Client> {
        match &self.url {
            Some(u) => Ok(Client::new(u.clone())),
            None => {
                let layout = self.layout()?;
                let mgmt = layout
                    .nodes
                    .first()
                    .ok_or_else(|| anyhow::anyhow!("devnet has no nodes"))?;
                Ok(Client::new(mgmt.url.clone()))
            }
        }
    }

    fn tee(&self) -> anyhow::Result<OffchainClient> {
        match &self.tee {
            Some(u) => Ok(OffchainClient::new(u.clone())),
            None => {
                let layout = self.layout()?;
                let node = layout
                    .nodes
                    .iter()
                    .find(|n| n.role == arcanum_msp::NodeRole::Tee)
                    .ok_or_else(|| anyhow::anyhow!("the devnet has no TEE node; give --tee URL"))?;
                Ok(OffchainClient::new(node.url.clone()))
            }
        }
    }

    fn signer(&self) -> anyhow::Result<Signer> {
        Signer::from_devnet(&self.devnet, &self.identity).map_err(anyhow::Error::from)
    }

    fn policy(&self) -> anyhow::Result<ClientPolicy> {
        load_policy(self.policy.as_deref(), &self.devnet)
    }
}

/// `--policy FILE` if given, else the policy of the devnet consortium in `devnet`.
pub fn load_policy(path: Option<&Path>, devnet: &Path) -> anyhow::Result<ClientPolicy> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?;
            ClientPolicy::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
        }
        None => {
            let layout = arcanum_msp::DevnetLayout::load(devnet).map_err(|e| {
                anyhow::anyhow!("no --policy and no devnet at {}: {e}", devnet.display())
            })?;
            let consortium = arcanum_msp::Consortium::load(&layout.consortium, now_unix())?;
            ClientPolicy::from_consortium(&consortium)
                .map_err(|e| anyhow::anyhow!("{}: {e}", layout.consortium.display()))
        }
    }
}

#[derive(Subcommand)]
pub enum OffchainCommand {
    /// Deploy a contract encrypted to the verified cluster and register it on chain.
    Deploy {
        #[arg(long)]
        wasm: PathBuf,
        /// 16 bytes of hex; with the code hash it makes the contract id (default: random).
        #[arg(long)]
        salt: Option<String>,
        #[command(flatten)]
        target: OffchainTarget,
    },
    /// Invoke a deployed off-chain contract with an encrypted request.
    Invoke {
        /// Contract id (hex).
        #[arg(long)]
        contract: String,
        #[arg(long)]
        function: String,
        /// Repeat for each argument (UTF-8), as for on-chain contracts.
        #[arg(long = "arg", conflicts_with = "args_hex")]
        args: Vec<String>,
        /// Repeat for each argument given as hex bytes.
        #[arg(long = "arg-hex")]
        args_hex: Vec<String>,
        /// Write the result's receipt (SPEC C6) to this file.
        #[arg(long)]
        receipt: Option<PathBuf>,
        #[command(flatten)]
        target: OffchainTarget,
    },
    /// Rotate a contract's key (the next key version) and register it on chain.
    Rotate {
        /// Contract id (hex).
        #[arg(long)]
        contract: String,
        #[command(flatten)]
        target: OffchainTarget,
    },
}

/// What a verb needs before talking to anyone, or why it cannot start (exit 2).
fn parse_hash(text: &str) -> anyhow::Result<Hash> {
    Hash::from_hex(text.trim().trim_start_matches("0x"))
        .ok_or_else(|| anyhow::anyhow!("{text:?} is not a 32-byte hex id"))
}

fn parse_salt(text: Option<&str>) -> anyhow::Result<[u8; 16]> {
    match text {
        None => Ok(rand::random()),
        Some(t) => {
            let bytes = hex::decode(t.trim().trim_start_matches("0x"))
                .map_err(|_| anyhow::anyhow!("--salt {t:?} is not hex"))?;
            <[u8; 16]>::try_from(bytes.as_slice())
                .map_err(|_| anyhow::anyhow!("--salt must be 16 bytes, not {}", bytes.len()))
        }
    }
}

fn deployment_json(d: &SignedDeployment, outcome: &arcanum_api::TxOutcome) -> serde_json::Value {
    let s = &d.statement;
    json!({
        "contract_id": s.contract_id.to_hex(),
        "code_hash": s.code_hash.to_hex(),
        "contract_key": arcanum_sdk::offchain::public_key_to_hex(&s.contract_key),
        "key_version": s.key_version,
        "cluster_key": arcanum_sdk::offchain::public_key_to_hex(&s.cluster_key),
        "tx_id": outcome.tx_id,
        "block": outcome.block,
    })
}

pub async fn run(cmd: OffchainCommand) -> ExitCode {
    match cmd {
        OffchainCommand::Deploy { wasm, salt, target } => {
            let setup = (|| {
                let code = std::fs::read(&wasm)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", wasm.display()))?;
                let salt = parse_salt(salt.as_deref())?;
                Ok::<_, anyhow::Error>((
                    code,
                    salt,
                    target.policy()?,
                    target.tee()?,
                    target.chain()?,
                    target.signer()?,
                ))
            })();
            let (code, salt, policy, tee, chain, signer) = match setup {
                Ok(s) => s,
                Err(e) => return usage_error(&e, target.json),
            };
            let r = async {
                let keys = tee.verified_keys(&policy, now_unix(), Some(&chain)).await?;
                let deployment = tee.deploy(&keys, &code, salt).await?;
                let outcome = register_deployment(&chain, &signer, &deployment).await?;
                Ok::<_, OffchainError>(deployment_json(&deployment, &outcome))
            }
            .await;
            report(r, target.json)
        }
        OffchainCommand::Rotate { contract, target } => {
            let setup = (|| {
                let id = parse_hash(&contract)?;
                Ok::<_, anyhow::Error>((
                    id,
                    target.policy()?,
                    target.tee()?,
                    target.chain()?,
                    target.signer()?,
                ))
            })();
            let (id, policy, tee, chain, signer) = match setup {
                Ok(s) => s,
                Err(e) => return usage_error(&e, target.json),
            };
            let r = async {
                let keys = tee.verified_keys(&policy, now_unix(), Some(&chain)).await?;
                let deployment = tee.rotate(&keys, &id).await?;
                let outcome = register_deployment(&chain, &signer, &deployment).await?;
                Ok::<_, OffchainError>(deployment_json(&deployment, &outcome))
            }
            .await;
            report(r, target.json)
        }
        OffchainCommand::Invoke {
            contract,
            function,
            args,
            args_hex,
            receipt,
            target,
        } => {
            let setup = (|| {
                let id = parse_hash(&contract)?;
                let mut list: Vec<Vec<u8>> = args.into_iter().map(String::into_bytes).collect();
                for h in args_hex {
                    list.push(
                        hex::decode(h.trim().trim_start_matches("0x"))
                            .map_err(|_| anyhow::anyhow!("--arg-hex {h:?} is not hex"))?,
                    );
                }
                // The enclave reads an invocation's input as the borsh list of its arguments.
                let input = arcanum_types::encode(&list);
                let policy = target.policy()?;
                Ok::<_, anyhow::Error>((id, input, policy, target.tee()?, target.chain()?))
            })();
            let (id, input, policy, tee, chain) = match setup {
                Ok(s) => s,
                Err(e) => return usage_error(&e, target.json),
            };
            let r = async {
                let keys = tee.verified_keys(&policy, now_unix(), Some(&chain)).await?;
                let (request, result) = tee.invoke(&keys, id, &function, input).await?;
                let r = &result.result;
                let out = json!({
                    "contract_id": r.contract_id.to_hex(),
                    "key_version": r.key_version,
                    "request": r.request.to_hex(),
                    "output": String::from_utf8_lossy(&r.output),
                    "output_hex": hex::encode(&r.output),
                    "fetches": r.fetches.iter().map(|f| json!({
                        "url": f.url,
                        "body_hash": f.body_hash.to_hex(),
                    })).collect::<Vec<_>>(),
                });
                let receipt = match &receipt {
                    Some(_) => Some(Receipt::build(&chain, request, result).await?),
                    None => None,
                };
                Ok::<_, OffchainError>((out, receipt))
            }
            .await;
            let (mut out, built) = match r {
                Ok(x) => x,
                Err(e) => return report(Err(e), target.json),
            };
            if let (Some(path), Some(built)) = (&receipt, built) {
                let verdict = verify_receipt(&built, &policy);
                let written = serde_json::to_string_pretty(&built.to_json())
                    .map_err(anyhow::Error::from)
                    .and_then(|text| {
                        std::fs::write(path, text)
                            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))
                    });
                if let Err(e) = written {
                    return usage_error(&e, target.json);
                }
                out["receipt"] = json!({ "file": path.display().to_string(), "verdict": verdict });
            }
            report(Ok(out), target.json)
        }
    }
}

fn report(r: Result<serde_json::Value, OffchainError>, json: bool) -> ExitCode {
    match r {
        Ok(value) => {
            if json {
                println!("{value}");
            } else {
                print_json(&value);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let message = match e.attestation_code() {
                Some(code) => format!("{code}: {e}"),
                None => e.to_string(),
            };
            print_error(e.code(), &message, json);
            ExitCode::from(1)
        }
    }
}

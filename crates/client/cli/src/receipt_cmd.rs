//! `arcanum receipt verify FILE [--policy FILE] --json`: check an off-chain result's receipt
//! offline (SPEC C6) and print the verdict `{"valid", "contract_id", "key_version",
//! "measurement", "tcb_status", "link", "error"}`. No network: trust comes from the policy (the
//! devnet consortium's when `--policy` is absent), time from the receipt's registration block.
//! Exit 0: valid; 1: invalid (the verdict names the first broken link and its code); 2: usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use arcanum_sdk::receipt::{ReceiptVerdict, verify_receipt_json};
use clap::Subcommand;

use crate::output::{print_json, usage_error};

#[derive(Subcommand)]
pub enum ReceiptCommand {
    /// Verify a receipt file offline: result → contract key → registered deployment → cluster
    /// key → attestation reports → measurement and TCB.
    Verify {
        file: PathBuf,
        /// Client policy (TOML or JSON): attestation issuers, orderer key, attestation policy.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The devnet whose consortium gives the policy when --policy is absent.
        #[arg(long, default_value = "arcanum-devnet")]
        devnet: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// The verdict for the receipt in `file` (exit 2 errors: unreadable file or policy).
pub fn verify_file(
    file: &Path,
    policy: Option<&Path>,
    devnet: &Path,
) -> anyhow::Result<ReceiptVerdict> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    let policy = crate::offchain_cmds::load_policy(policy, devnet)?;
    Ok(verify_receipt_json(&text, &policy))
}

pub fn run(cmd: ReceiptCommand) -> ExitCode {
    let ReceiptCommand::Verify {
        file,
        policy,
        devnet,
        json,
    } = cmd;
    let verdict = match verify_file(&file, policy.as_deref(), &devnet) {
        Ok(v) => v,
        Err(e) => return usage_error(&e, json),
    };
    if json {
        match serde_json::to_string(&verdict) {
            Ok(s) => println!("{s}"),
            Err(e) => return usage_error(&e.into(), json),
        }
    } else {
        print_json(&verdict);
    }
    if verdict.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

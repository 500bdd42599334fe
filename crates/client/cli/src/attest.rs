//! `arcanum attest verify`: judge TEE evidence offline (SPEC A1) and print the verdict.
//! Exit 0: valid; 1: rejected (the error carries a stable code); 2: usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use arcanum_attestation::{AttestationPolicy, VerifyInputs, verify_evidence};
use clap::Subcommand;
use serde_json::json;

#[derive(Subcommand)]
pub enum AttestCommand {
    /// Verify evidence (SGX/TDX DCAP quote, SEV-SNP report or simulation evidence; raw or hex).
    Verify {
        #[arg(long)]
        evidence: PathBuf,
        /// DCAP collateral (dcap-qvl QuoteCollateralV3 JSON).
        #[arg(long)]
        collateral: Option<PathBuf>,
        /// SEV-SNP VCEK certificate (DER or PEM).
        #[arg(long)]
        vcek: Option<PathBuf>,
        /// SEV-SNP ASK + ARK chain (PEM).
        #[arg(long)]
        chain: Option<PathBuf>,
        /// Trust anchor: Intel SGX root (DCAP), ARK (SEV-SNP) or vendor key (simulation).
        #[arg(long)]
        root: Option<PathBuf>,
        /// Verification time, Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
        /// Attestation policy (JSON or TOML) to check the verdict against.
        #[arg(long)]
        policy: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn read(path: &Option<PathBuf>) -> anyhow::Result<Option<Vec<u8>>> {
    path.as_ref()
        .map(|p| std::fs::read(p).map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display())))
        .transpose()
}

fn load_policy(path: &PathBuf) -> anyhow::Result<AttestationPolicy> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .or_else(|_| toml::from_str(&text))
        .map_err(|e| {
            anyhow::anyhow!(
                "{} is neither a JSON nor a TOML attestation policy: {e}",
                path.display()
            )
        })
}

pub fn run(cmd: AttestCommand) -> ExitCode {
    let AttestCommand::Verify {
        evidence,
        collateral,
        vcek,
        chain,
        root,
        now,
        policy,
        json,
    } = cmd;
    let setup = (|| {
        let evidence = std::fs::read(&evidence)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", evidence.display()))?;
        let inputs = VerifyInputs {
            collateral: read(&collateral)?,
            vcek: read(&vcek)?,
            chain: read(&chain)?,
            root: read(&root)?,
        };
        let policy = policy.as_ref().map(load_policy).transpose()?;
        Ok::<_, anyhow::Error>((evidence, inputs, policy))
    })();
    let (evidence, inputs, policy) = match setup {
        Ok(s) => s,
        Err(e) => return crate::output::usage_error(&e, json),
    };
    let now = now.unwrap_or_else(arcanum_server::now_unix);
    let verdict = verify_evidence(&evidence, &inputs, now).and_then(|v| match &policy {
        Some(p) => p.check(&v).map(|()| v),
        None => Ok(v),
    });
    let (out, code) = match verdict {
        Ok(v) => (
            json!({
                "valid": true,
                "platform": v.platform.as_str(),
                "tcb_status": v.tcb_status,
                "advisories": v.advisories,
                "measurement": hex::encode(&v.measurement),
                "report_data": hex::encode(&v.report_data),
                "debug": v.debug,
                "is_secure": v.is_secure,
                "error": null,
            }),
            ExitCode::SUCCESS,
        ),
        Err(e) => (
            json!({
                "valid": false,
                "platform": null,
                "tcb_status": null,
                "advisories": [],
                "measurement": null,
                "report_data": null,
                "debug": null,
                "error": { "code": e.code(), "message": e.to_string() },
            }),
            ExitCode::from(1),
        ),
    };
    if json {
        println!("{out}");
    } else {
        crate::output::print_json(&out);
    }
    code
}

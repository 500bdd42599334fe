//! Fake platform file trees. There is no kernel or Gramine behind them: each attribute is a plain
//! file, so the tests pre-populate `outblob` / `quote` with real evidence and check what the
//! backend wrote.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// Entry name the tests pre-create under the configfs-tsm report directory.
pub const ENTRY: &str = "fake-entry";
pub const REPORT_DIR: &str = "sys/kernel/config/tsm/report";

pub fn external(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../../shared/testdata/external")
        .join(rel);
    fs::read(&path).unwrap_or_else(|e| panic!("test data {}: {e}", path.display()))
}

pub fn tdx_quote() -> Vec<u8> {
    external("sgx_tdx_dcap/dcap-qvl/tdx_quote")
}

pub fn sgx_quote() -> Vec<u8> {
    external("sgx_tdx_dcap/dcap-qvl/sgx_quote")
}

pub fn snp_report() -> Vec<u8> {
    external("sev_snp/go-sev-guest/attestation.bin")
}

pub fn hex64(s: &str) -> [u8; 64] {
    let mut out = [0u8; 64];
    let bytes = hex::decode(s).unwrap_or_else(|e| panic!("bad hex: {e}"));
    out.copy_from_slice(&bytes);
    out
}

/// A root with `sys/kernel/config/tsm/report/<ENTRY>/{provider,generation,outblob}`.
pub fn tsm_tree(provider: &str, outblob: &[u8]) -> anyhow::Result<(TempDir, PathBuf)> {
    let root = tempfile::tempdir()?;
    let entry = root.path().join(REPORT_DIR).join(ENTRY);
    fs::create_dir_all(&entry)?;
    fs::write(entry.join("provider"), format!("{provider}\n"))?;
    fs::write(entry.join("generation"), "3\n")?;
    fs::write(entry.join("outblob"), outblob)?;
    Ok((root, entry))
}

/// A root with `dev/attestation/{attestation_type,quote}` and optionally
/// `keys/_sgx_mrenclave`.
pub fn gramine_tree(
    attestation_type: &str,
    quote: &[u8],
    key: Option<&[u8]>,
) -> anyhow::Result<(TempDir, PathBuf)> {
    let root = tempfile::tempdir()?;
    let dir = root.path().join("dev/attestation");
    fs::create_dir_all(dir.join("keys"))?;
    fs::write(dir.join("attestation_type"), attestation_type)?;
    fs::write(dir.join("quote"), quote)?;
    if let Some(key) = key {
        fs::write(dir.join("keys/_sgx_mrenclave"), key)?;
    }
    Ok((root, dir))
}

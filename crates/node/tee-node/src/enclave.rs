//! The cluster enclave process as the host sees it: launched confined, reached over the rings,
//! its answers turned into stable API errors.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use arcanum_enclave_host::{
    ClusterProtocol, EnclaveClient, EnclaveProcess, FrameChannel, OcallHandler, OcallPool,
};
use arcanum_enclave_protocol::Secret;
use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse};
use arcanum_types::{ApiError, ErrorCode};

/// File (in the data dir) of the simulated platform's fuse secret.
const SIM_FUSE: &str = "sim-fuse.key";

/// A running cluster enclave. Dropping it stops the process.
pub struct ClusterEnclave {
    _process: Option<EnclaveProcess>,
    client: EnclaveClient<ClusterProtocol>,
}

impl std::fmt::Debug for ClusterEnclave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterEnclave").finish_non_exhaustive()
    }
}

/// An enclave error answer as an API error, keeping its stable code.
pub fn enclave_error(code: &str, message: &str) -> ApiError {
    match ErrorCode::parse(code) {
        Some(c) => ApiError::new(c, message),
        None => ApiError::new(ErrorCode::Internal, format!("{code}: {message}")),
    }
}

/// An unexpected enclave answer.
pub fn unexpected(what: &str, answer: &ClusterResponse) -> ApiError {
    let kind = format!("{answer:?}");
    let kind = kind.split([' ', '(', '{']).next().unwrap_or_default();
    ApiError::new(
        ErrorCode::Internal,
        format!("the enclave answered {what} with {kind}"),
    )
}

impl ClusterEnclave {
    /// Launches the confined `binary`; its ocalls are served by `ocalls`.
    pub fn launch(
        binary: &Path,
        ocalls: Arc<dyn OcallHandler<ClusterProtocol>>,
    ) -> anyhow::Result<ClusterEnclave> {
        let (process, client) =
            EnclaveProcess::launch_cluster(binary, ocalls, OcallPool::default())
                .with_context(|| format!("launching {}", binary.display()))?;
        Ok(ClusterEnclave {
            _process: Some(process),
            client,
        })
    }

    /// An enclave reached over any frame channel (an in-process enclave in tests).
    pub fn over_channel(
        channel: Arc<dyn FrameChannel>,
        ocalls: Arc<dyn OcallHandler<ClusterProtocol>>,
    ) -> ClusterEnclave {
        ClusterEnclave {
            _process: None,
            client: EnclaveClient::with_ocalls(
                channel,
                std::time::Duration::from_secs(30),
                ocalls,
                OcallPool::default(),
            ),
        }
    }

    /// One request; an enclave `Error` answer becomes an [`ApiError`] with its code. Blocks.
    pub fn call(&self, request: &ClusterRequest) -> Result<ClusterResponse, ApiError> {
        match self.client.call(request) {
            Ok(ClusterResponse::Error { code, message }) => Err(enclave_error(&code, &message)),
            Ok(answer) => Ok(answer),
            Err(e) => Err(ApiError::new(
                match e {
                    arcanum_enclave_host::ChannelError::Timeout => ErrorCode::Timeout,
                    _ => ErrorCode::Internal,
                },
                format!("cluster enclave: {e}"),
            )),
        }
    }
}

/// The simulation's fuse secret: created once per node, kept 0600 in the data dir.
pub fn sim_fuse(data_dir: &Path) -> anyhow::Result<Secret> {
    let path = data_dir.join(SIM_FUSE);
    if let Ok(bytes) = std::fs::read(&path) {
        if bytes.len() == 32 {
            return Ok(Secret(bytes));
        }
        bail!("{} is corrupt", path.display());
    }
    let fuse: [u8; 32] = rand::random();
    write_private(&path, &fuse)?;
    Ok(Secret(fuse.to_vec()))
}

/// Writes a file readable only by its owner, atomically (temp file + rename).
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp: PathBuf = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_sim_fuse_is_created_once_private_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = sim_fuse(dir.path()).expect("create");
        assert_eq!(first.0.len(), 32);
        let mode = std::fs::metadata(dir.path().join(SIM_FUSE))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(sim_fuse(dir.path()).expect("again").0, first.0);
        std::fs::write(dir.path().join(SIM_FUSE), b"short").expect("write");
        assert!(sim_fuse(dir.path()).is_err());
    }

    #[test]
    fn enclave_codes_stay_stable() {
        assert_eq!(
            enclave_error("JOIN_REFUSED", "REPORT_EXPIRED: …").code,
            ErrorCode::JoinRefused
        );
        let odd = enclave_error("SOMETHING_NEW", "x");
        assert_eq!(odd.code, ErrorCode::Internal);
        assert!(odd.message.starts_with("SOMETHING_NEW"));
    }
}

//! The cluster enclave process as the host sees it: launched confined, reached over the rings,
//! its answers turned into stable API errors.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arcanum_enclave_host::{
    ClusterProtocol, EnclaveClient, EnclaveProcess, FrameChannel, OcallHandler, OcallPool,
};
use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse};
use arcanum_types::{ApiError, ErrorCode};

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

#[cfg(test)]
mod tests {
    use super::*;

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

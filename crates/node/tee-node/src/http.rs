//! The TEE node's calls to other members and services: bounded answers, strict decoding, and
//! whether a failure is worth retrying. (Its server side uses `arcanum-http`, like every role.)

use arcanum_api::ErrorBody;
use arcanum_types::{ApiError, ErrorCode, decode};
use axum::http::header;

/// Why a call to another node failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The node answered with a stable error code.
    #[error("{0}")]
    Api(ApiError),
    /// The node could not be reached.
    #[error("transport: {0}")]
    Transport(String),
    /// The answer is not what the API promises.
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

impl RemoteError {
    /// Whether waiting and trying again may help (the node is down, starting or busy).
    pub fn is_transient(&self) -> bool {
        match self {
            RemoteError::Transport(_) => true,
            RemoteError::Api(e) => matches!(
                e.code,
                ErrorCode::Busy | ErrorCode::Timeout | ErrorCode::ClusterNotFormed
            ),
            RemoteError::Protocol(_) => false,
        }
    }
}

/// POSTs a borsh body and returns the raw answer bytes (at most `max`).
pub async fn post_bytes(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    max: usize,
) -> Result<Vec<u8>, RemoteError> {
    let resp = http
        .post(url)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(body)
        .send()
        .await
        .map_err(|e| RemoteError::Transport(e.to_string()))?;
    answer_bytes(resp, max).await
}

/// GETs `url` and returns the raw answer bytes (at most `max`).
pub async fn get_bytes(
    http: &reqwest::Client,
    url: &str,
    max: usize,
) -> Result<Vec<u8>, RemoteError> {
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| RemoteError::Transport(e.to_string()))?;
    answer_bytes(resp, max).await
}

async fn answer_bytes(resp: reqwest::Response, max: usize) -> Result<Vec<u8>, RemoteError> {
    let status = resp.status();
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(RemoteError::Protocol(format!("answer exceeds {max} bytes")));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| RemoteError::Transport(e.to_string()))?;
    if bytes.len() > max {
        return Err(RemoteError::Protocol(format!("answer exceeds {max} bytes")));
    }
    if status.is_success() {
        return Ok(bytes.to_vec());
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(body) => Err(RemoteError::Api(body.into_api_error())),
        Err(_) => Err(RemoteError::Protocol(format!(
            "status {status} without an error body"
        ))),
    }
}

/// Decodes an answer strictly.
pub fn decode_answer<T: borsh::BorshDeserialize>(
    bytes: &[u8],
    max: usize,
) -> Result<T, RemoteError> {
    decode(bytes, max).map_err(|e| RemoteError::Protocol(e.to_string()))
}

//! HTTP plumbing of the TEE node (the same conventions as `arcanum-server`): the JSON error
//! response, bounded strictly-decoded borsh bodies, load shedding with `BUSY`, and a small
//! client for calls to other members and services.

use std::sync::Arc;

use arcanum_api::ErrorBody;
use arcanum_types::{ApiError, ErrorCode, decode};
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

/// An [`ApiError`] as an HTTP response: its status and `{"error": {...}}`.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        HttpError(e)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(ErrorBody::from(&self.0))).into_response()
    }
}

pub type HttpResult<T> = Result<T, HttpError>;

/// A borsh body of type `T`, at most `MAX` bytes, decoded strictly.
#[derive(Debug)]
pub struct Borsh<T, const MAX: usize>(pub T);

impl<S: Send + Sync, T: borsh::BorshDeserialize + Send, const MAX: usize> FromRequest<S>
    for Borsh<T, MAX>
{
    type Rejection = HttpError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX)
            .await
            .map_err(|_| {
                HttpError(ApiError::new(
                    ErrorCode::BodyTooLarge,
                    format!("request body exceeds {MAX} bytes"),
                ))
            })?;
        decode(&bytes, MAX)
            .map(Borsh)
            .map_err(|e| HttpError(ApiError::new(ErrorCode::MalformedEncoding, e.to_string())))
    }
}

/// A borsh response body.
pub fn borsh_response<T: borsh::BorshSerialize>(value: &T) -> Response {
    octets(arcanum_types::encode(value))
}

/// Raw bytes as `application/octet-stream`.
pub fn octets(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

/// Middleware: at most the semaphore's permits requests in progress; beyond that, `BUSY` at once.
pub async fn shed_load(
    State(permits): State<Arc<Semaphore>>,
    req: Request,
    next: Next,
) -> Response {
    match permits.try_acquire() {
        Ok(_permit) => next.run(req).await,
        Err(_) => HttpError(ApiError::new(
            ErrorCode::Busy,
            "the TEE node is at capacity; retry later",
        ))
        .into_response(),
    }
}

/// Runs blocking work (enclave calls, disk) off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("worker failed: {e}")))?
}

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

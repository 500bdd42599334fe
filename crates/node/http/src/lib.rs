//! The HTTP server plumbing every role shares (the ledger roles in `arcanum-server`, the TEE
//! node in `arcanum-tee-node`): the JSON error response, strictly decoded borsh bodies bounded
//! while they stream in, borsh and octet-stream answers, the load-shedding guard that answers
//! `BUSY`, and running blocking work off the async workers.
//!
//! Invariant: every refusal is an [`ApiError`] with its stable code and HTTP status.

use std::sync::Arc;

use arcanum_api::ErrorBody;
use arcanum_types::{ApiError, ErrorCode, decode};
use axum::body::Body;
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

/// Raw body bytes bounded to `max` (`BODY_TOO_LARGE` beyond, refused while streaming in).
pub async fn read_body(body: Body, max: usize) -> Result<axum::body::Bytes, HttpError> {
    axum::body::to_bytes(body, max).await.map_err(|_| {
        HttpError(ApiError::new(
            ErrorCode::BodyTooLarge,
            format!("request body exceeds {max} bytes"),
        ))
    })
}

/// A borsh body of type `T`, at most `MAX` bytes, decoded strictly (`MALFORMED_ENCODING`).
#[derive(Debug)]
pub struct Borsh<T, const MAX: usize>(pub T);

impl<S: Send + Sync, T: borsh::BorshDeserialize + Send, const MAX: usize> FromRequest<S>
    for Borsh<T, MAX>
{
    type Rejection = HttpError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req.into_body(), MAX).await?;
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
            "the node is at capacity; retry later",
        ))
        .into_response(),
    }
}

/// Runs blocking work (signature checks, the VM, enclave calls, disk) off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("worker failed: {e}")))?
}

//! HTTP plumbing shared by every role: the JSON error response, strict borsh bodies with size
//! limits, and the load-shedding guard that answers `BUSY`.

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

/// Types accepted as borsh request bodies, each with its size bound.
pub trait BorshBody: borsh::BorshDeserialize + Send {
    const MAX_BYTES: usize;
}

impl BorshBody for arcanum_types::SignedTx {
    const MAX_BYTES: usize = arcanum_types::limits::MAX_TX_BYTES;
}
impl BorshBody for arcanum_types::EndorsedTx {
    const MAX_BYTES: usize = arcanum_types::limits::MAX_ENDORSED_TX_BYTES;
}
impl BorshBody for arcanum_endorser::EndorseRequest {
    const MAX_BYTES: usize = arcanum_types::limits::MAX_TX_BYTES + 64 * 1024;
}

/// A strictly decoded borsh body. Oversized bodies are refused while they stream in.
pub struct Borsh<T>(pub T);

/// Raw body bytes bounded to `N`.
pub async fn read_body(body: Body, max: usize) -> Result<axum::body::Bytes, HttpError> {
    axum::body::to_bytes(body, max).await.map_err(|_| {
        HttpError(ApiError::new(
            ErrorCode::BodyTooLarge,
            format!("request body exceeds {max} bytes"),
        ))
    })
}

impl<S: Send + Sync, T: BorshBody> FromRequest<S> for Borsh<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req.into_body(), T::MAX_BYTES).await?;
        decode(&bytes, T::MAX_BYTES)
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
            "server is at capacity; retry later",
        ))
        .into_response(),
    }
}

/// Runs blocking work (signature checks, VM, disk) off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> HttpResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            HttpError(ApiError::new(
                ErrorCode::Internal,
                format!("worker failed: {e}"),
            ))
        })?
        .map_err(HttpError)
}

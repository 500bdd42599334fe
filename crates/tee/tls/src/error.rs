//! The crate's error type and its stable codes.

use arcanum_types::ErrorCode;

use crate::UrlError;

/// Why an HTTPS fetch failed. [`TlsError::code`] sorts every variant into `TLS_FAILURE` (the
/// secure channel could not be established or was not intact) or `HTTPS_FAILURE` (the channel
/// was fine but the URL or the response is unacceptable).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    // ---- HTTPS_FAILURE ----
    /// The URL is not one `https_get` accepts.
    #[error("bad URL: {0}")]
    Url(#[from] UrlError),
    /// The server answered with a status other than 200.
    #[error("HTTP status {0} (only 200 is accepted)")]
    Status(u16),
    /// The response does not parse as HTTP/1.1.
    #[error("malformed HTTP response: {0}")]
    Malformed(&'static str),
    /// The status line and headers (or the chunked trailer) exceed the limit.
    #[error("response head exceeds {max} bytes")]
    HeadTooLarge { max: usize },
    /// The body exceeds [`crate::FetchLimits::max_body`].
    #[error("response body exceeds {max} bytes")]
    BodyTooLarge { max: usize },
    /// The server closed the session (with `close_notify`) before the body was complete.
    #[error("the server closed the connection before the response was complete")]
    Incomplete,

    // ---- TLS_FAILURE ----
    /// No trust anchors were given.
    #[error("no trust anchors configured")]
    NoRoots,
    /// A trust anchor is not a usable DER certificate.
    #[error("trust anchor {index} is not usable: {source}")]
    BadRoot {
        index: usize,
        #[source]
        source: rustls::Error,
    },
    /// rustls refused the client configuration.
    #[error("TLS configuration refused: {0}")]
    Config(#[source] rustls::Error),
    /// The TLS session failed: handshake, certificate verification, a record that does not
    /// authenticate (altered bytes), a fatal alert from the server, a protocol violation.
    #[error("TLS session failed: {0}")]
    Session(#[source] rustls::Error),
    /// The transport ended without `close_notify` before the response was complete: the end
    /// is not authenticated and may be the relay's truncation.
    #[error("connection ended without close_notify before the response was complete")]
    Truncated,
    /// The relay (the untrusted host) failed to connect, send or receive.
    #[error("relay failed: {0}")]
    Relay(String),
    /// The relay returned more bytes than were asked for.
    #[error("relay returned {len} bytes where at most {max} were asked for")]
    RelayOverflow { len: usize, max: usize },
    /// The exchange needed more relay reads than [`crate::FetchLimits::max_rounds`].
    #[error("more than {max} relay reads")]
    TooManyRounds { max: usize },
    /// rustls could not buffer the request (never happens with a bounded URL).
    #[error("the TLS session refused the request bytes")]
    RequestNotBuffered,
    /// The TLS engine's in-memory I/O failed or the session stopped making progress.
    #[error("TLS engine: {0}")]
    Engine(&'static str),
}

impl TlsError {
    /// The stable API error code: [`ErrorCode::TlsFailure`] or [`ErrorCode::HttpsFailure`].
    pub fn code(&self) -> ErrorCode {
        match self {
            TlsError::Url(_)
            | TlsError::Status(_)
            | TlsError::Malformed(_)
            | TlsError::HeadTooLarge { .. }
            | TlsError::BodyTooLarge { .. }
            | TlsError::Incomplete => ErrorCode::HttpsFailure,
            TlsError::NoRoots
            | TlsError::BadRoot { .. }
            | TlsError::Config(_)
            | TlsError::Session(_)
            | TlsError::Truncated
            | TlsError::Relay(_)
            | TlsError::RelayOverflow { .. }
            | TlsError::TooManyRounds { .. }
            | TlsError::RequestNotBuffered
            | TlsError::Engine(_) => ErrorCode::TlsFailure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_split_channel_from_content() {
        assert_eq!(TlsError::Status(404).code().as_str(), "HTTPS_FAILURE");
        assert_eq!(
            TlsError::Url(UrlError::NotHttps).code().as_str(),
            "HTTPS_FAILURE"
        );
        assert_eq!(
            TlsError::BodyTooLarge { max: 1 }.code(),
            ErrorCode::HttpsFailure
        );
        assert_eq!(TlsError::Truncated.code().as_str(), "TLS_FAILURE");
        assert_eq!(
            TlsError::Session(rustls::Error::DecryptError).code(),
            ErrorCode::TlsFailure
        );
        assert_eq!(TlsError::Relay("x".into()).code(), ErrorCode::TlsFailure);
    }
}

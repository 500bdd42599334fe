//! HTTPS inside the enclave: a rustls client driven over bytes that the untrusted host relays
//! (SPEC C5, "TLS terminates inside the enclave").
//!
//! The enclave has no sockets. [`https_get`] parses the URL ([`parse_url`]: only
//! `https://host[:port][/path]`), asks the host to open a TCP connection through a
//! [`ByteRelay`], and then runs the whole TLS session itself: rustls (aws-lc-rs provider, TLS 1.3
//! and 1.2, SNI = the URL's host) produces and consumes the TLS records in memory, and the relay
//! only moves those opaque records. The HTTP/1.1 `GET` (with `Connection: close`) is written and
//! the response parsed inside the enclave too, with bounds on head, body and relay round trips
//! ([`FetchLimits`]). [`HttpsClient`] keeps the configuration for repeated fetches.
//!
//! Trust model:
//! - The host sees only ciphertext: the request (path, headers) and the response are encrypted
//!   under keys negotiated inside the enclave.
//! - The server is authenticated against the DER trust anchors the caller passes, and only
//!   those: there are no system or bundled webpki roots, so a host cannot make the enclave trust
//!   a CA of its choosing.
//! - Every record carries an AEAD tag, so a relay that alters, inserts, reorders or replays bytes
//!   makes the session fail ([`TlsError::Session`], `TLS_FAILURE`) instead of changing the data.
//!   A relay that cuts the stream short is caught as well: a response that is not complete by its
//!   own framing (Content-Length or chunked) and whose end is not a `close_notify` alert is
//!   [`TlsError::Truncated`] (`TLS_FAILURE`).
//! - What the host can still do is deny service: refuse to connect, drop or delay bytes. It
//!   learns the host name and port it is asked to connect to, and traffic sizes.
//!
//! Every error has a stable code ([`TlsError::code`]): `TLS_FAILURE` when the secure channel
//! failed, `HTTPS_FAILURE` when the URL or the (authentic) response is unacceptable: a status
//! other than 200, a malformed or oversized response.
//!
//! Invariants: no global state (the crypto provider is passed explicitly, no process-wide
//! default is installed), no I/O except through the relay, and no clock other than the one
//! rustls reads for certificate validity. With the `test-server` feature, [`test_server`]
//! provides a local HTTPS server with a test CA and a relay over TCP, for tests and the demo.

mod error;
mod http;
mod url;

#[cfg(feature = "test-server")]
pub mod test_server;

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, ClientConnection, RootCertStore};

pub use error::TlsError;
pub use url::{HttpsUrl, MAX_URL, UrlError, parse_url};

use http::{Close, ResponseParser};

/// Most bytes asked of the relay per read: one maximal TLS record and its header.
pub const RECV_CHUNK: usize = 16 * 1024 + 2048;

/// Moves bytes between the enclave and a TCP connection that the (untrusted) host opens. Every
/// byte that crosses it is TLS ciphertext.
pub trait ByteRelay {
    /// Opens a TCP connection to `host:port` and returns its handle.
    fn connect(&self, host: &str, port: u16) -> Result<u32, TlsError>;
    /// Sends all of `bytes` on connection `conn`.
    fn send(&self, conn: u32, bytes: &[u8]) -> Result<(), TlsError>;
    /// Receives at most `max` bytes from `conn`, blocking until some arrive. Empty means the
    /// peer closed the connection.
    fn recv(&self, conn: u32, max: usize) -> Result<Vec<u8>, TlsError>;
    /// Closes `conn` (errors are ignored: there is nothing left to protect).
    fn close(&self, conn: u32);
}

/// Bounds on one fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchLimits {
    /// Largest response body (64 KiB by default).
    pub max_body: usize,
    /// Largest response head: status line and headers (and, separately, a chunked trailer).
    pub max_head: usize,
    /// Most relay reads for the whole exchange, handshake included. Bounds the work a host that
    /// dribbles bytes can cause; each read asks for up to [`RECV_CHUNK`] bytes.
    pub max_rounds: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            max_body: 64 * 1024,
            max_head: 16 * 1024,
            max_rounds: 1024,
        }
    }
}

/// A successful response: status 200 and its body (de-chunked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpsResponse {
    /// Always 200: any other status is [`TlsError::Status`].
    pub status: u16,
    pub body: Vec<u8>,
}

/// An HTTPS client configuration: the trust anchors and the TLS parameters. Cheap to share;
/// every [`HttpsClient::get`] is an independent session (no resumption).
#[derive(Clone, Debug)]
pub struct HttpsClient {
    config: Arc<ClientConfig>,
}

impl HttpsClient {
    /// A client that trusts exactly the CA certificates `roots_der` (DER).
    pub fn new(roots_der: &[Vec<u8>]) -> Result<HttpsClient, TlsError> {
        if roots_der.is_empty() {
            return Err(TlsError::NoRoots);
        }
        let mut roots = RootCertStore::empty();
        for (index, der) in roots_der.iter().enumerate() {
            roots
                .add(CertificateDer::from(der.as_slice()))
                .map_err(|source| TlsError::BadRoot { index, source })?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(TlsError::Config)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.resumption = Resumption::disabled();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(HttpsClient {
            config: Arc::new(config),
        })
    }

    /// GETs `url` through `relay`. Only status 200 is a success.
    pub fn get(
        &self,
        relay: &dyn ByteRelay,
        url: &str,
        limits: &FetchLimits,
    ) -> Result<HttpsResponse, TlsError> {
        let url = parse_url(url)?;
        let server_name = url.server_name()?;
        let tls =
            ClientConnection::new(self.config.clone(), server_name).map_err(TlsError::Session)?;
        let conn = relay.connect(&url.host, url.port)?;
        let result = exchange(relay, conn, tls, &url, limits);
        relay.close(conn);
        let body = result?;
        Ok(HttpsResponse { status: 200, body })
    }
}

/// GETs `url` through `relay`, trusting exactly the CA certificates `roots_der`. See the crate
/// documentation for the trust model.
pub fn https_get(
    relay: &dyn ByteRelay,
    roots_der: &[Vec<u8>],
    url: &str,
    limits: &FetchLimits,
) -> Result<HttpsResponse, TlsError> {
    // A bad URL is reported as such even when the roots are unusable too.
    parse_url(url)?;
    HttpsClient::new(roots_der)?.get(relay, url, limits)
}

/// Not API: the entry point of the `https_response` fuzz target (`fuzz/`). Feeds `chunks`, the
/// decrypted bytes in arrival order, to the HTTP/1.1 response parser the way [`https_get`]
/// does (stopping at the first error, or once the response is complete), then finishes it as if
/// the session ended with `close_notify` (`notified`) or without.
#[doc(hidden)]
pub fn fuzz_parse_response(
    chunks: &[&[u8]],
    limits: &FetchLimits,
    notified: bool,
) -> Result<Vec<u8>, TlsError> {
    let mut parser = ResponseParser::new(limits);
    for chunk in chunks {
        if parser.is_done() {
            break;
        }
        parser.feed(chunk)?;
    }
    parser.finish(if notified {
        Close::Notified
    } else {
        Close::Unclean
    })
}

/// Runs the TLS session and the HTTP exchange on an open relay connection.
fn exchange(
    relay: &dyn ByteRelay,
    conn: u32,
    mut tls: ClientConnection,
    url: &HttpsUrl,
    limits: &FetchLimits,
) -> Result<Vec<u8>, TlsError> {
    // rustls holds the request until the handshake completes, then encrypts it.
    let request = http::request(&url.host_header(), &url.path);
    if tls.writer().write(&request).ok() != Some(request.len()) {
        return Err(TlsError::RequestNotBuffered);
    }
    let mut parser = ResponseParser::new(limits);
    let mut plaintext = vec![0u8; RECV_CHUNK];
    let mut rounds = 0usize;
    loop {
        flush(relay, conn, &mut tls)?;
        if parser.is_done() {
            return parser.finish(Close::Notified);
        }
        if !tls.wants_read() {
            // Only possible once the server's close_notify was processed, which ends the loop
            // below; treat anything else as a protocol failure rather than spin.
            return Err(TlsError::Engine("session stalled"));
        }
        rounds += 1;
        if rounds > limits.max_rounds {
            return Err(TlsError::TooManyRounds {
                max: limits.max_rounds,
            });
        }
        let received = relay.recv(conn, RECV_CHUNK)?;
        if received.len() > RECV_CHUNK {
            return Err(TlsError::RelayOverflow {
                len: received.len(),
                max: RECV_CHUNK,
            });
        }
        let mut rest = received.as_slice();
        let eof = rest.is_empty();
        loop {
            // With an empty slice `read_tls` records the end of the transport.
            if tls.read_tls(&mut rest).is_err() {
                return Err(TlsError::Engine("record buffer full"));
            }
            if let Err(e) = tls.process_new_packets() {
                // Tell the server why (best effort), then fail.
                let _ = flush(relay, conn, &mut tls);
                return Err(TlsError::Session(e));
            }
            if let Some(close) = drain(&mut tls, &mut parser, &mut plaintext)? {
                return parser.finish(close);
            }
            if parser.is_done() || rest.is_empty() {
                break;
            }
        }
        if eof {
            // `drain` saw neither close_notify nor the unclean end: the handshake itself was cut.
            return Err(TlsError::Truncated);
        }
    }
}

/// Sends everything rustls has queued.
fn flush(relay: &dyn ByteRelay, conn: u32, tls: &mut ClientConnection) -> Result<(), TlsError> {
    while tls.wants_write() {
        let mut out = Vec::new();
        if tls.write_tls(&mut out).is_err() {
            return Err(TlsError::Engine("record output failed"));
        }
        relay.send(conn, &out)?;
    }
    Ok(())
}

/// Feeds all decrypted bytes to the parser. Returns how the session ended, if it did.
fn drain(
    tls: &mut ClientConnection,
    parser: &mut ResponseParser,
    buf: &mut [u8],
) -> Result<Option<Close>, TlsError> {
    loop {
        match tls.reader().read(buf) {
            Ok(0) => return Ok(Some(Close::Notified)),
            Ok(n) => {
                parser.feed(&buf[..n])?;
                if parser.is_done() {
                    return Ok(None);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Some(Close::Unclean)),
            Err(_) => return Err(TlsError::Engine("plaintext read failed")),
        }
    }
}

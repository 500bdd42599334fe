//! Test support (feature `test-server`): a local HTTPS server whose certificate comes from a
//! test CA, and a [`ByteRelay`] over plain TCP — what a TEE host does, minus the enclave.
//!
//! ```
//! use arcanum_enclave_tls::test_server::{TcpRelay, serve_json};
//! use arcanum_enclave_tls::{FetchLimits, https_get};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = serve_json("/price", r#"{"price": 123.45}"#)?;
//! let response = https_get(
//!     &TcpRelay::new(),
//!     &[server.ca_der().to_vec()],
//!     &server.url("/price"),
//!     &FetchLimits::default(),
//! )?;
//! assert_eq!(response.body, br#"{"price": 123.45}"#);
//! server.shutdown();
//! # Ok(())
//! # }
//! ```
//!
//! The server binds `127.0.0.1:0`, answers each connection on its own thread with the
//! [`TestResponse`] configured for the request path (404 otherwise), and stops when the
//! [`TestServer`] (or a [`ShutdownHandle`]) is shut down or dropped. Its certificate names
//! `localhost` and `127.0.0.1`.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};

use crate::{ByteRelay, TlsError};

/// Socket timeout of the server's connections and of [`TcpRelay`]: a safety net so a broken
/// test cannot hang forever (tests never wait for it to expire).
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest request head the server reads.
const MAX_REQUEST: usize = 16 * 1024;

/// Why the test server could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TestServerError {
    #[error("certificate generation failed: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("TLS configuration failed: {0}")]
    Tls(#[from] rustls::Error),
    #[error("I/O failed: {0}")]
    Io(#[from] io::Error),
    #[error("malformed request")]
    BadRequest,
}

/// A test certificate authority (ECDSA P-256, self-signed).
pub struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    der: Vec<u8>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// A server certificate and its private key (PKCS#8 DER).
#[derive(Clone)]
pub struct ServerCert {
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

impl std::fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCert").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A fresh CA named `common_name`.
    pub fn new(common_name: &str) -> Result<TestCa, TestServerError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate()?;
        let der = params.self_signed(&key)?.der().to_vec();
        Ok(TestCa { params, key, der })
    }

    /// The CA certificate (DER): the trust anchor to pass to `https_get`.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// A server certificate for `names` (DNS names or IP addresses), signed by this CA.
    pub fn issue(&self, names: &[&str]) -> Result<ServerCert, TestServerError> {
        let sans: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(sans)?;
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate()?;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(ServerCert {
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        })
    }
}

/// How a response body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// A `Content-Length` header.
    ContentLength,
    /// `Transfer-Encoding: chunked`, in chunks of at most this many bytes.
    Chunked { chunk_size: usize },
    /// No length: the body ends when the connection closes, with or without `close_notify`.
    UntilClose { close_notify: bool },
}

/// What the server answers on one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub framing: Framing,
}

impl TestResponse {
    /// `200 OK` with a JSON body and a `Content-Length`.
    pub fn json(json: &str) -> TestResponse {
        TestResponse {
            status: 200,
            content_type: "application/json".into(),
            body: json.as_bytes().to_vec(),
            framing: Framing::ContentLength,
        }
    }

    /// `status` with a plain-text body and a `Content-Length`.
    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> TestResponse {
        TestResponse {
            status,
            content_type: "text/plain".into(),
            body: body.into(),
            framing: Framing::ContentLength,
        }
    }

    /// The same response with another framing.
    pub fn framed(mut self, framing: Framing) -> TestResponse {
        self.framing = framing;
        self
    }
}

/// Server settings beyond the routes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeOptions {
    /// Names on the server certificate.
    pub names: Vec<String>,
    /// Offer only TLS 1.2 (default: 1.3 and 1.2).
    pub tls12_only: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            names: vec!["localhost".into(), "127.0.0.1".into()],
            tls12_only: false,
        }
    }
}

/// Stops a [`TestServer`]; cloneable and sendable to other threads.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
}

impl ShutdownHandle {
    /// Stops accepting connections (connections being served finish on their own).
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
    }
}

/// A running test HTTPS server.
#[derive(Debug)]
pub struct TestServer {
    port: u16,
    ca_der: Vec<u8>,
    requests: Arc<AtomicUsize>,
    handle: ShutdownHandle,
    accept: Option<JoinHandle<()>>,
}

impl TestServer {
    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA certificate (DER) that issued the server's certificate.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// `https://localhost:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// Requests answered so far (any status).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// A handle that stops the server from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Stops the server and waits for its accept loop to end.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.handle.shutdown();
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves `json` on `path` with a certificate from a fresh test CA.
pub fn serve_json(path: &str, json: &str) -> Result<TestServer, TestServerError> {
    let ca = TestCa::new("Arcanum test CA")?;
    serve(
        &ca,
        BTreeMap::from([(path.to_owned(), TestResponse::json(json))]),
    )
}

/// Serves `routes` (path → response) with a certificate for `localhost` and `127.0.0.1` from
/// `ca`.
pub fn serve(
    ca: &TestCa,
    routes: BTreeMap<String, TestResponse>,
) -> Result<TestServer, TestServerError> {
    serve_with(ca, routes, &ServeOptions::default())
}

/// [`serve`] with explicit options.
pub fn serve_with(
    ca: &TestCa,
    routes: BTreeMap<String, TestResponse>,
    options: &ServeOptions,
) -> Result<TestServer, TestServerError> {
    let names: Vec<&str> = options.names.iter().map(String::as_str).collect();
    let cert = ca.issue(&names)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if options.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.cert_der)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_der)),
        )?;
    let config = Arc::new(config);
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let addr = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicUsize::new(0));
    let routes = Arc::new(routes);
    let accept = {
        let stop = stop.clone();
        let requests = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (config, routes, requests) = (config.clone(), routes.clone(), requests.clone());
                thread::spawn(move || {
                    // A failed connection (a client refusing the certificate, say) only ends
                    // that connection.
                    let _ = handle(stream, config, &routes, &requests);
                });
            }
        })
    };
    Ok(TestServer {
        port: addr.port(),
        ca_der: ca.der().to_vec(),
        requests,
        handle: ShutdownHandle { stop, addr },
        accept: Some(accept),
    })
}

/// Serves one connection: one request, one response, then close.
fn handle(
    mut sock: TcpStream,
    config: Arc<ServerConfig>,
    routes: &BTreeMap<String, TestResponse>,
    requests: &AtomicUsize,
) -> Result<(), TestServerError> {
    sock.set_read_timeout(Some(IO_TIMEOUT))?;
    sock.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut conn = ServerConnection::new(config)?;
    let mut head = Vec::new();
    {
        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            if head.len() > MAX_REQUEST {
                return Err(TestServerError::BadRequest);
            }
            let n = tls.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            head.extend_from_slice(&buf[..n]);
        }
        let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
        let line = std::str::from_utf8(line).map_err(|_| TestServerError::BadRequest)?;
        let mut parts = line.split(' ');
        let (Some("GET"), Some(path)) = (parts.next(), parts.next()) else {
            return Err(TestServerError::BadRequest);
        };
        let response = routes
            .get(path)
            .cloned()
            .unwrap_or_else(|| TestResponse::status(404, "not found"));
        write_response(&mut tls, &response)?;
        requests.fetch_add(1, Ordering::SeqCst);
        if !matches!(
            response.framing,
            Framing::UntilClose {
                close_notify: false
            }
        ) {
            tls.conn.send_close_notify();
        }
        tls.flush()?;
    }
    while conn.wants_write() {
        conn.write_tls(&mut sock)?;
    }
    sock.shutdown(Shutdown::Write)?;
    // Wait for the client to hang up, so closing does not reset unread bytes.
    let _ = io::copy(&mut sock, &mut io::sink());
    Ok(())
}

fn write_response(out: &mut impl Write, response: &TestResponse) -> io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nConnection: close\r\n",
        response.status, response.content_type
    );
    match response.framing {
        Framing::ContentLength => {
            head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
        }
        Framing::Chunked { .. } => head.push_str("Transfer-Encoding: chunked\r\n"),
        Framing::UntilClose { .. } => {}
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    match response.framing {
        Framing::Chunked { chunk_size } => {
            for chunk in response.body.chunks(chunk_size.max(1)) {
                out.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                out.write_all(chunk)?;
                out.write_all(b"\r\n")?;
            }
            out.write_all(b"0\r\n\r\n")
        }
        _ => out.write_all(&response.body),
    }
}

/// A [`ByteRelay`] over real TCP connections: what an untrusted host does for its enclave.
#[derive(Debug, Default)]
pub struct TcpRelay {
    conns: Mutex<BTreeMap<u32, TcpStream>>,
    next: AtomicU32,
}

impl TcpRelay {
    pub fn new() -> TcpRelay {
        TcpRelay::default()
    }

    fn stream(&self, conn: u32) -> Result<TcpStream, TlsError> {
        let conns = self
            .conns
            .lock()
            .map_err(|_| TlsError::Relay("relay state poisoned".into()))?;
        let stream = conns
            .get(&conn)
            .ok_or_else(|| TlsError::Relay(format!("unknown connection {conn}")))?;
        stream
            .try_clone()
            .map_err(|e| TlsError::Relay(e.to_string()))
    }
}

impl ByteRelay for TcpRelay {
    fn connect(&self, host: &str, port: u16) -> Result<u32, TlsError> {
        let stream =
            TcpStream::connect((host, port)).map_err(|e| TlsError::Relay(e.to_string()))?;
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
            .map_err(|e| TlsError::Relay(e.to_string()))?;
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        self.conns
            .lock()
            .map_err(|_| TlsError::Relay("relay state poisoned".into()))?
            .insert(id, stream);
        Ok(id)
    }

    fn send(&self, conn: u32, bytes: &[u8]) -> Result<(), TlsError> {
        self.stream(conn)?
            .write_all(bytes)
            .map_err(|e| TlsError::Relay(e.to_string()))
    }

    fn recv(&self, conn: u32, max: usize) -> Result<Vec<u8>, TlsError> {
        let mut stream = self.stream(conn)?;
        let mut buf = vec![0u8; max];
        loop {
            match stream.read(&mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(TlsError::Relay(e.to_string())),
            }
        }
    }

    fn close(&self, conn: u32) {
        if let Ok(mut conns) = self.conns.lock() {
            conns.remove(&conn);
        }
    }
}

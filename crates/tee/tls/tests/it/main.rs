//! Integration tests: `https_get` against a local rustls HTTPS server with a test CA, through a
//! relay over real TCP — honest, tampering, truncating and dribbling relays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod relays;

use std::collections::BTreeMap;

use arcanum_enclave_tls::test_server::{
    Framing, ServeOptions, TcpRelay, TestCa, TestResponse, TestServer, serve, serve_json,
    serve_with,
};
use arcanum_enclave_tls::{
    ByteRelay, FetchLimits, HttpsClient, HttpsResponse, TlsError, UrlError, https_get,
};
use arcanum_types::ErrorCode;

use relays::{DribbleRelay, FlipRelay};

const PRICE: &str = r#"{"price": 123.45}"#;

fn routes(entries: &[(&str, TestResponse)]) -> BTreeMap<String, TestResponse> {
    entries
        .iter()
        .map(|(p, r)| ((*p).to_owned(), r.clone()))
        .collect()
}

fn get(server: &TestServer, relay: &dyn ByteRelay, path: &str) -> Result<HttpsResponse, TlsError> {
    https_get(
        relay,
        &[server.ca_der().to_vec()],
        &server.url(path),
        &FetchLimits::default(),
    )
}

#[test]
fn fetches_a_json_body() {
    let server = serve_json("/price", PRICE).unwrap();
    let response = get(&server, &TcpRelay::new(), "/price").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, PRICE.as_bytes());
    assert_eq!(server.requests(), 1);
}

#[test]
fn ip_address_urls_match_the_ip_san_and_a_client_is_reusable() {
    let server = serve_json("/p", PRICE).unwrap();
    let client = HttpsClient::new(&[server.ca_der().to_vec()]).unwrap();
    let relay = TcpRelay::new();
    let url = format!("https://127.0.0.1:{}/p", server.port());
    for _ in 0..2 {
        let response = client.get(&relay, &url, &FetchLimits::default()).unwrap();
        assert_eq!(response.body, PRICE.as_bytes());
    }
    assert_eq!(server.requests(), 2);
}

#[test]
fn tls12_only_server_works() {
    let ca = TestCa::new("ca").unwrap();
    let options = ServeOptions {
        tls12_only: true,
        ..ServeOptions::default()
    };
    let server = serve_with(&ca, routes(&[("/x", TestResponse::json(PRICE))]), &options).unwrap();
    assert_eq!(
        get(&server, &TcpRelay::new(), "/x").unwrap().body,
        PRICE.as_bytes()
    );
}

#[test]
fn server_from_another_ca_is_tls_failure() {
    let server = serve_json("/price", PRICE).unwrap();
    let other = TestCa::new("someone else").unwrap();
    let err = https_get(
        &TcpRelay::new(),
        &[other.der().to_vec()],
        &server.url("/price"),
        &FetchLimits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, TlsError::Session(rustls::Error::InvalidCertificate(_))),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::TlsFailure);
    assert_eq!(server.requests(), 0);
}

#[test]
fn certificate_for_another_name_is_tls_failure() {
    let ca = TestCa::new("ca").unwrap();
    let options = ServeOptions {
        names: vec!["other.example".into()],
        ..ServeOptions::default()
    };
    let server = serve_with(&ca, routes(&[("/x", TestResponse::json(PRICE))]), &options).unwrap();
    let err = get(&server, &TcpRelay::new(), "/x").unwrap_err();
    assert!(
        matches!(err, TlsError::Session(rustls::Error::InvalidCertificate(_))),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::TlsFailure);
}

#[test]
fn a_flipped_byte_after_the_handshake_is_tls_failure() {
    let server = serve_json("/price", PRICE).unwrap();
    let relay = FlipRelay::new(TcpRelay::new());
    let err = get(&server, &relay, "/price").unwrap_err();
    assert!(relay.flipped(), "the relay never got to tamper");
    assert_eq!(err.code(), ErrorCode::TlsFailure, "{err:?}");
    assert!(matches!(err, TlsError::Session(_)), "{err:?}");
}

#[test]
fn non_200_is_https_failure() {
    let ca = TestCa::new("ca").unwrap();
    let server = serve(
        &ca,
        routes(&[("/boom", TestResponse::status(500, "internal"))]),
    )
    .unwrap();
    for (path, status) in [("/boom", 500), ("/missing", 404)] {
        let err = get(&server, &TcpRelay::new(), path).unwrap_err();
        assert!(matches!(err, TlsError::Status(s) if s == status), "{err:?}");
        assert_eq!(err.code(), ErrorCode::HttpsFailure);
    }
}

#[test]
fn oversized_body_is_https_failure() {
    let big = "x".repeat(64 * 1024 + 1);
    let ca = TestCa::new("ca").unwrap();
    let server = serve(
        &ca,
        routes(&[
            ("/big", TestResponse::json(&big)),
            (
                "/big-chunked",
                TestResponse::json(&big).framed(Framing::Chunked { chunk_size: 4000 }),
            ),
            (
                "/big-close",
                TestResponse::json(&big).framed(Framing::UntilClose { close_notify: true }),
            ),
        ]),
    )
    .unwrap();
    for path in ["/big", "/big-chunked", "/big-close"] {
        let err = get(&server, &TcpRelay::new(), path).unwrap_err();
        assert!(
            matches!(err, TlsError::BodyTooLarge { max: 65536 }),
            "{path}: {err:?}"
        );
        assert_eq!(err.code(), ErrorCode::HttpsFailure);
    }
    // Exactly at the limit is fine.
    let limits = FetchLimits {
        max_body: big.len(),
        ..FetchLimits::default()
    };
    let ok = https_get(
        &TcpRelay::new(),
        &[server.ca_der().to_vec()],
        &server.url("/big-chunked"),
        &limits,
    )
    .unwrap();
    assert_eq!(ok.body.len(), big.len());
}

#[test]
fn chunked_body_is_decoded() {
    let body: String = (0..3000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let ca = TestCa::new("ca").unwrap();
    let server = serve(
        &ca,
        routes(&[(
            "/chunked",
            TestResponse::json(&body).framed(Framing::Chunked { chunk_size: 7 }),
        )]),
    )
    .unwrap();
    let response = get(&server, &TcpRelay::new(), "/chunked").unwrap();
    assert_eq!(response.body, body.as_bytes());
}

#[test]
fn body_until_close_needs_close_notify() {
    let ca = TestCa::new("ca").unwrap();
    let server = serve(
        &ca,
        routes(&[
            (
                "/clean",
                TestResponse::json(PRICE).framed(Framing::UntilClose { close_notify: true }),
            ),
            (
                "/cut",
                TestResponse::json(PRICE).framed(Framing::UntilClose {
                    close_notify: false,
                }),
            ),
        ]),
    )
    .unwrap();
    assert_eq!(
        get(&server, &TcpRelay::new(), "/clean").unwrap().body,
        PRICE.as_bytes()
    );
    let err = get(&server, &TcpRelay::new(), "/cut").unwrap_err();
    assert!(matches!(err, TlsError::Truncated), "{err:?}");
    assert_eq!(err.code(), ErrorCode::TlsFailure);
}

#[test]
fn a_dribbling_relay_hits_the_round_limit() {
    let server = serve_json("/price", PRICE).unwrap();
    let limits = FetchLimits {
        max_rounds: 50,
        ..FetchLimits::default()
    };
    let err = https_get(
        &DribbleRelay(TcpRelay::new()),
        &[server.ca_der().to_vec()],
        &server.url("/price"),
        &limits,
    )
    .unwrap_err();
    assert!(
        matches!(err, TlsError::TooManyRounds { max: 50 }),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::TlsFailure);
}

#[test]
fn bad_urls_and_roots_are_refused_before_connecting() {
    /// A relay that must not be used.
    struct NoRelay;
    impl ByteRelay for NoRelay {
        fn connect(&self, _: &str, _: u16) -> Result<u32, TlsError> {
            panic!("connect called")
        }
        fn send(&self, _: u32, _: &[u8]) -> Result<(), TlsError> {
            panic!("send called")
        }
        fn recv(&self, _: u32, _: usize) -> Result<Vec<u8>, TlsError> {
            panic!("recv called")
        }
        fn close(&self, _: u32) {}
    }
    let ca = TestCa::new("ca").unwrap();
    let roots = [ca.der().to_vec()];
    let limits = FetchLimits::default();
    for (url, expected) in [
        ("http://localhost/price", UrlError::NotHttps),
        ("https://user@localhost/", UrlError::UserInfo),
        ("localhost/price", UrlError::NotHttps),
        ("https://localhost:99999/", UrlError::BadPort),
    ] {
        let err = https_get(&NoRelay, &roots, url, &limits).unwrap_err();
        assert!(
            matches!(&err, TlsError::Url(e) if *e == expected),
            "{url}: {err:?}"
        );
        assert_eq!(err.code(), ErrorCode::HttpsFailure);
    }
    let err = https_get(&NoRelay, &[], "https://localhost/", &limits).unwrap_err();
    assert!(matches!(err, TlsError::NoRoots));
    let err = https_get(
        &NoRelay,
        &[b"not a cert".to_vec()],
        "https://localhost/",
        &limits,
    )
    .unwrap_err();
    assert!(matches!(err, TlsError::BadRoot { index: 0, .. }), "{err:?}");
    assert_eq!(err.code(), ErrorCode::TlsFailure);
}

#[test]
fn relay_failures_are_tls_failure() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ca = TestCa::new("ca").unwrap();
    let err = https_get(
        &TcpRelay::new(),
        &[ca.der().to_vec()],
        &format!("https://127.0.0.1:{port}/"),
        &FetchLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, TlsError::Relay(_)), "{err:?}");
    assert_eq!(err.code(), ErrorCode::TlsFailure);
}

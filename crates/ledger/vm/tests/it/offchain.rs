//! The off-chain `https_get` import: served by the embedder, refused on chain, bounded and
//! metered; and the price-feed contract that uses it.

use std::collections::BTreeMap;

use arcanum_types::ErrorCode;
use arcanum_vm::{
    Entries, HTTPS_GET_UNAVAILABLE, HostError, HostState, InMemoryState, Limit, Limits, VmError,
    cost,
};

use crate::support::{alice, call, compile_wat, price_feed, run_wat};

/// An off-chain embedder for tests: in-memory state and canned HTTPS answers by URL.
#[derive(Default)]
struct OffchainHost {
    state: InMemoryState,
    answers: BTreeMap<String, Result<Vec<u8>, HostError>>,
    fetched: Vec<String>,
}

impl OffchainHost {
    fn answering(url: &str, answer: Result<Vec<u8>, HostError>) -> OffchainHost {
        OffchainHost {
            answers: BTreeMap::from([(url.to_owned(), answer)]),
            ..OffchainHost::default()
        }
    }
}

impl HostState for OffchainHost {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        self.state.get(key)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), HostError> {
        self.state.put(key, value)
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), HostError> {
        self.state.delete(key)
    }

    fn range(&mut self, start: &[u8], end: &[u8], limit: u32) -> Result<Entries, HostError> {
        self.state.range(start, end, limit)
    }

    fn https_get(&mut self, url: &str) -> Result<Vec<u8>, HostError> {
        self.fetched.push(url.to_owned());
        self.answers.get(url).cloned().unwrap_or_else(|| {
            Err(HostError::failed(
                ErrorCode::HttpsFailure,
                "HTTP status 404 (only 200 is accepted)",
            ))
        })
    }
}

const URL: &str = "https://prices.example/v1";

/// A WAT module whose `run` fetches the URL at offset 64 (`len` bytes) `times` times and
/// returns the last body. Memory: 1 page; the body is copied to offset 4096.
fn fetch_module(len: usize, times: usize) -> String {
    format!(
        r#"(data (i32.const 64) "{URL}")
           (func (export "run") (local $n i32) (local $i i32)
             (loop $again
               (local.set $n (call $https_get (i32.const 64) (i32.const {len})))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $again (i32.lt_u (local.get $i) (i32.const {times}))))
             (call $scratch_read (i32.const 4096))
             (call $set_return (i32.const 4096) (local.get $n)))"#
    )
}

fn run_with(
    host: &mut OffchainHost,
    module: &str,
    limits: &Limits,
) -> Result<arcanum_vm::Outcome, VmError> {
    compile_wat(module)
        .expect("test module compiles")
        .invoke(host, &alice(), "run", &[], limits)
}

#[test]
fn https_get_body_reaches_the_guest_through_scratch() {
    let mut host = OffchainHost::answering(URL, Ok(b"{\"price\": 1}".to_vec()));
    let outcome = run_with(&mut host, &fetch_module(URL.len(), 1), &Limits::default()).unwrap();
    assert_eq!(outcome.return_data, b"{\"price\": 1}");
    assert_eq!(host.fetched, [URL]);
}

#[test]
fn https_get_is_refused_on_chain_as_a_deterministic_contract_failure() {
    let err = run_wat(&fetch_module(URL.len(), 1), &Limits::default()).unwrap_err();
    assert_eq!(
        err,
        VmError::Host(HostError::Failed {
            code: "CONTRACT_TRAP".into(),
            message: HTTPS_GET_UNAVAILABLE.into()
        })
    );
    assert_eq!(err.code(), ErrorCode::ContractTrap);
    assert!(err.is_execution_failure());
}

#[test]
fn embedder_failure_codes_surface_through_vm_error() {
    for code in [ErrorCode::TlsFailure, ErrorCode::HttpsFailure] {
        let mut host = OffchainHost::answering(URL, Err(HostError::failed(code, "relay tampered")));
        let err = run_with(&mut host, &fetch_module(URL.len(), 1), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), code, "{err:?}");
        assert!(!err.is_execution_failure());
    }
}

#[test]
fn url_length_fetch_count_and_body_size_are_bounded() {
    let limits = Limits {
        max_url: URL.len() - 1,
        ..Limits::default()
    };
    let mut host = OffchainHost::answering(URL, Ok(b"x".to_vec()));
    let err = run_with(&mut host, &fetch_module(URL.len(), 1), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            VmError::LimitExceeded {
                what: Limit::Url,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(host.fetched.is_empty(), "the embedder was asked anyway");

    let limits = Limits::default();
    let mut host = OffchainHost::answering(URL, Ok(b"x".to_vec()));
    let err = run_with(
        &mut host,
        &fetch_module(URL.len(), limits.max_fetches + 1),
        &limits,
    )
    .unwrap_err();
    assert_eq!(
        err,
        VmError::LimitExceeded {
            what: Limit::Fetches,
            len: limits.max_fetches as u64 + 1,
            max: limits.max_fetches as u64
        }
    );
    assert_eq!(host.fetched.len(), limits.max_fetches);

    let limits = Limits {
        max_fetch_body: 10,
        ..Limits::default()
    };
    let mut host = OffchainHost::answering(URL, Ok(vec![b'a'; 11]));
    let err = run_with(&mut host, &fetch_module(URL.len(), 1), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            VmError::LimitExceeded {
                what: Limit::FetchBody,
                len: 11,
                max: 10
            }
        ),
        "{err:?}"
    );
}

#[test]
fn https_get_checks_guest_memory_and_utf8() {
    let mut host = OffchainHost::default();
    let module =
        r#"(func (export "run") (drop (call $https_get (i32.const 65530) (i32.const 100))))"#;
    let err = run_with(&mut host, module, &Limits::default()).unwrap_err();
    assert!(matches!(err, VmError::MemoryOutOfBounds { .. }), "{err:?}");
    let module = r#"(data (i32.const 64) "\ff\fe")
        (func (export "run") (drop (call $https_get (i32.const 64) (i32.const 2))))"#;
    let err = run_with(&mut host, module, &Limits::default()).unwrap_err();
    assert_eq!(err, VmError::InvalidUtf8 { what: "url" });
    assert!(host.fetched.is_empty());
}

#[test]
fn https_get_is_charged_before_fetching_and_per_body_byte() {
    let module = fetch_module(URL.len(), 1);
    let fuel_for = |body: Vec<u8>| {
        let mut host = OffchainHost::answering(URL, Ok(body));
        run_with(&mut host, &module, &Limits::default())
            .unwrap()
            .fuel_used
    };
    let small = fuel_for(vec![b'a'; 10]);
    let large = fuel_for(vec![b'a'; 1010]);
    // The body is charged when fetched, again when copied out, and again as return data.
    assert_eq!(large - small, 3 * 1000 * cost::PER_BYTE);
    assert!(small > cost::FETCH);

    // Not enough fuel for the fetch surcharge: the embedder is never asked.
    let mut host = OffchainHost::answering(URL, Ok(b"x".to_vec()));
    let limits = Limits {
        fuel: cost::INSTANTIATE + cost::FETCH,
        ..Limits::default()
    };
    assert_eq!(
        run_with(&mut host, &module, &limits).unwrap_err(),
        VmError::OutOfFuel
    );
    assert!(host.fetched.is_empty());
}

#[test]
fn price_feed_fetches_parses_and_stores_the_price() {
    let mut host =
        OffchainHost::answering(URL, Ok(br#"{"symbol": "X", "price": 123.45}"#.to_vec()));
    let outcome = call(
        price_feed(),
        &mut host,
        &alice(),
        "fetch",
        &[URL.as_bytes()],
    )
    .unwrap();
    assert_eq!(outcome.return_data, b"12345");
    assert_eq!(host.state.map.get(&b"last"[..]).unwrap(), b"12345");
    let last = call(price_feed(), &mut host, &alice(), "last", &[]).unwrap();
    assert_eq!(last.return_data, b"12345");
    assert_eq!(host.fetched, [URL]);
}

#[test]
fn price_feed_price_formats() {
    let cases: &[(&str, Result<&str, &str>)] = &[
        (r#"{"price":7}"#, Ok("700")),
        (r#"{"price": 0.5}"#, Ok("50")),
        (r#"{"price": 1.239}"#, Ok("123")),
        ("{\"price\"\n:\t\"42.10\" }", Ok("4210")),
        (r#"[{"price": 3, "other": 1}]"#, Ok("300")),
        (
            r#"{"price": -1}"#,
            Err("price is not a non-negative decimal number of at most 15 digits"),
        ),
        (
            r#"{"price": 1e5}"#,
            Err("price is not a plain decimal number"),
        ),
        (
            r#"{"price": 1.}"#,
            Err("price has no digits after the decimal point"),
        ),
        (
            r#"{"price": "12}"#,
            Err("price is not a plain decimal number"),
        ),
        (r#"{"cost": 1}"#, Err("no \"price\" in the response")),
        (
            r#"{"price": 1234567890123456}"#,
            Err("price is not a non-negative decimal number of at most 15 digits"),
        ),
    ];
    for (body, expected) in cases {
        let mut host = OffchainHost::answering(URL, Ok(body.as_bytes().to_vec()));
        let result = call(
            price_feed(),
            &mut host,
            &alice(),
            "fetch",
            &[URL.as_bytes()],
        );
        match (expected, result) {
            (Ok(cents), Ok(outcome)) => assert_eq!(outcome.return_data, cents.as_bytes(), "{body}"),
            (Err(message), Err(VmError::ContractError { message: m })) => {
                assert_eq!(&m, message, "{body}");
                assert!(
                    host.state.map.is_empty(),
                    "{body}: a failed fetch stored a price"
                );
            }
            (expected, got) => panic!("{body}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn price_feed_fetch_failures_keep_their_code() {
    let mut host = OffchainHost::answering(
        URL,
        Err(HostError::failed(ErrorCode::TlsFailure, "bad record MAC")),
    );
    let err = call(
        price_feed(),
        &mut host,
        &alice(),
        "fetch",
        &[URL.as_bytes()],
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TlsFailure);
    // On chain (no fetching embedder) the same call is a deterministic contract failure.
    let err = call(
        price_feed(),
        &mut InMemoryState::new(),
        &alice(),
        "fetch",
        &[URL.as_bytes()],
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ContractTrap);
}

#[test]
fn price_feed_counter_spin_and_echo() {
    let mut state = InMemoryState::new();
    for expected in [b"1", b"2", b"3"] {
        let outcome = call(price_feed(), &mut state, &alice(), "counter", &[]).unwrap();
        assert_eq!(outcome.return_data, expected);
    }
    assert_eq!(state.map.get(&b"counter"[..]).unwrap(), b"3");

    let limits = Limits {
        fuel: 200_000,
        ..Limits::default()
    };
    let err = price_feed()
        .invoke(&mut InMemoryState::new(), &alice(), "spin", &[], &limits)
        .unwrap_err();
    assert_eq!(err, VmError::OutOfFuel);

    let outcome = call(
        price_feed(),
        &mut state,
        &alice(),
        "echo",
        &[b"\x00hello\xff"],
    )
    .unwrap();
    assert_eq!(outcome.return_data, b"\x00hello\xff");
    assert_eq!(
        price_feed().functions().collect::<Vec<_>>(),
        ["counter", "echo", "fetch", "last", "spin"]
    );
}

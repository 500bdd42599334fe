//! Integration tests of the example contracts that the VM tests do not cover: the oracle
//! caller's event is exactly the borsh `OracleRequest` the oracle relay decodes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arcanum_contracts::ORACLE_CALLER_WASM;
use arcanum_types::offchain::{MAX_OFFCHAIN_INPUT, ORACLE_REQUEST_EVENT, OracleRequest};
use arcanum_types::{Hash, decode};
use arcanum_vm::{Caller, Contract, Engine, InMemoryState, Limits, Outcome, VmError};

fn contract() -> Contract {
    Engine::new().compile(ORACLE_CALLER_WASM).unwrap()
}

fn caller() -> Caller {
    Caller {
        id: [1; 32],
        msp_id: "Org1MSP".into(),
        role: "client".into(),
    }
}

fn call(
    contract: &Contract,
    state: &mut InMemoryState,
    function: &str,
    args: &[&[u8]],
) -> Result<Outcome, VmError> {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    contract.invoke(state, &caller(), function, &args, &Limits::default())
}

#[test]
fn request_emits_a_borsh_oracle_request_and_records_it_as_pending() {
    let contract = contract();
    let mut state = InMemoryState::new();
    let id = [0x5a; 32];
    let outcome = call(
        &contract,
        &mut state,
        "request",
        &[&id, b"fetch", b"https://localhost:8443/price"],
    )
    .unwrap();
    assert_eq!(outcome.return_data, b"1");
    assert_eq!(outcome.events.len(), 1);
    let (name, data) = &outcome.events[0];
    assert_eq!(name, ORACLE_REQUEST_EVENT);
    let request: OracleRequest = decode(data, MAX_OFFCHAIN_INPUT + 1024).unwrap();
    assert_eq!(
        request,
        OracleRequest {
            contract_id: Hash(id),
            function: "fetch".into(),
            input: b"https://localhost:8443/price".to_vec(),
        }
    );
    // The pending marker holds the same bytes, and sequence numbers grow.
    let pending = call(&contract, &mut state, "pending", &[b"1"]).unwrap();
    assert_eq!(&pending.return_data, data);
    let second = call(&contract, &mut state, "request", &[&id, b"echo", b""]).unwrap();
    assert_eq!(second.return_data, b"2");
    let request: OracleRequest = decode(&second.events[0].1, 1024).unwrap();
    assert_eq!(request.input, Vec::<u8>::new());
    assert_eq!(request.function, "echo");
}

#[test]
fn malformed_requests_fail_without_an_event() {
    let contract = contract();
    let mut state = InMemoryState::new();
    let long_name = "f".repeat(65);
    let cases: [(&[&[u8]], &str); 5] = [
        (&[&[0u8; 31], b"f", b""], "contract id must be 32 bytes"),
        (
            &[&[0u8; 32], b"", b""],
            "function name must be 1 to 64 bytes",
        ),
        (
            &[&[0u8; 32], long_name.as_bytes(), b""],
            "function name must be 1 to 64 bytes",
        ),
        (&[&[0u8; 32], &[0xff], b""], "argument 1 is not UTF-8"),
        (&[&[0u8; 32], b"f"], "expected 3 arguments, got 2"),
    ];
    for (args, message) in cases {
        match call(&contract, &mut state, "request", args) {
            Err(VmError::ContractError { message: m }) => assert_eq!(m, message),
            other => panic!("expected a contract error, got {other:?}"),
        }
    }
    let big = vec![7u8; 64 * 1024];
    assert!(matches!(
        call(&contract, &mut state, "request", &[&[0u8; 32], b"f", &big]),
        Err(VmError::ContractError { message }) if message == "request too large"
    ));
    assert!(state.map.is_empty(), "a failed request left state behind");
    assert!(matches!(
        call(&contract, &mut state, "pending", &[b"1"]),
        Err(VmError::ContractError { message }) if message == "no such request"
    ));
}

//! The asset-transfer example contract.

use arcanum_vm::{InMemoryState, VmError};

use crate::support::{alice, asset, bob, call, contract_error};

fn balance(state: &mut InMemoryState, account: &str) -> String {
    let out = call(asset(), state, &alice(), "balance", &[account.as_bytes()]).unwrap();
    String::from_utf8(out.return_data).unwrap()
}

/// Alice owns `a1` (100) and `a2` (5); Bob owns `b1` (0).
fn setup() -> InMemoryState {
    let mut state = InMemoryState::new();
    call(asset(), &mut state, &alice(), "create", &[b"a1", b"100"]).unwrap();
    call(asset(), &mut state, &alice(), "create", &[b"a2", b"5"]).unwrap();
    call(asset(), &mut state, &bob(), "create", &[b"b1", b"0"]).unwrap();
    state
}

#[test]
fn create_records_owner_and_balance() {
    let mut state = InMemoryState::new();
    let out = call(asset(), &mut state, &alice(), "create", &[b"acc-1", b"42"]).unwrap();
    assert_eq!(out.events, vec![("created".to_string(), b"acc-1".to_vec())]);
    assert_eq!(balance(&mut state, "acc-1"), "42");
    let owner = call(asset(), &mut state, &bob(), "owner", &[b"acc-1"])
        .unwrap()
        .return_data;
    assert_eq!(owner, "a1".repeat(32).into_bytes());
    let record = state.map.get(&b"acct/acc-1"[..]).unwrap();
    assert_eq!(record.len(), 40);
}

#[test]
fn create_twice_fails() {
    let mut state = setup();
    let msg = contract_error(call(asset(), &mut state, &bob(), "create", &[b"a1", b"1"]));
    assert_eq!(msg, "account exists: a1");
    assert_eq!(balance(&mut state, "a1"), "100");
}

#[test]
fn transfer_moves_funds_and_emits() {
    let mut state = setup();
    let out = call(
        asset(),
        &mut state,
        &alice(),
        "transfer",
        &[b"a1", b"b1", b"30"],
    )
    .unwrap();
    assert_eq!(
        out.events,
        vec![("transfer".to_string(), b"a1 b1 30".to_vec())]
    );
    assert_eq!(balance(&mut state, "a1"), "70");
    assert_eq!(balance(&mut state, "b1"), "30");
    // The whole balance may move.
    call(
        asset(),
        &mut state,
        &alice(),
        "transfer",
        &[b"a1", b"a2", b"70"],
    )
    .unwrap();
    assert_eq!(balance(&mut state, "a1"), "0");
    assert_eq!(balance(&mut state, "a2"), "75");
}

#[test]
fn insufficient_funds() {
    let mut state = setup();
    let before = state.clone();
    let msg = contract_error(call(
        asset(),
        &mut state,
        &alice(),
        "transfer",
        &[b"a2", b"b1", b"6"],
    ));
    assert_eq!(msg, "insufficient funds");
    assert_eq!(state, before);
}

#[test]
fn only_the_owner_may_transfer() {
    let mut state = setup();
    let msg = contract_error(call(
        asset(),
        &mut state,
        &bob(),
        "transfer",
        &[b"a1", b"b1", b"1"],
    ));
    assert_eq!(msg, "caller does not own account a1");
    assert_eq!(balance(&mut state, "a1"), "100");
}

#[test]
fn unknown_accounts() {
    let mut state = setup();
    let msg = contract_error(call(
        asset(),
        &mut state,
        &alice(),
        "transfer",
        &[b"a1", b"zz", b"1"],
    ));
    assert_eq!(msg, "unknown account: zz");
    let msg = contract_error(call(
        asset(),
        &mut state,
        &alice(),
        "transfer",
        &[b"zz", b"a1", b"1"],
    ));
    assert_eq!(msg, "unknown account: zz");
    let msg = contract_error(call(asset(), &mut state, &alice(), "balance", &[b"zz"]));
    assert_eq!(msg, "unknown account: zz");
    assert_eq!(balance(&mut state, "a1"), "100");
}

#[test]
fn credit_overflow_is_refused() {
    let mut state = InMemoryState::new();
    let max = u64::MAX.to_string();
    call(
        asset(),
        &mut state,
        &alice(),
        "create",
        &[b"rich", max.as_bytes()],
    )
    .unwrap();
    call(asset(), &mut state, &alice(), "create", &[b"poor", b"1"]).unwrap();
    let msg = contract_error(call(
        asset(),
        &mut state,
        &alice(),
        "transfer",
        &[b"poor", b"rich", b"1"],
    ));
    assert_eq!(msg, "balance overflow");
    assert_eq!(balance(&mut state, "rich"), max);
    assert_eq!(balance(&mut state, "poor"), "1");
}

#[test]
fn bad_amounts() {
    let mut state = setup();
    let cases: [(&[u8], &str); 6] = [
        (b"0", "amount must be positive"),
        (b"-1", "amount is not a decimal number"),
        (b"1.5", "amount is not a decimal number"),
        (b"", "amount is not a decimal number"),
        (b" 1", "amount is not a decimal number"),
        (b"18446744073709551616", "amount does not fit in u64"),
    ];
    for (amount, expected) in cases {
        let msg = contract_error(call(
            asset(),
            &mut state,
            &alice(),
            "transfer",
            &[b"a1", b"b1", amount],
        ));
        assert_eq!(
            msg,
            expected,
            "amount {:?}",
            String::from_utf8_lossy(amount)
        );
    }
    let msg = contract_error(call(
        asset(),
        &mut state,
        &alice(),
        "create",
        &[b"new", b"x"],
    ));
    assert_eq!(msg, "amount is not a decimal number");
    assert_eq!(balance(&mut state, "a1"), "100");
}

#[test]
fn self_transfer_and_bad_names_are_refused() {
    let mut state = setup();
    let msg = contract_error(call(
        asset(),
        &mut state,
        &alice(),
        "transfer",
        &[b"a1", b"a1", b"1"],
    ));
    assert_eq!(msg, "cannot transfer to the same account");
    let msg = contract_error(call(
        asset(),
        &mut state,
        &alice(),
        "create",
        &[b"has space", b"1"],
    ));
    assert_eq!(msg, "invalid account name");
    let msg = contract_error(call(
        asset(),
        &mut state,
        &alice(),
        "create",
        &[&[b'x'; 65], b"1"],
    ));
    assert_eq!(msg, "invalid account name");
    assert_eq!(balance(&mut state, "a1"), "100");
}

#[test]
fn errors_map_to_contract_error_code() {
    let mut state = setup();
    let err = call(
        asset(),
        &mut state,
        &alice(),
        "transfer",
        &[b"a2", b"b1", b"600"],
    )
    .unwrap_err();
    assert!(matches!(err, VmError::ContractError { .. }));
    assert_eq!(err.code(), arcanum_types::ErrorCode::ContractError);
}

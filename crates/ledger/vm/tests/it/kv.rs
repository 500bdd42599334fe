//! The key/value example contract.

use arcanum_contracts::decode_kv_range;
use arcanum_vm::{InMemoryState, Limits, VmError};

use crate::support::{alice, args, call, contract_error, kv};

#[test]
fn put_get_delete() {
    let mut state = InMemoryState::new();
    let out = call(kv(), &mut state, &alice(), "put", &[b"color", b"blue"]).unwrap();
    assert!(out.return_data.is_empty());
    assert_eq!(out.events, vec![("put".to_string(), b"color".to_vec())]);
    assert_eq!(state.map.get(&b"color"[..]), Some(&b"blue".to_vec()));

    let out = call(kv(), &mut state, &alice(), "get", &[b"color"]).unwrap();
    assert_eq!(out.return_data, b"blue");

    call(kv(), &mut state, &alice(), "put", &[b"color", b"red"]).unwrap();
    assert_eq!(
        call(kv(), &mut state, &alice(), "get", &[b"color"])
            .unwrap()
            .return_data,
        b"red"
    );

    let out = call(kv(), &mut state, &alice(), "delete", &[b"color"]).unwrap();
    assert_eq!(out.events, vec![("delete".to_string(), b"color".to_vec())]);
    assert!(state.map.is_empty());
    assert_eq!(
        contract_error(call(kv(), &mut state, &alice(), "get", &[b"color"])),
        "key not found"
    );
    assert_eq!(
        contract_error(call(kv(), &mut state, &alice(), "delete", &[b"color"])),
        "key not found"
    );
}

#[test]
fn binary_keys_and_empty_values() {
    let mut state = InMemoryState::new();
    let key = [0u8, 255, 1, 0];
    call(kv(), &mut state, &alice(), "put", &[&key, b""]).unwrap();
    assert_eq!(
        call(kv(), &mut state, &alice(), "get", &[&key])
            .unwrap()
            .return_data,
        b""
    );
    assert_eq!(
        contract_error(call(kv(), &mut state, &alice(), "put", &[b"", b"x"])),
        "key must not be empty"
    );
}

#[test]
fn argument_count_is_checked() {
    let mut state = InMemoryState::new();
    assert_eq!(
        contract_error(call(kv(), &mut state, &alice(), "put", &[b"only-key"])),
        "expected 2 arguments, got 1"
    );
    assert_eq!(
        contract_error(call(kv(), &mut state, &alice(), "range", &[b"a"])),
        "expected 2 or 3 arguments, got 1"
    );
}

#[test]
fn range_is_half_open_ordered_and_limited() {
    let mut state = InMemoryState::new();
    for (k, v) in [("b", "2"), ("a", "1"), ("d", "4"), ("c", "3")] {
        call(
            kv(),
            &mut state,
            &alice(),
            "put",
            &[k.as_bytes(), v.as_bytes()],
        )
        .unwrap();
    }
    let out = call(kv(), &mut state, &alice(), "range", &[b"a", b"d"]).unwrap();
    let entries = decode_kv_range(&out.return_data).unwrap();
    assert_eq!(
        entries,
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec()),
            (b"c".to_vec(), b"3".to_vec())
        ]
    );
    let out = call(kv(), &mut state, &alice(), "range", &[b"b", b"z", b"2"]).unwrap();
    let keys: Vec<_> = decode_kv_range(&out.return_data)
        .unwrap()
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(keys, vec![b"b".to_vec(), b"c".to_vec()]);
    let out = call(kv(), &mut state, &alice(), "range", &[b"x", b"z"]).unwrap();
    assert!(decode_kv_range(&out.return_data).unwrap().is_empty());
}

#[test]
fn host_caps_range_entries() {
    let mut state = InMemoryState::new();
    for i in 0..20u8 {
        state.map.insert(vec![b'k', i], vec![i]);
    }
    let limits = Limits {
        max_range_entries: 5,
        ..Limits::default()
    };
    let out = kv()
        .invoke(&mut state, &alice(), "range", &args(&[b"k", b"l"]), &limits)
        .unwrap();
    assert_eq!(decode_kv_range(&out.return_data).unwrap().len(), 5);
}

#[test]
fn oversized_keys_and_values_hit_the_limits() {
    let mut state = InMemoryState::new();
    let limits = Limits {
        max_key: 8,
        max_value: 16,
        ..Limits::default()
    };
    let err = kv()
        .invoke(
            &mut state,
            &alice(),
            "put",
            &args(&[b"123456789", b"v"]),
            &limits,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            VmError::LimitExceeded {
                what: arcanum_vm::Limit::Key,
                len: 9,
                max: 8
            }
        ),
        "{err:?}"
    );
    let err = kv()
        .invoke(
            &mut state,
            &alice(),
            "put",
            &args(&[b"k", &[0u8; 17]]),
            &limits,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            VmError::LimitExceeded {
                what: arcanum_vm::Limit::Value,
                len: 17,
                max: 16
            }
        ),
        "{err:?}"
    );
    assert!(state.map.is_empty());
}

#[test]
fn unknown_function_is_rejected_before_running() {
    let mut state = InMemoryState::new();
    let err = call(kv(), &mut state, &alice(), "memory", &[]).unwrap_err();
    assert_eq!(err, VmError::UnknownFunction("memory".into()));
    let err = call(kv(), &mut state, &alice(), "nope", &[]).unwrap_err();
    assert_eq!(err, VmError::UnknownFunction("nope".into()));
    assert_eq!(err.code(), arcanum_types::ErrorCode::InvalidTx);
}

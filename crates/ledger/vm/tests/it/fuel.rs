//! Fuel metering, host-call accounting and determinism.

use arcanum_vm::{Engine, InMemoryState, Limits, VmError, cost};

use crate::support::{alice, args, asset, bob, call, compile_wat, run_wat};

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let limits = Limits {
        fuel: 200_000,
        ..Limits::default()
    };
    let err = run_wat(r#"(func (export "run") (loop $l (br $l)))"#, &limits).unwrap_err();
    assert_eq!(err, VmError::OutOfFuel);
    assert_eq!(err.code(), arcanum_types::ErrorCode::OutOfFuel);
}

#[test]
fn instantiation_is_charged() {
    let limits = Limits {
        fuel: cost::INSTANTIATE - 1,
        ..Limits::default()
    };
    assert_eq!(
        run_wat(r#"(func (export "run"))"#, &limits).unwrap_err(),
        VmError::OutOfFuel
    );
    let out = run_wat(r#"(func (export "run"))"#, &Limits::default()).unwrap();
    assert!(out.fuel_used >= cost::INSTANTIATE, "{}", out.fuel_used);
}

fn funded() -> InMemoryState {
    let mut state = InMemoryState::new();
    call(asset(), &mut state, &alice(), "create", &[b"a", b"1000"]).unwrap();
    call(asset(), &mut state, &bob(), "create", &[b"b", b"0"]).unwrap();
    state
}

#[test]
fn same_input_same_outcome_and_fuel() {
    let transfer = args(&[b"a", b"b", b"10"]);
    let run = |contract: &arcanum_vm::Contract| {
        let mut state = funded();
        let out = contract
            .invoke(
                &mut state,
                &alice(),
                "transfer",
                &transfer,
                &Limits::default(),
            )
            .unwrap();
        (out, state)
    };
    let (first, state1) = run(asset());
    let (second, state2) = run(asset());
    // A separately built engine and compilation must agree too.
    let other = Engine::new()
        .compile(arcanum_contracts::ASSET_WASM)
        .unwrap();
    let (third, state3) = run(&other);
    assert_eq!(first, second);
    assert_eq!(first, third);
    assert_eq!(state1, state2);
    assert_eq!(state1, state3);
    assert!(first.fuel_used > cost::INSTANTIATE);
}

#[test]
fn fuel_limit_is_exact() {
    let transfer = args(&[b"a", b"b", b"10"]);
    let mut state = funded();
    let used = asset()
        .invoke(
            &mut state.clone(),
            &alice(),
            "transfer",
            &transfer,
            &Limits::default(),
        )
        .unwrap()
        .fuel_used;
    let exact = Limits {
        fuel: used,
        ..Limits::default()
    };
    let out = asset()
        .invoke(&mut state.clone(), &alice(), "transfer", &transfer, &exact)
        .unwrap();
    assert_eq!(out.fuel_used, used);
    let short = Limits {
        fuel: used - 1,
        ..Limits::default()
    };
    let err = asset()
        .invoke(&mut state, &alice(), "transfer", &transfer, &short)
        .unwrap_err();
    assert_eq!(err, VmError::OutOfFuel);
}

/// A module whose `run` puts a value of `len` bytes (zeroes from memory offset 1024).
fn put_of(len: u32) -> String {
    format!(
        r#"(func (export "run")
             (call $put (i32.const 0) (i32.const 3) (i32.const 1024) (i32.const {len})))"#
    )
}

#[test]
fn host_calls_charge_per_byte() {
    let small = run_wat(&put_of(10), &Limits::default()).unwrap().fuel_used;
    let large = run_wat(&put_of(1010), &Limits::default())
        .unwrap()
        .fuel_used;
    assert_eq!(large - small, 1000 * cost::PER_BYTE);

    // A read charges for the value it returns.
    let get = r#"(func (export "run") (drop (call $get (i32.const 0) (i32.const 3))))"#;
    let contract = compile_wat(get).unwrap();
    let run = |value_len: usize| {
        let mut state = InMemoryState::new();
        state.map.insert(b"key".to_vec(), vec![7; value_len]);
        contract
            .invoke(&mut state, &alice(), "run", &[], &Limits::default())
            .unwrap()
            .fuel_used
    };
    assert_eq!(run(500) - run(0), 500 * cost::PER_BYTE);
}

#[test]
fn a_write_is_charged_before_it_happens() {
    let contract = compile_wat(&put_of(60_000)).unwrap();
    let mut state = InMemoryState::new();
    let limits = Limits {
        fuel: cost::INSTANTIATE + 10_000,
        ..Limits::default()
    };
    let err = contract
        .invoke(&mut state, &alice(), "run", &[], &limits)
        .unwrap_err();
    assert_eq!(err, VmError::OutOfFuel);
    assert!(
        state.map.is_empty(),
        "an unpaid write must not reach the state"
    );
}

#[test]
fn memory_grow_is_metered_and_deterministic() {
    let grow = r#"(func (export "run") (drop (memory.grow (i32.const 10))))"#;
    let a = run_wat(grow, &Limits::default()).unwrap();
    let b = run_wat(grow, &Limits::default()).unwrap();
    assert_eq!(a.fuel_used, b.fuel_used);
    let nothing = run_wat(
        r#"(func (export "run") (drop (i32.const 10)))"#,
        &Limits::default(),
    );
    assert!(a.fuel_used > nothing.unwrap().fuel_used);
}

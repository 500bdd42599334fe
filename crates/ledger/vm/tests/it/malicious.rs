//! Hostile and broken guests: every one must end in a precise error, never a host panic.

use arcanum_vm::{
    Engine, EngineConfig, Entries, HostError, HostState, InMemoryState, Limit, Limits, VmError,
};

use crate::support::{IMPORTS, alice, args, compile_wat, engine, run_wat, wat_module};

fn run(body: &str) -> Result<arcanum_vm::Outcome, VmError> {
    run_wat(
        &format!(r#"(func (export "run") {body})"#),
        &Limits::default(),
    )
}

#[test]
fn out_of_bounds_pointers() {
    // Key crossing the end of the single page.
    let err = run("(call $put (i32.const 65535) (i32.const 3) (i32.const 0) (i32.const 1))");
    assert_eq!(
        err.unwrap_err(),
        VmError::MemoryOutOfBounds { ptr: 65535, len: 3 }
    );
    // A negative pointer is a huge offset.
    let err = run("(drop (call $get (i32.const -1) (i32.const 1)))");
    assert_eq!(
        err.unwrap_err(),
        VmError::MemoryOutOfBounds {
            ptr: u32::MAX,
            len: 1
        }
    );
    // Value out of bounds while the key is fine.
    let err = run("(call $put (i32.const 0) (i32.const 3) (i32.const 65000) (i32.const 1000))");
    assert_eq!(
        err.unwrap_err(),
        VmError::MemoryOutOfBounds {
            ptr: 65000,
            len: 1000
        }
    );
    let err = run("(call $set_return (i32.const 70000) (i32.const 0))");
    assert_eq!(
        err.unwrap_err(),
        VmError::MemoryOutOfBounds { ptr: 70000, len: 0 }
    );
}

#[test]
fn scratch_read_is_bounds_checked() {
    let contract = compile_wat(
        r#"(func (export "run") (drop (call $arg (i32.const 0))) (call $scratch_read (i32.const 65530)))"#,
    )
    .unwrap();
    let err = contract
        .invoke(
            &mut InMemoryState::new(),
            &alice(),
            "run",
            &args(&[b"0123456789"]),
            &Limits::default(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        VmError::MemoryOutOfBounds {
            ptr: 65530,
            len: 10
        }
    );
}

#[test]
fn huge_lengths_hit_limits_before_any_copy() {
    let err = run("(drop (call $get (i32.const 0) (i32.const 0x7fffffff)))").unwrap_err();
    assert_eq!(
        err,
        VmError::LimitExceeded {
            what: Limit::Key,
            len: 0x7fff_ffff,
            max: 1024
        }
    );
    let err =
        run("(call $put (i32.const 0) (i32.const 3) (i32.const 0) (i32.const -1))").unwrap_err();
    assert_eq!(
        err,
        VmError::LimitExceeded {
            what: Limit::Value,
            len: u64::from(u32::MAX),
            max: 1024 * 1024
        }
    );
    let err = run("(call $set_return (i32.const 0) (i32.const -2))").unwrap_err();
    assert!(
        matches!(
            err,
            VmError::LimitExceeded {
                what: Limit::Return,
                ..
            }
        ),
        "{err:?}"
    );
    let err = run(
        "(drop (call $range (i32.const 0) (i32.const 1) (i32.const 0) (i32.const -1) (i32.const 5)))",
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            VmError::LimitExceeded {
                what: Limit::Key,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), arcanum_types::ErrorCode::ContractTrap);
}

#[test]
fn fail_reports_the_message_truncated() {
    let err = run("(call $fail (i32.const 16) (i32.const 5))").unwrap_err();
    assert_eq!(
        err,
        VmError::ContractError {
            message: "value".into()
        }
    );
    // A huge length is cut to `max_error_message` (the page is zeroes past the data).
    let err = run("(call $fail (i32.const 0) (i32.const -1))").unwrap_err();
    let VmError::ContractError { message } = err else {
        panic!("{err:?}")
    };
    assert_eq!(message.len(), 1024);
    assert!(message.starts_with("key\0"));
}

#[test]
fn events_are_bounded_and_names_checked() {
    let err = run("(call $emit (i32.const 1024) (i32.const 0) (i32.const 0) (i32.const 3))");
    assert_eq!(err.unwrap().events, vec![(String::new(), b"key".to_vec())]);
    let bad_name = r#"(func (export "run") (call $emit (i32.const 2000) (i32.const 1) (i32.const 0) (i32.const 0)))
                      (data (i32.const 2000) "\ff")"#;
    let err = run_wat(bad_name, &Limits::default()).unwrap_err();
    assert_eq!(err, VmError::InvalidUtf8 { what: "event name" });
    let many = r#"(func (export "run") (local $i i32)
        (loop $l
          (call $emit (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 0))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 100)))))"#;
    let limits = Limits {
        max_events: 10,
        ..Limits::default()
    };
    let err = run_wat(many, &limits).unwrap_err();
    assert_eq!(
        err,
        VmError::LimitExceeded {
            what: Limit::Events,
            len: 11,
            max: 10
        }
    );
}

#[test]
fn traps_are_reported() {
    assert_eq!(
        run("(unreachable)").unwrap_err(),
        VmError::Trap("wasm `unreachable` instruction executed".into())
    );
    let err = run("(drop (i32.div_u (i32.const 1) (i32.const 0)))").unwrap_err();
    assert_eq!(err, VmError::Trap("integer divide by zero".into()));
    let err = run("(drop (i32.load (i32.const 65535)))").unwrap_err();
    assert_eq!(err, VmError::Trap("out of bounds memory access".into()));
    let deep = r#"(func $f (export "run") (call $f))"#;
    let err = run_wat(deep, &Limits::default()).unwrap_err();
    assert_eq!(err, VmError::Trap("call stack exhausted".into()));
}

#[test]
fn memory_limits() {
    // Declared memory above the engine's cap: rejected at deploy time.
    let text =
        format!(r#"(module {IMPORTS} (memory (export "memory") 300) (func (export "run")))"#);
    let err = engine()
        .compile(&wat::parse_str(text).unwrap())
        .unwrap_err();
    assert_eq!(
        err,
        VmError::MemoryTooLarge {
            pages: 300,
            max: 256
        }
    );

    // Within the engine's cap but above this invocation's limit.
    let small = Limits {
        max_memory_pages: 0,
        ..Limits::default()
    };
    let err = run_wat(r#"(func (export "run"))"#, &small).unwrap_err();
    assert_eq!(
        err,
        VmError::LimitExceeded {
            what: Limit::MemoryPages,
            len: 1,
            max: 0
        }
    );

    // Growing past the limit at run time.
    let limits = Limits {
        max_memory_pages: 4,
        ..Limits::default()
    };
    let grow = r#"(func (export "run") (drop (memory.grow (i32.const 2))) (drop (memory.grow (i32.const 2))))"#;
    let err = run_wat(grow, &limits).unwrap_err();
    assert_eq!(
        err,
        VmError::LimitExceeded {
            what: Limit::MemoryPages,
            len: 5,
            max: 4
        }
    );
    let grow_ok = r#"(func (export "run") (drop (memory.grow (i32.const 3))))"#;
    assert!(run_wat(grow_ok, &limits).is_ok());
}

#[test]
fn table_limits() {
    // A huge declared table is refused when instantiated.
    let err = run_wat(
        r#"(table 100000 funcref) (func (export "run"))"#,
        &Limits::default(),
    );
    assert_eq!(
        err.unwrap_err(),
        VmError::LimitExceeded {
            what: Limit::TableElements,
            len: 100_000,
            max: 10_000
        }
    );
    // Growing past the cap at run time traps with the same error.
    let grow = r#"(table 1 funcref)
        (func (export "run") (drop (table.grow (ref.null func) (i32.const 20000))))"#;
    assert_eq!(
        run_wat(grow, &Limits::default()).unwrap_err(),
        VmError::LimitExceeded {
            what: Limit::TableElements,
            len: 20_001,
            max: 10_000
        }
    );
}

#[test]
fn abi_is_checked_at_compile_time() {
    let compile = |text: &str| engine().compile(&wat::parse_str(text).unwrap());
    let err = compile(r#"(module (func (export "run")))"#).unwrap_err();
    assert_eq!(err, VmError::MissingExport("memory".into()));
    let err = compile(r#"(module (memory (export "memory") 1) (func (export "run") (param i32)))"#)
        .unwrap_err();
    assert!(matches!(err, VmError::MissingExport(_)), "{err:?}");
    let err = compile(r#"(module (import "env" "abort" (func)) (memory (export "memory") 1) (func (export "run")))"#)
        .unwrap_err();
    assert_eq!(
        err,
        VmError::BadImport {
            module: "env".into(),
            name: "abort".into(),
            reason: "unknown import module"
        }
    );
    let err = compile(r#"(module (import "arcanum" "exec" (func)) (memory (export "memory") 1) (func (export "run")))"#)
        .unwrap_err();
    assert!(
        matches!(
            err,
            VmError::BadImport {
                reason: "unknown host function",
                ..
            }
        ),
        "{err:?}"
    );
    let err = compile(r#"(module (import "arcanum" "state_get" (func (param i32) (result i32))) (memory (export "memory") 1) (func (export "run")))"#)
        .unwrap_err();
    assert!(
        matches!(
            err,
            VmError::BadImport {
                reason: "wrong function type",
                ..
            }
        ),
        "{err:?}"
    );
    let err = compile(r#"(module (import "arcanum" "arg" (memory 1)) (func (export "run")))"#)
        .unwrap_err();
    assert!(
        matches!(
            err,
            VmError::BadImport {
                reason: "only functions can be imported",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), arcanum_types::ErrorCode::InvalidContract);
}

#[test]
fn start_functions_are_rejected() {
    let items = r#"(func $boom unreachable) (start $boom) (func (export "run"))"#;
    assert_eq!(compile_wat(items).unwrap_err(), VmError::StartFunction);
    let items = r#"(func $quiet) (start $quiet) (func (export "run"))"#;
    assert_eq!(compile_wat(items).unwrap_err(), VmError::StartFunction);
}

#[test]
fn floats_and_garbage_are_rejected() {
    let err = compile_wat(r#"(func (export "run") (drop (f64.add (f64.const 1) (f64.const 2))))"#)
        .unwrap_err();
    assert!(matches!(err, VmError::InvalidModule(_)), "{err:?}");
    let err = compile_wat(r#"(func (export "run") (local f32))"#).unwrap_err();
    assert!(matches!(err, VmError::InvalidModule(_)), "{err:?}");
    assert_eq!(engine().compile(b"(module)").unwrap_err(), VmError::NotWasm);
    assert_eq!(engine().compile(b"").unwrap_err(), VmError::NotWasm);
    let mut truncated = wat_module(r#"(func (export "run"))"#);
    truncated.truncate(truncated.len() - 3);
    assert!(matches!(
        engine().compile(&truncated).unwrap_err(),
        VmError::InvalidModule(_)
    ));
    let small = Engine::with_config(EngineConfig {
        max_module_bytes: 100,
        ..EngineConfig::default()
    });
    let err = small
        .compile(&wat_module(r#"(func (export "run"))"#))
        .unwrap_err();
    assert!(
        matches!(err, VmError::ModuleTooLarge { max: 100, .. }),
        "{err:?}"
    );
}

#[test]
fn entry_points_need_the_entry_signature() {
    let contract = compile_wat(
        r#"(func (export "run")) (func (export "add") (param i32) (result i32) (local.get 0))"#,
    )
    .unwrap();
    assert_eq!(contract.functions().collect::<Vec<_>>(), ["run"]);
    let err = contract
        .invoke(
            &mut InMemoryState::new(),
            &alice(),
            "add",
            &[],
            &Limits::default(),
        )
        .unwrap_err();
    assert_eq!(err, VmError::UnknownFunction("add".into()));
}

#[test]
fn argument_limits() {
    let contract = compile_wat(r#"(func (export "run"))"#).unwrap();
    let mut state = InMemoryState::new();
    let too_many = vec![Vec::new(); 65];
    let err = contract
        .invoke(&mut state, &alice(), "run", &too_many, &Limits::default())
        .unwrap_err();
    assert_eq!(
        err,
        VmError::LimitExceeded {
            what: Limit::Args,
            len: 65,
            max: 64
        }
    );
    let limits = Limits {
        max_args_bytes: 4,
        ..Limits::default()
    };
    let err = contract
        .invoke(
            &mut state,
            &alice(),
            "run",
            &args(&[b"12", b"345"]),
            &limits,
        )
        .unwrap_err();
    assert_eq!(
        err,
        VmError::LimitExceeded {
            what: Limit::ArgsBytes,
            len: 5,
            max: 4
        }
    );
}

#[test]
fn args_and_caller_reach_the_guest() {
    // Copies argument 1 and the caller record into memory and returns them.
    let items = r#"(func (export "run") (local $n i32) (local $c i32)
        (if (i32.ne (call $arg_count) (i32.const 2)) (then unreachable))
        (if (i32.ne (call $arg (i32.const 2)) (i32.const -1)) (then unreachable))
        (local.set $n (call $arg (i32.const 1)))
        (call $scratch_read (i32.const 100))
        (local.set $c (call $caller))
        (call $scratch_read (i32.add (i32.const 100) (local.get $n)))
        (call $set_return (i32.const 100) (i32.add (local.get $n) (local.get $c))))"#;
    let contract = compile_wat(items).unwrap();
    let out = contract
        .invoke(
            &mut InMemoryState::new(),
            &alice(),
            "run",
            &args(&[b"x", b"hello"]),
            &Limits::default(),
        )
        .unwrap();
    let caller = arcanum_vm::abi::encode_caller(&alice()).unwrap();
    assert_eq!(out.return_data, [&b"hello"[..], &caller].concat());
}

struct BrokenState;

impl HostState for BrokenState {
    fn get(&mut self, _: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        Err(HostError::Backend("disk on fire".into()))
    }
    fn put(&mut self, _: &[u8], _: &[u8]) -> Result<(), HostError> {
        Err(HostError::Denied("read-only query".into()))
    }
    fn delete(&mut self, _: &[u8]) -> Result<(), HostError> {
        Err(HostError::Denied("read-only query".into()))
    }
    fn range(&mut self, _: &[u8], _: &[u8], _: u32) -> Result<Entries, HostError> {
        Err(HostError::Backend("disk on fire".into()))
    }
}

#[test]
fn backend_failures_surface_as_host_errors() {
    let contract = compile_wat(
        r#"(func (export "get") (drop (call $get (i32.const 0) (i32.const 3))))
           (func (export "put") (call $put (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 3)))"#,
    )
    .unwrap();
    let limits = Limits::default();
    let err = contract
        .invoke(&mut BrokenState, &alice(), "get", &[], &limits)
        .unwrap_err();
    assert_eq!(
        err,
        VmError::Host(HostError::Backend("disk on fire".into()))
    );
    assert!(!err.is_execution_failure());
    let err = contract
        .invoke(&mut BrokenState, &alice(), "put", &[], &limits)
        .unwrap_err();
    assert_eq!(
        err,
        VmError::Host(HostError::Denied("read-only query".into()))
    );
}

#[test]
fn range_results_are_bounded_in_bytes() {
    let items = r#"(func (export "run")
        (drop (call $range (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 3) (i32.const -1))))"#;
    let contract = compile_wat(items).unwrap();
    let mut state = InMemoryState::new();
    for i in 0..10u8 {
        state.map.insert(vec![b'a', i], vec![0; 100]);
    }
    let limits = Limits {
        max_range_bytes: 500,
        ..Limits::default()
    };
    let err = contract
        .invoke(&mut state, &alice(), "run", &[], &limits)
        .unwrap_err();
    assert!(
        matches!(
            err,
            VmError::LimitExceeded {
                what: Limit::RangeBytes,
                max: 500,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        contract
            .invoke(&mut state, &alice(), "run", &[], &Limits::default())
            .is_ok()
    );
}

//! Shared fixtures: one engine, each module compiled once per test binary.

use std::sync::OnceLock;

use arcanum_vm::{Caller, Contract, Engine, HostState, InMemoryState, Limits, Outcome, VmError};

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::new)
}

pub fn kv() -> &'static Contract {
    static KV: OnceLock<Contract> = OnceLock::new();
    KV.get_or_init(|| {
        engine()
            .compile(arcanum_contracts::KV_WASM)
            .expect("kv compiles")
    })
}

pub fn price_feed() -> &'static Contract {
    static PRICE_FEED: OnceLock<Contract> = OnceLock::new();
    PRICE_FEED.get_or_init(|| {
        engine()
            .compile(arcanum_contracts::PRICE_FEED_WASM)
            .expect("price-feed compiles")
    })
}

pub fn asset() -> &'static Contract {
    static ASSET: OnceLock<Contract> = OnceLock::new();
    ASSET.get_or_init(|| {
        engine()
            .compile(arcanum_contracts::ASSET_WASM)
            .expect("asset compiles")
    })
}

pub fn alice() -> Caller {
    Caller {
        id: [0xa1; 32],
        msp_id: "Org1MSP".into(),
        role: "client".into(),
    }
}

pub fn bob() -> Caller {
    Caller {
        id: [0xb0; 32],
        msp_id: "Org2MSP".into(),
        role: "client".into(),
    }
}

pub fn args(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// Invokes with default limits.
pub fn call(
    contract: &Contract,
    state: &mut dyn HostState,
    caller: &Caller,
    function: &str,
    parts: &[&[u8]],
) -> Result<Outcome, VmError> {
    contract.invoke(state, caller, function, &args(parts), &Limits::default())
}

pub fn contract_error(result: Result<Outcome, VmError>) -> String {
    match result {
        Err(VmError::ContractError { message }) => message,
        other => panic!("expected a contract error, got {other:?}"),
    }
}

/// Imports of every host function, for WAT test modules.
pub const IMPORTS: &str = r#"
  (import "arcanum" "arg_count" (func $arg_count (result i32)))
  (import "arcanum" "arg" (func $arg (param i32) (result i32)))
  (import "arcanum" "caller" (func $caller (result i32)))
  (import "arcanum" "state_get" (func $get (param i32 i32) (result i32)))
  (import "arcanum" "state_put" (func $put (param i32 i32 i32 i32)))
  (import "arcanum" "state_delete" (func $delete (param i32 i32)))
  (import "arcanum" "state_range" (func $range (param i32 i32 i32 i32 i32) (result i32)))
  (import "arcanum" "scratch_read" (func $scratch_read (param i32)))
  (import "arcanum" "emit" (func $emit (param i32 i32 i32 i32)))
  (import "arcanum" "set_return" (func $set_return (param i32 i32)))
  (import "arcanum" "fail" (func $fail (param i32 i32)))
  (import "arcanum" "https_get" (func $https_get (param i32 i32) (result i32)))
"#;

/// A module with all imports, one page of memory holding `"key"` at 0 and `"value"` at 16,
/// and the given items (typically `(func (export "run") ...)`).
pub fn wat_module(items: &str) -> Vec<u8> {
    let text = format!(
        r#"(module {IMPORTS}
             (memory (export "memory") 1)
             (data (i32.const 0) "key")
             (data (i32.const 16) "value")
             {items})"#
    );
    wat::parse_str(&text).expect("test WAT parses")
}

/// Compiles a WAT test module.
pub fn compile_wat(items: &str) -> Result<Contract, VmError> {
    engine().compile(&wat_module(items))
}

/// Runs export `run` of a WAT test module on an empty state.
pub fn run_wat(items: &str, limits: &Limits) -> Result<Outcome, VmError> {
    let contract = compile_wat(items).expect("test module compiles");
    contract.invoke(&mut InMemoryState::new(), &alice(), "run", &[], limits)
}

#[test]
fn engine_and_contract_are_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<Contract>();
    let copy = kv().clone();
    assert_eq!(
        copy.functions().collect::<Vec<_>>(),
        ["delete", "get", "put", "range"]
    );
}

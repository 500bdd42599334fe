//! Compilation (deploy-time validation) and invocation.

use std::collections::BTreeSet;
use std::sync::Arc;

use arcanum_types::limits as protocol;
use wasmi::{CompilationMode, EnforcedLimits, ExternType, FuncType, Module, Store, ValType};

use crate::abi::{self, Abort, Data, GuestLimiter};
use crate::{Caller, HostState, Limit, Limits, VmError, cost};

/// Size of a WebAssembly page.
const PAGE_BYTES: u64 = 65_536;
/// Most table elements a contract may have.
const MAX_TABLE_ELEMENTS: usize = 10_000;

/// Deploy-time bounds of an [`Engine`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Largest module accepted, in bytes.
    pub max_module_bytes: usize,
    /// Largest initial memory a module may declare, in pages.
    pub max_memory_pages: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_module_bytes: protocol::MAX_TX_BYTES,
            max_memory_pages: Limits::default().max_memory_pages,
        }
    }
}

/// A wasmi engine configured for deterministic contracts. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Engine {
    inner: wasmi::Engine,
    config: EngineConfig,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An engine with the default [`EngineConfig`].
    pub fn new() -> Engine {
        Engine::with_config(EngineConfig::default())
    }

    /// An engine with explicit deploy-time bounds.
    pub fn with_config(config: EngineConfig) -> Engine {
        let mut wasm = wasmi::Config::default();
        wasm.consume_fuel(true)
            // No f32/f64: NaN payloads and rounding are where interpreters could disagree.
            .floats(false)
            // SIMD is off too: wasmi's `simd` feature is not enabled.
            .wasm_memory64(false)
            .wasm_multi_memory(false)
            .wasm_custom_page_sizes(false)
            .wasm_wide_arithmetic(false)
            .allow_start_fn(false)
            .ignore_custom_sections(true)
            // Eager: lazy translation would charge fuel on a function's first call only, so
            // the same invocation could cost differently on two endorsers.
            .compilation_mode(CompilationMode::Eager)
            .enforced_limits(EnforcedLimits::strict());
        Engine {
            inner: wasmi::Engine::new(&wasm),
            config,
        }
    }

    /// The deploy-time bounds.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Validates and compiles a module. Everything that can be checked before running is
    /// checked here, so a bad contract is rejected at deploy time.
    pub fn compile(&self, wasm: &[u8]) -> Result<Contract, VmError> {
        if wasm.len() > self.config.max_module_bytes {
            return Err(VmError::ModuleTooLarge {
                size: wasm.len(),
                max: self.config.max_module_bytes,
            });
        }
        if !wasm.starts_with(b"\0asm") {
            return Err(VmError::NotWasm);
        }
        if has_start_section(wasm) {
            return Err(VmError::StartFunction);
        }
        let module =
            Module::new(&self.inner, wasm).map_err(|e| VmError::InvalidModule(e.to_string()))?;
        check_imports(&module)?;
        let memory_pages = match module.get_export(abi::MEMORY_EXPORT) {
            Some(ExternType::Memory(memory)) => memory.minimum(),
            _ => return Err(VmError::MissingExport(abi::MEMORY_EXPORT.into())),
        };
        if memory_pages > u64::from(self.config.max_memory_pages) {
            return Err(VmError::MemoryTooLarge {
                pages: memory_pages,
                max: self.config.max_memory_pages,
            });
        }
        let entry = FuncType::new([], []);
        let entry_points: BTreeSet<String> = module
            .exports()
            .filter(|e| matches!(e.ty(), ExternType::Func(f) if *f == entry))
            .map(|e| e.name().to_owned())
            .collect();
        if entry_points.is_empty() {
            return Err(VmError::MissingExport(
                "an entry point of type () -> ()".into(),
            ));
        }
        Ok(Contract {
            module,
            entry_points: Arc::new(entry_points),
            memory_pages,
        })
    }
}

/// Whether the binary has a start section (id 8). Stops at the first malformed section header
/// and leaves the verdict on malformed input to the validator.
fn has_start_section(wasm: &[u8]) -> bool {
    let mut pos = 8;
    while let Some(&id) = wasm.get(pos) {
        if id == 8 {
            return true;
        }
        let Some((size, leb_len)) = read_leb_u32(wasm.get(pos + 1..).unwrap_or_default()) else {
            return false;
        };
        match (pos + 1 + leb_len).checked_add(size as usize) {
            Some(next) => pos = next,
            None => return false,
        }
    }
    false
}

fn read_leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u32 = 0;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= u32::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Every import must be one of [`abi::IMPORTS`], as a function of exactly that type.
fn check_imports(module: &Module) -> Result<(), VmError> {
    for import in module.imports() {
        let bad = |reason| VmError::BadImport {
            module: import.module().to_owned(),
            name: import.name().to_owned(),
            reason,
        };
        if import.module() != abi::MODULE {
            return Err(bad("unknown import module"));
        }
        let Some(&(_, params, results)) = abi::IMPORTS.iter().find(|(n, _, _)| *n == import.name())
        else {
            return Err(bad("unknown host function"));
        };
        let ExternType::Func(ty) = import.ty() else {
            return Err(bad("only functions can be imported"));
        };
        let expected = FuncType::new(vec![ValType::I32; params], vec![ValType::I32; results]);
        if *ty != expected {
            return Err(bad("wrong function type"));
        }
    }
    Ok(())
}

/// A validated, compiled contract. Cheap to clone; can be invoked from many threads at once
/// (each invocation gets its own instance).
#[derive(Clone)]
pub struct Contract {
    module: Module,
    entry_points: Arc<BTreeSet<String>>,
    memory_pages: u64,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("entry_points", &self.entry_points)
            .field("memory_pages", &self.memory_pages)
            .finish_non_exhaustive()
    }
}

/// The result of a successful invocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// What the contract passed to `set_return` last (empty if never).
    pub return_data: Vec<u8>,
    /// Emitted events, in order: (name, data).
    pub events: Vec<(String, Vec<u8>)>,
    /// Fuel consumed, instantiation and host calls included.
    pub fuel_used: u64,
}

impl Contract {
    /// The exported entry points, sorted.
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.entry_points.iter().map(String::as_str)
    }

    /// The module's initial memory, in pages.
    pub fn memory_pages(&self) -> u64 {
        self.memory_pages
    }

    /// Runs entry point `function` with `args` on behalf of `caller`. State writes go to `host`
    /// as they happen: on error the embedder must discard them (simulation writes into a write
    /// set, so it simply drops it).
    pub fn invoke(
        &self,
        host: &mut dyn HostState,
        caller: &Caller,
        function: &str,
        args: &[Vec<u8>],
        limits: &Limits,
    ) -> Result<Outcome, VmError> {
        if !self.entry_points.contains(function) {
            return Err(VmError::UnknownFunction(function.to_owned()));
        }
        if args.len() > limits.max_args {
            return Err(VmError::LimitExceeded {
                what: Limit::Args,
                len: args.len() as u64,
                max: limits.max_args as u64,
            });
        }
        let args_bytes = args.iter().fold(0usize, |n, a| n.saturating_add(a.len()));
        if args_bytes > limits.max_args_bytes {
            return Err(VmError::LimitExceeded {
                what: Limit::ArgsBytes,
                len: args_bytes as u64,
                max: limits.max_args_bytes as u64,
            });
        }
        if self.memory_pages > u64::from(limits.max_memory_pages) {
            return Err(VmError::LimitExceeded {
                what: Limit::MemoryPages,
                len: self.memory_pages,
                max: u64::from(limits.max_memory_pages),
            });
        }
        let Some(fuel) = limits.fuel.checked_sub(cost::INSTANTIATE) else {
            return Err(VmError::OutOfFuel);
        };

        let engine = self.module.engine();
        let linker = abi::linker(engine)?;
        let max_memory_bytes = u64::from(limits.max_memory_pages).saturating_mul(PAGE_BYTES);
        let data = Data {
            host,
            caller: abi::encode_caller(caller)?,
            args,
            limits,
            scratch: Vec::new(),
            return_data: Vec::new(),
            events: Vec::new(),
            fetches: 0,
            limiter: GuestLimiter {
                max_memory_bytes: usize::try_from(max_memory_bytes).unwrap_or(usize::MAX),
                max_table_elements: MAX_TABLE_ELEMENTS,
                denied_memory_bytes: None,
                denied_table_elements: None,
            },
            memory: None,
        };
        let mut store = Store::new(engine, data);
        store.limiter(abi::limiter);
        store
            .set_fuel(fuel)
            .map_err(|e| VmError::InvalidModule(e.to_string()))?;

        let instance = linker
            .instantiate_and_start(&mut store, &self.module)
            .map_err(|e| map_error(e, &store))?;
        let memory = instance
            .get_memory(&store, abi::MEMORY_EXPORT)
            .ok_or_else(|| VmError::MissingExport(abi::MEMORY_EXPORT.into()))?;
        store.data_mut().memory = Some(memory);
        let func = instance
            .get_typed_func::<(), ()>(&store, function)
            .map_err(|_| VmError::UnknownFunction(function.to_owned()))?;
        func.call(&mut store, ())
            .map_err(|e| map_error(e, &store))?;

        let remaining = store
            .get_fuel()
            .map_err(|e| VmError::InvalidModule(e.to_string()))?;
        let fuel_used = limits.fuel.saturating_sub(remaining);
        let data = store.into_data();
        Ok(Outcome {
            return_data: data.return_data,
            events: data.events,
            fuel_used,
        })
    }
}

/// Turns a wasmi error into the precise [`VmError`].
fn map_error(error: wasmi::Error, store: &Store<Data<'_>>) -> VmError {
    if let Some(Abort(vm)) = error.downcast_ref::<Abort>() {
        return vm.clone();
    }
    // A denied memory or table growth (at instantiation or by `memory.grow`/`table.grow`)
    // surfaces as a trap or an instantiation error; the limiter recorded which one it was.
    let limiter = &store.data().limiter;
    if let Some(bytes) = limiter.denied_memory_bytes {
        return VmError::LimitExceeded {
            what: Limit::MemoryPages,
            len: (bytes as u64).div_ceil(PAGE_BYTES),
            max: u64::from(store.data().limits.max_memory_pages),
        };
    }
    if let Some(elements) = limiter.denied_table_elements {
        return VmError::LimitExceeded {
            what: Limit::TableElements,
            len: elements as u64,
            max: MAX_TABLE_ELEMENTS as u64,
        };
    }
    if let Some(code) = error.as_trap_code() {
        return match code {
            wasmi::TrapCode::OutOfFuel => VmError::OutOfFuel,
            other => VmError::Trap(other.trap_message().to_owned()),
        };
    }
    if let wasmi::errors::ErrorKind::Memory(wasmi::errors::MemoryError::OutOfFuel { .. }) =
        error.kind()
    {
        return VmError::OutOfFuel;
    }
    VmError::Trap(error.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn start_section_scan() {
        // Header, then a type section (id 1, 4 bytes) and a start section (id 8).
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
        assert!(!has_start_section(&wasm));
        wasm.extend_from_slice(&[8, 1, 0]);
        assert!(has_start_section(&wasm));
        // A truncated LEB or a size running past the end is left to the validator.
        assert!(!has_start_section(
            b"\0asm\x01\0\0\0\x01\xff\xff\xff\xff\xff"
        ));
        assert!(!has_start_section(b"\0asm\x01\0\0\0\x01\x7f"));
    }

    #[test]
    fn leb_decoding() {
        assert_eq!(read_leb_u32(&[0x05]), Some((5, 1)));
        assert_eq!(read_leb_u32(&[0xe5, 0x8e, 0x26]), Some((624_485, 3)));
        assert_eq!(read_leb_u32(&[0x80, 0x80]), None);
    }
}

//! The host ABI: what a contract imports from module [`MODULE`] and how the host serves it.
//!
//! All parameters and results are `i32`. Pointers and lengths are reinterpreted as `u32`
//! offsets into the guest's exported memory [`MEMORY_EXPORT`]; a negative length is therefore a
//! huge one and fails the length limit. Variable-size results (arguments, values, range
//! results, the caller record, a fetched body) are placed in a host-side *scratch buffer*: the call returns the
//! length, and the guest copies the bytes out with `scratch_read(ptr)` into a buffer it allocated
//! itself. The guest never exports an allocator and the host never writes anywhere the guest did
//! not ask it to.
//!
//! | import | signature | effect |
//! |---|---|---|
//! | `arg_count` | `() -> i32` | number of arguments |
//! | `arg` | `(index) -> i32` | argument `index` into scratch; its length, or `-1` if out of range |
//! | `caller` | `() -> i32` | caller record into scratch ([`encode_caller`]); its length |
//! | `state_get` | `(key_ptr, key_len) -> i32` | value into scratch; its length, or `-1` if absent |
//! | `state_put` | `(key_ptr, key_len, value_ptr, value_len)` | store a value |
//! | `state_delete` | `(key_ptr, key_len)` | delete a key |
//! | `state_range` | `(start_ptr, start_len, end_ptr, end_len, limit) -> i32` | entries of `[start, end)` into scratch ([`encode_entries`]); its length |
//! | `scratch_read` | `(ptr)` | copy the whole scratch buffer to `ptr` |
//! | `emit` | `(name_ptr, name_len, data_ptr, data_len)` | record an event (name is UTF-8) |
//! | `set_return` | `(ptr, len)` | set the return data (replaces earlier data) |
//! | `fail` | `(msg_ptr, msg_len)` | abort with a contract error; never returns |
//! | `https_get` | `(url_ptr, url_len) -> i32` | off-chain only: body of an HTTPS GET into scratch; its length |
//!
//! Every call charges fuel first ([`crate::cost`]), checks lengths against [`crate::Limits`]
//! before touching memory, and bounds-checks every guest range. Any violation aborts the whole
//! invocation with a precise [`crate::VmError`]; the guest cannot catch it.

use std::fmt;
use std::ops::Range;

use wasmi::{Caller as WasmCaller, Linker, Memory, ResourceLimiter};
// `ResourceLimiter`'s error type is not re-exported by wasmi.
use wasmi_core::LimiterError;

use crate::{Caller, HostError, HostState, Limit, Limits, VmError, cost};

/// The import module of every host function.
pub const MODULE: &str = "arcanum";
/// The memory a contract must export.
pub const MEMORY_EXPORT: &str = "memory";
/// Returned by `arg` and `state_get` when there is nothing to return.
pub const ABSENT: i32 = -1;

/// The host functions: name, number of `i32` parameters, number of `i32` results.
pub const IMPORTS: &[(&str, usize, usize)] = &[
    ("arg_count", 0, 1),
    ("arg", 1, 1),
    ("caller", 0, 1),
    ("state_get", 2, 1),
    ("state_put", 4, 0),
    ("state_delete", 2, 0),
    ("state_range", 5, 1),
    ("scratch_read", 1, 0),
    ("emit", 4, 0),
    ("set_return", 2, 0),
    ("fail", 2, 0),
    ("https_get", 2, 1),
];

/// Encodes the caller record: the 32-byte id, then the MSP id and the role, each as a
/// little-endian `u32` length and UTF-8 bytes.
pub fn encode_caller(caller: &Caller) -> Result<Vec<u8>, VmError> {
    let mut out = Vec::with_capacity(40 + caller.msp_id.len() + caller.role.len());
    out.extend_from_slice(&caller.id);
    for part in [caller.msp_id.as_bytes(), caller.role.as_bytes()] {
        put_prefixed(&mut out, part)?;
    }
    Ok(out)
}

/// Encodes range entries: a little-endian `u32` count, then per entry the key and the value,
/// each as a little-endian `u32` length and the bytes.
pub fn encode_entries(entries: &[(Vec<u8>, Vec<u8>)]) -> Result<Vec<u8>, VmError> {
    let mut out = Vec::new();
    out.extend_from_slice(&len_u32(entries.len())?.to_le_bytes());
    for (key, value) in entries {
        put_prefixed(&mut out, key)?;
        put_prefixed(&mut out, value)?;
    }
    Ok(out)
}

fn len_u32(len: usize) -> Result<u32, VmError> {
    u32::try_from(len).map_err(|_| VmError::LimitExceeded {
        what: Limit::AbiLength,
        len: len as u64,
        max: u64::from(u32::MAX),
    })
}

fn put_prefixed(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), VmError> {
    out.extend_from_slice(&len_u32(bytes.len())?.to_le_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// Why a host call aborted the invocation. Travels through wasmi as a host error.
#[derive(Debug)]
pub(crate) struct Abort(pub(crate) VmError);

impl fmt::Display for Abort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl wasmi::errors::HostError for Abort {}

fn abort(error: VmError) -> wasmi::Error {
    wasmi::Error::host(Abort(error))
}

/// Limits memory and table growth; remembers a denied memory growth so that the trap it causes
/// can be reported as [`VmError::LimitExceeded`].
#[derive(Debug)]
pub(crate) struct GuestLimiter {
    pub(crate) max_memory_bytes: usize,
    pub(crate) max_table_elements: usize,
    pub(crate) denied_memory_bytes: Option<usize>,
    pub(crate) denied_table_elements: Option<usize>,
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        if desired > self.max_memory_bytes {
            self.denied_memory_bytes = Some(desired);
            return Err(LimiterError::ResourceLimiterDeniedAllocation);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        if desired > self.max_table_elements {
            self.denied_table_elements = Some(desired);
            return Err(LimiterError::ResourceLimiterDeniedAllocation);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        8
    }

    fn memories(&self) -> usize {
        1
    }
}

/// The store data of one invocation.
pub(crate) struct Data<'a> {
    pub(crate) host: &'a mut dyn HostState,
    pub(crate) caller: Vec<u8>,
    pub(crate) args: &'a [Vec<u8>],
    pub(crate) limits: &'a Limits,
    pub(crate) scratch: Vec<u8>,
    pub(crate) return_data: Vec<u8>,
    pub(crate) events: Vec<(String, Vec<u8>)>,
    /// `https_get` calls made so far.
    pub(crate) fetches: usize,
    pub(crate) limiter: GuestLimiter,
    /// Set right after instantiation (contracts have no start function, so no host call can
    /// happen before).
    pub(crate) memory: Option<Memory>,
}

/// The limiter accessor handed to the store.
pub(crate) fn limiter<'b>(data: &'b mut Data<'_>) -> &'b mut dyn ResourceLimiter {
    &mut data.limiter
}

type Ctx<'c, 'a> = WasmCaller<'c, Data<'a>>;

/// Charges `fuel`, failing with [`VmError::OutOfFuel`] (and zero fuel left) if it is not there.
fn charge(ctx: &mut Ctx<'_, '_>, fuel: u64) -> Result<(), wasmi::Error> {
    let remaining = ctx.get_fuel()?;
    match remaining.checked_sub(fuel) {
        Some(left) => ctx.set_fuel(left),
        None => {
            ctx.set_fuel(0)?;
            Err(abort(VmError::OutOfFuel))
        }
    }
}

/// Checks a guest length against a limit (a negative `i32` is a huge `u32`).
fn checked_len(len: i32, max: usize, what: Limit) -> Result<usize, wasmi::Error> {
    let len = len as u32;
    let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
    if len_usize > max {
        return Err(abort(VmError::LimitExceeded {
            what,
            len: u64::from(len),
            max: max as u64,
        }));
    }
    Ok(len_usize)
}

/// The byte range `[ptr, ptr + len)` of a memory of `size` bytes, if it is inside.
fn guest_range(size: usize, ptr: i32, len: usize) -> Result<Range<usize>, wasmi::Error> {
    let start = ptr as u32 as usize;
    let out_of_bounds = || {
        abort(VmError::MemoryOutOfBounds {
            ptr: ptr as u32,
            len: u32::try_from(len).unwrap_or(u32::MAX),
        })
    };
    let end = start.checked_add(len).ok_or_else(out_of_bounds)?;
    if end > size {
        return Err(out_of_bounds());
    }
    Ok(start..end)
}

fn memory(ctx: &Ctx<'_, '_>) -> Result<Memory, wasmi::Error> {
    ctx.data()
        .memory
        .ok_or_else(|| abort(VmError::MissingExport(MEMORY_EXPORT.into())))
}

fn host_error(error: HostError) -> wasmi::Error {
    abort(VmError::Host(error))
}

/// Puts `bytes` in the scratch buffer and returns their length as the ABI's `i32`.
fn fill_scratch(ctx: &mut Ctx<'_, '_>, bytes: Vec<u8>) -> Result<i32, wasmi::Error> {
    let len = i32::try_from(bytes.len()).map_err(|_| {
        abort(VmError::LimitExceeded {
            what: Limit::AbiLength,
            len: bytes.len() as u64,
            max: i32::MAX as u64,
        })
    })?;
    ctx.data_mut().scratch = bytes;
    Ok(len)
}

fn arg_count(mut ctx: Ctx<'_, '_>) -> Result<i32, wasmi::Error> {
    charge(&mut ctx, cost::host_call(0, 0))?;
    // `invoke` checked the count against `max_args`, which must fit an i32 to get here.
    i32::try_from(ctx.data().args.len()).map_err(|_| {
        abort(VmError::LimitExceeded {
            what: Limit::AbiLength,
            len: ctx.data().args.len() as u64,
            max: i32::MAX as u64,
        })
    })
}

fn arg(mut ctx: Ctx<'_, '_>, index: i32) -> Result<i32, wasmi::Error> {
    charge(&mut ctx, cost::host_call(0, 0))?;
    let Some(bytes) = usize::try_from(index)
        .ok()
        .and_then(|i| ctx.data().args.get(i))
    else {
        return Ok(ABSENT);
    };
    let bytes = bytes.clone();
    charge(&mut ctx, cost::PER_BYTE.saturating_mul(bytes.len() as u64))?;
    fill_scratch(&mut ctx, bytes)
}

fn caller(mut ctx: Ctx<'_, '_>) -> Result<i32, wasmi::Error> {
    let bytes = ctx.data().caller.clone();
    charge(&mut ctx, cost::host_call(0, bytes.len()))?;
    fill_scratch(&mut ctx, bytes)
}

fn state_get(mut ctx: Ctx<'_, '_>, key_ptr: i32, key_len: i32) -> Result<i32, wasmi::Error> {
    let key_len = checked_len(key_len, ctx.data().limits.max_key, Limit::Key)?;
    charge(&mut ctx, cost::host_call(cost::STATE_READ, key_len))?;
    let mem = memory(&ctx)?;
    let (bytes, data) = mem.data_and_store_mut(&mut ctx);
    let key = &bytes[guest_range(bytes.len(), key_ptr, key_len)?];
    let value = data.host.get(key).map_err(host_error)?;
    match value {
        None => Ok(ABSENT),
        Some(value) => {
            charge(&mut ctx, cost::PER_BYTE.saturating_mul(value.len() as u64))?;
            fill_scratch(&mut ctx, value)
        }
    }
}

fn state_put(
    mut ctx: Ctx<'_, '_>,
    key_ptr: i32,
    key_len: i32,
    value_ptr: i32,
    value_len: i32,
) -> Result<(), wasmi::Error> {
    let key_len = checked_len(key_len, ctx.data().limits.max_key, Limit::Key)?;
    let value_len = checked_len(value_len, ctx.data().limits.max_value, Limit::Value)?;
    charge(
        &mut ctx,
        cost::host_call(cost::STATE_WRITE, key_len.saturating_add(value_len)),
    )?;
    let mem = memory(&ctx)?;
    let (bytes, data) = mem.data_and_store_mut(&mut ctx);
    let key = &bytes[guest_range(bytes.len(), key_ptr, key_len)?];
    let value = &bytes[guest_range(bytes.len(), value_ptr, value_len)?];
    data.host.put(key, value).map_err(host_error)
}

fn state_delete(mut ctx: Ctx<'_, '_>, key_ptr: i32, key_len: i32) -> Result<(), wasmi::Error> {
    let key_len = checked_len(key_len, ctx.data().limits.max_key, Limit::Key)?;
    charge(&mut ctx, cost::host_call(cost::STATE_WRITE, key_len))?;
    let mem = memory(&ctx)?;
    let (bytes, data) = mem.data_and_store_mut(&mut ctx);
    let key = &bytes[guest_range(bytes.len(), key_ptr, key_len)?];
    data.host.delete(key).map_err(host_error)
}

fn state_range(
    mut ctx: Ctx<'_, '_>,
    start_ptr: i32,
    start_len: i32,
    end_ptr: i32,
    end_len: i32,
    limit: i32,
) -> Result<i32, wasmi::Error> {
    let max_key = ctx.data().limits.max_key;
    let start_len = checked_len(start_len, max_key, Limit::Key)?;
    let end_len = checked_len(end_len, max_key, Limit::Key)?;
    charge(
        &mut ctx,
        cost::host_call(cost::STATE_READ, start_len.saturating_add(end_len)),
    )?;
    // A negative limit is a huge u32, capped like any other.
    let limit = (limit as u32).min(ctx.data().limits.max_range_entries);
    let max_bytes = ctx.data().limits.max_range_bytes;
    let mem = memory(&ctx)?;
    let (bytes, data) = mem.data_and_store_mut(&mut ctx);
    let start = &bytes[guest_range(bytes.len(), start_ptr, start_len)?];
    let end = &bytes[guest_range(bytes.len(), end_ptr, end_len)?];
    let mut entries = data.host.range(start, end, limit).map_err(host_error)?;
    // Defensive: a backend must not return more than asked for.
    entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let mut total: usize = 4;
    for (key, value) in &entries {
        total = total
            .saturating_add(8)
            .saturating_add(key.len())
            .saturating_add(value.len());
    }
    if total > max_bytes {
        return Err(abort(VmError::LimitExceeded {
            what: Limit::RangeBytes,
            len: total as u64,
            max: max_bytes as u64,
        }));
    }
    let per_entries = cost::RANGE_ENTRY.saturating_mul(entries.len() as u64);
    charge(
        &mut ctx,
        per_entries.saturating_add(cost::PER_BYTE.saturating_mul(total as u64)),
    )?;
    let encoded = encode_entries(&entries).map_err(abort)?;
    fill_scratch(&mut ctx, encoded)
}

fn scratch_read(mut ctx: Ctx<'_, '_>, ptr: i32) -> Result<(), wasmi::Error> {
    let len = ctx.data().scratch.len();
    charge(&mut ctx, cost::host_call(0, len))?;
    let mem = memory(&ctx)?;
    let (bytes, data) = mem.data_and_store_mut(&mut ctx);
    let range = guest_range(bytes.len(), ptr, len)?;
    bytes[range].copy_from_slice(&data.scratch);
    Ok(())
}

fn emit(
    mut ctx: Ctx<'_, '_>,
    name_ptr: i32,
    name_len: i32,
    data_ptr: i32,
    data_len: i32,
) -> Result<(), wasmi::Error> {
    let limits = ctx.data().limits;
    let (max_events, max_name, max_data) = (
        limits.max_events,
        limits.max_event_name,
        limits.max_event_data,
    );
    let count = ctx.data().events.len();
    if count >= max_events {
        return Err(abort(VmError::LimitExceeded {
            what: Limit::Events,
            len: count as u64 + 1,
            max: max_events as u64,
        }));
    }
    let name_len = checked_len(name_len, max_name, Limit::EventName)?;
    let data_len = checked_len(data_len, max_data, Limit::EventData)?;
    charge(
        &mut ctx,
        cost::host_call(cost::EVENT, name_len.saturating_add(data_len)),
    )?;
    let mem = memory(&ctx)?;
    let (bytes, data) = mem.data_and_store_mut(&mut ctx);
    let name = &bytes[guest_range(bytes.len(), name_ptr, name_len)?];
    let payload = &bytes[guest_range(bytes.len(), data_ptr, data_len)?];
    let name = std::str::from_utf8(name)
        .map_err(|_| abort(VmError::InvalidUtf8 { what: "event name" }))?;
    data.events.push((name.to_owned(), payload.to_vec()));
    Ok(())
}

fn set_return(mut ctx: Ctx<'_, '_>, ptr: i32, len: i32) -> Result<(), wasmi::Error> {
    let len = checked_len(len, ctx.data().limits.max_return, Limit::Return)?;
    charge(&mut ctx, cost::host_call(0, len))?;
    let mem = memory(&ctx)?;
    let (bytes, data) = mem.data_and_store_mut(&mut ctx);
    let returned = &bytes[guest_range(bytes.len(), ptr, len)?];
    data.return_data = returned.to_vec();
    Ok(())
}

fn fail(mut ctx: Ctx<'_, '_>, ptr: i32, len: i32) -> Result<(), wasmi::Error> {
    // Over-long messages are truncated, not rejected: the contract meant to fail either way.
    let len = usize::try_from(len as u32)
        .unwrap_or(usize::MAX)
        .min(ctx.data().limits.max_error_message);
    charge(&mut ctx, cost::host_call(0, len))?;
    let mem = memory(&ctx)?;
    let bytes = mem.data(&ctx);
    let message = &bytes[guest_range(bytes.len(), ptr, len)?];
    let message = String::from_utf8_lossy(message).into_owned();
    Err(abort(VmError::ContractError { message }))
}

/// `https_get(url_ptr, url_len) -> len`: the embedder fetches the URL (UTF-8) and the body goes
/// to scratch. Checks the URL length and the fetch count, and charges [`cost::FETCH`] and the
/// URL bytes, before the embedder is asked; the body is bounded and charged per byte after.
/// Any failure (the default refusal on chain, `TLS_FAILURE`, `HTTPS_FAILURE`) aborts the
/// invocation with the embedder's [`HostError`].
fn https_get(mut ctx: Ctx<'_, '_>, url_ptr: i32, url_len: i32) -> Result<i32, wasmi::Error> {
    let limits = ctx.data().limits;
    let (max_url, max_fetches, max_body) =
        (limits.max_url, limits.max_fetches, limits.max_fetch_body);
    let url_len = checked_len(url_len, max_url, Limit::Url)?;
    let count = ctx.data().fetches;
    if count >= max_fetches {
        return Err(abort(VmError::LimitExceeded {
            what: Limit::Fetches,
            len: count as u64 + 1,
            max: max_fetches as u64,
        }));
    }
    charge(&mut ctx, cost::host_call(cost::FETCH, url_len))?;
    let mem = memory(&ctx)?;
    let (bytes, data) = mem.data_and_store_mut(&mut ctx);
    let url = &bytes[guest_range(bytes.len(), url_ptr, url_len)?];
    let url = std::str::from_utf8(url).map_err(|_| abort(VmError::InvalidUtf8 { what: "url" }))?;
    data.fetches += 1;
    let body = data.host.https_get(url).map_err(host_error)?;
    if body.len() > max_body {
        return Err(abort(VmError::LimitExceeded {
            what: Limit::FetchBody,
            len: body.len() as u64,
            max: max_body as u64,
        }));
    }
    charge(&mut ctx, cost::PER_BYTE.saturating_mul(body.len() as u64))?;
    fill_scratch(&mut ctx, body)
}

/// A linker with every host function of [`IMPORTS`].
pub(crate) fn linker<'a>(engine: &wasmi::Engine) -> Result<Linker<Data<'a>>, VmError> {
    let mut linker = Linker::new(engine);
    let wrap = |result: Result<&mut Linker<Data<'a>>, wasmi::errors::LinkerError>| {
        result
            .map(|_| ())
            .map_err(|e| VmError::InvalidModule(format!("host linker: {e}")))
    };
    wrap(linker.func_wrap(MODULE, "arg_count", arg_count))?;
    wrap(linker.func_wrap(MODULE, "arg", arg))?;
    wrap(linker.func_wrap(MODULE, "caller", caller))?;
    wrap(linker.func_wrap(MODULE, "state_get", state_get))?;
    wrap(linker.func_wrap(MODULE, "state_put", state_put))?;
    wrap(linker.func_wrap(MODULE, "state_delete", state_delete))?;
    wrap(linker.func_wrap(MODULE, "state_range", state_range))?;
    wrap(linker.func_wrap(MODULE, "scratch_read", scratch_read))?;
    wrap(linker.func_wrap(MODULE, "emit", emit))?;
    wrap(linker.func_wrap(MODULE, "set_return", set_return))?;
    wrap(linker.func_wrap(MODULE, "fail", fail))?;
    wrap(linker.func_wrap(MODULE, "https_get", https_get))?;
    Ok(linker)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn guest_ranges_are_bounds_checked() {
        assert_eq!(guest_range(100, 10, 20).unwrap(), 10..30);
        assert_eq!(guest_range(100, 0, 100).unwrap(), 0..100);
        assert!(guest_range(100, 90, 11).is_err());
        assert!(guest_range(100, -1, 1).is_err());
        assert_eq!(guest_range(100, 100, 0).unwrap(), 100..100);
        assert!(guest_range(100, 101, 0).is_err());
    }

    #[test]
    fn negative_lengths_fail_the_limit() {
        assert_eq!(checked_len(5, 10, Limit::Key).unwrap(), 5);
        assert!(checked_len(11, 10, Limit::Key).is_err());
        assert!(checked_len(-1, 10, Limit::Key).is_err());
    }

    #[test]
    fn encodings_are_length_prefixed() {
        let caller = Caller {
            id: [7; 32],
            msp_id: "Org1".into(),
            role: "client".into(),
        };
        let enc = encode_caller(&caller).unwrap();
        assert_eq!(&enc[..32], &[7; 32]);
        assert_eq!(&enc[32..36], &4u32.to_le_bytes());
        assert_eq!(&enc[36..40], b"Org1");
        assert_eq!(&enc[40..44], &6u32.to_le_bytes());
        assert_eq!(&enc[44..], b"client");

        let enc = encode_entries(&[(b"k".to_vec(), b"vv".to_vec())]).unwrap();
        assert_eq!(
            enc,
            [
                &1u32.to_le_bytes()[..],
                &1u32.to_le_bytes(),
                b"k",
                &2u32.to_le_bytes(),
                b"vv"
            ]
            .concat()
        );
    }

    #[test]
    fn every_import_is_linked_with_its_declared_type() {
        let mut imports = String::new();
        for (name, params, results) in IMPORTS {
            let params = " i32".repeat(*params);
            let results = " i32".repeat(*results);
            imports.push_str(&format!(
                r#"(import "arcanum" "{name}" (func (param{params}) (result{results})))"#
            ));
        }
        let mut state = crate::InMemoryState::new();
        let limits = Limits::default();
        let wasm = wat::parse_str(format!("(module {imports} (memory 1))")).unwrap();
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, &wasm).unwrap();
        let linker = linker(&engine).unwrap();
        let data = Data {
            host: &mut state,
            caller: Vec::new(),
            args: &[],
            limits: &limits,
            scratch: Vec::new(),
            return_data: Vec::new(),
            events: Vec::new(),
            fetches: 0,
            limiter: GuestLimiter {
                max_memory_bytes: 1 << 20,
                max_table_elements: 10,
                denied_memory_bytes: None,
                denied_table_elements: None,
            },
            memory: None,
        };
        let mut store = wasmi::Store::new(&engine, data);
        assert!(linker.instantiate_and_start(&mut store, &module).is_ok());
        let mut names: Vec<_> = IMPORTS.iter().map(|i| i.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), IMPORTS.len());
    }
}

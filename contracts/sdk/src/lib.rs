//! Guest SDK for Arcanum on-chain contracts (SPEC L6).
//!
//! A contract is a `cdylib` compiled to `wasm32-unknown-unknown`. Each entry point is an exported
//! function without parameters or results; the [`contract!`] macro writes those exports for you.
//! Inside an entry point the contract reads its arguments ([`Args`]), the calling identity
//! ([`caller`]) and its own state ([`get`], [`put`], [`delete`], [`range`]), emits events
//! ([`emit`]) and finally returns bytes or an [`Error`]. Off-chain contracts (run by a TEE
//! cluster) can also read external HTTPS data ([`https_get`]).
//!
//! The functions here are safe wrappers over the host imports of module `"arcanum"`, described in
//! `docs/design/contract-abi.md`. The host charges fuel for every call, proportional to the bytes
//! copied, and aborts the invocation on any ABI violation; an SDK user never sees raw pointers.
//!
//! Invariants:
//! - The SDK has no dependencies, uses no floating point and no randomness: a contract built with
//!   it is deterministic by construction.
//! - State keys are contract-relative: the host namespaces them per contract.

use std::fmt;

/// The raw host imports. Pointers and lengths are offsets into this module's linear memory.
mod sys {
    #[link(wasm_import_module = "arcanum")]
    unsafe extern "C" {
        pub fn arg_count() -> i32;
        pub fn arg(index: i32) -> i32;
        pub fn caller() -> i32;
        pub fn state_get(key_ptr: *const u8, key_len: i32) -> i32;
        pub fn state_put(key_ptr: *const u8, key_len: i32, value_ptr: *const u8, value_len: i32);
        pub fn state_delete(key_ptr: *const u8, key_len: i32);
        pub fn state_range(
            start_ptr: *const u8,
            start_len: i32,
            end_ptr: *const u8,
            end_len: i32,
            limit: i32,
        ) -> i32;
        pub fn scratch_read(ptr: *mut u8);
        pub fn emit(name_ptr: *const u8, name_len: i32, data_ptr: *const u8, data_len: i32);
        pub fn set_return(ptr: *const u8, len: i32);
        pub fn fail(msg_ptr: *const u8, msg_len: i32) -> !;
        pub fn https_get(url_ptr: *const u8, url_len: i32) -> i32;
    }
}

/// A length as the ABI passes it. Slices in a wasm32 module never exceed `i32::MAX` bytes in
/// practice; a larger one is clamped, which the host rejects as over its limits.
fn abi_len(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

/// Copies the host's scratch buffer, which holds `len` bytes after the call that filled it.
fn read_scratch(len: i32) -> Vec<u8> {
    let len = usize::try_from(len).unwrap_or(0);
    let mut buf = vec![0u8; len];
    if len > 0 {
        // SAFETY: `buf` is a live, writable allocation of exactly `len` bytes, and the host writes
        // exactly the scratch length it just reported (`len`) at `buf.as_mut_ptr()`.
        unsafe { sys::scratch_read(buf.as_mut_ptr()) };
    }
    buf
}

/// A contract failure: the invocation is rolled back and the message reaches the client as
/// `CONTRACT_ERROR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::new(message)
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::new(message)
    }
}

/// The result of an entry point: the bytes to return, or an error.
pub type Result<T> = std::result::Result<T, Error>;

/// Returns early with an [`Error`] built from a format string.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return ::core::result::Result::Err($crate::Error::new(::std::format!($($arg)*)))
    };
}

/// The invocation's arguments: Fabric-style byte strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    args: Vec<Vec<u8>>,
}

impl Args {
    /// Reads all arguments from the host.
    pub fn load() -> Args {
        // SAFETY: `arg_count` takes no pointers.
        let count = unsafe { sys::arg_count() };
        let mut args = Vec::new();
        for index in 0..count.max(0) {
            // SAFETY: `arg` takes no pointers; it fills the host's scratch buffer.
            let len = unsafe { sys::arg(index) };
            if len < 0 {
                break;
            }
            args.push(read_scratch(len));
        }
        Args { args }
    }

    /// Wraps arguments that are already in memory.
    pub fn from_vec(args: Vec<Vec<u8>>) -> Args {
        Args { args }
    }

    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// Fails unless there are exactly `n` arguments.
    pub fn expect_len(&self, n: usize) -> Result<()> {
        if self.args.len() == n {
            Ok(())
        } else {
            Err(Error::new(format!(
                "expected {n} arguments, got {}",
                self.args.len()
            )))
        }
    }

    /// Argument `index` as bytes.
    pub fn bytes(&self, index: usize) -> Result<&[u8]> {
        self.args
            .get(index)
            .map(Vec::as_slice)
            .ok_or_else(|| Error::new(format!("missing argument {index}")))
    }

    /// Argument `index` as UTF-8 text.
    pub fn str(&self, index: usize) -> Result<&str> {
        std::str::from_utf8(self.bytes(index)?)
            .map_err(|_| Error::new(format!("argument {index} is not UTF-8")))
    }

    /// Argument `index` as a decimal ASCII `u64`.
    pub fn u64(&self, index: usize) -> Result<u64> {
        parse_u64(self.bytes(index)?)
    }
}

/// Parses a decimal ASCII `u64`: digits only (no sign, no spaces), at most `u64::MAX`.
pub fn parse_u64(bytes: &[u8]) -> Result<u64> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(Error::new("amount is not a decimal number"));
    }
    let mut value: u64 = 0;
    for digit in bytes {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
            .ok_or_else(|| Error::new("amount does not fit in u64"))?;
    }
    Ok(value)
}

/// The identity that signed the transaction being executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The identity id: SHA-256 of the caller's certificate.
    pub id: [u8; 32],
    /// The caller's organisation (MSP id).
    pub msp_id: String,
    /// The caller's role (`client`, `admin`, `peer`, ...).
    pub role: String,
}

/// Reads a little-endian `u32` length and that many bytes from `buf` at `*pos`.
fn take_prefixed<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let len_bytes = buf.get(*pos..pos.checked_add(4)?)?;
    let len = u32::from_le_bytes(len_bytes.try_into().ok()?) as usize;
    let start = pos.checked_add(4)?;
    let end = start.checked_add(len)?;
    let out = buf.get(start..end)?;
    *pos = end;
    Some(out)
}

fn decode_caller(buf: &[u8]) -> Option<Caller> {
    let id: [u8; 32] = buf.get(..32)?.try_into().ok()?;
    let mut pos = 32;
    let msp_id = String::from_utf8(take_prefixed(buf, &mut pos)?.to_vec()).ok()?;
    let role = String::from_utf8(take_prefixed(buf, &mut pos)?.to_vec()).ok()?;
    Some(Caller { id, msp_id, role })
}

/// The calling identity.
pub fn caller() -> Caller {
    // SAFETY: `caller` takes no pointers; it fills the host's scratch buffer.
    let len = unsafe { sys::caller() };
    let buf = read_scratch(len);
    match decode_caller(&buf) {
        Some(caller) => caller,
        None => fail("host returned a malformed caller record"),
    }
}

/// The value stored under `key`, if any.
pub fn get(key: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: `key` is a live slice; the host only reads `key.len()` bytes from it.
    let len = unsafe { sys::state_get(key.as_ptr(), abi_len(key.len())) };
    if len < 0 {
        None
    } else {
        Some(read_scratch(len))
    }
}

/// Stores `value` under `key`.
pub fn put(key: &[u8], value: &[u8]) {
    // SAFETY: both slices are live; the host only reads their bytes.
    unsafe {
        sys::state_put(
            key.as_ptr(),
            abi_len(key.len()),
            value.as_ptr(),
            abi_len(value.len()),
        )
    }
}

/// Deletes `key` (a no-op if absent).
pub fn delete(key: &[u8]) {
    // SAFETY: `key` is a live slice; the host only reads its bytes.
    unsafe { sys::state_delete(key.as_ptr(), abi_len(key.len())) }
}

/// The entries with `start <= key < end`, in ascending key order, at most `limit` of them (the
/// host may cap `limit` further).
pub fn range(start: &[u8], end: &[u8], limit: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    // SAFETY: both slices are live; the host only reads their bytes.
    let len = unsafe {
        sys::state_range(
            start.as_ptr(),
            abi_len(start.len()),
            end.as_ptr(),
            abi_len(end.len()),
            limit,
        )
    };
    let buf = read_scratch(len);
    match decode_entries(&buf) {
        Some(entries) => entries,
        None => fail("host returned a malformed range result"),
    }
}

/// Decodes the range encoding: `u32` count, then per entry a length-prefixed key and value (all
/// integers little-endian).
fn decode_entries(buf: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let count = u32::from_le_bytes(buf.get(..4)?.try_into().ok()?) as usize;
    let mut pos = 4;
    let mut entries = Vec::with_capacity(count.min(buf.len() / 8));
    for _ in 0..count {
        let key = take_prefixed(buf, &mut pos)?.to_vec();
        let value = take_prefixed(buf, &mut pos)?.to_vec();
        entries.push((key, value));
    }
    (pos == buf.len()).then_some(entries)
}

/// Emits an event; it is recorded with the transaction if the invocation succeeds.
pub fn emit(name: &str, data: &[u8]) {
    // SAFETY: both slices are live; the host only reads their bytes.
    unsafe {
        sys::emit(
            name.as_ptr(),
            abi_len(name.len()),
            data.as_ptr(),
            abi_len(data.len()),
        )
    }
}

/// Sets the invocation's return data (replacing any earlier value).
pub fn set_return(data: &[u8]) {
    // SAFETY: `data` is a live slice; the host only reads its bytes.
    unsafe { sys::set_return(data.as_ptr(), abi_len(data.len())) }
}

/// Aborts the invocation with a contract error. Nothing it wrote is kept.
pub fn fail(message: &str) -> ! {
    // SAFETY: `message` is a live slice; the host only reads its bytes and never returns.
    unsafe { sys::fail(message.as_ptr(), abi_len(message.len())) }
}

/// GETs an `https://` URL and returns the body of the `200` answer. **Off-chain contracts
/// only**: the enclave that runs the contract terminates TLS itself and binds the body's hash
/// into the signed result. On chain, and on any failure (bad URL, TLS failure, status other than
/// 200, oversized body, too many fetches), the host aborts the invocation with a precise error
/// code (`CONTRACT_TRAP` on chain, `TLS_FAILURE`, `HTTPS_FAILURE`, ...), so a contract never
/// sees unauthenticated data and has no failure to handle.
pub fn https_get(url: &str) -> Vec<u8> {
    // SAFETY: `url` is a live slice; the host only reads its bytes, then fills its scratch
    // buffer.
    let len = unsafe { sys::https_get(url.as_ptr(), abi_len(url.len())) };
    read_scratch(len)
}

/// Runs one entry point: loads the arguments, calls `body`, and hands its result to the host.
pub fn dispatch(body: impl FnOnce(&Args) -> Result<Vec<u8>>) {
    let args = Args::load();
    match body(&args) {
        Ok(data) => {
            if !data.is_empty() {
                set_return(&data);
            }
        }
        Err(error) => fail(error.message()),
    }
}

/// Encodes key/value entries as the `kv` example's `range` returns them: per entry a
/// big-endian `u32` key length, the key, a big-endian `u32` value length and the value.
pub fn encode_entries(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in entries {
        for part in [key, value] {
            out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

/// Declares a contract's entry points.
///
/// ```ignore
/// arcanum_contract_sdk::contract! {
///     /// Stores a value.
///     fn put(args) {
///         args.expect_len(2)?;
///         arcanum_contract_sdk::put(args.bytes(0)?, args.bytes(1)?);
///         Ok(Vec::new())
///     }
/// }
/// ```
///
/// Each `fn name(args) { body }` becomes an exported `extern "C" fn name()` whose body sees
/// `args: &Args` and evaluates to `Result<Vec<u8>>`: `Ok` bytes become the return data, `Err`
/// aborts the invocation with that message.
#[macro_export]
macro_rules! contract {
    ($($(#[$meta:meta])* fn $name:ident($args:ident) $body:block)*) => {
        $(
            $(#[$meta])*
            #[unsafe(no_mangle)]
            pub extern "C" fn $name() {
                $crate::dispatch(|$args: &$crate::Args| -> $crate::Result<::std::vec::Vec<u8>> {
                    $body
                })
            }
        )*
    };
}

//! Example key/value contract (SPEC L6).
//!
//! Entry points (arguments are byte strings):
//! - `put(key, value)`: stores `value` under `key` and emits event `put` with the key;
//! - `get(key)`: returns the value, or fails with `key not found`;
//! - `delete(key)`: deletes the key, or fails with `key not found`;
//! - `range(start, end[, limit])`: returns the entries with `start <= key < end` in key order
//!   (at most `limit`, default 100), encoded as per entry a big-endian `u32` key length, the key,
//!   a big-endian `u32` value length and the value.
//!
//! Keys must be non-empty; the host bounds key and value sizes.

use arcanum_contract_sdk::{self as sdk, bail, contract};

/// Default and largest page for `range`.
const DEFAULT_RANGE_LIMIT: u64 = 100;

contract! {
    /// `put(key, value)`
    fn put(args) {
        args.expect_len(2)?;
        let key = args.bytes(0)?;
        if key.is_empty() {
            bail!("key must not be empty");
        }
        sdk::put(key, args.bytes(1)?);
        sdk::emit("put", key);
        Ok(Vec::new())
    }

    /// `get(key)`
    fn get(args) {
        args.expect_len(1)?;
        match sdk::get(args.bytes(0)?) {
            Some(value) => Ok(value),
            None => bail!("key not found"),
        }
    }

    /// `delete(key)`
    fn delete(args) {
        args.expect_len(1)?;
        let key = args.bytes(0)?;
        if sdk::get(key).is_none() {
            bail!("key not found");
        }
        sdk::delete(key);
        sdk::emit("delete", key);
        Ok(Vec::new())
    }

    /// `range(start, end[, limit])`
    fn range(args) {
        if args.len() != 2 && args.len() != 3 {
            bail!("expected 2 or 3 arguments, got {}", args.len());
        }
        let limit = if args.len() == 3 { args.u64(2)? } else { DEFAULT_RANGE_LIMIT };
        let limit = u32::try_from(limit.min(DEFAULT_RANGE_LIMIT)).unwrap_or(0);
        let entries = sdk::range(args.bytes(0)?, args.bytes(1)?, limit);
        Ok(sdk::encode_entries(&entries))
    }
}

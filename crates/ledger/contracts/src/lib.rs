//! The example contracts that ship with Arcanum (SPEC L6), compiled from the guest workspace
//! `contracts/` by this crate's build script and embedded as WebAssembly bytes.
//!
//! - [`KV_WASM`]: the key/value contract (`put`, `get`, `delete`, `range`).
//! - [`ASSET_WASM`]: the asset-transfer contract (`create`, `transfer`, `balance`, `owner`).
//! - [`ORACLE_CALLER_WASM`]: an on-chain contract that asks the off-chain cluster for a call
//!   through the oracle (`request` emits `oracle_request`, `pending`).
//! - [`PRICE_FEED_WASM`]: an off-chain contract for the TEE cluster (`fetch` reads a price over
//!   in-enclave HTTPS, `last`, `counter`, `spin`, `echo`).
//!
//! [`decode_kv_range`] decodes what the key/value contract's `range` returns.
//!
//! Invariant: the bytes are built from the sources in this repository in every build (never
//! checked in), with the guest workspace's locked, dependency-free manifest.

/// The key/value example contract.
pub const KV_WASM: &[u8] = include_bytes!(concat!(env!("ARCANUM_WASM_DIR"), "/arcanum_kv.wasm"));

/// The asset-transfer example contract.
pub const ASSET_WASM: &[u8] =
    include_bytes!(concat!(env!("ARCANUM_WASM_DIR"), "/arcanum_asset.wasm"));

/// The on-chain oracle caller example contract.
pub const ORACLE_CALLER_WASM: &[u8] = include_bytes!(concat!(
    env!("ARCANUM_WASM_DIR"),
    "/arcanum_oracle_caller.wasm"
));

/// The off-chain price-feed example contract.
pub const PRICE_FEED_WASM: &[u8] = include_bytes!(concat!(
    env!("ARCANUM_WASM_DIR"),
    "/arcanum_price_feed.wasm"
));

/// A malformed `range` result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed key/value range result at byte {offset}")]
pub struct RangeDecodeError {
    /// Where decoding stopped.
    pub offset: usize,
}

/// Key/value entries as the key/value contract's `range` returns them.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Decodes the key/value contract's `range` result: per entry a big-endian `u32` key length, the
/// key, a big-endian `u32` value length and the value.
pub fn decode_kv_range(mut bytes: &[u8]) -> Result<Entries, RangeDecodeError> {
    let total = bytes.len();
    let take = |bytes: &mut &[u8]| -> Result<Vec<u8>, RangeDecodeError> {
        let offset = total - bytes.len();
        let err = RangeDecodeError { offset };
        let (len, rest) = bytes.split_first_chunk::<4>().ok_or(err.clone())?;
        let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| err.clone())?;
        if rest.len() < len {
            return Err(err);
        }
        let (part, rest) = rest.split_at(len);
        *bytes = rest;
        Ok(part.to_vec())
    };
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let key = take(&mut bytes)?;
        let value = take(&mut bytes)?;
        entries.push((key, value));
    }
    Ok(entries)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_webassembly() {
        for wasm in [KV_WASM, ASSET_WASM, ORACLE_CALLER_WASM, PRICE_FEED_WASM] {
            assert!(wasm.starts_with(b"\0asm"), "not a wasm binary");
            assert!(
                wasm.len() < 200_000,
                "release profile should keep contracts small"
            );
        }
    }

    #[test]
    fn range_decoding() {
        let bytes = [
            &[0, 0, 0, 1][..],
            b"k",
            &[0, 0, 0, 2],
            b"vv",
            &[0, 0, 0, 0],
            &[0, 0, 0, 0],
        ]
        .concat();
        assert_eq!(
            decode_kv_range(&bytes).unwrap(),
            vec![(b"k".to_vec(), b"vv".to_vec()), (Vec::new(), Vec::new())]
        );
        assert!(decode_kv_range(&[]).unwrap().is_empty());
        assert_eq!(
            decode_kv_range(&bytes[..7]),
            Err(RangeDecodeError { offset: 5 })
        );
        assert_eq!(
            decode_kv_range(&[0, 0, 1]),
            Err(RangeDecodeError { offset: 0 })
        );
    }
}

//! Example on-chain contract that asks the off-chain cluster for a computation through the
//! oracle (SPEC C5).
//!
//! Entry points (arguments are byte strings):
//! - `request(contract_id, function, input)`: `contract_id` is the off-chain contract's 32-byte
//!   id (raw bytes), `function` a UTF-8 name of 1–64 bytes, `input` any bytes. Emits event
//!   `oracle_request` whose data is the borsh encoding of
//!   `arcanum_types::offchain::OracleRequest { contract_id, function, input }`, records the
//!   request as pending under `pending/<seq>` (its value is the event data) and returns `seq`
//!   (decimal ASCII, counting from 1). The oracle relay picks the event up from the committed
//!   transaction and submits the cluster's signed result as a callback transaction.
//! - `pending(seq)`: the pending request's encoding, or fails with `no such request`.
//!
//! The borsh encoding is written by hand (the guest has no dependencies): the 32 id bytes,
//! then the function and the input, each as a little-endian `u32` length and the bytes.

use arcanum_contract_sdk::{self as sdk, bail, contract};

/// The event the oracle relay listens for (`arcanum_types::offchain::ORACLE_REQUEST_EVENT`).
const ORACLE_REQUEST_EVENT: &str = "oracle_request";
/// Longest function name (`arcanum_types::offchain::MAX_FUNCTION_NAME`).
const MAX_FUNCTION_NAME: usize = 64;
/// Largest encoded request: the VM's default event payload bound.
const MAX_REQUEST: usize = 64 * 1024;
/// The key of the last sequence number handed out.
const SEQ_KEY: &[u8] = b"seq";

/// `pending/<seq>`, with `seq` zero-padded so that keys sort in request order.
fn pending_key(seq: u64) -> Vec<u8> {
    format!("pending/{seq:020}").into_bytes()
}

/// borsh(OracleRequest { contract_id, function, input }).
fn encode_request(contract_id: &[u8; 32], function: &str, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + function.len() + input.len());
    out.extend_from_slice(contract_id);
    for part in [function.as_bytes(), input] {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(part);
    }
    out
}

contract! {
    /// `request(contract_id, function, input)`
    fn request(args) {
        args.expect_len(3)?;
        let Ok(contract_id) = <[u8; 32]>::try_from(args.bytes(0)?) else {
            bail!("contract id must be 32 bytes");
        };
        let function = args.str(1)?;
        if function.is_empty() || function.len() > MAX_FUNCTION_NAME {
            bail!("function name must be 1 to {MAX_FUNCTION_NAME} bytes");
        }
        let data = encode_request(&contract_id, function, args.bytes(2)?);
        if data.len() > MAX_REQUEST {
            bail!("request too large");
        }
        let seq = match sdk::get(SEQ_KEY) {
            Some(bytes) => sdk::parse_u64(&bytes)?,
            None => 0,
        };
        let Some(seq) = seq.checked_add(1) else {
            bail!("sequence exhausted");
        };
        let seq_text = seq.to_string().into_bytes();
        sdk::put(SEQ_KEY, &seq_text);
        sdk::put(&pending_key(seq), &data);
        sdk::emit(ORACLE_REQUEST_EVENT, &data);
        Ok(seq_text)
    }

    /// `pending(seq)`
    fn pending(args) {
        args.expect_len(1)?;
        match sdk::get(&pending_key(args.u64(0)?)) {
            Some(data) => Ok(data),
            None => bail!("no such request"),
        }
    }
}

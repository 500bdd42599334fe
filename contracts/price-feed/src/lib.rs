//! Example off-chain contract (run by the TEE cluster, SPEC C4–C5): a price feed that reads an
//! external HTTPS API inside the enclave, plus small entry points the cluster's tests use.
//!
//! Entry points (arguments are byte strings):
//! - `fetch(url)`: GETs `url` ([`sdk::https_get`]), reads the first `"price"` member of the JSON
//!   body (a number, or a string holding one, like `{"price": 123.45}`), stores it in integer
//!   cents as decimal ASCII under `last` and returns it (`"12345"`). No floating point: digits
//!   after the second decimal are dropped (truncation toward zero); signs and exponents are
//!   refused.
//! - `last()`: the last stored price, or fails with `no price yet`.
//! - `counter()`: increments the counter under `counter` and returns it (decimal ASCII).
//! - `spin()`: loops forever (it always ends with `OUT_OF_FUEL`).
//! - `echo(input)`: returns `input`.

use arcanum_contract_sdk::{self as sdk, Error, bail, contract};

const LAST_KEY: &[u8] = b"last";
const COUNTER_KEY: &[u8] = b"counter";
/// Most integer digits of a price (keeps `cents` far from `u64::MAX`).
const MAX_INTEGER_DIGITS: usize = 15;

fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The first `"price"` member of a JSON body, in integer cents.
pub fn parse_price(body: &[u8]) -> sdk::Result<u64> {
    const KEY: &[u8] = b"\"price\"";
    let Some(at) = body.windows(KEY.len()).position(|w| w == KEY) else {
        bail!("no \"price\" in the response");
    };
    let mut rest = &body[at + KEY.len()..];
    let skip_space = |s: &mut &[u8]| {
        while let Some((b, tail)) = s.split_first() {
            if !is_json_space(*b) {
                break;
            }
            *s = tail;
        }
    };
    skip_space(&mut rest);
    let Some((b':', tail)) = rest.split_first() else {
        bail!("\"price\" is not a member");
    };
    rest = tail;
    skip_space(&mut rest);
    let quoted = rest.first() == Some(&b'"');
    if quoted {
        rest = &rest[1..];
    }
    let integer_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if integer_len == 0 || integer_len > MAX_INTEGER_DIGITS {
        bail!("price is not a non-negative decimal number of at most {MAX_INTEGER_DIGITS} digits");
    }
    let integer = sdk::parse_u64(&rest[..integer_len])?;
    rest = &rest[integer_len..];
    let mut cents = 0u64;
    if let Some((b'.', tail)) = rest.split_first() {
        let fraction_len = tail.iter().take_while(|b| b.is_ascii_digit()).count();
        if fraction_len == 0 {
            bail!("price has no digits after the decimal point");
        }
        for (i, digit) in tail.iter().take(2).enumerate() {
            if digit.is_ascii_digit() {
                cents += u64::from(digit - b'0') * if i == 0 { 10 } else { 1 };
            }
        }
        rest = &tail[fraction_len..];
    }
    let terminated = match rest.first() {
        None => !quoted,
        Some(b'"') => quoted,
        Some(b) => !quoted && (is_json_space(*b) || *b == b',' || *b == b'}'),
    };
    if !terminated {
        bail!("price is not a plain decimal number");
    }
    integer
        .checked_mul(100)
        .and_then(|c| c.checked_add(cents))
        .ok_or_else(|| Error::new("price too large"))
}

contract! {
    /// `fetch(url)`
    fn fetch(args) {
        args.expect_len(1)?;
        let body = sdk::https_get(args.str(0)?);
        let cents = parse_price(&body)?.to_string().into_bytes();
        sdk::put(LAST_KEY, &cents);
        Ok(cents)
    }

    /// `last()`
    fn last(args) {
        args.expect_len(0)?;
        match sdk::get(LAST_KEY) {
            Some(value) => Ok(value),
            None => bail!("no price yet"),
        }
    }

    /// `counter()`
    fn counter(args) {
        args.expect_len(0)?;
        let current = match sdk::get(COUNTER_KEY) {
            Some(bytes) => sdk::parse_u64(&bytes)?,
            None => 0,
        };
        let Some(next) = current.checked_add(1) else {
            bail!("counter overflow");
        };
        let text = next.to_string().into_bytes();
        sdk::put(COUNTER_KEY, &text);
        Ok(text)
    }

    /// `spin()`
    fn spin(args) {
        let mut i = args.len() as u64;
        loop {
            i = core::hint::black_box(i.wrapping_add(1));
        }
    }

    /// `echo(input)`
    fn echo(args) {
        args.expect_len(1)?;
        Ok(args.bytes(0)?.to_vec())
    }
}

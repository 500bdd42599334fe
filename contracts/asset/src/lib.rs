//! Example asset-transfer contract (SPEC L6).
//!
//! Each account has an owner (the identity id of its creator) and a `u64` balance. Entry points
//! (arguments are byte strings, amounts decimal ASCII `u64`):
//! - `create(account, amount)`: creates `account` owned by the caller with balance `amount`;
//!   fails with `account exists` if it does. Emits `created`.
//! - `transfer(from, to, amount)`: moves `amount` from `from` to `to`. The caller must own `from`
//!   (`caller does not own account`), both accounts must exist (`unknown account`), `amount > 0`
//!   (`amount must be positive`), `from != to`, the balance must cover it
//!   (`insufficient funds`), and the credit must not overflow (`balance overflow`). Emits
//!   `transfer` with data `"<from> <to> <amount>"`.
//! - `balance(account)`: the balance as decimal ASCII.
//! - `owner(account)`: the owner's identity id as lower-case hex.
//!
//! Account names are 1 to 64 bytes of `[A-Za-z0-9_.@-]`.
//! State: key `acct/<account>` holds 32 bytes of owner id then the balance as big-endian `u64`.

use arcanum_contract_sdk::{self as sdk, Result, bail, contract};

const MAX_ACCOUNT: usize = 64;
const RECORD_LEN: usize = 40;

struct Account {
    owner: [u8; 32],
    balance: u64,
}

impl Account {
    fn encode(&self) -> [u8; RECORD_LEN] {
        let mut out = [0u8; RECORD_LEN];
        out[..32].copy_from_slice(&self.owner);
        out[32..].copy_from_slice(&self.balance.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Account> {
        let (Some(owner), Some(balance)) = (bytes.get(..32), bytes.get(32..)) else {
            bail!("corrupt account record");
        };
        let (Ok(owner), Ok(balance)) = (owner.try_into(), <[u8; 8]>::try_from(balance)) else {
            bail!("corrupt account record");
        };
        Ok(Account {
            owner,
            balance: u64::from_be_bytes(balance),
        })
    }
}

fn account_name(bytes: &[u8]) -> Result<&str> {
    let valid_char = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-');
    if bytes.is_empty() || bytes.len() > MAX_ACCOUNT || !bytes.iter().all(valid_char) {
        bail!("invalid account name");
    }
    // All bytes are ASCII, so this cannot fail.
    std::str::from_utf8(bytes).map_err(|_| sdk::Error::new("invalid account name"))
}

fn key(account: &str) -> Vec<u8> {
    let mut key = b"acct/".to_vec();
    key.extend_from_slice(account.as_bytes());
    key
}

fn load(account: &str) -> Result<Account> {
    match sdk::get(&key(account)) {
        Some(bytes) => Account::decode(&bytes),
        None => bail!("unknown account: {account}"),
    }
}

fn store(account: &str, record: &Account) {
    sdk::put(&key(account), &record.encode());
}

fn hex(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]])
        .collect()
}

contract! {
    /// `create(account, amount)`
    fn create(args) {
        args.expect_len(2)?;
        let account = account_name(args.bytes(0)?)?;
        let amount = args.u64(1)?;
        if sdk::get(&key(account)).is_some() {
            bail!("account exists: {account}");
        }
        store(account, &Account { owner: sdk::caller().id, balance: amount });
        sdk::emit("created", account.as_bytes());
        Ok(Vec::new())
    }

    /// `transfer(from, to, amount)`
    fn transfer(args) {
        args.expect_len(3)?;
        let from = account_name(args.bytes(0)?)?;
        let to = account_name(args.bytes(1)?)?;
        let amount = args.u64(2)?;
        if amount == 0 {
            bail!("amount must be positive");
        }
        if from == to {
            bail!("cannot transfer to the same account");
        }
        let mut source = load(from)?;
        if source.owner != sdk::caller().id {
            bail!("caller does not own account {from}");
        }
        let mut target = load(to)?;
        let Some(remaining) = source.balance.checked_sub(amount) else {
            bail!("insufficient funds");
        };
        let Some(credited) = target.balance.checked_add(amount) else {
            bail!("balance overflow");
        };
        source.balance = remaining;
        target.balance = credited;
        store(from, &source);
        store(to, &target);
        sdk::emit("transfer", format!("{from} {to} {amount}").as_bytes());
        Ok(Vec::new())
    }

    /// `balance(account)`
    fn balance(args) {
        args.expect_len(1)?;
        let account = account_name(args.bytes(0)?)?;
        Ok(load(account)?.balance.to_string().into_bytes())
    }

    /// `owner(account)`
    fn owner(args) {
        args.expect_len(1)?;
        let account = account_name(args.bytes(0)?)?;
        Ok(hex(&load(account)?.owner))
    }
}

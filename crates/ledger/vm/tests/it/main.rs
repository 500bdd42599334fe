//! Integration tests of the contract VM: the example contracts end to end, fuel metering and
//! determinism, hostile guests written in WAT, and the off-chain `https_get` import.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod asset;
mod fuel;
mod kv;
mod malicious;
mod offchain;
mod support;

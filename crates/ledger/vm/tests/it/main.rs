//! Integration tests of the contract VM: the example contracts end to end, fuel metering and
//! determinism, and hostile guests written in WAT.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod asset;
mod fuel;
mod kv;
mod malicious;
mod support;

//! Integration tests of `arcanum-ledger` (SPEC L1.5, L4): an in-process consortium of four peers,
//! each with its own ledger, receives the same signed blocks. The tests check every per-transaction
//! rejection code, every block-level rejection, forged and missing endorsements, idempotent
//! re-delivery, malformed bytes, and (with proptest) that random mixes of valid and invalid
//! transactions give identical receipts and state roots on every ledger and match a model. The
//! off-chain cluster's rules (registration, deployments, oracle callbacks) have their own module.

mod blocks;
mod endorsements;
mod happy;
mod harness;
mod offchain;
mod props;
mod rotation;
mod trust;
mod tx_codes;

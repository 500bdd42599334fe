//! Integration tests of the endorsement device (SPEC L1.3): read/write sets with versions,
//! endorsement signatures, snapshot reads, and every rejection with its exact error code; the
//! off-chain cluster's actions (registration, deployment, oracle callback).
#![allow(clippy::unwrap_used)]

mod batch;
mod endorse;
mod offchain;
mod reject;
mod support;

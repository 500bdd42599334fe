//! Integration tests of the endorsement device (SPEC L1.3): read/write sets with versions,
//! endorsement signatures, snapshot reads, and every rejection with its exact error code; the
//! off-chain cluster's actions (registration, deployment, oracle callback); and a hostile host
//! against its own enclave (`hostile`).
#![allow(clippy::unwrap_used)]

mod batch;
mod endorse;
mod hostile;
mod offchain;
mod reject;
mod support;

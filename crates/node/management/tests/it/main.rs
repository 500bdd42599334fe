//! Integration tests of the management device (SPEC L1–L3) against real endorsement devices in
//! process: the whole flow, admission, replays, policies, client-held endorsements, MVCC,
//! endorser selection (partitioned, replicated by load and by round robin), retries, block
//! cutting, and the client signature check with the management ledger's signature trust.
#![allow(clippy::unwrap_used)]

mod batching;
mod blocks;
mod cluster;
mod flow;
mod net;
mod retry;
mod selection;
mod signatures;

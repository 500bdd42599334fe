//! Integration tests of the endorsement device (SPEC L1.3): read/write sets with versions,
//! endorsement signatures, snapshot reads, and every rejection with its exact error code.
#![allow(clippy::unwrap_used)]

mod endorse;
mod reject;
mod support;

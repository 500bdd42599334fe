//! The untrusted host side of an Arcanum enclave: it launches the `arcanum-enclave` process
//! confined (seccomp, landlock), connects the shared-memory rings, and sends requests through
//! [`EnclaveClient`], which is the endorsement device's `EnclaveLink` to a real enclave process.
//!
//! Invariants: nothing from the enclave is trusted beyond what the protocol allows; a frame that
//! does not decode is dropped and logged; a silent enclave times out.

mod client;
mod confine;
mod launch;

pub use client::{ChannelError, EnclaveClient, FrameChannel};
pub use confine::{ConfineError, Confinement};
pub use launch::{EnclaveProcess, LaunchError};

//! The untrusted host side of an Arcanum enclave, generic over which enclave it is: it launches
//! an enclave process (`arcanum-enclave`, `arcanum-cluster-enclave`) confined (seccomp,
//! landlock), connects the shared-memory rings, and sends requests through [`EnclaveClient`],
//! generic over the [`Protocol`] it speaks ([`EndorsementProtocol`], [`ClusterProtocol`]).
//! `EnclaveClient<ClusterProtocol>` also serves the cluster enclave's ocalls with an
//! [`OcallHandler`] on a small thread pool. The devices that use an enclave build on this crate:
//! the endorsement device (`arcanum-endorser`) and the TEE node (`arcanum-tee-node`).
//!
//! Invariants:
//! - A launcher and a client, not a device: this crate depends on no crate of the node or client
//!   layers (checked by the layering test in `tests/e2e`); what a device does with its enclave
//!   lives in the device's crate.
//! - Nothing from the enclave is trusted beyond what the protocol allows; a frame that does not
//!   decode is dropped and logged; a silent enclave times out; host request ids never carry
//!   `OCALL_ID_BIT`, and an ocall is never served on the dispatcher thread (a saturated pool
//!   answers `BUSY` at once instead of blocking the responses of other requests).

mod client;
mod confine;
mod files;
mod launch;

pub use client::{
    ChannelError, ClusterProtocol, EnclaveClient, EndorsementProtocol, FrameChannel, OcallHandler,
    OcallPool, Protocol,
};
pub use confine::{ConfineError, Confinement};
pub use files::{SIM_FUSE, sim_fuse, write_private};
pub use launch::{
    CLUSTER_ENCLAVE_BINARY, ENDORSEMENT_ENCLAVE_BINARY, EnclaveProcess, LaunchError,
    beside_running_binary,
};

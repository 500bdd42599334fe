//! Integration tests of the TEE node host over real sockets, with the real cluster enclave.

mod cluster;
mod support;

//! Frames on the host↔cluster-enclave rings: `decode_frame::<ClusterRequest>` (what the enclave
//! reads from its hostile host) and `decode_frame::<ClusterResponse>` (what the host reads from
//! its enclave), plus the endorsement enclave's `HostRequest`/`EnclaveResponse` through the same
//! decoder. Invariants: never panic; a frame that decodes re-encodes to exactly the input.

#![no_main]

use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse};
use arcanum_enclave_protocol::{
    EnclaveResponse, HostRequest, MAX_FRAME, decode_frame, encode_frame,
};
use borsh::{BorshDeserialize, BorshSerialize};
use libfuzzer_sys::fuzz_target;

fn round_trip<T: BorshDeserialize + BorshSerialize + std::fmt::Debug>(data: &[u8], what: &str) {
    if let Ok(envelope) = decode_frame::<T>(data) {
        assert!(data.len() <= MAX_FRAME);
        assert_eq!(
            encode_frame(envelope.id, &envelope.body),
            data,
            "non-canonical {what} frame accepted: {envelope:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<ClusterRequest>(data, "ClusterRequest");
    round_trip::<ClusterResponse>(data, "ClusterResponse");
    round_trip::<HostRequest>(data, "HostRequest");
    round_trip::<EnclaveResponse>(data, "EnclaveResponse");
});

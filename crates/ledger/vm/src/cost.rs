//! The fuel schedule of host calls, in wasmi fuel units (one unit is roughly one executed
//! WebAssembly instruction). Every host call costs [`HOST_CALL`] plus [`PER_BYTE`] for each byte
//! copied between guest and host, plus the surcharge of its kind. Changing a number here changes
//! consensus: every endorser must run the same schedule.

/// Base cost of any host call.
pub const HOST_CALL: u64 = 100;
/// Cost of each byte copied into or out of guest memory (keys, values, arguments, results).
pub const PER_BYTE: u64 = 1;
/// Surcharge of a state read (`state_get`, `state_range`).
pub const STATE_READ: u64 = 1_000;
/// Surcharge of a state write or delete.
pub const STATE_WRITE: u64 = 2_000;
/// Surcharge of each entry a range query returns.
pub const RANGE_ENTRY: u64 = 200;
/// Surcharge of emitting an event.
pub const EVENT: u64 = 500;
/// Surcharge of an `https_get` (off-chain only): a TLS handshake and a round trip.
pub const FETCH: u64 = 100_000;
/// Charged once per invocation, before the module is instantiated.
pub const INSTANTIATE: u64 = 5_000;

/// Fuel for a host call of kind `surcharge` that copies `bytes` bytes. Saturates: an absurd
/// length costs more fuel than any limit allows.
pub fn host_call(surcharge: u64, bytes: usize) -> u64 {
    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    HOST_CALL
        .saturating_add(surcharge)
        .saturating_add(bytes.saturating_mul(PER_BYTE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_call_cost_grows_with_bytes_and_saturates() {
        assert_eq!(host_call(0, 0), HOST_CALL);
        assert_eq!(
            host_call(STATE_READ, 10),
            HOST_CALL + STATE_READ + 10 * PER_BYTE
        );
        assert_eq!(host_call(STATE_WRITE, usize::MAX), u64::MAX);
    }
}

//! Per-invocation resource limits.

use std::fmt;

use arcanum_types::limits as protocol;
use arcanum_types::offchain::MAX_FETCHES;

/// Bounds on one invocation. Exceeding one aborts it with [`crate::VmError::LimitExceeded`]
/// (or [`crate::VmError::OutOfFuel`] for `fuel`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Fuel available to the invocation (wasmi units, see [`crate::cost`]).
    pub fuel: u64,
    /// Largest linear memory, in 64 KiB pages (initial size and growth).
    pub max_memory_pages: u32,
    /// Largest state key (contract-relative).
    pub max_key: usize,
    /// Largest state value.
    pub max_value: usize,
    /// Largest return data.
    pub max_return: usize,
    /// Most events per invocation.
    pub max_events: usize,
    /// Largest event name (UTF-8 bytes).
    pub max_event_name: usize,
    /// Largest event payload.
    pub max_event_data: usize,
    /// Most entries one range query returns (a guest's larger limit is capped to this).
    pub max_range_entries: u32,
    /// Largest encoded result of one range query.
    pub max_range_bytes: usize,
    /// Most arguments.
    pub max_args: usize,
    /// Largest total size of all arguments.
    pub max_args_bytes: usize,
    /// Longest error message kept from a contract (longer ones are truncated).
    pub max_error_message: usize,
    /// Longest URL passed to `https_get`.
    pub max_url: usize,
    /// Most `https_get` calls per invocation.
    pub max_fetches: usize,
    /// Largest body `https_get` may hand to the guest.
    pub max_fetch_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 50_000_000,
            max_memory_pages: 256,
            max_key: protocol::MAX_KEY_BYTES,
            max_value: protocol::MAX_VALUE_BYTES,
            max_return: protocol::MAX_VALUE_BYTES,
            max_events: 64,
            max_event_name: 128,
            max_event_data: 64 * 1024,
            max_range_entries: 1_000,
            max_range_bytes: 4 * 1024 * 1024,
            max_args: protocol::MAX_ARGS,
            max_args_bytes: protocol::MAX_TX_BYTES,
            max_error_message: 1024,
            max_url: 2048,
            max_fetches: MAX_FETCHES,
            max_fetch_body: 64 * 1024,
        }
    }
}

/// Which limit was exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    MemoryPages,
    /// Elements of a table (a fixed cap of the VM, not part of [`Limits`]).
    TableElements,
    Key,
    Value,
    Return,
    Events,
    EventName,
    EventData,
    RangeBytes,
    Args,
    ArgsBytes,
    /// A length that does not fit the ABI's `i32` (only reachable with absurd limits).
    AbiLength,
    Url,
    Fetches,
    FetchBody,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::MemoryPages => "memory pages",
            Limit::TableElements => "table elements",
            Limit::Key => "key size",
            Limit::Value => "value size",
            Limit::Return => "return data size",
            Limit::Events => "event count",
            Limit::EventName => "event name size",
            Limit::EventData => "event data size",
            Limit::RangeBytes => "range result size",
            Limit::Args => "argument count",
            Limit::ArgsBytes => "total argument size",
            Limit::AbiLength => "ABI length",
            Limit::Url => "URL size",
            Limit::Fetches => "fetch count",
            Limit::FetchBody => "fetched body size",
        })
    }
}

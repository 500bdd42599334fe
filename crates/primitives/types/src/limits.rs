//! Protocol-wide size bounds. Anything larger is rejected before it is decoded or executed.

/// Largest encoded transaction (a deploy carries WebAssembly code).
pub const MAX_TX_BYTES: usize = 2 * 1024 * 1024;
/// Largest encoded endorsed transaction.
pub const MAX_ENDORSED_TX_BYTES: usize = 4 * 1024 * 1024;
/// Largest encoded block.
pub const MAX_BLOCK_BYTES: usize = 64 * 1024 * 1024;
/// Largest state key.
pub const MAX_KEY_BYTES: usize = 1024;
/// Largest state value.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// Largest contract name.
pub const MAX_CONTRACT_NAME: usize = 64;
/// Largest function name.
pub const MAX_FUNCTION_NAME: usize = 64;
/// Most arguments to a contract call.
pub const MAX_ARGS: usize = 64;
/// Most reads or writes in one read/write set.
pub const MAX_RWSET_ENTRIES: usize = 10_000;
/// Most endorsements on one transaction.
pub const MAX_ENDORSEMENTS: usize = 64;

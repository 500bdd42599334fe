//! The ledger's storage seam (SPEC L1.5, L8, §3 crash safety): the [`LedgerStore`] trait that
//! the validation layer programs against, with no backend. `arcanum-storage-redb` implements it
//! on redb; only the node wiring names that implementation.
//!
//! Key types: [`LedgerStore`] (blocks, block hashes, the authenticated world state and its
//! roots, the transaction index, tip), [`StateReader`] (a consistent read view;
//! [`LedgerStore::snapshot`] returns a point-in-time one), [`BlockCommit`] (everything one block
//! changes), [`VersionedValue`] and [`StorageError`].
//!
//! Invariants:
//! - [`LedgerStore::commit_block`] is atomic and durable: one backend write transaction per block,
//!   committed with immediate durability. After a crash at any moment the store holds exactly the
//!   blocks `1..=tip` and the state obtained by applying their writes in order; never part of a
//!   block.
//! - Heights are dense: a commit is accepted only at `tip + 1`, and a refused commit changes
//!   nothing.
//! - The world state is authenticated ([`arcanum_types::state`]): every committed height has a
//!   state root, a commit whose writes do not produce the root it names is refused whole, and any
//!   key at any committed height can be read with a proof against that height's root.
//! - Every stored record is decoded strictly; a record that does not decode is reported as
//!   [`StorageError::Corrupt`], never a panic.
//! - The transaction index keeps the first receipt recorded for a transaction id; later
//!   occurrences (replays, which validation marks invalid) stay visible in their block's receipt
//!   list ([`LedgerStore::receipts_in_block`]) but never overwrite it.
//! - This crate depends on no storage backend.

mod error;

pub use arcanum_types::VersionedValue;
pub use error::{InvalidCommit, StorageError};

use arcanum_types::{Hash, StateProof, TxReceipt};

/// Everything one block changes, applied atomically by [`LedgerStore::commit_block`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockCommit {
    /// Must be the store's tip height plus one.
    pub height: u64,
    pub block_hash: Hash,
    /// The encoded block, stored verbatim and returned by [`LedgerStore::block`].
    pub block_bytes: Vec<u8>,
    /// Final writes of the valid transactions (`None` deletes the key), applied in order: a later
    /// entry for the same key wins. Each version must name this block (`version.block == height`)
    /// and a transaction whose receipt is [`TxStatus::Valid`](arcanum_types::TxStatus::Valid).
    pub writes: Vec<(Vec<u8>, Option<VersionedValue>)>,
    /// One receipt per transaction of the block, valid or not, in block order: receipt `i` must
    /// have `block == height` and `index == i`.
    pub receipts: Vec<TxReceipt>,
    /// The state root the writes must produce on top of the tip's state; otherwise the commit
    /// is refused with [`StorageError::StateRootMismatch`].
    pub state_root: Hash,
}

/// A consistent read view of the world state.
pub trait StateReader {
    /// The value stored under `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<VersionedValue>, StorageError>;

    /// At most `limit` entries with `start <= key < end`, in ascending key order. Empty when
    /// `start >= end` or `limit == 0`.
    fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, VersionedValue)>, StorageError>;

    /// The height of the last block whose writes this view includes (0 before the first block).
    fn height(&self) -> Result<u64, StorageError>;
}

/// The ledger: blocks, their hashes, the world state, the transaction index and the tip.
///
/// Reads on the store itself each see the latest committed block; use [`LedgerStore::snapshot`]
/// for several reads that must agree with each other.
pub trait LedgerStore: StateReader + Send + Sync + 'static {
    /// The last committed block's height and hash; `(0, Hash::ZERO)` when no block is committed.
    fn tip(&self) -> Result<(u64, Hash), StorageError>;

    /// The encoded block at `height`, exactly as committed.
    fn block(&self, height: u64) -> Result<Option<Vec<u8>>, StorageError>;

    /// The hash of the block at `height`.
    fn block_hash(&self, height: u64) -> Result<Option<Hash>, StorageError>;

    /// The receipt of the first committed transaction with this id.
    fn receipt(&self, tx_id: &Hash) -> Result<Option<TxReceipt>, StorageError>;

    /// Whether any committed block, valid or not, recorded a transaction with this id. This is
    /// the replay check of SPEC L1.3/L1.5.
    fn contains_tx(&self, tx_id: &Hash) -> Result<bool, StorageError>;

    /// All receipts of the block at `height`, in block order (`None` if no such block).
    fn receipts_in_block(&self, height: u64) -> Result<Option<Vec<TxReceipt>>, StorageError>;

    /// Commits a block: all of it or none, durable when this returns `Ok`. Refused with
    /// [`StorageError::HeightMismatch`] unless `commit.height == tip + 1`, and with
    /// [`StorageError::InvalidCommit`] or [`StorageError::LimitExceeded`] if the commit breaks the
    /// rules of [`BlockCommit`]; a refused commit changes nothing.
    fn commit_block(&self, commit: BlockCommit) -> Result<(), StorageError>;

    /// A point-in-time view that later commits do not change.
    fn snapshot(&self) -> Result<Box<dyn StateReader + Send>, StorageError>;

    /// The state root at the tip (the empty state's before the first block). O(1): roots are
    /// stored per height.
    fn state_root(&self) -> Result<Hash, StorageError>;

    /// The state root after block `height` (`height == 0`: the empty state); `None` above the
    /// tip.
    fn state_root_at(&self, height: u64) -> Result<Option<Hash>, StorageError>;

    /// The root the state would have if `writes` (as in [`BlockCommit::writes`]) were applied
    /// on top of the tip. Writes nothing.
    fn next_state_root(
        &self,
        writes: &[(Vec<u8>, Option<VersionedValue>)],
    ) -> Result<Hash, StorageError>;

    /// The value of `key` after block `height` and its proof against
    /// [`LedgerStore::state_root_at`]`(height)`: inclusion, or exclusion when absent. Refused
    /// with [`StorageError::NoSuchHeight`] above the tip.
    fn get_with_proof(
        &self,
        key: &[u8],
        height: u64,
    ) -> Result<(Option<VersionedValue>, StateProof), StorageError>;
}

//! [`arcanum_storage::LedgerStore`] on redb (docs/design/ledger-format.md): one table per record
//! kind, one write transaction per block, and the world state authenticated by a Jellyfish
//! Merkle Tree (`jmt`) whose nodes live in the same database.
//!
//! Key type: [`RedbStore`].
//!
//! Invariants:
//! - A block's state, tree nodes, root, block bytes, receipts and index entries are written in
//!   one redb write transaction with immediate durability; a commit whose writes do not produce
//!   the root it names is aborted whole.
//! - The tree is versioned by block height and never pruned, so a proof can be served at any
//!   committed height; the plain `state` table holds the tip's values for fast reads.
//! - Every stored record is decoded strictly; corruption is [`StorageError::Corrupt`], never a
//!   panic.
//! - Only the node wiring names this crate; everything else takes the trait.

mod tree;

use std::path::{Path, PathBuf};

use arcanum_storage::{
    BlockCommit, InvalidCommit, LedgerStore, StateReader, StorageError, VersionedValue,
};
use arcanum_types::limits::{MAX_BLOCK_BYTES, MAX_KEY_BYTES, MAX_VALUE_BYTES};
use arcanum_types::{Hash, StateProof, TxReceipt, TxStatus, decode, encode};
use redb::backends::InMemoryBackend;
use redb::{
    Database, Durability, ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};

use crate::tree::{JMT_NODES, JMT_VALUES, STATE_ROOTS, TreeView};

/// height → the encoded block, verbatim.
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// height → the block hash (32 bytes).
const BLOCK_HASHES: TableDefinition<u64, &[u8]> = TableDefinition::new("block_hashes");
/// height → borsh `Vec<TxReceipt>`, every receipt of the block in order.
const BLOCK_RECEIPTS: TableDefinition<u64, &[u8]> = TableDefinition::new("block_receipts");
/// state key → borsh `VersionedValue`.
const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");
/// tx id (32 bytes) → borsh `TxReceipt` of its first occurrence.
const TX_INDEX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tx_index");
/// `"format"` → borsh `u32`; `"tip"` → borsh `(u64, Hash)`.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

const META_FORMAT: &str = "format";
const META_TIP: &str = "tip";

/// The on-disk format this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 3;

/// Largest stored state record: the value plus its length prefix and version.
const MAX_STATE_RECORD: usize = MAX_VALUE_BYTES + 4 + 12;
/// An encoded `TxReceipt` is 46 bytes; leave room.
const MAX_RECEIPT_RECORD: usize = 64;

/// A [`StorageError`] inside this crate, so that redb's errors convert with `?` (the orphan
/// rule forbids `From<redb::…> for StorageError` here).
#[derive(Debug)]
pub(crate) struct Db(pub(crate) StorageError);

impl From<StorageError> for Db {
    fn from(e: StorageError) -> Db {
        Db(e)
    }
}

impl From<Db> for StorageError {
    fn from(e: Db) -> StorageError {
        e.0
    }
}

/// Runs `f`, mapping this crate's internal error back to the trait's.
fn db<T>(f: impl FnOnce() -> Result<T, Db>) -> Result<T, StorageError> {
    f().map_err(|e| e.0)
}

macro_rules! backend_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for Db {
            fn from(e: $t) -> Db {
                Db(StorageError::Backend(e.to_string()))
            }
        }
    )*};
}
backend_errors!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// The redb-backed ledger store. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct RedbStore {
    db: Database,
    path: Option<PathBuf>,
    /// The tree update [`LedgerStore::next_state_root`] computed last, so that committing
    /// exactly those writes next (the management device's order: root, sign, commit) does not
    /// compute it again.
    prepared: parking_lot::Mutex<Option<tree::Prepared>>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "RedbStore({})", p.display()),
            None => f.write_str("RedbStore(in-memory)"),
        }
    }
}

impl RedbStore {
    /// Opens the store at `path`, creating it if it does not exist. After a crash, redb recovers
    /// the last committed transaction here. Fails with [`StorageError::Backend`] if another
    /// process holds the file.
    pub fn open(path: &Path) -> Result<RedbStore, StorageError> {
        let db = Database::create(path)
            .map_err(|e| StorageError::Backend(format!("open {}: {e}", path.display())))?;
        Ok(RedbStore::init(db, Some(path.to_path_buf()))?)
    }

    /// A store in memory, for tests and ephemeral nodes.
    pub fn in_memory() -> Result<RedbStore, StorageError> {
        db(|| {
            let db = Database::builder().create_with_backend(InMemoryBackend::new())?;
            RedbStore::init(db, None)
        })
    }

    /// Creates every table and records or checks the format version.
    fn init(db: Database, path: Option<PathBuf>) -> Result<RedbStore, Db> {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let checked = (|| -> Result<(), Db> {
            txn.open_table(BLOCKS)?;
            txn.open_table(BLOCK_HASHES)?;
            txn.open_table(BLOCK_RECEIPTS)?;
            txn.open_table(STATE)?;
            txn.open_table(TX_INDEX)?;
            tree::init(&txn)?;
            let mut meta = txn.open_table(META)?;
            let found = match meta.get(META_FORMAT)? {
                Some(v) => {
                    Some(decode::<u32>(v.value(), 4).map_err(|e| corrupt("meta format", e))?)
                }
                None => None,
            };
            match found {
                Some(FORMAT_VERSION) => Ok(()),
                Some(found) => Err(Db(StorageError::UnsupportedFormat {
                    found,
                    supported: FORMAT_VERSION,
                })),
                None => {
                    meta.insert(META_FORMAT, encode(&FORMAT_VERSION).as_slice())?;
                    Ok(())
                }
            }
        })();
        finish(txn, checked)?;
        Ok(RedbStore {
            db,
            path,
            prepared: parking_lot::Mutex::new(None),
        })
    }

    fn read_state(&self) -> Result<ReadOnlyTable<&'static [u8], &'static [u8]>, Db> {
        Ok(self.db.begin_read()?.open_table(STATE)?)
    }
}

fn corrupt(record: impl Into<String>, reason: impl ToString) -> Db {
    Db(StorageError::corrupt(record, reason))
}

/// Commits `txn` if `result` is `Ok`, aborts it otherwise.
fn finish(txn: WriteTransaction, result: Result<(), Db>) -> Result<(), Db> {
    match result {
        Ok(()) => Ok(txn.commit()?),
        Err(e) => {
            txn.abort()?;
            Err(e)
        }
    }
}

fn read_tip(meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<(u64, Hash), Db> {
    match meta.get(META_TIP)? {
        Some(v) => decode::<(u64, Hash)>(v.value(), 40).map_err(|e| corrupt("meta tip", e)),
        None => Ok((0, Hash::ZERO)),
    }
}

fn decode_value(key: &[u8], bytes: &[u8]) -> Result<VersionedValue, Db> {
    decode::<VersionedValue>(bytes, MAX_STATE_RECORD)
        .map_err(|e| corrupt(format!("state record {}", hex_prefix(key)), e))
}

fn decode_hash(height: u64, bytes: &[u8]) -> Result<Hash, Db> {
    <[u8; 32]>::try_from(bytes).map(Hash).map_err(|_| {
        corrupt(
            format!("block hash {height}"),
            format!("{} bytes", bytes.len()),
        )
    })
}

/// A short hex rendering of a key for error messages.
fn hex_prefix(key: &[u8]) -> String {
    let shown: String = key.iter().take(32).map(|b| format!("{b:02x}")).collect();
    if key.len() > 32 {
        format!("{shown}…")
    } else {
        shown
    }
}

fn get_state(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<VersionedValue>, Db> {
    match table.get(key)? {
        Some(v) => decode_value(key, v.value()).map(Some),
        None => Ok(None),
    }
}

fn range_state(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    start: &[u8],
    end: &[u8],
    limit: usize,
) -> Result<Vec<(Vec<u8>, VersionedValue)>, Db> {
    let mut out = Vec::new();
    if start >= end || limit == 0 {
        return Ok(out);
    }
    for entry in table.range::<&[u8]>(start..end)? {
        let (k, v) = entry?;
        let key = k.value().to_vec();
        let value = decode_value(&key, v.value())?;
        out.push((key, value));
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// Checks everything about a commit that does not need the store: limits, receipt positions and
/// the provenance of each write's version.
fn check_commit(c: &BlockCommit) -> Result<(), Db> {
    if c.block_bytes.len() > MAX_BLOCK_BYTES {
        return Err(Db(StorageError::LimitExceeded {
            what: "block",
            len: c.block_bytes.len(),
            max: MAX_BLOCK_BYTES,
        }));
    }
    for (position, r) in c.receipts.iter().enumerate() {
        if r.block != c.height || usize::try_from(r.index).ok() != Some(position) {
            return Err(Db(StorageError::InvalidCommit {
                reason: InvalidCommit::ReceiptPosition { position },
            }));
        }
    }
    for (position, (key, value)) in c.writes.iter().enumerate() {
        if key.len() > MAX_KEY_BYTES {
            return Err(Db(StorageError::LimitExceeded {
                what: "state key",
                len: key.len(),
                max: MAX_KEY_BYTES,
            }));
        }
        let Some(v) = value else { continue };
        if v.value.len() > MAX_VALUE_BYTES {
            return Err(Db(StorageError::LimitExceeded {
                what: "state value",
                len: v.value.len(),
                max: MAX_VALUE_BYTES,
            }));
        }
        if v.version.block != c.height {
            return Err(Db(StorageError::InvalidCommit {
                reason: InvalidCommit::WriteVersionBlock { position },
            }));
        }
        let writer = usize::try_from(v.version.tx)
            .ok()
            .and_then(|i| c.receipts.get(i));
        if !matches!(writer, Some(r) if r.status == TxStatus::Valid) {
            return Err(Db(StorageError::InvalidCommit {
                reason: InvalidCommit::WriteNotFromValidTx { position },
            }));
        }
    }
    Ok(())
}

/// Writes one block into `txn`, after checking its height against the tip read in `txn`;
/// `prepared` is a tree update computed earlier, used only if it is for exactly this height and
/// these writes.
fn apply(
    txn: &WriteTransaction,
    c: &BlockCommit,
    prepared: Option<tree::Prepared>,
) -> Result<(), Db> {
    let mut meta = txn.open_table(META)?;
    let (tip, _) = read_tip(&meta)?;
    let expected = tip
        .checked_add(1)
        .ok_or_else(|| corrupt("meta tip", "height at u64::MAX"))?;
    if c.height != expected {
        return Err(Db(StorageError::HeightMismatch {
            expected,
            got: c.height,
        }));
    }

    let computed = tree::apply(txn, c.height, &c.writes, prepared)?;
    if computed != c.state_root {
        return Err(Db(StorageError::StateRootMismatch {
            expected: c.state_root,
            computed,
        }));
    }
    txn.open_table(BLOCKS)?
        .insert(c.height, c.block_bytes.as_slice())?;
    txn.open_table(BLOCK_HASHES)?
        .insert(c.height, c.block_hash.0.as_slice())?;
    txn.open_table(BLOCK_RECEIPTS)?
        .insert(c.height, encode(&c.receipts).as_slice())?;

    let mut state = txn.open_table(STATE)?;
    for (key, value) in &c.writes {
        match value {
            Some(v) => {
                state.insert(key.as_slice(), encode(v).as_slice())?;
            }
            None => {
                state.remove(key.as_slice())?;
            }
        }
    }

    let mut index = txn.open_table(TX_INDEX)?;
    for r in &c.receipts {
        // The first occurrence of an id keeps the index entry; a replay never overwrites it.
        if index.get(r.tx_id.0.as_slice())?.is_none() {
            index.insert(r.tx_id.0.as_slice(), encode(r).as_slice())?;
        }
    }

    meta.insert(META_TIP, encode(&(c.height, c.block_hash)).as_slice())?;
    Ok(())
}

impl StateReader for RedbStore {
    fn get(&self, key: &[u8]) -> Result<Option<VersionedValue>, StorageError> {
        db(|| get_state(&self.read_state()?, key))
    }

    fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, VersionedValue)>, StorageError> {
        db(|| range_state(&self.read_state()?, start, end, limit))
    }

    fn height(&self) -> Result<u64, StorageError> {
        db(|| Ok(self.tip()?.0))
    }
}

impl LedgerStore for RedbStore {
    fn tip(&self) -> Result<(u64, Hash), StorageError> {
        db(|| read_tip(&self.db.begin_read()?.open_table(META)?))
    }

    fn block(&self, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        db(|| {
            let table = self.db.begin_read()?.open_table(BLOCKS)?;
            Ok(table.get(height)?.map(|v| v.value().to_vec()))
        })
    }

    fn block_hash(&self, height: u64) -> Result<Option<Hash>, StorageError> {
        db(|| {
            let table = self.db.begin_read()?.open_table(BLOCK_HASHES)?;
            match table.get(height)? {
                Some(v) => decode_hash(height, v.value()).map(Some),
                None => Ok(None),
            }
        })
    }

    fn receipt(&self, tx_id: &Hash) -> Result<Option<TxReceipt>, StorageError> {
        db(|| {
            let table = self.db.begin_read()?.open_table(TX_INDEX)?;
            match table.get(tx_id.0.as_slice())? {
                Some(v) => decode::<TxReceipt>(v.value(), MAX_RECEIPT_RECORD)
                    .map(Some)
                    .map_err(|e| corrupt(format!("receipt {tx_id}"), e)),
                None => Ok(None),
            }
        })
    }

    fn contains_tx(&self, tx_id: &Hash) -> Result<bool, StorageError> {
        db(|| {
            let table = self.db.begin_read()?.open_table(TX_INDEX)?;
            Ok(table.get(tx_id.0.as_slice())?.is_some())
        })
    }

    fn receipts_in_block(&self, height: u64) -> Result<Option<Vec<TxReceipt>>, StorageError> {
        db(|| {
            let table = self.db.begin_read()?.open_table(BLOCK_RECEIPTS)?;
            match table.get(height)? {
                Some(v) => decode::<Vec<TxReceipt>>(v.value(), MAX_BLOCK_BYTES)
                    .map(Some)
                    .map_err(|e| corrupt(format!("receipts of block {height}"), e)),
                None => Ok(None),
            }
        })
    }

    fn commit_block(&self, commit: BlockCommit) -> Result<(), StorageError> {
        db(|| {
            check_commit(&commit)?;
            let mut txn = self.db.begin_write()?;
            txn.set_durability(Durability::Immediate)?;
            let prepared = self.prepared.lock().take();
            let applied = apply(&txn, &commit, prepared);
            finish(txn, applied)
        })
    }

    fn snapshot(&self) -> Result<Box<dyn StateReader + Send>, StorageError> {
        db(|| {
            let txn = self.db.begin_read()?;
            let (height, _) = read_tip(&txn.open_table(META)?)?;
            let state = txn.open_table(STATE)?;
            let snapshot: Box<dyn StateReader + Send> = Box::new(RedbSnapshot { state, height });
            Ok(snapshot)
        })
    }

    fn state_root(&self) -> Result<Hash, StorageError> {
        db(|| {
            let txn = self.db.begin_read()?;
            let (height, _) = read_tip(&txn.open_table(META)?)?;
            tree::root_at(&txn.open_table(STATE_ROOTS)?, height)?
                .ok_or_else(|| corrupt("state roots", format!("no root at the tip {height}")))
        })
    }

    fn state_root_at(&self, height: u64) -> Result<Option<Hash>, StorageError> {
        db(|| tree::root_at(&self.db.begin_read()?.open_table(STATE_ROOTS)?, height))
    }

    fn next_state_root(
        &self,
        writes: &[(Vec<u8>, Option<VersionedValue>)],
    ) -> Result<Hash, StorageError> {
        db(|| {
            let txn = self.db.begin_read()?;
            let (height, _) = read_tip(&txn.open_table(META)?)?;
            let nodes = txn.open_table(JMT_NODES)?;
            let values = txn.open_table(JMT_VALUES)?;
            let view = TreeView {
                nodes: &nodes,
                values: &values,
            };
            let (root, batch) = view.update(height + 1, writes)?;
            *self.prepared.lock() = Some(tree::Prepared {
                height: height + 1,
                writes: writes.to_vec(),
                root,
                batch,
            });
            Ok(root)
        })
    }

    fn get_with_proof(
        &self,
        key: &[u8],
        height: u64,
    ) -> Result<(Option<VersionedValue>, StateProof), StorageError> {
        db(|| {
            let txn = self.db.begin_read()?;
            let (tip, _) = read_tip(&txn.open_table(META)?)?;
            if height > tip {
                return Err(Db(StorageError::NoSuchHeight { height, tip }));
            }
            let nodes = txn.open_table(JMT_NODES)?;
            let values = txn.open_table(JMT_VALUES)?;
            Ok(TreeView {
                nodes: &nodes,
                values: &values,
            }
            .get_with_proof(key, height)?)
        })
    }
}

/// A read transaction's view of the state table: later commits do not change it.
struct RedbSnapshot {
    state: ReadOnlyTable<&'static [u8], &'static [u8]>,
    height: u64,
}

impl StateReader for RedbSnapshot {
    fn get(&self, key: &[u8]) -> Result<Option<VersionedValue>, StorageError> {
        db(|| get_state(&self.state, key))
    }

    fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, VersionedValue)>, StorageError> {
        db(|| range_state(&self.state, start, end, limit))
    }

    fn height(&self) -> Result<u64, StorageError> {
        db(|| Ok(self.height))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use arcanum_types::state::EMPTY_STATE_ROOT;
    use arcanum_types::{ErrorCode, Version};

    use super::*;

    fn commit_at(store: &RedbStore, height: u64) -> BlockCommit {
        let version = Version {
            block: height,
            tx: 0,
        };
        let writes = vec![(
            b"k".to_vec(),
            Some(VersionedValue {
                value: b"v".to_vec(),
                version,
            }),
        )];
        BlockCommit {
            state_root: store.next_state_root(&writes).unwrap_or(EMPTY_STATE_ROOT),
            height,
            block_hash: Hash([height as u8; 32]),
            block_bytes: b"block".to_vec(),
            writes,
            receipts: vec![TxReceipt {
                tx_id: Hash([7; 32]),
                block: height,
                index: 0,
                status: TxStatus::Valid,
            }],
        }
    }

    /// Overwrites one raw record, bypassing the store's encoding.
    fn poke<K: redb::Key + 'static>(
        store: &RedbStore,
        table: TableDefinition<K, &[u8]>,
        key: K::SelfType<'_>,
        bytes: &[u8],
    ) {
        let txn = store.db.begin_write().unwrap();
        txn.open_table(table).unwrap().insert(key, bytes).unwrap();
        txn.commit().unwrap();
    }

    fn assert_corrupt<T: std::fmt::Debug>(r: Result<T, StorageError>) {
        match r {
            Err(StorageError::Corrupt { .. }) => {}
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn corrupt_records_are_errors_not_panics() {
        let store = RedbStore::in_memory().unwrap();
        store.commit_block(commit_at(&store, 1)).unwrap();

        // A state record with a trailing byte, then one that is truncated.
        let mut bad = encode(&VersionedValue {
            value: b"v".to_vec(),
            version: Version { block: 1, tx: 0 },
        });
        bad.push(0);
        poke(&store, STATE, b"k".as_slice(), &bad);
        assert_corrupt(store.get(b"k"));
        assert_corrupt(store.range(b"a", b"z", 10));
        assert_corrupt(store.snapshot().unwrap().get(b"k"));
        poke(&store, STATE, b"k".as_slice(), &[1, 0, 0]);
        assert_corrupt(store.get(b"k"));

        poke(&store, TX_INDEX, [7u8; 32].as_slice(), &[0xff; 3]);
        assert_corrupt(store.receipt(&Hash([7; 32])));
        poke(&store, BLOCK_HASHES, 1, &[1; 31]);
        assert_corrupt(store.block_hash(1));
        poke(&store, BLOCK_RECEIPTS, 1, &[9, 9, 9, 9]);
        assert_corrupt(store.receipts_in_block(1));

        let txn = store.db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_TIP, [0u8; 39].as_slice())
            .unwrap();
        txn.commit().unwrap();
        assert_corrupt(store.tip());
        assert_corrupt(store.snapshot().map(|_| ()));
        // A commit against a corrupt tip is refused, not applied.
        assert_corrupt(store.commit_block(commit_at(&store, 2)));
        assert_eq!(corrupt("x", "y").0.code(), ErrorCode::Internal);
    }

    #[test]
    fn another_format_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.redb");
        {
            let store = RedbStore::open(&path).unwrap();
            let txn = store.db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(META_FORMAT, encode(&7u32).as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        assert_eq!(
            RedbStore::open(&path).unwrap_err(),
            StorageError::UnsupportedFormat {
                found: 7,
                supported: FORMAT_VERSION
            }
        );
    }
}

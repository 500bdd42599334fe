//! The world state's Jellyfish Merkle Tree on redb: jmt's [`TreeReader`] over three tables, the
//! per-block update, the roots by height and proofs at a height.
//!
//! Why `jmt`: it is a maintained sparse Merkle tree (Diem's design, kept by Penumbra) with
//! versioned nodes, inclusion and exclusion proofs and a storage-agnostic reader/writer seam, so
//! the tree lives in the ledger's own redb transaction. Keys are hashed
//! ([`arcanum_types::state::state_key_hash`]), so it has no range proofs; range reads stay
//! unauthenticated against phantoms, as before (docs/design/ledger-format.md).

use arcanum_storage::{StorageError, VersionedValue};
use arcanum_types::state::state_key_hash;
use arcanum_types::{Hash, StateProof, decode, encode, limits};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Sha256Jmt};
use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::{Db, corrupt};

/// [`node_key`] → borsh `Node`: every tree node of every version (never pruned).
pub(crate) const JMT_NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jmt_nodes");
/// key hash (32) ‖ version (u64 BE) → borsh `Option<leaf value>` (`None`: deleted there).
pub(crate) const JMT_VALUES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jmt_values");
/// height → the state root after that block (32 bytes); height 0 is the empty state.
pub(crate) const STATE_ROOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("state_roots");

/// Largest stored tree node: an internal node has at most 16 children of about 42 bytes.
const MAX_NODE_RECORD: usize = 1024;
/// Largest stored leaf value record.
const MAX_VALUE_RECORD: usize = limits::MAX_VALUE_BYTES + 64;

/// The tree as stored in two tables (read-only or inside a write transaction).
pub(crate) struct TreeView<'a, N, V> {
    pub nodes: &'a N,
    pub values: &'a V,
}

/// A node's record key: its version big-endian, then its borsh nibble path. Leading with the
/// version in order makes a block's new nodes land together at the end of the table (a few
/// pages copied per commit); borsh's little-endian version scattered them over the whole table.
fn node_key(key: &NodeKey) -> Vec<u8> {
    let mut k = key.version().to_be_bytes().to_vec();
    k.extend_from_slice(&encode(key.nibble_path()));
    k
}

fn value_key(key_hash: &KeyHash, version: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(&key_hash.0);
    k[32..].copy_from_slice(&version.to_be_bytes());
    k
}

impl<N, V> TreeReader for TreeView<'_, N, V>
where
    N: ReadableTable<&'static [u8], &'static [u8]>,
    V: ReadableTable<&'static [u8], &'static [u8]>,
{
    fn get_node_option(&self, key: &NodeKey) -> anyhow::Result<Option<Node>> {
        match self.nodes.get(node_key(key).as_slice())? {
            Some(v) => Ok(Some(decode::<Node>(v.value(), MAX_NODE_RECORD)?)),
            // Version 0 is the state before block 1: the empty tree, whose root is never
            // written. Answering it lets a proof of absence be served at height 0 (the
            // first endorsement of a new chain).
            None if key.version() == 0 && key.nibble_path().num_nibbles() == 0 => {
                Ok(Some(Node::Null))
            }
            None => Ok(None),
        }
    }

    fn get_value_option(
        &self,
        max_version: jmt::Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        let (start, end) = (value_key(&key_hash, 0), value_key(&key_hash, max_version));
        let latest = self
            .values
            .range::<&[u8]>(start.as_slice()..=end.as_slice())?
            .next_back();
        match latest {
            Some(entry) => {
                let (_, v) = entry?;
                Ok(decode::<Option<Vec<u8>>>(v.value(), MAX_VALUE_RECORD)?)
            }
            None => Ok(None),
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only jmt's state restoration asks for it; Arcanum never restores a tree.
        anyhow::bail!("the rightmost leaf is not indexed")
    }
}

fn tree_error(what: &str, e: anyhow::Error) -> Db {
    corrupt("state tree", format!("{what}: {e:#}"))
}

impl<N, V> TreeView<'_, N, V>
where
    N: ReadableTable<&'static [u8], &'static [u8]>,
    V: ReadableTable<&'static [u8], &'static [u8]>,
{
    /// The root after applying `writes` at `version` on top of version `version - 1`, and the
    /// nodes and values to store.
    pub(crate) fn update(
        &self,
        version: u64,
        writes: &[(Vec<u8>, Option<VersionedValue>)],
    ) -> Result<(Hash, jmt::storage::TreeUpdateBatch), Db> {
        let set = writes
            .iter()
            .map(|(k, v)| (state_key_hash(k), v.as_ref().map(encode)));
        let (root, batch) = Sha256Jmt::new(self)
            .put_value_set(set, version)
            .map_err(|e| tree_error("update", e))?;
        Ok((Hash(root.0), batch))
    }

    /// The value of `key` at `version` and its proof.
    pub(crate) fn get_with_proof(
        &self,
        key: &[u8],
        version: u64,
    ) -> Result<(Option<VersionedValue>, StateProof), StorageError> {
        let (value, proof) = Sha256Jmt::new(self)
            .get_with_proof(state_key_hash(key), version)
            .map_err(|e| tree_error("proof", e).0)?;
        let value = value
            .map(|bytes| decode::<VersionedValue>(&bytes, MAX_VALUE_RECORD))
            .transpose()
            .map_err(|e| corrupt("state tree leaf", e).0)?;
        Ok((value, StateProof::from_jmt(proof)))
    }
}

/// Writes the empty tree at version 0 (and its root at height 0) if the store has no tree yet.
pub(crate) fn init(txn: &WriteTransaction) -> Result<(), Db> {
    let mut roots = txn.open_table(STATE_ROOTS)?;
    if roots.get(0)?.is_some() {
        return Ok(());
    }
    let mut nodes = txn.open_table(JMT_NODES)?;
    let mut values = txn.open_table(JMT_VALUES)?;
    let (root, batch) = TreeView {
        nodes: &nodes,
        values: &values,
    }
    .update(0, &[])?;
    store_batch(&mut nodes, &mut values, &batch)?;
    roots.insert(0, root.0.as_slice())?;
    Ok(())
}

/// A tree update computed ahead of its commit: valid for exactly these writes at this height on
/// top of the tip it was computed on (the tip cannot move meanwhile without a commit, which
/// consumes it).
pub(crate) struct Prepared {
    pub(crate) height: u64,
    pub(crate) writes: Vec<(Vec<u8>, Option<VersionedValue>)>,
    pub(crate) root: Hash,
    pub(crate) batch: jmt::storage::TreeUpdateBatch,
}

/// Applies one block's writes to the tree inside `txn` at version `height`, stores the root by
/// height and returns it. `prepared` is used instead of computing the update if it was computed
/// for exactly this height and these writes.
pub(crate) fn apply(
    txn: &WriteTransaction,
    height: u64,
    writes: &[(Vec<u8>, Option<VersionedValue>)],
    prepared: Option<Prepared>,
) -> Result<Hash, Db> {
    let mut nodes = txn.open_table(JMT_NODES)?;
    let mut values = txn.open_table(JMT_VALUES)?;
    let (root, batch) = match prepared {
        Some(p) if p.height == height && p.writes == writes => (p.root, p.batch),
        _ => TreeView {
            nodes: &nodes,
            values: &values,
        }
        .update(height, writes)?,
    };
    store_batch(&mut nodes, &mut values, &batch)?;
    txn.open_table(STATE_ROOTS)?
        .insert(height, root.0.as_slice())?;
    Ok(root)
}

fn store_batch(
    nodes: &mut redb::Table<&[u8], &[u8]>,
    values: &mut redb::Table<&[u8], &[u8]>,
    batch: &jmt::storage::TreeUpdateBatch,
) -> Result<(), Db> {
    for (key, node) in batch.node_batch.nodes() {
        nodes.insert(node_key(key).as_slice(), encode(node).as_slice())?;
    }
    for ((version, key_hash), value) in batch.node_batch.values() {
        values.insert(
            value_key(key_hash, *version).as_slice(),
            encode(value).as_slice(),
        )?;
    }
    Ok(())
}

/// The stored root at `height`.
pub(crate) fn root_at(
    roots: &impl ReadableTable<u64, &'static [u8]>,
    height: u64,
) -> Result<Option<Hash>, Db> {
    match roots.get(height)? {
        Some(v) => <[u8; 32]>::try_from(v.value())
            .map(|b| Some(Hash(b)))
            .map_err(|_| corrupt(format!("state root {height}"), "not 32 bytes")),
        None => Ok(None),
    }
}

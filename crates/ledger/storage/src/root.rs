use arcanum_crypto::domain;
use arcanum_types::Hash;
use sha2::{Digest, Sha256};

use crate::VersionedValue;

/// Streaming computation of the world-state root.
///
/// Definition: `tagged_hash(domain::STATE_ROOT, entries)`, where `entries` is the concatenation,
/// over every `(key, value, version)` of the state in strictly ascending (bytewise) key order, of
///
/// ```text
/// u32 LE len(key) || key || u32 LE len(value) || value || u64 LE version.block || u32 LE version.tx
/// ```
///
/// i.e. `borsh(key) || borsh(VersionedValue)`. Every field is length-prefixed or of fixed size,
/// so the byte string determines the state and the root is collision-resistant in the state. The
/// empty state's root is `tagged_hash(domain::STATE_ROOT, &[])`.
///
/// The hasher streams, so computing a root never holds the whole state in memory. The caller
/// feeds entries in strictly ascending key order; keys and values are bounded by
/// [`arcanum_types::limits`], which [`LedgerStore::commit_block`](crate::LedgerStore::commit_block)
/// enforces, so their lengths fit the `u32` prefix.
#[derive(Clone)]
pub struct StateRootHasher {
    sha: Sha256,
}

impl StateRootHasher {
    pub fn new() -> StateRootHasher {
        // The prefix of `arcanum_crypto::tagged_hash`: u32 LE len(domain) || domain.
        let mut sha = Sha256::new();
        sha.update((domain::STATE_ROOT.len() as u32).to_le_bytes());
        sha.update(domain::STATE_ROOT.as_bytes());
        StateRootHasher { sha }
    }

    /// Absorbs one state entry (the next one in key order).
    pub fn update(&mut self, key: &[u8], value: &VersionedValue) {
        self.sha.update((key.len() as u32).to_le_bytes());
        self.sha.update(key);
        self.sha.update((value.value.len() as u32).to_le_bytes());
        self.sha.update(&value.value);
        self.sha.update(value.version.block.to_le_bytes());
        self.sha.update(value.version.tx.to_le_bytes());
    }

    pub fn finalize(self) -> Hash {
        Hash(self.sha.finalize().into())
    }
}

impl Default for StateRootHasher {
    fn default() -> Self {
        StateRootHasher::new()
    }
}

impl std::fmt::Debug for StateRootHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateRootHasher")
    }
}

#[cfg(test)]
mod tests {
    use arcanum_crypto::tagged_hash;
    use arcanum_types::{Version, encode};

    use super::*;

    fn vv(value: &[u8], block: u64, tx: u32) -> VersionedValue {
        VersionedValue {
            value: value.to_vec(),
            version: Version { block, tx },
        }
    }

    #[test]
    fn matches_tagged_hash_over_borsh_entries() {
        let entries = [
            (b"a".to_vec(), vv(b"1", 1, 0)),
            (b"bc".to_vec(), vv(b"", 2, 7)),
        ];
        let mut h = StateRootHasher::new();
        let mut bytes = Vec::new();
        for (k, v) in &entries {
            h.update(k, v);
            bytes.extend(encode(k));
            bytes.extend(encode(v));
        }
        assert_eq!(h.finalize(), tagged_hash(domain::STATE_ROOT, &[&bytes]));
        assert_eq!(
            StateRootHasher::new().finalize(),
            tagged_hash(domain::STATE_ROOT, &[])
        );
    }

    #[test]
    fn entry_boundaries_are_unambiguous() {
        // Moving a byte from key to value, or changing only the version, changes the root.
        let root = |k: &[u8], v: VersionedValue| {
            let mut h = StateRootHasher::new();
            h.update(k, &v);
            h.finalize()
        };
        let base = root(b"ab", vv(b"c", 1, 0));
        assert_ne!(base, root(b"a", vv(b"bc", 1, 0)));
        assert_ne!(base, root(b"ab", vv(b"c", 1, 1)));
        assert_ne!(base, root(b"ab", vv(b"c", 2, 0)));
    }
}

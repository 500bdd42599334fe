//! The TEE node's store: one redb file in the data dir holding only what the enclave sealed or
//! encrypted (the sealed node state, storage-key-encrypted code and state records) and public
//! facts (deployment statements, the latest registration, member URLs). Nothing here is secret
//! to the host, and nothing here is trusted by the enclave: it authenticates every record.

use std::path::Path;

use arcanum_crypto::Hash;
use arcanum_enclave_protocol::cluster::StateRecord;
use arcanum_types::offchain::{MAX_OFFCHAIN_CODE, SignedDeployment, SignedRegistration};
use arcanum_types::{decode, encode};
use redb::{Database, Durability, ReadableDatabase, TableDefinition, WriteTransaction};

/// `name → bytes`: the sealed node state, the latest registration, the member URLs.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// `contract id → borsh (SignedDeployment, encrypted code)`.
const CODE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("code");
/// `contract id ‖ key → encrypted state record`.
const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");

const META_SEALED: &str = "sealed";
const META_REGISTRATION: &str = "registration";
const META_MEMBERS: &str = "members";

/// Bound on any single stored value the host reads back (code plus statement, with slack).
const MAX_VALUE: usize = MAX_OFFCHAIN_CODE + 64 * 1024;
/// Bound on the stored list of member URLs.
const MAX_MEMBERS_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store backend: {0}")]
    Backend(String),
    /// A stored value no longer decodes (disk corruption or tampering).
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt { what: &'static str, reason: String },
}

macro_rules! backend_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Backend(e.to_string())
            }
        }
    )*};
}
backend_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// The node's redb store.
pub struct NodeStore {
    db: Database,
}

impl std::fmt::Debug for NodeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeStore")
    }
}

fn state_key(contract_id: &Hash, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(32 + key.len());
    k.extend_from_slice(&contract_id.0);
    k.extend_from_slice(key);
    k
}

impl NodeStore {
    /// Opens (or creates) the store at `path`; fails if another process holds it.
    pub fn open(path: &Path) -> Result<NodeStore, StoreError> {
        let db = Database::create(path)
            .map_err(|e| StoreError::Backend(format!("open {}: {e}", path.display())))?;
        let store = NodeStore { db };
        store.write(|txn| {
            txn.open_table(META)?;
            txn.open_table(CODE)?;
            txn.open_table(STATE)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// Runs `f` in one durable write transaction, committed only if `f` succeeds.
    fn write(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        match f(&txn) {
            Ok(()) => Ok(txn.commit()?),
            Err(e) => {
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let table = self.db.begin_read()?.open_table(META)?;
        Ok(table.get(name)?.map(|v| v.value().to_vec()))
    }

    fn put_meta(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.write(|txn| {
            txn.open_table(META)?.insert(name, bytes)?;
            Ok(())
        })
    }

    /// The sealed node state from the last run.
    pub fn sealed(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_meta(META_SEALED)
    }

    pub fn put_sealed(&self, sealed: &[u8]) -> Result<(), StoreError> {
        self.put_meta(META_SEALED, sealed)
    }

    /// The latest cluster registration this node knows.
    pub fn registration(&self) -> Result<Option<SignedRegistration>, StoreError> {
        self.get_meta(META_REGISTRATION)?
            .map(|b| {
                decode(&b, MAX_VALUE).map_err(|e| StoreError::Corrupt {
                    what: "registration",
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    pub fn put_registration(&self, registration: &SignedRegistration) -> Result<(), StoreError> {
        self.put_meta(META_REGISTRATION, &encode(registration))
    }

    /// The URLs of the other cluster members.
    pub fn members(&self) -> Result<Vec<String>, StoreError> {
        match self.get_meta(META_MEMBERS)? {
            Some(b) => decode(&b, MAX_MEMBERS_BYTES).map_err(|e| StoreError::Corrupt {
                what: "member list",
                reason: e.to_string(),
            }),
            None => Ok(Vec::new()),
        }
    }

    pub fn put_members(&self, urls: &[String]) -> Result<(), StoreError> {
        self.put_meta(META_MEMBERS, &encode(&urls.to_vec()))
    }

    /// The deployment statement and encrypted code of a contract.
    pub fn code(
        &self,
        contract_id: &Hash,
    ) -> Result<Option<(SignedDeployment, Vec<u8>)>, StoreError> {
        let table = self.db.begin_read()?.open_table(CODE)?;
        let Some(v) = table.get(contract_id.0.as_slice())? else {
            return Ok(None);
        };
        decode(v.value(), MAX_VALUE)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                what: "code record",
                reason: e.to_string(),
            })
    }

    /// Stores a contract's deployment with its encrypted code (replacing an older key version).
    pub fn put_code(&self, deployment: &SignedDeployment, code: &[u8]) -> Result<(), StoreError> {
        let id = deployment.statement.contract_id;
        let value = encode(&(deployment, code));
        self.write(|txn| {
            txn.open_table(CODE)?
                .insert(id.0.as_slice(), value.as_slice())?;
            Ok(())
        })
    }

    /// The stored record of `(contract_id, key)`.
    pub fn state(&self, contract_id: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let table = self.db.begin_read()?.open_table(STATE)?;
        Ok(table
            .get(state_key(contract_id, key).as_slice())?
            .map(|v| v.value().to_vec()))
    }

    /// Stores every record of one invocation atomically (all or none).
    pub fn put_states(&self, records: &[StateRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        self.write(|txn| {
            let mut table = txn.open_table(STATE)?;
            for r in records {
                table.insert(
                    state_key(&r.contract_id, &r.key).as_slice(),
                    r.record.as_slice(),
                )?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn record(c: u8, key: &[u8], value: &[u8]) -> StateRecord {
        StateRecord {
            contract_id: Hash([c; 32]),
            key: key.to_vec(),
            record: value.to_vec(),
        }
    }

    #[test]
    fn state_records_match_a_map_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.redb");
        let mut oracle: BTreeMap<(u8, Vec<u8>), Vec<u8>> = BTreeMap::new();
        {
            let store = NodeStore::open(&path).expect("open");
            // Keys that are prefixes of each other and of other contracts' keys stay apart.
            let batches = [
                vec![record(1, b"a", b"1"), record(1, b"ab", b"2")],
                vec![record(2, b"", b"3"), record(1, b"a", b"4")],
                vec![],
            ];
            for batch in &batches {
                store.put_states(batch).expect("put");
                for r in batch {
                    oracle.insert((r.contract_id.0[0], r.key.clone()), r.record.clone());
                }
            }
            store.put_sealed(b"sealed").expect("sealed");
            store
                .put_members(&["http://a".into(), "http://b".into()])
                .expect("members");
        }
        let store = NodeStore::open(&path).expect("reopen");
        for ((c, key), value) in &oracle {
            assert_eq!(
                store.state(&Hash([*c; 32]), key).expect("get"),
                Some(value.clone())
            );
        }
        assert_eq!(store.state(&Hash([2; 32]), b"a").expect("get"), None);
        assert_eq!(store.sealed().expect("sealed"), Some(b"sealed".to_vec()));
        assert_eq!(
            store.members().expect("members"),
            vec!["http://a".to_owned(), "http://b".to_owned()]
        );
        assert_eq!(store.registration().expect("registration"), None);
        assert_eq!(store.code(&Hash([1; 32])).expect("code"), None);
    }

    #[test]
    fn a_corrupt_registration_is_reported_not_trusted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = NodeStore::open(&dir.path().join("node.redb")).expect("open");
        store
            .put_meta(META_REGISTRATION, b"\x01garbage")
            .expect("put");
        assert!(matches!(
            store.registration(),
            Err(StoreError::Corrupt {
                what: "registration",
                ..
            })
        ));
    }
}

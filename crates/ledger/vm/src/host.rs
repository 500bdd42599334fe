//! What the VM needs from its embedder: state access, the caller's identity and (off-chain
//! only) external HTTPS data.

use std::collections::BTreeMap;

use arcanum_types::ErrorCode;

/// A failure of the embedder behind [`HostState`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The backend could not serve the request (I/O, corruption, ...).
    #[error("state backend failed: {0}")]
    Backend(String),
    /// The backend refuses the operation (for example a write during a read-only query).
    #[error("state operation denied: {0}")]
    Denied(String),
    /// The operation failed with a stable error code of the registry (for example
    /// `TLS_FAILURE` or `HTTPS_FAILURE` from an in-enclave fetch); [`crate::VmError::code`]
    /// reports that code.
    #[error("{code}: {message}")]
    Failed { code: String, message: String },
}

impl HostError {
    /// A [`HostError::Failed`] with `code`'s string form.
    pub fn failed(code: ErrorCode, message: impl Into<String>) -> HostError {
        HostError::Failed {
            code: code.as_str().to_owned(),
            message: message.into(),
        }
    }
}

/// The message of the default [`HostState::https_get`].
pub const HTTPS_GET_UNAVAILABLE: &str = "https_get is only available to off-chain contracts";

/// Key/value pairs in ascending key order, as a range query returns them.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// State access during one invocation. Keys are contract-relative: the embedder namespaces them
/// by contract, records reads and writes, and decides what a write means (buffering it in a
/// write set during simulation, for instance).
pub trait HostState {
    /// The value under `key`, if any.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostError>;
    /// Stores `value` under `key`.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), HostError>;
    /// Deletes `key` (absent keys are fine).
    fn delete(&mut self, key: &[u8]) -> Result<(), HostError>;
    /// Keys in `[start, end)` in ascending order, at most `limit` of them.
    fn range(&mut self, start: &[u8], end: &[u8], limit: u32) -> Result<Entries, HostError>;

    /// The body of a `200` answer to an HTTPS GET of `url` (off-chain only: an enclave runs the
    /// TLS session itself and binds the response into the signed result). The VM has already
    /// charged fuel for the call and checked the URL length and the fetch count; it checks the
    /// body length against [`crate::Limits::max_fetch_body`].
    ///
    /// The default refuses: on-chain execution must stay deterministic, so endorsers never
    /// fetch. The refusal is `CONTRACT_TRAP`, a deterministic failure of the contract that
    /// every endorser sees alike.
    fn https_get(&mut self, url: &str) -> Result<Vec<u8>, HostError> {
        let _ = url;
        Err(HostError::failed(
            ErrorCode::ContractTrap,
            HTTPS_GET_UNAVAILABLE,
        ))
    }
}

/// The identity on whose behalf a contract runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Identity id (SHA-256 of the certificate).
    pub id: [u8; 32],
    /// Organisation (MSP id).
    pub msp_id: String,
    /// Role name (`client`, `admin`, ...).
    pub role: String,
}

/// A [`HostState`] over a `BTreeMap`: for tests, benchmarks and read-only tools.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InMemoryState {
    /// The entries.
    pub map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl InMemoryState {
    /// An empty state.
    pub fn new() -> InMemoryState {
        InMemoryState::default()
    }
}

impl HostState for InMemoryState {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.map.get(key).cloned())
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), HostError> {
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), HostError> {
        self.map.remove(key);
        Ok(())
    }

    fn range(&mut self, start: &[u8], end: &[u8], limit: u32) -> Result<Entries, HostError> {
        if start >= end {
            return Ok(Vec::new());
        }
        let bounds = (
            std::ops::Bound::Included(start),
            std::ops::Bound::Excluded(end),
        );
        Ok(self
            .map
            .range::<[u8], _>(bounds)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_range_is_half_open_sorted_and_limited() {
        let mut s = InMemoryState::new();
        for k in [b"a", b"b", b"c", b"d"] {
            s.put(k, k).unwrap();
        }
        let keys = |v: Vec<(Vec<u8>, Vec<u8>)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(
            keys(s.range(b"b", b"d", 10).unwrap()),
            vec![b"b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(
            keys(s.range(b"a", b"z", 2).unwrap()),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert!(s.range(b"c", b"a", 10).unwrap().is_empty());
        s.delete(b"a").unwrap();
        assert_eq!(s.get(b"a").unwrap(), None);
    }
}

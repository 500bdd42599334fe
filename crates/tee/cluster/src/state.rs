//! The T2 state cache and the per-invocation view a contract runs against.
//!
//! Per contract, an in-enclave hash table maps each key the enclave has seen to its current
//! version and (while cached) its value. Versions are never evicted, so a host that serves an
//! older record, another key's record or nothing at all for a key the enclave knows is caught
//! (`STATE_ROLLBACK`); only values are evicted, oldest first, past [`MAX_CACHED_BYTES`].

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use arcanum_crypto::Hash;
use arcanum_enclave_protocol::cluster::{Ocall, OcallReturn, StateRecord};
use arcanum_enclave_tls::{ByteRelay, FetchLimits, HttpsClient, TlsError};
use arcanum_types::ErrorCode;
use arcanum_types::offchain::{FetchRecord, MAX_FETCHES};
use arcanum_vm::{Entries, HostError, HostState};

use crate::HostPort;
use crate::error::{ClusterError, Rollback};
use crate::keys::{KeySchedule, RecordKind};

/// Default for the bytes of values one contract keeps cached in the enclave (versions are kept
/// for every key regardless).
pub const MAX_CACHED_BYTES: usize = 16 * 1024 * 1024;
/// Largest stored state record the enclave accepts from the host.
const MAX_RECORD: usize = 2 * 1024 * 1024;

/// One key's slot: its version (0 = never written) and, while cached, its value (`None` =
/// absent or deleted).
#[derive(Clone, Debug)]
struct Slot {
    version: u64,
    value: Option<Option<Vec<u8>>>,
}

fn value_len(v: &Option<Vec<u8>>) -> usize {
    v.as_ref().map_or(0, Vec::len)
}

/// The cache of one contract. Invariant: a key is in `order` exactly when its slot has a
/// cached value, and `cached_bytes` is the sum of those values' lengths.
#[derive(Debug)]
pub struct ContractState {
    slots: HashMap<Vec<u8>, Slot>,
    order: VecDeque<Vec<u8>>,
    cached_bytes: usize,
    max_cached_bytes: usize,
}

impl ContractState {
    /// An empty cache keeping at most `max_cached_bytes` of values.
    pub fn new(max_cached_bytes: usize) -> ContractState {
        ContractState {
            slots: HashMap::new(),
            order: VecDeque::new(),
            cached_bytes: 0,
            max_cached_bytes,
        }
    }

    /// The version the enclave knows for `key`, if it has seen it.
    pub fn version(&self, key: &[u8]) -> Option<u64> {
        self.slots.get(key).map(|s| s.version)
    }

    fn set(&mut self, key: &[u8], version: u64, value: Option<Vec<u8>>) {
        let added = value_len(&value);
        match self.slots.get_mut(key) {
            Some(slot) => {
                match &slot.value {
                    Some(old) => self.cached_bytes -= value_len(old),
                    None => self.order.push_back(key.to_vec()),
                }
                slot.version = version;
                slot.value = Some(value);
            }
            None => {
                self.order.push_back(key.to_vec());
                self.slots.insert(
                    key.to_vec(),
                    Slot {
                        version,
                        value: Some(value),
                    },
                );
            }
        }
        self.cached_bytes += added;
        self.evict();
    }

    fn evict(&mut self) {
        while self.cached_bytes > self.max_cached_bytes {
            let Some(key) = self.order.pop_front() else {
                break;
            };
            if let Some(slot) = self.slots.get_mut(&key)
                && let Some(value) = slot.value.take()
            {
                self.cached_bytes -= value_len(&value);
            }
        }
    }
}

/// A bounded FIFO set of request hashes. At capacity the oldest hash is forgotten, so a request
/// older than the last `capacity` ones is no longer recognised as a replay.
#[derive(Debug)]
pub struct ReplaySet {
    seen: HashSet<Hash>,
    order: VecDeque<Hash>,
    capacity: usize,
}

impl ReplaySet {
    pub fn new(capacity: usize) -> ReplaySet {
        ReplaySet {
            seen: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records `hash`; `false` if it is already there (a replay).
    pub fn insert(&mut self, hash: Hash) -> bool {
        if !self.seen.insert(hash) {
            return false;
        }
        self.order.push_back(hash);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }

    /// Forgets `hash` (an invocation that failed changes nothing, its hash included).
    pub fn remove(&mut self, hash: &Hash) {
        if self.seen.remove(hash)
            && let Some(pos) = self.order.iter().rposition(|h| h == hash)
        {
            self.order.remove(pos);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.order.len()
    }
}

/// The state a contract sees during one invocation: reads go through the write buffer, the
/// cache and then the host (verified); writes are buffered until [`Run::commit`].
pub struct Run<'a> {
    pub contract_id: Hash,
    pub state: &'a mut ContractState,
    pub host: &'a dyn HostPort,
    pub keys: &'a KeySchedule,
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The precise failure behind the last `HostError` handed to the VM.
    pub failure: Option<ClusterError>,
    /// External fetches made so far, in order.
    pub fetches: Vec<FetchRecord>,
    /// The in-enclave HTTPS client (trust anchors = `ClusterTrust::tls_roots`); `None` when no
    /// roots are configured, so every fetch fails with `TLS_FAILURE`.
    pub https: Option<&'a HttpsClient>,
    /// Bounds on each fetch.
    pub fetch_limits: FetchLimits,
}

impl<'a> Run<'a> {
    pub fn new(
        contract_id: Hash,
        state: &'a mut ContractState,
        host: &'a dyn HostPort,
        keys: &'a KeySchedule,
    ) -> Run<'a> {
        Run {
            contract_id,
            state,
            host,
            keys,
            writes: BTreeMap::new(),
            failure: None,
            fetches: Vec::new(),
            https: None,
            fetch_limits: FetchLimits::default(),
        }
    }

    fn fail(&mut self, e: ClusterError) -> HostError {
        let shown = HostError::Denied(e.to_string());
        self.failure = Some(e);
        shown
    }

    /// The committed value of `key`: from the cache, else loaded from the host and verified.
    fn committed(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, ClusterError> {
        if let Some(Slot { value: Some(v), .. }) = self.state.slots.get(key) {
            return Ok(v.clone());
        }
        let known = self.state.version(key);
        let answer = self
            .host
            .ocall(Ocall::LoadState {
                contract_id: self.contract_id,
                key: key.to_vec(),
            })
            .map_err(ClusterError::Host)?;
        let record = match answer {
            OcallReturn::State(r) => r,
            OcallReturn::Error { code, message } => {
                return Err(ClusterError::Host(format!("{code}: {message}")));
            }
            other => {
                return Err(ClusterError::Host(format!(
                    "unexpected answer to LoadState: {}",
                    variant_name(&other)
                )));
            }
        };
        let (version, value) = match record {
            None => match known {
                Some(v) if v > 0 => {
                    return Err(ClusterError::Rollback(Rollback::Missing { expected: v }));
                }
                _ => (0, None),
            },
            Some(record) => {
                if record.len() > MAX_RECORD {
                    return Err(ClusterError::Rollback(Rollback::Swapped));
                }
                let got = KeySchedule::record_version(&record)
                    .map_err(|_| ClusterError::Rollback(Rollback::Swapped))?;
                if let Some(expected) = known
                    && expected != got
                {
                    return Err(ClusterError::Rollback(Rollback::Version { expected, got }));
                }
                let plain = self
                    .keys
                    .open_record(RecordKind::State, &self.contract_id, key, got, &record)
                    .map_err(|_| ClusterError::Rollback(Rollback::Swapped))?;
                let value: Option<Vec<u8>> = borsh::from_slice(&plain)
                    .map_err(|_| ClusterError::Rollback(Rollback::Swapped))?;
                (got, value)
            }
        };
        self.state.set(key, version, value.clone());
        Ok(value)
    }

    fn read(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        if let Some(v) = self.writes.get(key) {
            return Ok(v.clone());
        }
        self.committed(key).map_err(|e| self.fail(e))
    }

    fn write(&mut self, key: &[u8], value: Option<Vec<u8>>) -> Result<(), HostError> {
        // The key's current version must be known before it is overwritten, so the new record
        // gets the next one.
        if !self.writes.contains_key(key) && self.state.version(key).is_none() {
            self.committed(key).map_err(|e| self.fail(e))?;
        }
        self.writes.insert(key.to_vec(), value);
        Ok(())
    }

    /// Applies the buffered writes to the cache (next version of each key) and returns the
    /// records the host must store. Call only after the invocation succeeded.
    pub fn commit(self, rng: &mut impl rand_core::CryptoRngCore) -> Vec<StateRecord> {
        let Run {
            contract_id,
            state,
            keys,
            writes,
            ..
        } = self;
        let mut records = Vec::with_capacity(writes.len());
        for (key, value) in writes {
            let version = state.version(&key).unwrap_or(0).saturating_add(1);
            let plain = zeroize::Zeroizing::new(arcanum_types::encode(&value));
            let record =
                keys.seal_record(RecordKind::State, &contract_id, &key, version, &plain, rng);
            state.set(&key, version, value);
            records.push(StateRecord {
                contract_id,
                key,
                record,
            });
        }
        records
    }
}

pub(crate) fn variant_name(r: &OcallReturn) -> &'static str {
    match r {
        OcallReturn::Code(_) => "Code",
        OcallReturn::State(_) => "State",
        OcallReturn::Connected { .. } => "Connected",
        OcallReturn::Sent => "Sent",
        OcallReturn::Received(_) => "Received",
        OcallReturn::Closed => "Closed",
        OcallReturn::Error { .. } => "Error",
    }
}

impl HostState for Run<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        self.read(key)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), HostError> {
        self.write(key, Some(value.to_vec()))
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), HostError> {
        self.write(key, None)
    }

    fn range(&mut self, _start: &[u8], _end: &[u8], _limit: u32) -> Result<Entries, HostError> {
        Err(self.fail(ClusterError::Unsupported(
            "range queries are not supported off-chain (the host cannot prove completeness)",
        )))
    }

    /// TLS runs here, in the enclave; the host only relays the records (ocalls `TcpConnect`,
    /// `TcpSend`, `TcpRecv`, `TcpClose`). The body's hash is recorded for the signed result.
    fn https_get(&mut self, url: &str) -> Result<Vec<u8>, HostError> {
        if self.fetches.len() >= MAX_FETCHES {
            let e = ClusterError::Fetch {
                code: ErrorCode::HttpsFailure,
                message: format!("more than {MAX_FETCHES} fetches in one invocation"),
            };
            return Err(self.fail_with_code(e));
        }
        let result = match self.https {
            Some(client) => client.get(&OcallRelay { host: self.host }, url, &self.fetch_limits),
            None => Err(TlsError::NoRoots),
        };
        match result {
            Ok(response) => {
                self.fetches.push(FetchRecord {
                    url: url.to_owned(),
                    body_hash: arcanum_crypto::sha256(&response.body),
                });
                Ok(response.body)
            }
            Err(e) => {
                let failure = ClusterError::Fetch {
                    code: e.code(),
                    message: format!("https_get {url}: {e}"),
                };
                Err(self.fail_with_code(failure))
            }
        }
    }
}

impl Run<'_> {
    /// Like `fail`, but the VM sees the failure's registry code too.
    fn fail_with_code(&mut self, e: ClusterError) -> HostError {
        let shown = HostError::failed(e.code(), e.to_string());
        self.failure = Some(e);
        shown
    }
}

/// The host's TCP relay, reached by ocalls. Every byte through it is TLS ciphertext.
struct OcallRelay<'a> {
    host: &'a dyn HostPort,
}

impl OcallRelay<'_> {
    fn call(&self, call: Ocall) -> Result<OcallReturn, TlsError> {
        match self.host.ocall(call) {
            Ok(OcallReturn::Error { code, message }) => {
                Err(TlsError::Relay(format!("{code}: {message}")))
            }
            Ok(answer) => Ok(answer),
            Err(e) => Err(TlsError::Relay(e)),
        }
    }
}

fn unexpected(what: &str, answer: &OcallReturn) -> TlsError {
    TlsError::Relay(format!(
        "unexpected answer to {what}: {}",
        variant_name(answer)
    ))
}

impl ByteRelay for OcallRelay<'_> {
    fn connect(&self, host: &str, port: u16) -> Result<u32, TlsError> {
        match self.call(Ocall::TcpConnect {
            host: host.to_owned(),
            port,
        })? {
            OcallReturn::Connected { conn } => Ok(conn),
            other => Err(unexpected("TcpConnect", &other)),
        }
    }

    fn send(&self, conn: u32, bytes: &[u8]) -> Result<(), TlsError> {
        match self.call(Ocall::TcpSend {
            conn,
            bytes: bytes.to_vec(),
        })? {
            OcallReturn::Sent => Ok(()),
            other => Err(unexpected("TcpSend", &other)),
        }
    }

    fn recv(&self, conn: u32, max: usize) -> Result<Vec<u8>, TlsError> {
        let max32 = u32::try_from(max).unwrap_or(u32::MAX);
        match self.call(Ocall::TcpRecv { conn, max: max32 })? {
            // The TLS engine checks the length against what it asked for.
            OcallReturn::Received(bytes) => Ok(bytes),
            other => Err(unexpected("TcpRecv", &other)),
        }
    }

    fn close(&self, conn: u32) {
        let _ = self.host.ocall(Ocall::TcpClose { conn });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_set_is_bounded_fifo() {
        let mut s = ReplaySet::new(2);
        assert!(s.insert(Hash([1; 32])));
        assert!(!s.insert(Hash([1; 32])));
        assert!(s.insert(Hash([2; 32])));
        assert!(s.insert(Hash([3; 32])));
        assert_eq!(s.len(), 2);
        // The oldest was forgotten.
        assert!(s.insert(Hash([1; 32])));
        s.remove(&Hash([1; 32]));
        assert!(s.insert(Hash([1; 32])));
    }

    #[test]
    fn cache_evicts_values_but_keeps_versions() {
        let mut c = ContractState::new(MAX_CACHED_BYTES);
        let big = vec![0u8; MAX_CACHED_BYTES / 2 + 1];
        c.set(b"a", 1, Some(big.clone()));
        c.set(b"b", 2, Some(big.clone()));
        assert!(c.cached_bytes <= MAX_CACHED_BYTES);
        // With no room, every value is evicted at once and only versions stay.
        let mut none = ContractState::new(0);
        none.set(b"k", 3, Some(vec![1]));
        assert_eq!(none.version(b"k"), Some(3));
        assert!(none.order.is_empty());
        assert!(c.slots[&b"a".to_vec()].value.is_none(), "oldest evicted");
        assert!(c.slots[&b"b".to_vec()].value.is_some());
        assert_eq!(c.version(b"a"), Some(1));
        // Overwriting a cached value does not duplicate it in the eviction order.
        for v in 3..10 {
            c.set(b"b", v, Some(vec![1]));
        }
        assert_eq!(c.order.len(), 1);
        assert_eq!(c.cached_bytes, 1);
    }
}

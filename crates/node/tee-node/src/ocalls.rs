//! The host's side of the enclave's ocalls: stored records from the [`NodeStore`], TCP bytes
//! through the [`Relay`]. Runs on the enclave client's ocall pool.

use std::sync::Arc;

use arcanum_enclave_host::{ClusterProtocol, OcallHandler};
use arcanum_enclave_protocol::cluster::{Ocall, OcallReturn};

use crate::relay::Relay;
use crate::store::NodeStore;

/// Serves ocalls from the store and the relay.
#[derive(Debug)]
pub struct HostOcalls {
    pub store: Arc<NodeStore>,
    pub relay: Arc<Relay>,
}

fn failed(code: &str, message: impl std::fmt::Display) -> OcallReturn {
    OcallReturn::Error {
        code: code.to_owned(),
        message: message.to_string(),
    }
}

impl HostOcalls {
    /// Answers one ocall.
    pub fn serve(&self, ocall: Ocall) -> OcallReturn {
        match ocall {
            Ocall::LoadCode { contract_id } => match self.store.code(&contract_id) {
                Ok(found) => OcallReturn::Code(found),
                Err(e) => failed("INTERNAL", e),
            },
            Ocall::LoadState { contract_id, key } => match self.store.state(&contract_id, &key) {
                Ok(found) => OcallReturn::State(found),
                Err(e) => failed("INTERNAL", e),
            },
            Ocall::TcpConnect { host, port } => match self.relay.connect(&host, port) {
                Ok(conn) => OcallReturn::Connected { conn },
                Err(e) => failed(e.code(), e),
            },
            Ocall::TcpSend { conn, bytes } => match self.relay.send(conn, &bytes) {
                Ok(()) => OcallReturn::Sent,
                Err(e) => failed(e.code(), e),
            },
            Ocall::TcpRecv { conn, max } => match self.relay.recv(conn, max) {
                Ok(bytes) => OcallReturn::Received(bytes),
                Err(e) => failed(e.code(), e),
            },
            Ocall::TcpClose { conn } => {
                self.relay.close(conn);
                OcallReturn::Closed
            }
        }
    }
}

impl OcallHandler<ClusterProtocol> for HostOcalls {
    fn handle(&self, ocall: Ocall) -> OcallReturn {
        self.serve(ocall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::RelayLimits;
    use arcanum_crypto::Hash;
    use arcanum_enclave_protocol::cluster::StateRecord;

    #[test]
    fn loads_come_from_the_store_and_relay_errors_keep_their_codes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(NodeStore::open(&dir.path().join("n.redb")).expect("open"));
        store
            .put_states(&[StateRecord {
                contract_id: Hash([7; 32]),
                key: b"k".to_vec(),
                record: b"ciphertext".to_vec(),
            }])
            .expect("put");
        let ocalls = HostOcalls {
            store,
            relay: Arc::new(Relay::new(RelayLimits::default())),
        };
        assert_eq!(
            ocalls.serve(Ocall::LoadState {
                contract_id: Hash([7; 32]),
                key: b"k".to_vec()
            }),
            OcallReturn::State(Some(b"ciphertext".to_vec()))
        );
        assert_eq!(
            ocalls.serve(Ocall::LoadState {
                contract_id: Hash([7; 32]),
                key: b"other".to_vec()
            }),
            OcallReturn::State(None)
        );
        assert_eq!(
            ocalls.serve(Ocall::LoadCode {
                contract_id: Hash([7; 32])
            }),
            OcallReturn::Code(None)
        );
        match ocalls.serve(Ocall::TcpRecv { conn: 9, max: 10 }) {
            OcallReturn::Error { code, .. } => assert_eq!(code, "NOT_FOUND"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            ocalls.serve(Ocall::TcpClose { conn: 9 }),
            OcallReturn::Closed
        );
    }
}

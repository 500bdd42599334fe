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

    #[test]
    fn relay_ocalls_are_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let ocalls = HostOcalls {
            store: Arc::new(NodeStore::open(&dir.path().join("n.redb")).expect("open")),
            relay: Arc::new(Relay::new(RelayLimits {
                max_connections: 1,
                max_bytes_per_connection: 4,
                ..RelayLimits::default()
            })),
        };
        let connect = || {
            ocalls.serve(Ocall::TcpConnect {
                host: "127.0.0.1".into(),
                port,
            })
        };
        let OcallReturn::Connected { conn } = connect() else {
            panic!("first connection refused");
        };
        match connect() {
            OcallReturn::Error { code, .. } => assert_eq!(code, "BUSY"),
            other => panic!("connection table overflowed: {other:?}"),
        }
        let (mut server, _) = listener.accept().expect("accept");
        assert_eq!(
            ocalls.serve(Ocall::TcpSend {
                conn,
                bytes: b"abc".to_vec()
            }),
            OcallReturn::Sent
        );
        std::io::Write::write_all(&mut server, b"0123456789").expect("server write");
        match ocalls.serve(Ocall::TcpRecv { conn, max: 1000 }) {
            OcallReturn::Received(b) => assert!(!b.is_empty() && b.len() <= 4, "{b:?}"),
            other => panic!("unexpected {other:?}"),
        }
        match ocalls.serve(Ocall::TcpSend {
            conn,
            bytes: b"de".to_vec(),
        }) {
            OcallReturn::Error { code, .. } => assert_eq!(code, "INPUT_TOO_LARGE"),
            other => panic!("byte limit not enforced: {other:?}"),
        }
    }
}

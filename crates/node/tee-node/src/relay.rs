//! The TCP relay behind the enclave's `https_get`: the enclave runs TLS itself, the host only
//! opens connections and moves ciphertext (SPEC C5). Bounded: a fixed number of open
//! connections, connect and read timeouts, a cap on each read and on the bytes each connection
//! may move in either direction.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

/// The relay's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayLimits {
    /// Connections open at once.
    pub max_connections: usize,
    pub connect_timeout: Duration,
    /// How long one receive waits for bytes.
    pub read_timeout: Duration,
    /// Largest single receive.
    pub max_read: u32,
    /// Bytes one connection may send, and separately receive, over its life.
    pub max_bytes_per_connection: u64,
    /// Longest host name accepted.
    pub max_host_len: usize,
}

impl Default for RelayLimits {
    fn default() -> Self {
        RelayLimits {
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            max_read: 64 * 1024,
            max_bytes_per_connection: 8 * 1024 * 1024,
            max_host_len: 253,
        }
    }
}

/// Why a relay operation failed; the code travels back to the enclave.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RelayError {
    #[error("too many relayed connections are open (limit {0})")]
    TooManyConnections(usize),
    #[error("invalid host name")]
    BadHost,
    #[error("cannot connect to {host}:{port}: {reason}")]
    Connect {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("no relayed connection {0}")]
    UnknownConnection(u32),
    #[error("connection {conn} exceeded its byte limit of {limit}")]
    ByteLimit { conn: u32, limit: u64 },
    #[error("connection {conn}: {reason}")]
    Io { conn: u32, reason: String },
}

impl RelayError {
    /// The stable code the enclave sees.
    pub fn code(&self) -> &'static str {
        match self {
            RelayError::TooManyConnections(_) => "BUSY",
            RelayError::BadHost => "BAD_REQUEST",
            RelayError::Connect { .. } | RelayError::Io { .. } => "HTTPS_FAILURE",
            RelayError::UnknownConnection(_) => "NOT_FOUND",
            RelayError::ByteLimit { .. } => "INPUT_TOO_LARGE",
        }
    }
}

struct Connection {
    stream: Mutex<TcpStream>,
    sent: Mutex<u64>,
    received: Mutex<u64>,
}

/// The table of relayed connections.
pub struct Relay {
    limits: RelayLimits,
    table: Mutex<(u32, BTreeMap<u32, Arc<Connection>>)>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("limits", &self.limits)
            .field("open", &self.table.lock().1.len())
            .finish()
    }
}

fn valid_host(host: &str, max: usize) -> bool {
    !host.is_empty()
        && host.len() <= max
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

impl Relay {
    pub fn new(limits: RelayLimits) -> Relay {
        Relay {
            limits,
            table: Mutex::new((1, BTreeMap::new())),
        }
    }

    /// Open connections right now.
    pub fn open_connections(&self) -> usize {
        self.table.lock().1.len()
    }

    fn get(&self, conn: u32) -> Result<Arc<Connection>, RelayError> {
        self.table
            .lock()
            .1
            .get(&conn)
            .cloned()
            .ok_or(RelayError::UnknownConnection(conn))
    }

    /// Opens a TCP connection to `host:port`.
    pub fn connect(&self, host: &str, port: u16) -> Result<u32, RelayError> {
        if !valid_host(host, self.limits.max_host_len) {
            return Err(RelayError::BadHost);
        }
        if self.open_connections() >= self.limits.max_connections {
            return Err(RelayError::TooManyConnections(self.limits.max_connections));
        }
        let failed = |reason: String| RelayError::Connect {
            host: host.to_owned(),
            port,
            reason,
        };
        let addrs = (host, port)
            .to_socket_addrs()
            .map_err(|e| failed(e.to_string()))?;
        let mut last = String::from("no address");
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.limits.connect_timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e.to_string(),
            }
        }
        let stream = stream.ok_or_else(|| failed(last))?;
        stream
            .set_read_timeout(Some(self.limits.read_timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.limits.read_timeout)))
            .map_err(|e| failed(e.to_string()))?;
        let mut table = self.table.lock();
        // Checked again under the lock: concurrent connects must not overshoot the limit.
        if table.1.len() >= self.limits.max_connections {
            return Err(RelayError::TooManyConnections(self.limits.max_connections));
        }
        let id = table.0;
        table.0 = table.0.wrapping_add(1).max(1);
        table.1.insert(
            id,
            Arc::new(Connection {
                stream: Mutex::new(stream),
                sent: Mutex::new(0),
                received: Mutex::new(0),
            }),
        );
        Ok(id)
    }

    /// Sends all of `bytes` on `conn`.
    pub fn send(&self, conn: u32, bytes: &[u8]) -> Result<(), RelayError> {
        let c = self.get(conn)?;
        {
            let mut sent = c.sent.lock();
            let total = *sent + bytes.len() as u64;
            if total > self.limits.max_bytes_per_connection {
                drop(sent);
                self.close(conn);
                return Err(RelayError::ByteLimit {
                    conn,
                    limit: self.limits.max_bytes_per_connection,
                });
            }
            *sent = total;
        }
        c.stream
            .lock()
            .write_all(bytes)
            .map_err(|e| RelayError::Io {
                conn,
                reason: e.to_string(),
            })
    }

    /// Receives up to `max` bytes (capped by the limits); empty when the peer closed.
    pub fn recv(&self, conn: u32, max: u32) -> Result<Vec<u8>, RelayError> {
        let c = self.get(conn)?;
        let already = *c.received.lock();
        let left = self.limits.max_bytes_per_connection.saturating_sub(already);
        if left == 0 {
            self.close(conn);
            return Err(RelayError::ByteLimit {
                conn,
                limit: self.limits.max_bytes_per_connection,
            });
        }
        let want = u64::from(max.min(self.limits.max_read)).min(left) as usize;
        let mut buf = vec![0u8; want];
        let n = c.stream.lock().read(&mut buf).map_err(|e| RelayError::Io {
            conn,
            reason: e.to_string(),
        })?;
        buf.truncate(n);
        *c.received.lock() += n as u64;
        Ok(buf)
    }

    /// Closes `conn` (closing an unknown connection is a no-op).
    pub fn close(&self, conn: u32) {
        if let Some(c) = self.table.lock().1.remove(&conn) {
            let _ = c.stream.lock().shutdown(std::net::Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn echo_server() -> (u16, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let handle = std::thread::spawn(move || {
            // Serves connections until the listener is dropped with the test.
            for stream in listener.incoming().take(4) {
                let Ok(mut s) = stream else { return };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (port, handle)
    }

    fn small() -> RelayLimits {
        RelayLimits {
            max_connections: 2,
            max_read: 4,
            max_bytes_per_connection: 10,
            ..RelayLimits::default()
        }
    }

    #[test]
    fn relays_bytes_within_read_and_connection_limits() {
        let (port, _server) = echo_server();
        let relay = Relay::new(small());
        let c = relay.connect("127.0.0.1", port).expect("connect");
        relay.send(c, b"hello").expect("send");
        // Reads are capped at max_read.
        let mut got = relay.recv(c, 1000).expect("recv");
        assert!(!got.is_empty() && got.len() <= 4);
        while got.len() < 5 {
            got.extend(relay.recv(c, 1000).expect("recv"));
        }
        assert_eq!(got, b"hello");
        // 5 + 6 > 10: the send is refused and the connection closed.
        assert_eq!(
            relay.send(c, b"world!"),
            Err(RelayError::ByteLimit { conn: c, limit: 10 })
        );
        assert_eq!(relay.open_connections(), 0);
        assert_eq!(relay.recv(c, 1), Err(RelayError::UnknownConnection(c)));
    }

    #[test]
    fn the_connection_table_is_bounded_and_hosts_are_checked() {
        let (port, _server) = echo_server();
        let relay = Relay::new(small());
        let a = relay.connect("127.0.0.1", port).expect("first");
        let _b = relay.connect("127.0.0.1", port).expect("second");
        let third = relay.connect("127.0.0.1", port);
        assert_eq!(third, Err(RelayError::TooManyConnections(2)));
        assert_eq!(third.map_err(|e| e.code()), Err("BUSY"));
        relay.close(a);
        assert!(relay.connect("127.0.0.1", port).is_ok(), "a slot was freed");
        assert_eq!(relay.connect("evil host\n", 443), Err(RelayError::BadHost));
        assert_eq!(
            relay.connect(&"a".repeat(300), 443),
            Err(RelayError::BadHost)
        );
    }

    #[test]
    fn a_refused_connection_reports_the_endpoint() {
        // Bind then drop: the port is (almost certainly) closed.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let relay = Relay::new(RelayLimits::default());
        match relay.connect("127.0.0.1", port) {
            Err(e @ RelayError::Connect { .. }) => assert_eq!(e.code(), "HTTPS_FAILURE"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(relay.open_connections(), 0);
    }
}

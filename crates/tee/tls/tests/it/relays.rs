//! Hostile relays wrapping an honest one.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use arcanum_enclave_tls::test_server::TcpRelay;
use arcanum_enclave_tls::{ByteRelay, TlsError};

/// Flips one bit of the server → client stream once the client has sent its second flight
/// (in TLS 1.3: its Finished and the request), i.e. after the handshake.
pub struct FlipRelay {
    inner: TcpRelay,
    sends: AtomicUsize,
    flipped: AtomicBool,
}

impl FlipRelay {
    pub fn new(inner: TcpRelay) -> FlipRelay {
        FlipRelay {
            inner,
            sends: AtomicUsize::new(0),
            flipped: AtomicBool::new(false),
        }
    }

    pub fn flipped(&self) -> bool {
        self.flipped.load(Ordering::SeqCst)
    }
}

impl ByteRelay for FlipRelay {
    fn connect(&self, host: &str, port: u16) -> Result<u32, TlsError> {
        self.inner.connect(host, port)
    }

    fn send(&self, conn: u32, bytes: &[u8]) -> Result<(), TlsError> {
        self.sends.fetch_add(1, Ordering::SeqCst);
        self.inner.send(conn, bytes)
    }

    fn recv(&self, conn: u32, max: usize) -> Result<Vec<u8>, TlsError> {
        let mut bytes = self.inner.recv(conn, max)?;
        if self.sends.load(Ordering::SeqCst) >= 2 && !bytes.is_empty() && !self.flipped() {
            let last = bytes.len() - 1;
            bytes[last] ^= 0x01;
            self.flipped.store(true, Ordering::SeqCst);
        }
        Ok(bytes)
    }

    fn close(&self, conn: u32) {
        self.inner.close(conn)
    }
}

/// Hands the client one byte per read.
pub struct DribbleRelay(pub TcpRelay);

impl ByteRelay for DribbleRelay {
    fn connect(&self, host: &str, port: u16) -> Result<u32, TlsError> {
        self.0.connect(host, port)
    }

    fn send(&self, conn: u32, bytes: &[u8]) -> Result<(), TlsError> {
        self.0.send(conn, bytes)
    }

    fn recv(&self, conn: u32, _max: usize) -> Result<Vec<u8>, TlsError> {
        self.0.recv(conn, 1)
    }

    fn close(&self, conn: u32) {
        self.0.close(conn)
    }
}

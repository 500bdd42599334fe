//! A host↔enclave channel: one ring per direction, plus the fds to hand the enclave side to
//! another process.

use crate::error::RingError;
use crate::ring::{Reader, RingFds, RingOptions, Writer, channel};
use rustix::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use rustix::io::FdFlags;
use std::marker::PhantomData;
use std::time::Duration;

/// Marker of the host end (writes host→enclave, reads enclave→host).
#[derive(Debug)]
pub struct HostRole;
/// Marker of the enclave end (writes enclave→host, reads host→enclave).
#[derive(Debug)]
pub struct EnclaveRole;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::HostRole {}
    impl Sealed for super::EnclaveRole {}
}

/// Which side an [`End`] is.
pub trait Role: sealed::Sealed {
    /// True for the host end.
    const IS_HOST: bool;
}
impl Role for HostRole {
    const IS_HOST: bool = true;
}
impl Role for EnclaveRole {
    const IS_HOST: bool = false;
}

/// One end of a duplex channel: a [`Writer`] for its outgoing ring and the [`Reader`] of
/// the incoming one.
#[derive(Debug)]
pub struct End<R: Role> {
    tx: Writer,
    rx: Reader,
    _role: PhantomData<R>,
}

/// The host end: sends host→enclave, receives enclave→host.
pub type HostEnd = End<HostRole>;
/// The enclave end: sends enclave→host, receives host→enclave.
pub type EnclaveEnd = End<EnclaveRole>;

/// Creates both rings of a host↔enclave channel.
#[derive(Debug)]
pub struct Duplex;

impl Duplex {
    /// Both rings with a data area of `capacity` bytes each and default options.
    pub fn create(capacity: u64) -> Result<(HostEnd, EnclaveEnd), RingError> {
        Self::create_with(capacity, &RingOptions::default())
    }

    /// Both rings with a data area of `capacity` bytes each.
    pub fn create_with(
        capacity: u64,
        options: &RingOptions,
    ) -> Result<(HostEnd, EnclaveEnd), RingError> {
        let (h2e_tx, h2e_rx) = channel(capacity, options)?;
        let (e2h_tx, e2h_rx) = channel(capacity, options)?;
        Ok((
            End {
                tx: h2e_tx,
                rx: e2h_rx,
                _role: PhantomData,
            },
            End {
                tx: e2h_tx,
                rx: h2e_rx,
                _role: PhantomData,
            },
        ))
    }
}

impl<R: Role> End<R> {
    /// Sends a frame to the peer, blocking while the outgoing ring is full.
    pub fn send(&self, payload: &[u8], timeout: Option<Duration>) -> Result<(), RingError> {
        self.tx.send(payload, timeout)
    }

    /// Sends a frame if it fits now.
    pub fn try_send(&self, payload: &[u8]) -> Result<(), RingError> {
        self.tx.try_send(payload)
    }

    /// Receives a frame from the peer, blocking while the incoming ring is empty.
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Vec<u8>, RingError> {
        self.rx.recv(timeout)
    }

    /// Receives a frame if one is there.
    pub fn try_recv(&mut self) -> Result<Vec<u8>, RingError> {
        self.rx.try_recv()
    }

    /// The outgoing writer; clone it to send from several threads.
    pub fn writer(&self) -> &Writer {
        &self.tx
    }

    /// The incoming reader.
    pub fn reader(&mut self) -> &mut Reader {
        &mut self.rx
    }

    /// Splits into the outgoing writer and the incoming reader.
    pub fn split(self) -> (Writer, Reader) {
        (self.tx, self.rx)
    }

    /// Hands this end's six fds on (typically to pass them across `exec`), without closing
    /// the rings. Fails if clones of the writer are alive.
    pub fn into_fds(self) -> Result<DuplexFds, RingError> {
        let tx = self.tx.into_fds()?;
        let rx = self.rx.into_fds()?;
        Ok(if R::IS_HOST {
            DuplexFds {
                host_to_enclave: tx,
                enclave_to_host: rx,
            }
        } else {
            DuplexFds {
                host_to_enclave: rx,
                enclave_to_host: tx,
            }
        })
    }

    /// Rebuilds an end from fds received from the creator: maps and validates both regions
    /// (magic, version, capacity against the sealed size) and checks their initial offsets.
    pub fn from_fds(fds: DuplexFds, options: &RingOptions) -> Result<Self, RingError> {
        let (tx, rx) = if R::IS_HOST {
            (fds.host_to_enclave, fds.enclave_to_host)
        } else {
            (fds.enclave_to_host, fds.host_to_enclave)
        };
        Ok(End {
            tx: Writer::from_fds(tx, options)?,
            rx: Reader::from_fds(rx, options)?,
            _role: PhantomData,
        })
    }
}

/// The six fds of a duplex channel, in a fixed order:
/// `host_to_enclave.{mem, data_event, space_event}`, then `enclave_to_host.{…}`.
#[derive(Debug)]
pub struct DuplexFds {
    /// The host→enclave ring.
    pub host_to_enclave: RingFds,
    /// The enclave→host ring.
    pub enclave_to_host: RingFds,
}

impl DuplexFds {
    fn all(&self) -> [BorrowedFd<'_>; 6] {
        let (a, b) = (&self.host_to_enclave, &self.enclave_to_host);
        [
            a.mem.as_fd(),
            a.data_event.as_fd(),
            a.space_event.as_fd(),
            b.mem.as_fd(),
            b.data_event.as_fd(),
            b.space_event.as_fd(),
        ]
    }

    /// Clears close-on-exec on all six fds so a child started with `exec` inherits them
    /// (they are created close-on-exec). Call it right before spawning the child.
    pub fn set_inheritable(&self) -> Result<(), RingError> {
        for fd in self.all() {
            rustix::io::fcntl_setfd(fd, FdFlags::empty())
                .map_err(|e| RingError::os("fcntl(F_SETFD)", e))?;
        }
        Ok(())
    }

    /// The fd numbers as `"a,b,c,d,e,f"`, for an environment variable or argument.
    pub fn encode(&self) -> String {
        use rustix::fd::AsRawFd;
        let nums: Vec<String> = self
            .all()
            .iter()
            .map(|fd| fd.as_raw_fd().to_string())
            .collect();
        nums.join(",")
    }

    /// Takes ownership of six inherited fds named by [`Self::encode`]. Checks that there are
    /// six distinct, non-negative, open fds.
    ///
    /// # Safety
    /// The caller must own the named fds (inherited across `exec`, say) and must not use or
    /// close them elsewhere: they are closed when the returned value is dropped.
    pub unsafe fn from_encoded(encoded: &str) -> Result<Self, RingError> {
        const BAD: RingError = RingError::InvalidConfig("expected six distinct open fds");
        let mut nums = Vec::with_capacity(6);
        for part in encoded.split(',') {
            let n: RawFd = part.trim().parse().map_err(|_| BAD)?;
            if n < 0 || nums.contains(&n) {
                return Err(BAD);
            }
            nums.push(n);
        }
        let [a, b, c, d, e, f] = <[RawFd; 6]>::try_from(nums).map_err(|_| BAD)?;
        for n in [a, b, c, d, e, f] {
            // SAFETY: only used for this fcntl; the caller vouches that `n` is ours.
            let fd = unsafe { BorrowedFd::borrow_raw(n) };
            rustix::io::fcntl_getfd(fd).map_err(|_| BAD)?;
        }
        // SAFETY: the caller transfers ownership of these distinct, open fds to us.
        let own = |n: RawFd| unsafe { OwnedFd::from_raw_fd(n) };
        Ok(DuplexFds {
            host_to_enclave: RingFds {
                mem: own(a),
                data_event: own(b),
                space_event: own(c),
            },
            enclave_to_host: RingFds {
                mem: own(d),
                data_event: own(e),
                space_event: own(f),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_in_process() {
        let (mut host, mut enclave) = Duplex::create(4096).expect("duplex");
        host.send(b"request", None).expect("send");
        assert_eq!(enclave.recv(None).expect("recv"), b"request");
        enclave.send(b"response", None).expect("send");
        assert_eq!(host.recv(None).expect("recv"), b"response");
    }

    #[test]
    fn fds_survive_into_and_from() {
        let (mut host, enclave) = Duplex::create(4096).expect("duplex");
        host.send(b"before handover", None).expect("send");
        let fds = enclave.into_fds().expect("into_fds");
        let encoded = fds.encode();
        assert_eq!(encoded.split(',').count(), 6);
        let mut enclave = EnclaveEnd::from_fds(fds, &RingOptions::default()).expect("from_fds");
        // Handing over did not close the rings.
        assert_eq!(enclave.recv(None).expect("recv"), b"before handover");
        enclave.send(b"after", None).expect("send");
        assert_eq!(host.recv(None).expect("recv"), b"after");
    }

    #[test]
    fn bad_fd_lists_are_refused() {
        for bad in [
            "",
            "1,2,3",
            "1,1,2,3,4,5",
            "-1,2,3,4,5,6",
            "a,b,c,d,e,f",
            "1,2,3,4,5,6,7",
        ] {
            // SAFETY: every input is refused before any fd is taken over.
            let r = unsafe { DuplexFds::from_encoded(bad) };
            assert!(matches!(r, Err(RingError::InvalidConfig(_))), "{bad}");
        }
    }
}

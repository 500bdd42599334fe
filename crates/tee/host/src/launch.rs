//! Launching an enclave process: the duplex ring (host→enclave, enclave→host, with their
//! eventfds), handed to a confined child (`arcanum-enclave`, `arcanum-cluster-enclave`) by fd
//! number.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use arcanum_enclave_protocol::ring_options;
use arcanum_ring::{Duplex, Reader, RingError, Writer};
use parking_lot::Mutex;

use crate::client::{OcallHandler, OcallPool, Protocol};
use crate::{ChannelError, ClusterProtocol, Confinement, EnclaveClient, FrameChannel};

/// Bytes of each ring's data area (frames up to [`arcanum_enclave_protocol::MAX_FRAME`] fit).
pub const RING_CAPACITY: u64 = 8 * 1024 * 1024;
/// How long a request may wait for its answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("ring setup: {0}")]
    Ring(#[from] RingError),
    #[error("confinement: {0}")]
    Confine(#[from] crate::ConfineError),
    #[error("spawning the enclave: {0}")]
    Spawn(#[from] std::io::Error),
}

/// The host's ends of the two rings.
struct RingChannel {
    to_enclave: Writer,
    from_enclave: Mutex<Reader>,
}

fn channel_error(e: RingError) -> ChannelError {
    match e {
        RingError::Closed => ChannelError::Closed,
        RingError::Timeout => ChannelError::Timeout,
        other => ChannelError::Corrupt(other.to_string()),
    }
}

impl FrameChannel for RingChannel {
    fn send(&self, frame: &[u8]) -> Result<(), ChannelError> {
        self.to_enclave
            .send(frame, Some(CALL_TIMEOUT))
            .map_err(channel_error)
    }

    fn recv(&self) -> Result<Vec<u8>, ChannelError> {
        self.from_enclave.lock().recv(None).map_err(channel_error)
    }
}

/// A running enclave process; dropping it kills the process.
#[derive(Debug)]
pub struct EnclaveProcess {
    child: Child,
}

impl EnclaveProcess {
    /// Starts the endorsement enclave `binary` confined, connected by the rings; returns the
    /// process and its client.
    pub fn launch(binary: &Path) -> Result<(EnclaveProcess, EnclaveClient), LaunchError> {
        let (process, channel) = Self::spawn(binary)?;
        Ok((process, EnclaveClient::new(channel, CALL_TIMEOUT)))
    }

    /// Starts the cluster enclave `binary` with the same confinement; its ocalls are served by
    /// `ocalls` on a pool of `pool.threads` threads.
    pub fn launch_cluster(
        binary: &Path,
        ocalls: Arc<dyn OcallHandler<ClusterProtocol>>,
        pool: OcallPool,
    ) -> Result<(EnclaveProcess, EnclaveClient<ClusterProtocol>), LaunchError> {
        Self::launch_protocol(binary, Some(ocalls), pool)
    }

    /// Starts an enclave `binary` speaking protocol `P`, confined, with an optional ocall
    /// handler.
    pub fn launch_protocol<P: Protocol>(
        binary: &Path,
        ocalls: Option<Arc<dyn OcallHandler<P>>>,
        pool: OcallPool,
    ) -> Result<(EnclaveProcess, EnclaveClient<P>), LaunchError> {
        let (process, channel) = Self::spawn(binary)?;
        let client = match ocalls {
            Some(handler) => EnclaveClient::with_ocalls(channel, CALL_TIMEOUT, handler, pool),
            None => EnclaveClient::new(channel, CALL_TIMEOUT),
        };
        Ok((process, client))
    }

    fn spawn(binary: &Path) -> Result<(EnclaveProcess, Arc<dyn FrameChannel>), LaunchError> {
        let (host, enclave) = Duplex::create_with(RING_CAPACITY, &ring_options())?;
        let fds = enclave.into_fds()?;
        let mut confinement = Confinement::prepare(binary)?;
        let mut command = Command::new(binary);
        command
            .arg("--ring-fds")
            .arg(fds.encode())
            .stdin(Stdio::null());
        // SAFETY: the closure runs in the child between fork and exec; it only makes the
        // pre-built prctl/landlock/seccomp syscalls — no allocation, no locks.
        unsafe {
            command.pre_exec(move || confinement.apply());
        }
        fds.set_inheritable()?;
        let child = command.spawn();
        // Our copies of the child's ends are closed here, whatever happened.
        drop(fds);
        let child = child?;
        let (to_enclave, from_enclave) = host.split();
        let channel: Arc<dyn FrameChannel> = Arc::new(RingChannel {
            to_enclave,
            from_enclave: Mutex::new(from_enclave),
        });
        Ok((EnclaveProcess { child }, channel))
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EnclaveProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// File name of the endorsement enclave binary.
pub const ENDORSEMENT_ENCLAVE_BINARY: &str = "arcanum-enclave";
/// File name of the cluster enclave binary.
pub const CLUSTER_ENCLAVE_BINARY: &str = "arcanum-cluster-enclave";

/// The enclave binary `name` beside the running binary (test binaries live one level below the
/// build directory, in `deps/`, so that directory's parent is tried too).
pub fn beside_running_binary(name: &str) -> std::io::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the running binary has no directory",
        )
    })?;
    [dir.join(name), dir.join("..").join(name)]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{name} not found beside {}", exe.display()),
            )
        })
}

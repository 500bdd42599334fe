//! The host's request client: correlates responses with requests by envelope id, so several
//! host threads can have requests in flight at once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use arcanum_enclave_protocol::{EnclaveResponse, HostRequest, decode_frame, encode_frame};
use parking_lot::Mutex;

/// Frames to and from the enclave (the ring buffers, or an in-process pair in tests).
pub trait FrameChannel: Send + Sync + 'static {
    fn send(&self, frame: &[u8]) -> Result<(), ChannelError>;
    /// Blocks for the next frame; `Closed` when the enclave is gone.
    fn recv(&self) -> Result<Vec<u8>, ChannelError>;
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ChannelError {
    #[error("the enclave channel is closed")]
    Closed,
    #[error("the enclave did not answer in time")]
    Timeout,
    #[error("the enclave channel is corrupt: {0}")]
    Corrupt(String),
}

type Waiters = Arc<Mutex<BTreeMap<u64, mpsc::Sender<EnclaveResponse>>>>;

/// A connection to one enclave.
pub struct EnclaveClient {
    channel: Arc<dyn FrameChannel>,
    next_id: AtomicU64,
    waiters: Waiters,
    timeout: Duration,
}

impl std::fmt::Debug for EnclaveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnclaveClient").finish_non_exhaustive()
    }
}

impl EnclaveClient {
    /// Starts the response dispatcher thread over `channel`.
    pub fn new(channel: Arc<dyn FrameChannel>, timeout: Duration) -> EnclaveClient {
        let waiters: Waiters = Arc::new(Mutex::new(BTreeMap::new()));
        let (ch, w) = (channel.clone(), waiters.clone());
        std::thread::Builder::new()
            .name("enclave-responses".into())
            .spawn(move || dispatch(ch.as_ref(), &w))
            .map(|_| ())
            .unwrap_or_else(
                |e| tracing::error!(error = %e, "cannot start the enclave response thread"),
            );
        EnclaveClient {
            channel,
            next_id: AtomicU64::new(1),
            waiters,
            timeout,
        }
    }

    /// Sends one request and waits for its response.
    pub fn call(&self, request: &HostRequest) -> Result<EnclaveResponse, ChannelError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        self.waiters.lock().insert(id, tx);
        if let Err(e) = self.channel.send(&encode_frame(id, request)) {
            self.waiters.lock().remove(&id);
            return Err(e);
        }
        let answer = rx.recv_timeout(self.timeout).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => ChannelError::Timeout,
            mpsc::RecvTimeoutError::Disconnected => ChannelError::Closed,
        });
        self.waiters.lock().remove(&id);
        answer
    }
}

/// Routes each response to its waiter until the channel closes; then every waiter sees `Closed`.
fn dispatch(channel: &dyn FrameChannel, waiters: &Waiters) {
    loop {
        match channel.recv() {
            Ok(frame) => match decode_frame::<EnclaveResponse>(&frame) {
                Ok(env) => {
                    if let Some(w) = waiters.lock().remove(&env.id) {
                        // A waiter that timed out is gone; dropping the answer is fine.
                        let _ = w.send(env.body);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "undecodable frame from the enclave"),
            },
            Err(e) => {
                tracing::warn!(error = %e, "enclave channel ended");
                waiters.lock().clear();
                return;
            }
        }
    }
}

/// The endorsement device reaches its enclave process through this client.
impl arcanum_endorser::EnclaveLink for EnclaveClient {
    fn request(&self, request: &HostRequest) -> Result<EnclaveResponse, arcanum_types::ApiError> {
        self.call(request).map_err(|e| {
            arcanum_types::ApiError::new(
                arcanum_types::ErrorCode::EndorserUnavailable,
                format!("enclave: {e}"),
            )
        })
    }
}

//! The host's request client: correlates responses with requests by envelope id, so several
//! host threads can have requests in flight at once, and serves the enclave's *ocalls* (calls
//! from the enclave to the host made while it serves a request) on a small thread pool.
//!
//! The client is generic over a [`Protocol`]: the endorsement enclave's
//! ([`EndorsementProtocol`], no ocalls) or the cluster enclave's ([`ClusterProtocol`]).

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use arcanum_enclave_protocol::cluster::{
    ClusterRequest, ClusterResponse, OCALL_ID_BIT, Ocall, OcallReturn,
};
use arcanum_enclave_protocol::{EnclaveResponse, HostRequest, decode_frame, encode_frame};
use borsh::{BorshDeserialize, BorshSerialize};
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

/// One host↔enclave message protocol: its request and response enums, and how ocalls travel in
/// them (an enclave→host message under an id with [`OCALL_ID_BIT`], answered by a host→enclave
/// message under the same id).
pub trait Protocol: Send + Sync + 'static {
    /// Host → enclave.
    type Request: BorshSerialize + Send + Sync + 'static;
    /// Enclave → host.
    type Response: BorshDeserialize + Send + 'static;
    /// An enclave → host call.
    type Ocall: Send + 'static;
    /// The host's answer to an ocall.
    type OcallReturn: Send + 'static;

    /// The ocall carried by `response` (sent under an ocall id), or `response` back if it is
    /// not one.
    fn into_ocall(response: Self::Response) -> Result<Self::Ocall, Self::Response>;
    /// The request that carries an ocall's answer back.
    fn ocall_return(answer: Self::OcallReturn) -> Self::Request;
    /// The answer given when the host cannot serve `ocall` (no handler, pool saturated).
    fn ocall_refused(ocall: &Self::Ocall, code: &str, message: &str) -> Self::OcallReturn;
}

/// The endorsement enclave's protocol ([`HostRequest`] / [`EnclaveResponse`]); it has no ocalls.
#[derive(Debug)]
pub enum EndorsementProtocol {}

impl Protocol for EndorsementProtocol {
    type Request = HostRequest;
    type Response = EnclaveResponse;
    type Ocall = std::convert::Infallible;
    type OcallReturn = std::convert::Infallible;

    fn into_ocall(response: EnclaveResponse) -> Result<Self::Ocall, EnclaveResponse> {
        Err(response)
    }

    fn ocall_return(answer: Self::OcallReturn) -> HostRequest {
        match answer {}
    }

    fn ocall_refused(ocall: &Self::Ocall, _code: &str, _message: &str) -> Self::OcallReturn {
        match *ocall {}
    }
}

/// The cluster enclave's protocol ([`ClusterRequest`] / [`ClusterResponse`]) with its ocalls.
#[derive(Debug)]
pub enum ClusterProtocol {}

impl Protocol for ClusterProtocol {
    type Request = ClusterRequest;
    type Response = ClusterResponse;
    type Ocall = Ocall;
    type OcallReturn = OcallReturn;

    fn into_ocall(response: ClusterResponse) -> Result<Ocall, ClusterResponse> {
        match response {
            ClusterResponse::Ocall(o) => Ok(o),
            other => Err(other),
        }
    }

    fn ocall_return(answer: OcallReturn) -> ClusterRequest {
        ClusterRequest::OcallReturn(answer)
    }

    fn ocall_refused(_ocall: &Ocall, code: &str, message: &str) -> OcallReturn {
        OcallReturn::Error {
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// Serves the enclave's ocalls. Runs on the client's ocall pool, never on the dispatcher
/// thread, so a slow ocall (a TCP read) does not hold up responses to other requests.
pub trait OcallHandler<P: Protocol>: Send + Sync + 'static {
    fn handle(&self, ocall: P::Ocall) -> P::OcallReturn;
}

impl<P: Protocol, F> OcallHandler<P> for F
where
    F: Fn(P::Ocall) -> P::OcallReturn + Send + Sync + 'static,
{
    fn handle(&self, ocall: P::Ocall) -> P::OcallReturn {
        self(ocall)
    }
}

/// Threads serving ocalls, and how many ocalls may wait for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OcallPool {
    pub threads: usize,
    pub queue: usize,
}

impl Default for OcallPool {
    fn default() -> Self {
        OcallPool {
            threads: 8,
            queue: 256,
        }
    }
}

type Waiters<R> = Arc<Mutex<BTreeMap<u64, mpsc::Sender<R>>>>;

/// A connection to one enclave speaking protocol `P`.
pub struct EnclaveClient<P: Protocol = EndorsementProtocol> {
    channel: Arc<dyn FrameChannel>,
    next_id: AtomicU64,
    waiters: Waiters<P::Response>,
    timeout: Duration,
    _protocol: PhantomData<fn() -> P>,
}

impl<P: Protocol> std::fmt::Debug for EnclaveClient<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnclaveClient").finish_non_exhaustive()
    }
}

impl<P: Protocol> EnclaveClient<P> {
    /// Starts the response dispatcher thread over `channel`; ocalls are refused.
    pub fn new(channel: Arc<dyn FrameChannel>, timeout: Duration) -> EnclaveClient<P> {
        Self::start(channel, timeout, None, OcallPool::default())
    }

    /// Starts the dispatcher and an ocall pool that serves ocalls with `handler`.
    pub fn with_ocalls(
        channel: Arc<dyn FrameChannel>,
        timeout: Duration,
        handler: Arc<dyn OcallHandler<P>>,
        pool: OcallPool,
    ) -> EnclaveClient<P> {
        Self::start(channel, timeout, Some(handler), pool)
    }

    fn start(
        channel: Arc<dyn FrameChannel>,
        timeout: Duration,
        handler: Option<Arc<dyn OcallHandler<P>>>,
        pool: OcallPool,
    ) -> EnclaveClient<P> {
        let waiters: Waiters<P::Response> = Arc::new(Mutex::new(BTreeMap::new()));
        let ocalls = handler.map(|h| start_pool::<P>(channel.clone(), h, pool));
        let (ch, w) = (channel.clone(), waiters.clone());
        std::thread::Builder::new()
            .name("enclave-responses".into())
            .spawn(move || dispatch::<P>(ch.as_ref(), &w, ocalls))
            .map(|_| ())
            .unwrap_or_else(
                |e| tracing::error!(error = %e, "cannot start the enclave response thread"),
            );
        EnclaveClient {
            channel,
            next_id: AtomicU64::new(1),
            waiters,
            timeout,
            _protocol: PhantomData,
        }
    }

    /// Sends one request and waits for its response.
    pub fn call(&self, request: &P::Request) -> Result<P::Response, ChannelError> {
        // Host ids never carry the ocall bit.
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) & !OCALL_ID_BIT;
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

/// An ocall waiting for a pool thread.
struct OcallJob<P: Protocol> {
    id: u64,
    ocall: P::Ocall,
}

/// Starts the pool; returns the bounded queue feeding it. The threads end when it is dropped.
fn start_pool<P: Protocol>(
    channel: Arc<dyn FrameChannel>,
    handler: Arc<dyn OcallHandler<P>>,
    pool: OcallPool,
) -> mpsc::SyncSender<OcallJob<P>> {
    let (jobs, queue) = mpsc::sync_channel::<OcallJob<P>>(pool.queue.max(1));
    let queue = Arc::new(Mutex::new(queue));
    for i in 0..pool.threads.max(1) {
        let (queue, handler, channel) = (queue.clone(), handler.clone(), channel.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("enclave-ocall-{i}"))
            .spawn(move || {
                loop {
                    let job = queue.lock().recv();
                    let Ok(OcallJob { id, ocall }) = job else {
                        return;
                    };
                    let answer = handler.handle(ocall);
                    let frame = encode_frame(id, &P::ocall_return(answer));
                    if let Err(e) = channel.send(&frame) {
                        tracing::warn!(error = %e, "cannot return an ocall answer to the enclave");
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start an ocall thread");
        }
    }
    jobs
}

/// Routes each response to its waiter and each ocall to the pool until the channel closes;
/// then every waiter sees `Closed`.
fn dispatch<P: Protocol>(
    channel: &dyn FrameChannel,
    waiters: &Waiters<P::Response>,
    ocalls: Option<mpsc::SyncSender<OcallJob<P>>>,
) {
    let refuse = |id: u64, ocall: &P::Ocall, code: &str, message: &str| {
        let frame = encode_frame(id, &P::ocall_return(P::ocall_refused(ocall, code, message)));
        if let Err(e) = channel.send(&frame) {
            tracing::warn!(error = %e, "cannot refuse an ocall");
        }
    };
    loop {
        match channel.recv() {
            Ok(frame) => match decode_frame::<P::Response>(&frame) {
                Ok(env) if env.id & OCALL_ID_BIT != 0 => match P::into_ocall(env.body) {
                    Ok(ocall) => match &ocalls {
                        Some(pool) => match pool.try_send(OcallJob { id: env.id, ocall }) {
                            Ok(()) => {}
                            Err(mpsc::TrySendError::Full(job)) => {
                                refuse(env.id, &job.ocall, "BUSY", "the host's ocall queue is full")
                            }
                            Err(mpsc::TrySendError::Disconnected(job)) => refuse(
                                env.id,
                                &job.ocall,
                                "INTERNAL",
                                "the host's ocall pool stopped",
                            ),
                        },
                        None => refuse(env.id, &ocall, "INTERNAL", "this host serves no ocalls"),
                    },
                    Err(_) => {
                        tracing::warn!(id = env.id, "enclave message under an ocall id is no ocall")
                    }
                },
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

#[cfg(test)]
mod tests {
    use super::*;
    use arcanum_enclave_protocol::Envelope;
    use arcanum_enclave_protocol::cluster::ClusterTrust;

    /// An in-process channel: the host's side, with the enclave's side as plain queues.
    struct Pair {
        to_enclave: Mutex<mpsc::Sender<Vec<u8>>>,
        from_enclave: Mutex<mpsc::Receiver<Vec<u8>>>,
    }

    impl FrameChannel for Pair {
        fn send(&self, frame: &[u8]) -> Result<(), ChannelError> {
            self.to_enclave
                .lock()
                .send(frame.to_vec())
                .map_err(|_| ChannelError::Closed)
        }
        fn recv(&self) -> Result<Vec<u8>, ChannelError> {
            self.from_enclave
                .lock()
                .recv()
                .map_err(|_| ChannelError::Closed)
        }
    }

    fn pair() -> (Arc<Pair>, mpsc::Receiver<Vec<u8>>, mpsc::Sender<Vec<u8>>) {
        let (to_e, e_in) = mpsc::channel();
        let (e_out, from_e) = mpsc::channel();
        (
            Arc::new(Pair {
                to_enclave: Mutex::new(to_e),
                from_enclave: Mutex::new(from_e),
            }),
            e_in,
            e_out,
        )
    }

    /// A fake cluster enclave: answers each `Evidence` request by first making a `LoadState`
    /// ocall and returning the loaded bytes as the evidence.
    fn fake_enclave(inbox: mpsc::Receiver<Vec<u8>>, outbox: mpsc::Sender<Vec<u8>>) {
        std::thread::spawn(move || {
            let mut next_ocall = OCALL_ID_BIT | 1;
            let mut pending: BTreeMap<u64, u64> = BTreeMap::new();
            while let Ok(frame) = inbox.recv() {
                let Ok(env) = decode_frame::<ClusterRequest>(&frame) else {
                    return;
                };
                match env.body {
                    ClusterRequest::Evidence => {
                        pending.insert(next_ocall, env.id);
                        let ocall = ClusterResponse::Ocall(Ocall::LoadState {
                            contract_id: arcanum_crypto::sha256(b"c"),
                            key: env.id.to_le_bytes().to_vec(),
                        });
                        let _ = outbox.send(encode_frame(next_ocall, &ocall));
                        next_ocall += 1;
                    }
                    ClusterRequest::OcallReturn(ret) => {
                        let Some(host_id) = pending.remove(&env.id) else {
                            continue;
                        };
                        let evidence = match ret {
                            OcallReturn::State(Some(b)) => b,
                            OcallReturn::Error { code, .. } => code.into_bytes(),
                            _ => Vec::new(),
                        };
                        let answer = ClusterResponse::Evidence {
                            evidence,
                            bound_keys: vec![],
                        };
                        let _ = outbox.send(encode_frame(host_id, &answer));
                    }
                    _ => {
                        let _ = outbox.send(encode_frame(env.id, &ClusterResponse::Ok));
                    }
                }
            }
        });
    }

    #[test]
    fn ocalls_are_served_off_the_dispatcher_and_answered_under_their_id() {
        let (channel, inbox, outbox) = pair();
        fake_enclave(inbox, outbox);
        let dispatcher = std::thread::current().id();
        let handler = move |o: Ocall| {
            assert_ne!(std::thread::current().id(), dispatcher);
            match o {
                Ocall::LoadState { key, .. } => OcallReturn::State(Some(key)),
                _ => OcallReturn::Closed,
            }
        };
        let client = Arc::new(EnclaveClient::<ClusterProtocol>::with_ocalls(
            channel,
            Duration::from_secs(10),
            Arc::new(handler),
            OcallPool::default(),
        ));
        // Concurrent requests each get the answer built from their own ocall.
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = client.clone();
                std::thread::spawn(move || {
                    (0..20).all(|_| match c.call(&ClusterRequest::Evidence) {
                        Ok(ClusterResponse::Evidence { evidence, .. }) => evidence.len() == 8,
                        _ => false,
                    })
                })
            })
            .collect();
        for t in threads {
            assert!(t.join().expect("thread"));
        }
        assert_eq!(
            client.call(&ClusterRequest::Genesis).expect("answer"),
            ClusterResponse::Ok
        );
    }

    #[test]
    fn without_a_handler_ocalls_are_refused_not_left_hanging() {
        let (channel, inbox, outbox) = pair();
        fake_enclave(inbox, outbox);
        let client = EnclaveClient::<ClusterProtocol>::new(channel, Duration::from_secs(10));
        match client.call(&ClusterRequest::Evidence).expect("answer") {
            ClusterResponse::Evidence { evidence, .. } => assert_eq!(evidence, b"INTERNAL"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn host_ids_never_carry_the_ocall_bit() {
        let (channel, inbox, outbox) = pair();
        let client = EnclaveClient::<ClusterProtocol>::new(channel, Duration::from_secs(10));
        client.next_id.store(OCALL_ID_BIT | 5, Ordering::Relaxed);
        std::thread::spawn(move || {
            if let Ok(frame) = inbox.recv()
                && let Ok(env) = decode_frame::<ClusterRequest>(&frame)
            {
                // Answer under the id the host used, which must not carry the ocall bit.
                let seen = Envelope {
                    id: env.id,
                    body: if env.id & OCALL_ID_BIT == 0 {
                        ClusterResponse::Ok
                    } else {
                        ClusterResponse::Error {
                            code: "BAD_ID".into(),
                            message: String::new(),
                        }
                    },
                };
                let _ = outbox.send(borsh::to_vec(&seen).unwrap_or_default());
            }
        });
        let init = ClusterRequest::Init {
            platform_secret: None,
            sealed: None,
            trust: ClusterTrust {
                issuers: vec![],
                policy_toml: String::new(),
                tls_roots: vec![],
            },
        };
        assert_eq!(client.call(&init), Ok(ClusterResponse::Ok));
    }
}

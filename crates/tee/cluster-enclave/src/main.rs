//! `arcanum-cluster-enclave`: the cluster enclave process. It maps the two rings its host
//! passed by fd number and serves `ClusterRequest`s with `arcanum_cluster::ClusterService` on
//! [`WORKERS`] threads that share the outgoing ring under its writer lock (SPEC T1).
//!
//! Calls go both ways. While serving a request a worker may call its host (an ocall): it sends
//! `ClusterResponse::Ocall` under a fresh envelope id with `OCALL_ID_BIT` set and blocks until
//! the host's `ClusterRequest::OcallReturn` with that id arrives, or [`OCALL_TIMEOUT`] passes.
//! The single reader thread routes every frame whose id has the bit to the worker waiting on
//! it, and queues the others for the workers; it never blocks on a worker, so ocall returns
//! are delivered even when every worker waits. A full queue is answered `BUSY`; a frame that
//! does not decode is answered `MALFORMED_FRAME` (id 0) and serving goes on. The process exits
//! when its host dies (it is reparented) or after answering `Shutdown`.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use arcanum_cluster::{ClusterService, HostPort, Ocall, OcallReturn, PlatformSource};
use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse, OCALL_ID_BIT};
use arcanum_enclave_protocol::{Envelope, decode_frame, encode_frame, ring_options};
use arcanum_ring::{DuplexFds, EnclaveEnd, RingError, Writer};
use parking_lot::Mutex;

/// Worker threads serving requests.
const WORKERS: usize = 4;
/// Requests queued for the workers before new ones are answered `BUSY`.
const QUEUE_DEPTH: usize = 256;
/// How long a worker waits for the host's answer to an ocall.
const OCALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a send to the host may wait for ring space.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

fn ring_fds() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (Some("--ring-fds"), Some(list)) => Ok(list),
        _ => Err("usage: arcanum-cluster-enclave --ring-fds H2E_MEM,H2E_DATA,H2E_SPACE,E2H_MEM,E2H_DATA,E2H_SPACE".into()),
    }
}

/// Workers waiting for ocall returns, by envelope id.
type Pending = Mutex<HashMap<u64, mpsc::SyncSender<OcallReturn>>>;

/// A worker's way to its host: ocall frames out, the matching return in.
struct RingPort {
    responses: Writer,
    pending: Arc<Pending>,
    next_id: Arc<AtomicU64>,
}

impl HostPort for RingPort {
    fn ocall(&self, call: Ocall) -> Result<OcallReturn, String> {
        let id = OCALL_ID_BIT | (self.next_id.fetch_add(1, Ordering::Relaxed) & !OCALL_ID_BIT);
        let (tx, rx) = mpsc::sync_channel(1);
        self.pending.lock().insert(id, tx);
        let frame = encode_frame(id, &ClusterResponse::Ocall(call));
        let outcome = match self.responses.send(&frame, Some(SEND_TIMEOUT)) {
            Err(e) => Err(format!("sending the ocall: {e}")),
            Ok(()) => rx
                .recv_timeout(OCALL_TIMEOUT)
                .map_err(|_| format!("the host did not answer ocall {id:#x} in time")),
        };
        self.pending.lock().remove(&id);
        outcome
    }
}

fn error_frame(id: u64, code: &str, message: impl Into<String>) -> Vec<u8> {
    encode_frame(
        id,
        &ClusterResponse::Error {
            code: code.to_owned(),
            message: message.into(),
        },
    )
}

fn run() -> Result<(), String> {
    let e = |e: RingError| e.to_string();
    // SAFETY: the host passed these six fds to this process for its exclusive use; they are
    // taken over exactly once, here.
    let fds = unsafe { DuplexFds::from_encoded(&ring_fds()?) }.map_err(e)?;
    let (responses, mut requests) = EnclaveEnd::from_fds(fds, &ring_options())
        .map_err(e)?
        .split();

    // The simulation measures this binary; real platforms measure themselves.
    let binary = std::env::current_exe()
        .and_then(std::fs::read)
        .map_err(|e| format!("reading own binary: {e}"))?;
    let service = Arc::new(ClusterService::new(PlatformSource::Simulated { binary }));

    // The enclave lives only as long as its host: once reparented, it exits.
    let host = std::os::unix::process::parent_id();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(500));
            if std::os::unix::process::parent_id() != host {
                std::process::exit(0);
            }
        }
    });

    let pending: Arc<Pending> = Arc::new(Mutex::new(HashMap::new()));
    let next_id = Arc::new(AtomicU64::new(1));
    let (work, queue) = mpsc::sync_channel::<Envelope<ClusterRequest>>(QUEUE_DEPTH);
    let queue = Arc::new(Mutex::new(queue));
    for _ in 0..WORKERS {
        let port = RingPort {
            responses: responses.clone(),
            pending: pending.clone(),
            next_id: next_id.clone(),
        };
        let (service, queue) = (service.clone(), queue.clone());
        std::thread::spawn(move || {
            loop {
                let Ok(Envelope { id, body }) = queue.lock().recv() else {
                    return;
                };
                let shutdown = body == ClusterRequest::Shutdown;
                let answer = service.handle(body, &port);
                if port
                    .responses
                    .send(&encode_frame(id, &answer), Some(SEND_TIMEOUT))
                    .is_err()
                    || shutdown
                {
                    std::process::exit(0);
                }
            }
        });
    }

    loop {
        let frame = requests.recv(None).map_err(e)?;
        let env = match decode_frame::<ClusterRequest>(&frame) {
            Ok(env) => env,
            Err(why) => {
                responses
                    .send(&error_frame(0, "MALFORMED_FRAME", why), Some(SEND_TIMEOUT))
                    .map_err(e)?;
                continue;
            }
        };
        if env.id & OCALL_ID_BIT != 0 {
            match env.body {
                // Hand it to the worker waiting on that id. A return that answers no pending
                // ocall (late, duplicate or forged) is dropped.
                ClusterRequest::OcallReturn(ret) => {
                    if let Some(tx) = pending.lock().remove(&env.id) {
                        let _ = tx.try_send(ret);
                    }
                }
                _ => {
                    responses
                        .send(
                            &error_frame(
                                env.id,
                                "MALFORMED_FRAME",
                                "only OcallReturn may use an ocall id",
                            ),
                            Some(SEND_TIMEOUT),
                        )
                        .map_err(e)?;
                }
            }
            continue;
        }
        let id = env.id;
        match work.try_send(env) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => {
                responses
                    .send(
                        &error_frame(id, "BUSY", "the enclave's request queue is full"),
                        Some(SEND_TIMEOUT),
                    )
                    .map_err(e)?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return Err("workers stopped".into()),
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arcanum-cluster-enclave: {e}");
            ExitCode::from(1)
        }
    }
}

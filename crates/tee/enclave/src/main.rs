//! `arcanum-enclave`: the enclave process. It maps the two rings its host passed by fd number,
//! reads host requests on one thread, answers them on a small pool of worker threads that share
//! the outgoing ring under its writer lock (SPEC T1), and has no other way out.

use std::process::ExitCode;
use std::sync::{Arc, mpsc};

use arcanum_enclave::{EnclaveService, PlatformSource};
use arcanum_enclave_protocol::{
    EnclaveResponse, Envelope, HostRequest, decode_frame, encode_frame, ring_options,
};
use arcanum_ring::{DuplexFds, EnclaveEnd};
use parking_lot::Mutex;

/// Worker threads answering requests.
const WORKERS: usize = 2;

fn ring_fds() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (Some("--ring-fds"), Some(list)) => Ok(list),
        _ => Err("usage: arcanum-enclave --ring-fds H2E_MEM,H2E_DATA,H2E_SPACE,E2H_MEM,E2H_DATA,E2H_SPACE".into()),
    }
}

fn run() -> Result<(), String> {
    let e = |e: arcanum_ring::RingError| e.to_string();
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
    let service = Arc::new(EnclaveService::new(PlatformSource::Simulated { binary }));

    // The enclave lives only as long as its host: once reparented, it exits.
    let host = std::os::unix::process::parent_id();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(500));
            if std::os::unix::process::parent_id() != host {
                std::process::exit(0);
            }
        }
    });

    let (work, queue) = mpsc::channel::<Envelope<HostRequest>>();
    let queue = Arc::new(Mutex::new(queue));
    for _ in 0..WORKERS {
        let (service, queue, responses) = (service.clone(), queue.clone(), responses.clone());
        std::thread::spawn(move || {
            loop {
                let Ok(Envelope { id, body }) = queue.lock().recv() else {
                    return;
                };
                let shutdown = body == HostRequest::Shutdown;
                let answer = service.handle(body);
                if responses.send(&encode_frame(id, &answer), None).is_err() || shutdown {
                    std::process::exit(0);
                }
            }
        });
    }
    loop {
        let frame = requests.recv(None).map_err(e)?;
        match decode_frame::<HostRequest>(&frame) {
            Ok(env) => work.send(env).map_err(|_| "workers stopped".to_owned())?,
            Err(why) => {
                let answer = EnclaveResponse::Error {
                    code: "MALFORMED_FRAME".into(),
                    message: why,
                };
                responses.send(&encode_frame(0, &answer), None).map_err(e)?;
            }
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arcanum-enclave: {e}");
            ExitCode::from(1)
        }
    }
}

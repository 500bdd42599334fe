//! Host and enclave in two processes: the test binary re-executes itself as the enclave,
//! handing over the six fds of a duplex channel across `exec`.

use arcanum_ring::{Duplex, DuplexFds, EnclaveEnd, RingError, RingOptions};
use std::process::{Command, Stdio};

const ENV: &str = "ARCANUM_RING_TEST_ENCLAVE_FDS";
const TEST_NAME: &str = "cross_process::host_and_enclave_processes_exchange_messages";
const ROUNDS: usize = 200;

fn request(i: usize) -> Vec<u8> {
    // Sizes up to 3 KiB through a 4 KiB ring: wraps often, and the host blocks when full.
    (0..(i * 97) % 3000).map(|j| (i + j) as u8).collect()
}

fn response(req: &[u8]) -> Vec<u8> {
    let mut r: Vec<u8> = req.iter().rev().copied().collect();
    r.extend_from_slice(b"/ok");
    r
}

/// The enclave side: answer every request, then exit when the host closes.
fn enclave(encoded: &str) -> Result<usize, RingError> {
    // SAFETY: the parent passed these fds to this process for its exclusive use.
    let fds = unsafe { DuplexFds::from_encoded(encoded)? };
    let mut end = EnclaveEnd::from_fds(fds, &RingOptions::default())?;
    let mut served = 0;
    loop {
        match end.recv(crate::LONG) {
            Ok(req) => {
                end.send(&response(&req), crate::LONG)?;
                served += 1;
            }
            Err(RingError::Closed) => return Ok(served),
            Err(e) => return Err(e),
        }
    }
}

#[test]
fn host_and_enclave_processes_exchange_messages() {
    if let Ok(encoded) = std::env::var(ENV) {
        assert_eq!(enclave(&encoded), Ok(ROUNDS));
        return;
    }
    let (host, enclave_end) = Duplex::create(4096).expect("duplex");
    let fds = enclave_end.into_fds().expect("fds");
    fds.set_inheritable().expect("inheritable");
    let exe = std::env::current_exe().expect("current exe");
    let child = Command::new(exe)
        .args([TEST_NAME, "--exact", "--test-threads=1"])
        .env(ENV, fds.encode())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn enclave process");
    drop(fds);

    // One thread sends requests (blocking when the ring is full), this one reads replies.
    let (tx, mut rx) = host.split();
    let sender = std::thread::spawn(move || {
        for i in 0..ROUNDS {
            tx.send(&request(i), crate::LONG)?;
        }
        tx.close();
        Ok::<(), RingError>(())
    });
    for i in 0..ROUNDS {
        let got = rx.recv(crate::LONG).expect("reply");
        assert_eq!(got, response(&request(i)), "reply {i}");
    }
    assert_eq!(sender.join().expect("join"), Ok(()));
    // The enclave exits after seeing Closed; its writer closing reaches us.
    assert_eq!(rx.recv(crate::LONG), Err(RingError::Closed));
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "enclave process failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

//! The real `arcanum-enclave` process (launched confined by its host, reached only over the
//! shared-memory rings), and the trusted core's header chain and read checks against a hostile
//! host (`chain`).

mod chain;

use std::path::Path;

use arcanum_enclave_host::EnclaveProcess;
use arcanum_enclave_protocol::{EnclaveResponse, HostRequest, PROTOCOL_VERSION, Secret};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_arcanum-enclave"))
}

#[test]
fn the_enclave_process_is_confined_and_answers_over_the_rings() {
    let (process, client) = EnclaveProcess::launch(binary()).expect("launch");
    let status = std::fs::read_to_string(format!("/proc/{}/status", process.id())).expect("status");
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("NoNewPrivs:") && l.ends_with('1')),
        "{status}"
    );
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Seccomp:") && l.ends_with('2')),
        "seccomp filter mode\n{status}"
    );

    match client
        .call(&HostRequest::Hello {
            version: PROTOCOL_VERSION,
        })
        .expect("hello")
    {
        EnclaveResponse::Hello {
            measurement,
            is_secure,
            ..
        } => {
            let expected = arcanum_crypto::sha256(&std::fs::read(binary()).expect("binary"));
            assert_eq!(
                measurement,
                expected.0.to_vec(),
                "measured by its own binary"
            );
            assert!(!is_secure);
        }
        other => panic!("unexpected {other:?}"),
    }
    let init = HostRequest::Init {
        platform_secret: Some(Secret(vec![3; 32])),
        sealed_keys: None,
        peers: vec![],
        pin: arcanum_ledger::testkit::Net::new().config.pin(),
    };
    assert!(matches!(
        client.call(&init).expect("init"),
        EnclaveResponse::Ready { .. }
    ));

    // Many host threads at once: every answer reaches its own caller.
    let client = std::sync::Arc::new(client);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            std::thread::spawn(move || {
                (0..25).all(|_| {
                    matches!(
                        c.call(&HostRequest::Evidence),
                        Ok(EnclaveResponse::Evidence { .. })
                    )
                })
            })
        })
        .collect();
    for t in threads {
        assert!(
            t.join().expect("thread"),
            "every concurrent request answered"
        );
    }
    assert!(matches!(
        client.call(&HostRequest::Shutdown).expect("shutdown"),
        EnclaveResponse::Ok
    ));
}

/// Garbage from the host is answered with a precise error, and the enclave keeps serving.
#[test]
fn garbage_frames_get_a_precise_error() {
    use arcanum_enclave_protocol::{Envelope, decode_frame, encode_frame};
    // The enclave accepts frames up to MAX_FRAME, so its rings must hold one.
    let (mut host, enclave) = arcanum_ring::Duplex::create(8 << 20).expect("rings");
    let fds = enclave.into_fds().expect("fds");
    fds.set_inheritable().expect("inheritable");
    let mut child = std::process::Command::new(binary())
        .arg("--ring-fds")
        .arg(fds.encode())
        .spawn()
        .expect("spawn");
    drop(fds);
    let timeout = Some(std::time::Duration::from_secs(10));
    for garbage in [vec![], vec![0xff; 3], vec![9; 1000]] {
        host.send(&garbage, timeout).expect("send");
        let answer: Envelope<EnclaveResponse> =
            decode_frame(&host.recv(timeout).expect("answer")).expect("decodes");
        assert_eq!(answer.id, 0);
        assert!(
            matches!(answer.body, EnclaveResponse::Error { ref code, .. } if code == "MALFORMED_FRAME"),
            "{:?}",
            answer.body
        );
    }
    host.send(
        &encode_frame(
            7,
            &HostRequest::Hello {
                version: PROTOCOL_VERSION,
            },
        ),
        timeout,
    )
    .expect("send");
    let answer: Envelope<EnclaveResponse> =
        decode_frame(&host.recv(timeout).expect("answer")).expect("decodes");
    assert_eq!(answer.id, 7);
    assert!(matches!(answer.body, EnclaveResponse::Hello { .. }));
    let _ = child.kill();
    let _ = child.wait();
}

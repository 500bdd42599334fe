//! In-process tests of the enclave's request handling.

use arcanum_crypto::keyfile::{KdfParams, seal_key_with_params};
use arcanum_crypto::{Algorithm, SigningKey, domain, sha256};
use arcanum_enclave_protocol::{
    EnclaveResponse, HostRequest, HostedPeer, PROTOCOL_VERSION, Secret,
};
use arcanum_types::{EndorsementPayload, IdentityId, SignedTx, TxAction, TxPayload, Vote, encode};

use crate::{EnclaveService, PlatformSource};

const BINARY: &[u8] = b"test enclave binary";

struct Fixture {
    peers: Vec<(IdentityId, SigningKey)>,
    client: SigningKey,
    fuse: Vec<u8>,
}

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::Ed25519, &mut rand::rngs::OsRng).expect("key")
}

impl Fixture {
    fn new() -> Fixture {
        let peers = (0..3u8)
            .map(|i| (IdentityId(sha256(&[i])), key()))
            .collect();
        Fixture {
            peers,
            client: key(),
            fuse: vec![7; 32],
        }
    }

    fn hosted(&self) -> Vec<HostedPeer> {
        self.peers
            .iter()
            .map(|(id, k)| HostedPeer {
                peer: *id,
                public_key: k.public_key(),
            })
            .collect()
    }

    fn start(&self, sealed: Option<Vec<u8>>) -> (EnclaveService, EnclaveResponse) {
        self.start_with_fuse(self.fuse.clone(), sealed)
    }

    fn start_with_fuse(
        &self,
        fuse: Vec<u8>,
        sealed: Option<Vec<u8>>,
    ) -> (EnclaveService, EnclaveResponse) {
        let s = EnclaveService::new(PlatformSource::Simulated {
            binary: BINARY.to_vec(),
        });
        assert!(matches!(
            s.handle(HostRequest::Hello {
                version: PROTOCOL_VERSION
            }),
            EnclaveResponse::Hello { .. }
        ));
        let ready = s.handle(HostRequest::Init {
            platform_secret: Some(Secret(fuse)),
            sealed_keys: sealed,
            peers: self.hosted(),
        });
        (s, ready)
    }

    fn import(&self, s: &EnclaveService, i: usize) -> EnclaveResponse {
        let pass = b"pass".to_vec();
        let file = seal_key_with_params(
            &self.peers[i].1,
            &pass,
            KdfParams::insecure_for_tests(),
            &mut rand::rngs::OsRng,
        )
        .expect("seal");
        s.handle(HostRequest::ImportKey {
            peer: self.peers[i].0,
            key_file: file,
            passphrase: Secret(pass),
        })
    }

    fn tx(&self) -> SignedTx {
        let payload = TxPayload {
            channel: "c".into(),
            creator: IdentityId(sha256(b"client")),
            nonce: 1,
            action: TxAction::Invoke {
                contract: "asset".into(),
                function: "f".into(),
                args: vec![],
            },
        };
        let signature = self.client.sign(domain::TX_SIGNATURE, &payload.id().0);
        SignedTx { payload, signature }
    }

    fn endorse(
        &self,
        s: &EnclaveService,
        tx: &SignedTx,
        peers: Vec<IdentityId>,
    ) -> EnclaveResponse {
        s.handle(HostRequest::Endorse {
            tx: Box::new(tx.clone()),
            client_key: self.client.public_key(),
            response_hash: sha256(b"response"),
            vote: Vote::Approve,
            peers,
        })
    }
}

fn code(r: &EnclaveResponse) -> &str {
    match r {
        EnclaveResponse::Error { code, .. } => code,
        _ => "OK",
    }
}

#[test]
fn handshake_comes_first_and_checks_the_version() {
    let s = EnclaveService::new(PlatformSource::Simulated {
        binary: BINARY.to_vec(),
    });
    assert_eq!(code(&s.handle(HostRequest::Evidence)), "HANDSHAKE_REQUIRED");
    assert_eq!(
        code(&s.handle(HostRequest::Hello {
            version: PROTOCOL_VERSION + 1
        })),
        "VERSION_MISMATCH"
    );
    match s.handle(HostRequest::Hello {
        version: PROTOCOL_VERSION,
    }) {
        EnclaveResponse::Hello {
            measurement,
            is_secure,
            ..
        } => {
            assert_eq!(measurement, sha256(BINARY).0.to_vec());
            assert!(!is_secure);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(code(&s.handle(HostRequest::Evidence)), "INIT_REQUIRED");
}

#[test]
fn init_needs_a_fuse_and_a_failed_init_is_final() {
    let s = EnclaveService::new(PlatformSource::Simulated {
        binary: BINARY.to_vec(),
    });
    s.handle(HostRequest::Hello {
        version: PROTOCOL_VERSION,
    });
    let r = s.handle(HostRequest::Init {
        platform_secret: Some(Secret(vec![1; 5])),
        sealed_keys: None,
        peers: vec![],
    });
    assert_eq!(code(&r), "BAD_INIT");
    assert_eq!(code(&s.handle(HostRequest::Evidence)), "ENCLAVE_FAILED");
}

#[test]
fn imported_keys_sign_only_after_the_client_signature_verifies() {
    let f = Fixture::new();
    let (s, ready) = f.start(None);
    assert!(matches!(ready, EnclaveResponse::Ready { ref hosted, .. } if hosted.is_empty()));
    assert!(
        matches!(f.import(&s, 0), EnclaveResponse::Sealed { ref hosted, .. } if hosted.len() == 1)
    );
    let tx = f.tx();
    let EnclaveResponse::Endorsements(e) = f.endorse(&s, &tx, vec![f.peers[0].0]) else {
        panic!("no endorsements")
    };
    let msg = encode(&EndorsementPayload {
        tx_id: tx.payload.id(),
        response_hash: sha256(b"response"),
        vote: Vote::Approve,
    });
    assert_eq!(e.len(), 1);
    assert!(
        f.peers[0]
            .1
            .public_key()
            .verify(domain::ENDORSEMENT, &msg, &e[0].signature)
            .is_ok()
    );

    let mut forged = tx.clone();
    forged.signature.0[0] ^= 1;
    assert_eq!(
        code(&f.endorse(&s, &forged, vec![f.peers[0].0])),
        "BAD_CLIENT_SIGNATURE"
    );
    assert_eq!(
        code(&f.endorse(&s, &tx, vec![f.peers[1].0])),
        "PEER_NOT_HOSTED"
    );
    assert_eq!(code(&f.endorse(&s, &tx, vec![])), "BAD_REQUEST");
}

#[test]
fn imports_are_checked_against_the_certified_keys() {
    let f = Fixture::new();
    let (s, _) = f.start(None);
    let pass = b"pass".to_vec();
    let wrong = seal_key_with_params(
        &key(),
        &pass,
        KdfParams::insecure_for_tests(),
        &mut rand::rngs::OsRng,
    )
    .expect("seal");
    let r = s.handle(HostRequest::ImportKey {
        peer: f.peers[0].0,
        key_file: wrong.clone(),
        passphrase: Secret(pass.clone()),
    });
    assert_eq!(code(&r), "KEY_CERT_MISMATCH");
    let r = s.handle(HostRequest::ImportKey {
        peer: IdentityId(sha256(b"stranger")),
        key_file: wrong.clone(),
        passphrase: Secret(pass),
    });
    assert_eq!(code(&r), "PEER_NOT_ALLOWED");
    let r = s.handle(HostRequest::ImportKey {
        peer: f.peers[0].0,
        key_file: wrong,
        passphrase: Secret(b"nope".to_vec()),
    });
    assert_eq!(code(&r), "KEY_FILE");
}

#[test]
fn the_sealed_key_set_survives_a_restart_only_on_the_same_platform() {
    let f = Fixture::new();
    let (s, _) = f.start(None);
    f.import(&s, 0);
    let EnclaveResponse::Sealed { blob, .. } = f.import(&s, 1) else {
        panic!("not sealed")
    };
    let EnclaveResponse::Ready { device_key, .. } = f.start(None).1 else {
        panic!("not ready")
    };

    let (restarted, ready) = f.start(Some(blob.clone()));
    match ready {
        EnclaveResponse::Ready {
            hosted,
            device_key: restored,
        } => {
            assert_eq!(hosted.len(), 2);
            assert_ne!(
                restored, device_key,
                "a fresh enclave has a fresh device key"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        f.endorse(&restarted, &f.tx(), vec![f.peers[1].0]),
        EnclaveResponse::Endorsements(_)
    ));

    assert_eq!(
        code(&f.start_with_fuse(vec![8; 32], Some(blob.clone())).1),
        "UNSEAL_FAILED",
        "another platform"
    );
    let mut tampered = blob;
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(code(&f.start(Some(tampered)).1), "UNSEAL_FAILED");
}

#[test]
fn rotation_generates_inside_and_activates_only_the_pending_key() {
    let f = Fixture::new();
    let (s, _) = f.start(None);
    f.import(&s, 0);
    let peer = f.peers[0].0;
    let EnclaveResponse::PendingKey { public_key, .. } = s.handle(HostRequest::GenerateKey {
        peer,
        algorithm: Algorithm::Ed25519,
    }) else {
        panic!("no pending key")
    };
    assert_eq!(
        code(&s.handle(HostRequest::ActivateKey {
            peer,
            public_key: key().public_key()
        })),
        "NO_PENDING_KEY"
    );
    assert!(matches!(
        s.handle(HostRequest::ActivateKey {
            peer,
            public_key: public_key.clone()
        }),
        EnclaveResponse::Sealed { .. }
    ));
    let tx = f.tx();
    let EnclaveResponse::Endorsements(e) = f.endorse(&s, &tx, vec![peer]) else {
        panic!("no endorsements")
    };
    let msg = encode(&EndorsementPayload {
        tx_id: tx.payload.id(),
        response_hash: sha256(b"response"),
        vote: Vote::Approve,
    });
    assert!(
        public_key
            .verify(domain::ENDORSEMENT, &msg, &e[0].signature)
            .is_ok()
    );
    assert!(
        f.peers[0]
            .1
            .public_key()
            .verify(domain::ENDORSEMENT, &msg, &e[0].signature)
            .is_err()
    );
}

#[test]
fn evidence_binds_the_device_key_and_every_hosted_key() {
    let f = Fixture::new();
    let (s, ready) = f.start(None);
    let EnclaveResponse::Ready { device_key, .. } = ready else {
        panic!("not ready")
    };
    f.import(&s, 0);
    f.import(&s, 2);
    let EnclaveResponse::Evidence {
        evidence,
        bound_keys,
    } = s.handle(HostRequest::Evidence)
    else {
        panic!("no evidence")
    };
    assert_eq!(bound_keys.len(), 3);
    assert_eq!(bound_keys[0], device_key);
    let verdict =
        arcanum_attestation::verify_evidence(&evidence, &Default::default(), 0).expect("verifies");
    assert_eq!(verdict.measurement, sha256(BINARY).0.to_vec());
    assert_eq!(
        verdict.report_data,
        arcanum_attestation::key_binding(&bound_keys).to_vec()
    );
    assert!(!verdict.is_secure);
}

//! In-process tests of the enclave's request handling: key custody, sealing, rotation,
//! evidence, and batches judged task by task. The tasks are deploys on a fresh chain (height 0,
//! the empty state), each read witnessed by a real proof of absence; the hostile host against
//! the simulation is in `arcanum-endorser`'s tests (`hostile`), over a real chain.

use std::collections::BTreeMap;

use arcanum_crypto::keyfile::{KdfParams, seal_key_with_params};
use arcanum_crypto::{Algorithm, SigningKey, domain, sha256};
use arcanum_enclave_protocol::{
    EnclaveResponse, EndorseOutcome, EndorseTask, HostRequest, HostedPeer, MAX_ENDORSE_SIGNATURES,
    MAX_ENDORSE_TASKS, PROTOCOL_VERSION, Secret, Witness,
};
use arcanum_ledger::{ChainConfig, Member, definition_key};
use arcanum_storage::LedgerStore;
use arcanum_types::{
    Endorsement, EndorsementPayload, IdentityId, ProposalResponse, Role, SignedTx, TxAction,
    TxPayload, encode,
};

use crate::{EnclaveService, PlatformSource};

const BINARY: &[u8] = b"test enclave binary";
const CHANNEL: &str = "c";

/// (module (memory (export "memory") 1) (func (export "spin") (loop (br 0))))
const WASM: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02,
    0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x11, 0x02, 0x06, b'm', b'e', b'm', b'o', b'r',
    b'y', 0x02, 0x00, 0x04, b's', b'p', b'i', b'n', 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x03,
    0x40, 0x0c, 0x00, 0x0b, 0x0b,
];

struct Fixture {
    peers: Vec<(IdentityId, SigningKey)>,
    /// An admin on the allow-list: its deploys need no contract state.
    client: SigningKey,
    config: ChainConfig,
    /// The empty chain the deploys' reads are proven against.
    store: arcanum_storage_redb::RedbStore,
    fuse: Vec<u8>,
}

fn member(id: IdentityId, role: Role, key: &SigningKey, allowed_client: bool) -> Member {
    Member {
        id,
        name: format!("{role:?}-{}", id.0.0[0]),
        msp_id: "Org1".into(),
        role,
        public_key: key.public_key(),
        allowed_client,
    }
}

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::Ed25519, &mut rand::rngs::OsRng).expect("key")
}

impl Fixture {
    fn new() -> Fixture {
        let peers: Vec<(IdentityId, SigningKey)> = (0..3u8)
            .map(|i| (IdentityId(sha256(&[i])), key()))
            .collect();
        let client = key();
        let orderer = IdentityId(sha256(b"orderer"));
        let mut members = BTreeMap::new();
        for (id, k) in &peers {
            members.insert(*id, member(*id, Role::Peer, k, false));
        }
        let client_id = IdentityId(sha256(b"client"));
        members.insert(client_id, member(client_id, Role::Admin, &client, true));
        members.insert(orderer, member(orderer, Role::Orderer, &key(), false));
        let config = ChainConfig {
            channel: CHANNEL.into(),
            orgs: vec!["Org1".into()],
            members,
            orderer,
            lifecycle_policy: arcanum_policy::Policy::parse("MAJORITY Endorsement")
                .expect("policy"),
        };
        Fixture {
            peers,
            client,
            config,
            store: arcanum_storage_redb::RedbStore::in_memory().expect("store"),
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
            pin: self.config.pin(),
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
        self.tx_with_nonce(1)
    }

    fn tx_with_nonce(&self, nonce: u64) -> SignedTx {
        let payload = TxPayload {
            channel: CHANNEL.into(),
            creator: IdentityId(sha256(b"client")),
            nonce,
            action: TxAction::Deploy {
                contract: format!("c{nonce}"),
                wasm: WASM.to_vec(),
                policy: "AND('Org1.peer')".into(),
            },
        };
        let signature = self.client.sign(domain::TX_SIGNATURE, &payload.id().0);
        SignedTx { payload, signature }
    }

    fn task(&self, tx: &SignedTx, peers: Vec<IdentityId>) -> EndorseTask {
        let TxAction::Deploy { contract, .. } = &tx.payload.action else {
            panic!("a deploy")
        };
        let key = definition_key(contract);
        let (value, proof) = self
            .store
            .get_with_proof(&key, 0)
            .expect("proof of absence");
        EndorseTask {
            tx: tx.clone(),
            peers,
            height: 0,
            witnesses: vec![Witness {
                key,
                value,
                proof: Some(proof),
            }],
            code: None,
            lifecycle_rwset: None,
        }
    }

    /// A one-task batch, answered by that task's outcome as a response (a refusal as an
    /// `Error` with its code), so single-task checks read like requests.
    fn endorse(
        &self,
        s: &EnclaveService,
        tx: &SignedTx,
        peers: Vec<IdentityId>,
    ) -> EnclaveResponse {
        match s.handle(HostRequest::Endorse {
            tasks: vec![self.task(tx, peers)],
        }) {
            EnclaveResponse::Endorsements(mut outcomes) if outcomes.len() == 1 => {
                match outcomes.remove(0) {
                    signed @ EndorseOutcome::Signed { .. } => {
                        EnclaveResponse::Endorsements(vec![signed])
                    }
                    EndorseOutcome::Refused { code, message } => {
                        EnclaveResponse::Error { code, message }
                    }
                }
            }
            other => other,
        }
    }
}

fn code(r: &EnclaveResponse) -> &str {
    match r {
        EnclaveResponse::Error { code, .. } => code,
        _ => "OK",
    }
}

/// The response and endorsements of a one-task answer from [`Fixture::endorse`].
fn signed(r: EnclaveResponse) -> (ProposalResponse, Vec<Endorsement>) {
    match r {
        EnclaveResponse::Endorsements(mut o) => match o.remove(0) {
            EndorseOutcome::Signed {
                response,
                endorsements,
            } => (response, endorsements),
            other => panic!("refused: {other:?}"),
        },
        other => panic!("no endorsements: {other:?}"),
    }
}

/// What an endorsement of `response` signs.
fn endorsement_message(response: &ProposalResponse) -> Vec<u8> {
    encode(&EndorsementPayload {
        tx_id: response.tx_id,
        response_hash: response.hash(),
        vote: response.vote,
    })
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
        pin: Fixture::new().config.pin(),
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
    let (response, e) = signed(f.endorse(&s, &tx, vec![f.peers[0].0]));
    assert_eq!(response.tx_id, tx.payload.id());
    assert_eq!(
        response.rwset.writes,
        arcanum_ledger::deploy_writes("c1", WASM, "AND('Org1.peer')"),
        "the enclave computed the deploy's writes itself"
    );
    let msg = endorsement_message(&response);
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
    assert_eq!(
        code(&f.endorse(&s, &tx, vec![f.peers[0].0, f.peers[0].0])),
        "BAD_REQUEST",
        "a peer twice"
    );
}

#[test]
fn a_batch_is_judged_task_by_task_in_order() {
    let f = Fixture::new();
    let (s, _) = f.start(None);
    f.import(&s, 0);
    f.import(&s, 1);
    let (p0, p1, p2) = (f.peers[0].0, f.peers[1].0, f.peers[2].0);
    // Enough tasks for the signatures to be checked as a real batch.
    let txs: Vec<SignedTx> = (0..40).map(|n| f.tx_with_nonce(n)).collect();
    let mut tasks: Vec<EndorseTask> = txs.iter().map(|tx| f.task(tx, vec![p0, p1])).collect();
    tasks[7].tx.signature.0[0] ^= 1;
    tasks[12].peers = vec![p1, p2];
    tasks[20].peers = vec![];
    let EnclaveResponse::Endorsements(outcomes) = s.handle(HostRequest::Endorse { tasks }) else {
        panic!("no answer")
    };
    assert_eq!(outcomes.len(), txs.len());
    for (i, (outcome, tx)) in outcomes.into_iter().zip(&txs).enumerate() {
        match (i, outcome) {
            (7, EndorseOutcome::Refused { code, .. }) => assert_eq!(code, "BAD_CLIENT_SIGNATURE"),
            (12, EndorseOutcome::Refused { code, .. }) => assert_eq!(code, "PEER_NOT_HOSTED"),
            (20, EndorseOutcome::Refused { code, .. }) => assert_eq!(code, "BAD_REQUEST"),
            (7 | 12 | 20, other) => panic!("task {i} was not refused: {other:?}"),
            (
                _,
                EndorseOutcome::Signed {
                    response,
                    endorsements: e,
                },
            ) => {
                assert_eq!(response.tx_id, tx.payload.id());
                let msg = endorsement_message(&response);
                assert_eq!(
                    e.iter().map(|e| e.endorser).collect::<Vec<_>>(),
                    vec![p0, p1]
                );
                for (e, k) in e.iter().zip([&f.peers[0].1, &f.peers[1].1]) {
                    assert!(
                        k.public_key()
                            .verify(domain::ENDORSEMENT, &msg, &e.signature)
                            .is_ok(),
                        "task {i}"
                    );
                }
            }
            (_, other) => panic!("task {i} refused: {other:?}"),
        }
    }
}

#[test]
fn an_oversized_batch_is_refused_whole() {
    let f = Fixture::new();
    let (s, _) = f.start(None);
    f.import(&s, 0);
    let tx = f.tx();
    let one = f.task(&tx, vec![f.peers[0].0]);
    let r = s.handle(HostRequest::Endorse {
        tasks: vec![one.clone(); MAX_ENDORSE_TASKS + 1],
    });
    assert_eq!(code(&r), "BAD_REQUEST");
    assert_eq!(
        code(&s.handle(HostRequest::Endorse { tasks: vec![] })),
        "BAD_REQUEST"
    );
    // Within the task bound but over the signature bound.
    let wide = f.task(&tx, vec![f.peers[0].0; 200]);
    let n = MAX_ENDORSE_SIGNATURES / 200 + 1;
    assert!(n <= MAX_ENDORSE_TASKS);
    assert_eq!(
        code(&s.handle(HostRequest::Endorse {
            tasks: vec![wide; n]
        })),
        "BAD_REQUEST"
    );
    // The largest allowed batch is served.
    let EnclaveResponse::Endorsements(o) = s.handle(HostRequest::Endorse {
        tasks: vec![one; MAX_ENDORSE_TASKS],
    }) else {
        panic!("a full batch is served")
    };
    assert_eq!(o.len(), MAX_ENDORSE_TASKS);
    assert!(o.iter().all(|o| matches!(o, EndorseOutcome::Signed { .. })));
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
    assert_eq!(
        signed(f.endorse(&restarted, &f.tx(), vec![f.peers[1].0]))
            .1
            .len(),
        1
    );

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
    let (response, e) = signed(f.endorse(&s, &tx, vec![peer]));
    let msg = endorsement_message(&response);
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
        arcanum_attestation::key_binding_with_context(&bound_keys, &f.config.pin().hash().0)
            .to_vec(),
        "the device key, every hosted key, and the pinned chain"
    );
    assert!(!verdict.is_secure);
}

//! A compromised endorsement-device host against its own enclave (SPEC L1.3, L7;
//! docs/design/endorsement-in-enclave.md). The host owns every byte the enclave receives, so
//! it is played here by the test, which speaks protocol v3 to a real `EnclaveService` over a
//! real chain (the asset world of `endorse`): genuine headers and proofs from the replica, then
//! each lie a host could tell. The enclave signs only the response it computed from state it
//! verified; every lie is refused with a stable code and nothing is signed.

use arcanum_contracts::{ASSET_WASM, KV_WASM};
use arcanum_crypto::keyfile::{KdfParams, seal_key_with_params};
use arcanum_crypto::{Algorithm, SigningKey, domain};
use arcanum_enclave::{EnclaveService, PlatformSource};
use arcanum_enclave_protocol::{
    ChainPin, EnclaveResponse, EndorseOutcome, EndorseTask, HostRequest, HostedPeer,
    PROTOCOL_VERSION, Secret, SignedHeader, Witness,
};
use arcanum_ledger::{Ledger, contract_key, definition_key, verify_endorsements};
use arcanum_types::{
    Block, EndorsedTx, ProposalResponse, RwSet, SignedTx, TxStatus, Version, VersionedValue,
};

use crate::endorse::asset_world;
use crate::support::{Net, account_record, invoke, sign};

/// The enclave as its host sees it: requests in, answers out.
struct Enclave(EnclaveService);

impl Enclave {
    /// A fresh enclave pinned to `net`'s chain, hosting peers 0 and 2.
    fn start(net: &Net) -> Enclave {
        Enclave::pinned(net, net.config.pin())
    }

    /// A fresh enclave pinned to `pin`, hosting `net`'s peers 0 and 2.
    fn pinned(net: &Net, pin: ChainPin) -> Enclave {
        let service = EnclaveService::new(PlatformSource::Simulated {
            binary: b"hostile-host test enclave".to_vec(),
        });
        assert!(matches!(
            service.handle(HostRequest::Hello {
                version: PROTOCOL_VERSION
            }),
            EnclaveResponse::Hello { .. }
        ));
        let peers = net
            .peers
            .iter()
            .map(|p| HostedPeer {
                peer: p.id,
                public_key: p.key().public_key(),
            })
            .collect();
        let ready = service.handle(HostRequest::Init {
            platform_secret: Some(Secret(vec![5; 32])),
            sealed_keys: None,
            peers,
            pin,
        });
        assert!(matches!(ready, EnclaveResponse::Ready { .. }), "{ready:?}");
        for i in [0, 2] {
            let file = seal_key_with_params(
                &net.peers[i].key(),
                b"pw",
                KdfParams::insecure_for_tests(),
                &mut rand::rngs::OsRng,
            )
            .unwrap();
            let imported = service.handle(HostRequest::ImportKey {
                peer: net.peers[i].id,
                key_file: file,
                passphrase: Secret(b"pw".to_vec()),
            });
            assert!(matches!(imported, EnclaveResponse::Sealed { .. }));
        }
        Enclave(service)
    }

    fn headers(&self, headers: Vec<SignedHeader>) -> Result<u64, String> {
        match self.0.handle(HostRequest::Headers { headers }) {
            EnclaveResponse::Chain { height } => Ok(height),
            EnclaveResponse::Error { code, .. } => Err(code),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// One task's outcome.
    fn endorse(&self, task: EndorseTask) -> EndorseOutcome {
        match self.0.handle(HostRequest::Endorse { tasks: vec![task] }) {
            EnclaveResponse::Endorsements(mut o) if o.len() == 1 => o.remove(0),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The refusal code of one task (`"SIGNED"` if it was signed).
    fn verdict(&self, task: EndorseTask) -> String {
        match self.endorse(task) {
            EndorseOutcome::Signed { .. } => "SIGNED".into(),
            EndorseOutcome::Refused { code, .. } => code,
        }
    }
}

/// The genuine signed headers of `ledger`'s blocks `1..=tip`.
fn genuine_headers(ledger: &Ledger) -> Vec<SignedHeader> {
    let (tip, _) = ledger.tip().unwrap();
    (1..=tip)
        .map(|h| {
            let bytes = ledger.store().block(h).unwrap().unwrap();
            let block: Block = arcanum_types::decode(&bytes, usize::MAX).unwrap();
            SignedHeader {
                header: block.header,
                signature: block.signature,
            }
        })
        .collect()
}

fn witness(ledger: &Ledger, key: &[u8], height: u64) -> Witness {
    let (value, proof) = ledger.store().get_with_proof(key, height).unwrap();
    Witness {
        key: key.to_vec(),
        value,
        proof: Some(proof),
    }
}

/// The task an honest host sends for `tx` at the tip: every read its own simulation made and
/// the contract's definition, proven at the tip, and the contract's code.
fn honest_task(ledger: &Ledger, host: &ProposalResponse, tx: &SignedTx) -> EndorseTask {
    let (tip, _) = ledger.tip().unwrap();
    let mut witnesses = vec![witness(ledger, &definition_key("asset"), tip)];
    for read in &host.rwset.reads {
        witnesses.push(witness(ledger, &read.key, tip));
    }
    EndorseTask {
        tx: tx.clone(),
        peers: vec![],
        height: tip,
        witnesses,
        code: Some(ASSET_WASM.to_vec()),
        lifecycle_rwset: None,
    }
}

fn balance(v: &VersionedValue) -> Vec<u8> {
    v.value[v.value.len() - 8..].to_vec()
}

#[test]
fn the_enclave_signs_only_what_it_computed_from_state_it_verified() {
    let (net, dev) = asset_world();
    let ledger = dev.ledger();
    let enclave = Enclave::start(&net);
    let peers = net.peer_ids(&[0, 2]);
    let headers = genuine_headers(ledger);
    assert_eq!(enclave.headers(headers.clone()), Ok(2));
    // Headers again (another host thread's feed) change nothing.
    assert_eq!(enclave.headers(headers.clone()), Ok(2));

    let tx = net.tx(
        &net.client,
        9,
        invoke("asset", "transfer", &[b"alice", b"bob", b"30"]),
    );
    let host = dev.simulate(&tx).unwrap();
    let mut honest = honest_task(ledger, &host, &tx);
    honest.peers = peers;
    assert_eq!(honest.witnesses.len(), 3, "definition, alice, bob");

    // What a host may tell first: a wrong value under a genuine proof, a proof for another
    // key, a proof against another root, a claim of absence, a height never verified.
    let alice = 1;
    let mut inflated = honest.clone();
    let v = inflated.witnesses[alice].value.as_mut().unwrap();
    let n = v.value.len();
    v.value[n - 8..].copy_from_slice(&1_000_000u64.to_be_bytes());
    let mut other_key = honest.clone();
    other_key.witnesses[alice].proof = honest.witnesses[2].proof.clone();
    let mut other_root = honest.clone();
    other_root.witnesses[0] = witness(ledger, &definition_key("asset"), 1);
    let mut absent = honest.clone();
    absent.witnesses[alice].value = None;
    let mut unverified = honest.clone();
    unverified.height = 3;
    let mut unproven = honest.clone();
    unproven.witnesses[alice].proof = None;
    let mut omitted = honest.clone();
    omitted.witnesses.remove(2);
    let mut twice = honest.clone();
    twice.witnesses.push(honest.witnesses[2].clone());
    // A write set of the host's own for an invocation.
    let mut injected = honest.clone();
    injected.lifecycle_rwset = Some(RwSet::default());
    // The client's transaction edited after signing; signed by another member's key; from
    // someone off the allow-list.
    let mut tampered = honest.clone();
    if let arcanum_types::TxAction::Invoke { args, .. } = &mut tampered.tx.payload.action {
        args[2] = b"3000".to_vec();
    }
    let mut swapped = honest.clone();
    swapped.tx = sign(&net.admin, {
        let mut p = tx.payload.clone();
        p.creator = net.client.id;
        p
    });
    let mut unlisted = honest.clone();
    unlisted.tx = net.tx(
        &net.unlisted,
        1,
        invoke("asset", "transfer", &[b"alice", b"bob", b"30"]),
    );
    // The code: none yet (the enclave has not compiled it), or another contract's.
    let mut no_code = honest.clone();
    no_code.code = None;
    let mut wrong_code = honest.clone();
    wrong_code.code = Some(KV_WASM.to_vec());
    let mut not_hosted = honest.clone();
    not_hosted.peers = net.peer_ids(&[1]);

    // (The code cases first: any task that reaches the simulation compiles the contract.)
    for (what, task, code) in [
        ("no code", no_code, "CONTRACT_CODE_REQUIRED"),
        (
            "another contract's code",
            wrong_code,
            "CONTRACT_CODE_REQUIRED",
        ),
        ("inflated balance", inflated, "STATE_PROOF_INVALID"),
        ("proof for another key", other_key, "STATE_PROOF_INVALID"),
        (
            "proof against another root",
            other_root,
            "STATE_PROOF_INVALID",
        ),
        (
            "a present key claimed absent",
            absent,
            "STATE_PROOF_INVALID",
        ),
        ("a height never verified", unverified, "STATE_ROOT_UNKNOWN"),
        // Nothing was cached by any refusal above: only a signed task's reads are.
        ("an unproven first read", unproven, "STATE_PROOF_MISSING"),
        ("a read left out", omitted, "READ_NOT_WITNESSED"),
        ("a key witnessed twice", twice, "READ_WITNESSED_TWICE"),
        ("a host write set", injected, "BAD_REQUEST"),
        ("a tampered transaction", tampered, "BAD_CLIENT_SIGNATURE"),
        ("a swapped client key", swapped, "BAD_CLIENT_SIGNATURE"),
        (
            "a client off the allow-list",
            unlisted,
            "CLIENT_NOT_ALLOWED",
        ),
        ("a peer not hosted", not_hosted, "PEER_NOT_HOSTED"),
    ] {
        assert_eq!(enclave.verdict(task), code, "{what}");
    }

    // The honest task is signed: the response is the enclave's own, equal to an honest host's,
    // and it commits.
    let EndorseOutcome::Signed {
        response,
        endorsements,
    } = enclave.endorse(honest.clone())
    else {
        panic!("the honest task is refused")
    };
    assert_eq!(response, host);
    let credited = response
        .rwset
        .writes
        .iter()
        .find(|w| w.key == contract_key("asset", b"acct/bob"))
        .and_then(|w| w.value.clone())
        .unwrap();
    assert_eq!(credited, account_record(&net.admin, 35));
    let etx = EndorsedTx {
        tx: tx.clone(),
        response,
        endorsements,
    };
    verify_endorsements(&net.config, &etx).unwrap();

    // Now compiled and proven: the same reads pass without proofs or code (the state cache),
    // but a changed value without a proof does not.
    let mut cached = honest.clone();
    cached.code = None;
    for w in &mut cached.witnesses {
        w.proof = None;
    }
    assert_eq!(enclave.verdict(cached.clone()), "SIGNED");
    let mut swapped_cached = cached;
    let v = swapped_cached.witnesses[alice].value.as_mut().unwrap();
    let n = v.value.len();
    v.value[n - 8..].copy_from_slice(&1_000_000u64.to_be_bytes());
    assert_eq!(enclave.verdict(swapped_cached), "STATE_PROOF_MISSING");

    let summary = net.commit(ledger, vec![etx]);
    assert_eq!(summary.receipts[0].status, TxStatus::Valid);
    let (value, _) = ledger
        .store()
        .get_with_proof(&contract_key("asset", b"acct/alice"), 3)
        .unwrap();
    assert_eq!(balance(&value.unwrap()), 70u64.to_be_bytes());
    assert_eq!(
        ledger
            .store()
            .get_with_proof(&contract_key("asset", b"acct/alice"), 3)
            .unwrap()
            .0
            .unwrap()
            .version,
        Version { block: 3, tx: 0 }
    );
}

#[test]
fn the_enclave_verifies_every_header_it_is_fed() {
    let (net, dev) = asset_world();
    let headers = genuine_headers(dev.ledger());
    let enclave = Enclave::start(&net);
    let mut forged = headers[0].clone();
    let other = SigningKey::generate(Algorithm::Ed25519, &mut rand::rngs::OsRng).unwrap();
    forged.signature = other.sign(domain::BLOCK_SIGNATURE, &forged.header.hash().0);
    let mut tampered = headers[0].clone();
    tampered.header.state_root.0[0] ^= 1;
    for (what, feed, code) in [
        ("forged", vec![forged], "HEADER_BAD_SIGNATURE"),
        ("tampered", vec![tampered], "HEADER_BAD_SIGNATURE"),
        (
            "out of order",
            vec![headers[1].clone()],
            "HEADER_OUT_OF_ORDER",
        ),
    ] {
        assert_eq!(enclave.headers(feed), Err(code.to_owned()), "{what}");
    }
    // A feed stops at its first bad header: what came before it stays verified.
    let mut bad_second = headers[1].clone();
    bad_second.header.prev_hash.0[0] ^= 1;
    bad_second.signature = net
        .orderer
        .key()
        .sign(domain::BLOCK_SIGNATURE, &bad_second.header.hash().0);
    assert_eq!(
        enclave.headers(vec![headers[0].clone(), bad_second]),
        Err("HEADER_BAD_PREV_HASH".to_owned())
    );
    assert_eq!(enclave.headers(vec![]), Ok(1));
    assert_eq!(enclave.headers(headers[1..].to_vec()), Ok(2));

    // An enclave pinned to another consortium (another management key) verifies none of this
    // chain's headers, and its evidence names its own pin.
    let mut other_chain = (*net.config).clone();
    if let Some(m) = other_chain.members.get_mut(&net.orderer.id) {
        m.public_key = other.public_key();
    }
    let foreign = Enclave::pinned(&net, other_chain.pin());
    assert_eq!(
        foreign.headers(vec![headers[0].clone()]),
        Err("HEADER_BAD_SIGNATURE".to_owned())
    );
    for (e, pin) in [(&enclave, net.config.pin()), (&foreign, other_chain.pin())] {
        let EnclaveResponse::Evidence { evidence, .. } = e.0.handle(HostRequest::Evidence) else {
            panic!("no evidence")
        };
        let verdict =
            arcanum_attestation::verify_evidence(&evidence, &Default::default(), 0).unwrap();
        assert_eq!(verdict.report_data[32..], pin.hash().0);
    }
    assert_ne!(net.config.pin().hash(), other_chain.pin().hash());
}

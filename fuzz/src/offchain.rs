//! Fixtures and seeds of the off-chain targets other than `cluster_service`: the genuine
//! signed material of `arcanum_sdk::receipt::testkit` (the only values that may verify), the
//! bounds the real readers decode with, and the seed inputs.

use std::sync::LazyLock;

use arcanum_crypto::hpke::Sealed;
use arcanum_crypto::{Hash, Signature, domain};
use arcanum_enclave_protocol::cluster::{
    ClusterRequest, ClusterResponse, ClusterTrust, Ocall, OcallReturn, StateRecord,
};
use arcanum_enclave_protocol::{HostRequest, Secret, encode_frame};
use arcanum_sdk::offchain::{ClientPolicy, ReplyKey};
use arcanum_sdk::receipt::testkit::Fixture;
use arcanum_sdk::receipt::{RECEIPT_FORMAT, Receipt};
use arcanum_types::offchain::{
    ClusterMember, DeployRequest, InvokeReply, InvokeRequest, JoinOffer, OracleCallback,
    OracleOrigin, OracleRequest, SealedRequest, SignedDeployment, SignedOffer, SignedRegistration,
};
use arcanum_types::{BlockHeader, EndorsedTx, TxProof, encode};

/// First byte of a `receipt_verify` input whose rest is the receipt's borsh bytes.
pub const RECEIPT_BORSH_MODE: u8 = 0xB0;

/// The bounds the real readers of each type decode with.
pub mod bounds {
    use arcanum_types::limits;
    use arcanum_types::offchain::{MAX_OFFCHAIN_CODE, MAX_OFFCHAIN_INPUT};

    /// `POST /v1/offchain/invoke` body (arcanum-tee-node `INVOKE_BYTES`).
    pub const INVOKE_BODY: usize = MAX_OFFCHAIN_INPUT + 16 * 1024;
    /// `POST /v1/cluster/join/offer` body (`MEMBER_BYTES`).
    pub const MEMBER_BODY: usize = 256 * 1024;
    /// `POST /v1/cluster/join/complete` body (`JOIN_COMPLETE_BYTES`).
    pub const JOIN_COMPLETE_BODY: usize = 512 * 1024;
    /// `POST /v1/offchain/install` body (`INSTALL_BYTES`).
    pub const INSTALL_BODY: usize = MAX_OFFCHAIN_CODE + 64 * 1024;
    /// A chain record read by the SDK (`chain_offchain::MAX_RECORD_BYTES`).
    pub const RECORD: usize = limits::MAX_VALUE_BYTES;
    /// Values carried in a transaction.
    pub const TX: usize = limits::MAX_TX_BYTES;
    /// A transaction proof read by the SDK (`chain_offchain::MAX_PROOF_BYTES`).
    pub const PROOF: usize = limits::MAX_ENDORSED_TX_BYTES + 64 * 1024;
}

/// The receipt fixture world (deterministic keys).
pub static FIXTURE: LazyLock<Fixture> = LazyLock::new(Fixture::new);

/// The client policy that trusts the fixture's orderer, issuer and measurement.
pub fn receipt_policy() -> ClientPolicy {
    FIXTURE.policy()
}

/// The fixture's valid receipts: its own, and one with another output.
pub fn genuine_receipts() -> Vec<Receipt> {
    let f = &*FIXTURE;
    let first = f.receipt();
    let request = f.request();
    let other = f.receipt_of(
        request.clone(),
        f.result_for(&request, 1, b"{\"score\": 1}"),
        first.deployment.clone(),
        first.registration.clone(),
    );
    vec![first, other]
}

/// A join offer signed by the fixture's cluster key.
pub fn genuine_offer() -> SignedOffer {
    let f = &*FIXTURE;
    let members = f.members();
    let offer = JoinOffer {
        joiner: members[1].card.clone(),
        member: members[0].clone(),
        keys: f.keys(),
        offered_at: arcanum_sdk::receipt::testkit::REGISTERED_AT,
    };
    let signature = f.cluster.sign(domain::JOIN_OFFER, &encode(&offer));
    SignedOffer { offer, signature }
}

/// An oracle callback carrying the fixture's genuine result.
pub fn genuine_callback() -> OracleCallback {
    let f = &*FIXTURE;
    let origin = OracleOrigin {
        tx: Hash([4; 32]),
        event_index: 0,
    };
    let request = OracleRequest {
        contract_id: f.contract_id(),
        function: "score".into(),
        input: vec![1],
    };
    let invocation = request.invocation(origin);
    OracleCallback {
        contract: "lender".into(),
        origin,
        request,
        result: f.result_for(&invocation, 1, b"ok"),
    }
}

/// Everything signed with a key the fuzzer does not hold: a decoded value that verifies must
/// be one of these.
pub struct Genuine {
    pub receipts: Vec<Receipt>,
    pub deployments: Vec<SignedDeployment>,
    pub registrations: Vec<SignedRegistration>,
    pub members: Vec<ClusterMember>,
    pub offers: Vec<SignedOffer>,
    pub callbacks: Vec<OracleCallback>,
    /// `(header, tx)` of every genuine transaction proof.
    pub proven: Vec<(BlockHeader, EndorsedTx)>,
}

pub static GENUINE: LazyLock<Genuine> = LazyLock::new(|| {
    let receipts = genuine_receipts();
    let proven = receipts
        .iter()
        .flat_map(|r| [&r.deployment_proof, &r.registration_proof])
        .map(|p| (p.header.clone(), p.tx.clone()))
        .collect();
    Genuine {
        deployments: receipts.iter().map(|r| r.deployment.clone()).collect(),
        registrations: receipts.iter().map(|r| r.registration.clone()).collect(),
        members: FIXTURE.members(),
        offers: vec![genuine_offer()],
        callbacks: vec![genuine_callback()],
        proven,
        receipts,
    }
});

impl Genuine {
    pub fn proves(&self, proof: &TxProof) -> bool {
        self.proven
            .iter()
            .any(|(h, t)| *h == proof.header && *t == proof.tx)
    }
}

/// Seeds of `receipt_verify`, `invoke_reply`, `cluster_frames`, `offchain_types` and
/// `https_response`, as `(target, name, bytes)`.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let g = &*GENUINE;

    // receipt_verify: the files, and the borsh mode.
    for (i, r) in g.receipts.iter().enumerate() {
        let file = serde_json_text(r);
        out.push(("receipt_verify", format!("file-{i}"), file.into_bytes()));
        let mut borsh = vec![RECEIPT_BORSH_MODE];
        borsh.extend_from_slice(&encode(r));
        out.push(("receipt_verify", format!("borsh-{i}"), borsh));
    }
    out.push((
        "receipt_verify",
        "no-summary".into(),
        format!(
            r#"{{"format":"{RECEIPT_FORMAT}","version":1,"receipt":"{}"}}"#,
            hex::encode(encode(&g.receipts[0]))
        )
        .into_bytes(),
    ));

    // invoke_reply: key, mode, body.
    let key = [0x33u8; 32];
    let reply_ok = InvokeReply::Ok(g.receipts[0].result.clone());
    let reply_failed = InvokeReply::Failed {
        code: arcanum_types::ErrorCode::OutOfFuel,
    };
    for (name, mode, body) in [
        ("ok-plain", 1u8, encode(&reply_ok)),
        ("failed-plain", 1, encode(&reply_failed)),
        ("other-request", 2, encode(&reply_failed)),
        ("received", 0, sealed_reply(&key, &reply_failed)),
    ] {
        let mut input = key.to_vec();
        input.push(mode);
        input.extend_from_slice(&body);
        out.push(("invoke_reply", name.into(), input));
    }

    // cluster_frames.
    let sealed = Sealed {
        enc: [5; 32],
        ciphertext: vec![6; 40],
    };
    let request = SealedRequest {
        cluster: Hash([7; 32]),
        sealed: sealed.clone(),
    };
    let frames: Vec<(&str, Vec<u8>)> = vec![
        (
            "init",
            encode_frame(
                1,
                &ClusterRequest::Init {
                    platform_secret: Some(Secret(vec![1; 32])),
                    sealed: None,
                    trust: ClusterTrust {
                        issuers: vec![FIXTURE.issuer.public_key()],
                        policy_toml: "allow_simulation = true".into(),
                        tls_roots: vec![vec![0x30, 0x82, 0x01]],
                    },
                },
            ),
        ),
        (
            "invoke",
            encode_frame(2, &ClusterRequest::Invoke { request }),
        ),
        (
            "join-complete",
            encode_frame(
                3,
                &ClusterRequest::JoinComplete {
                    offer: g.offers[0].clone(),
                    acceptance: Signature(vec![1; 64]),
                    now: 9,
                },
            ),
        ),
        (
            "ocall-return",
            encode_frame(
                arcanum_enclave_protocol::cluster::OCALL_ID_BIT | 4,
                &ClusterRequest::OcallReturn(OcallReturn::Code(Some((
                    g.deployments[0].clone(),
                    vec![1, 2, 3],
                )))),
            ),
        ),
        (
            "ocall",
            encode_frame(
                arcanum_enclave_protocol::cluster::OCALL_ID_BIT | 5,
                &ClusterResponse::Ocall(Ocall::LoadState {
                    contract_id: Hash([8; 32]),
                    key: b"k".to_vec(),
                }),
            ),
        ),
        (
            "invoked",
            encode_frame(
                6,
                &ClusterResponse::Invoked {
                    reply: vec![9; 20],
                    writes: vec![StateRecord {
                        contract_id: Hash([8; 32]),
                        key: b"k".to_vec(),
                        record: vec![1; 40],
                    }],
                },
            ),
        ),
        (
            "welcome",
            encode_frame(
                7,
                &ClusterResponse::Welcome {
                    sealed_secret: sealed,
                },
            ),
        ),
        (
            "error",
            encode_frame(
                8,
                &ClusterResponse::Error {
                    code: "STATE_ROLLBACK".into(),
                    message: "m".into(),
                },
            ),
        ),
        ("host-evidence", encode_frame(9, &HostRequest::Evidence)),
    ];
    for (name, bytes) in frames {
        out.push(("cluster_frames", name.to_owned(), bytes));
    }

    // offchain_types: one of each.
    let r = &g.receipts[0];
    let typed: Vec<(&str, Vec<u8>)> = vec![
        (
            "sealed-request",
            encode(
                &arcanum_types::offchain::wire::seal_deploy(
                    &FIXTURE.keys(),
                    &DeployRequest {
                        wasm: b"\0asm".to_vec(),
                        salt: [1; 16],
                    },
                    &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1),
                )
                .unwrap_or_else(|e| panic!("seal: {e}")),
            ),
        ),
        ("member", encode(&g.members[0])),
        ("offer", encode(&g.offers[0])),
        (
            "join-complete",
            encode(&(g.offers[0].clone(), Signature(vec![2; 64]))),
        ),
        ("deployment", encode(&r.deployment)),
        ("install", encode(&(r.deployment.clone(), vec![3u8; 50]))),
        ("registration", encode(&r.registration)),
        ("callback", encode(&g.callbacks[0])),
        ("proof-deployment", encode(&r.deployment_proof)),
        ("proof-registration", encode(&r.registration_proof)),
    ];
    for (name, bytes) in typed {
        out.push(("offchain_types", name.to_owned(), bytes));
    }

    // https_response: limits, close, two split points, then the bytes.
    let responses: [(&str, &[u8]); 5] = [
        (
            "length",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello",
        ),
        (
            "chunked",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: t\r\n\r\n",
        ),
        ("until-close", b"HTTP/1.0 200 OK\r\nServer: s\r\n\r\nabc"),
        ("status", b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        ("url", b"https://example.com:8443/price?sym=ARC"),
    ];
    for (name, bytes) in responses {
        let mut input = vec![0b1110, 1, 17, 0, 40, 0];
        input.extend_from_slice(bytes);
        out.push(("https_response", name.to_owned(), input));
    }

    // cluster_service.
    for (name, bytes) in crate::cluster::seeds() {
        out.push(("cluster_service", name, bytes));
    }
    out
}

fn serde_json_text(r: &Receipt) -> String {
    r.to_json().to_string()
}

/// The request whose replies `invoke_reply` opens.
pub fn reply_request() -> InvokeRequest {
    InvokeRequest {
        contract_id: Hash([7; 32]),
        function: "score".into(),
        input: vec![1, 2, 3],
        nonce: [9; 16],
        origin: None,
    }
}

fn sealed_reply(key: &[u8; 32], reply: &InvokeReply) -> Vec<u8> {
    use rand::SeedableRng;
    // A seeded nonce, so the seed file is the same on every run.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    match ReplyKey::from_export(key) {
        Some(k) => k.seal_reply(&reply_request().hash(), reply, &mut rng),
        None => Vec::new(),
    }
}

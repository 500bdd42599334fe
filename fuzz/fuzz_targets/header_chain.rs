//! Host input to the endorsement enclave: arbitrary bytes decoded strictly as protocol v3
//! requests (signed headers, endorse tasks with their witnesses and proofs, anything else) and
//! handled by a ready `EnclaveService` pinned to a consortium whose management and client keys
//! the fuzzer cannot sign with, hosting one peer key; and the same headers and witnesses
//! applied to a bare `HeaderChain`. No input may panic, extend the chain, have a read accepted
//! (the only verified root is the empty state's, which proves absences only) or get anything
//! signed.

#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use arcanum_crypto::keyfile::{KdfParams, seal_key_with_params};
use arcanum_crypto::{Hash, SigningKey};
use arcanum_enclave::chain::{HeaderChain, StateCache, verify_reads};
use arcanum_enclave::{EnclaveService, PlatformSource};
use arcanum_enclave_protocol::{
    EnclaveResponse, EndorseOutcome, HostRequest, HostedPeer, PROTOCOL_VERSION, Secret,
    SignedHeader, Witness, decode_frame,
};
use arcanum_ledger::{ChainConfig, Member};
use arcanum_types::{IdentityId, Role, decode};
use libfuzzer_sys::fuzz_target;

fn member(seed: u8, role: Role) -> Member {
    Member {
        id: IdentityId(Hash([seed; 32])),
        name: format!("m{seed}"),
        msp_id: "Org1".into(),
        role,
        public_key: SigningKey::from_ed25519_seed(&[seed; 32]).public_key(),
        allowed_client: role == Role::Admin || role == Role::Client,
    }
}

static CONFIG: LazyLock<ChainConfig> = LazyLock::new(|| {
    let members: BTreeMap<IdentityId, Member> = [
        member(1, Role::Orderer),
        member(2, Role::Peer),
        member(3, Role::Admin),
        member(4, Role::Client),
    ]
    .into_iter()
    .map(|m| (m.id, m))
    .collect();
    ChainConfig {
        channel: "fuzz".into(),
        orgs: vec!["Org1".into()],
        members,
        orderer: IdentityId(Hash([1; 32])),
        lifecycle_policy: arcanum_policy::Policy::parse("MAJORITY Endorsement")
            .expect("policy"),
    }
});

/// A ready enclave hosting peer 2's key (a new one per input: requests change its state).
fn enclave() -> EnclaveService {
    let s = EnclaveService::new(PlatformSource::Simulated {
        binary: b"fuzz".to_vec(),
    });
    s.handle(HostRequest::Hello {
        version: PROTOCOL_VERSION,
    });
    let peer = SigningKey::from_ed25519_seed(&[2; 32]);
    let ready = s.handle(HostRequest::Init {
        platform_secret: Some(Secret(vec![9; 32])),
        sealed_keys: None,
        peers: vec![HostedPeer {
            peer: IdentityId(Hash([2; 32])),
            public_key: peer.public_key(),
        }],
        pin: CONFIG.pin(),
    });
    assert!(matches!(ready, EnclaveResponse::Ready { .. }));
    static KEY_FILE: LazyLock<Vec<u8>> = LazyLock::new(|| {
        let peer = SigningKey::from_ed25519_seed(&[2; 32]);
        seal_key_with_params(&peer, b"pw", KdfParams::insecure_for_tests(), &mut rand::rngs::OsRng)
            .expect("seal")
    });
    s.handle(HostRequest::ImportKey {
        peer: IdentityId(Hash([2; 32])),
        key_file: KEY_FILE.clone(),
        passphrase: Secret(b"pw".to_vec()),
    });
    s
}

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = decode_frame::<HostRequest>(data) {
        let s = enclave();
        match s.handle(envelope.body) {
            EnclaveResponse::Endorsements(outcomes) => {
                for o in outcomes {
                    assert!(
                        !matches!(o, EndorseOutcome::Signed { .. }),
                        "a task nobody signed was endorsed"
                    );
                }
            }
            EnclaveResponse::Chain { height } => assert_eq!(height, 0, "a header was accepted"),
            _ => {}
        }
    }
    let Ok((headers, witnesses, height)) =
        decode::<(Vec<SignedHeader>, Vec<Witness>, u64)>(data, 1 << 20)
    else {
        return;
    };
    let Some(mut chain) = HeaderChain::new(&CONFIG) else {
        panic!("the pinned orderer has a key")
    };
    for h in &headers {
        assert!(chain.extend(h).is_err(), "a header nobody signed was accepted");
    }
    assert_eq!(chain.height(), 0);
    if let Ok(verified) = verify_reads(&chain, &StateCache::default(), height, &witnesses) {
        // Only absences (or nothing) can be proven against the empty state.
        assert!(
            verified.reads.values().all(Option::is_none),
            "a value was proven in an empty state"
        );
    }
});

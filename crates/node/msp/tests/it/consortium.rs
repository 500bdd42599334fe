use arcanum_crypto::Algorithm;
use arcanum_msp::{
    CertificateAuthority, Consortium, ConsortiumFile, EndorsementMode, MemberKind, MspError,
    OrgEntry, OrgKind, Selection,
};
use arcanum_types::{IdentityId, Role};

use crate::fixture::{Fixture, NA, NB, NOW};

#[test]
fn valid_config_resolves() {
    let f = Fixture::new();
    let c = f.load().expect("valid");
    assert_eq!(c.channel, "test");
    assert_eq!(c.lifecycle_policy, "MAJORITY Endorsement");
    assert_eq!(c.orgs(), vec!["Org1".to_owned(), "Org2".to_owned()]);
    assert_eq!(c.orderer_orgs(), vec!["MgmtOrg".to_owned()]);
    assert_eq!(c.management().name, "management");
    assert_eq!(c.management().kind, MemberKind::Management);
    assert_eq!(c.management().role, Role::Orderer);
    assert_eq!(c.endorsers().len(), 2);
    assert_eq!(
        c.endorsers()[1].hosts,
        vec!["peer0.org2".to_owned(), "peer1.org2".to_owned()]
    );
    assert_eq!(c.endorsers_hosting("peer1.org2"), vec![1]);
    assert_eq!(c.peers().len(), 4);
    let peer = c.peer_by_name("peer1.org1").expect("peer");
    assert_eq!(
        (peer.kind, peer.role, peer.msp_id.as_str()),
        (MemberKind::Peer, Role::Peer, "Org1")
    );
    assert_eq!(c.identity(&peer.id), Some(peer));
    assert!(
        !c.is_allowed_client(&peer.id),
        "a peer is not on the client allow-list"
    );
    assert!(!c.is_allowed_client(&c.management().id));
    for client in c.clients() {
        assert!(c.is_allowed_client(&client.id));
        assert_eq!(client.kind, MemberKind::Client);
        assert_eq!(client.url, None);
    }
    assert_eq!(
        c.member_by_name("admin.org2").map(|m| m.role),
        Some(Role::Admin)
    );
    assert!(!c.is_allowed_client(&IdentityId(arcanum_crypto::sha256(b"stranger"))));
    assert!(c.peer_by_name("peer9.org1").is_none());
    assert_eq!(c.org("Org1").map(|o| o.kind), Some(OrgKind::Application));
}

#[test]
fn toml_round_trip_and_load_from_path() {
    let f = Fixture::new();
    let text = f.file.to_toml().expect("toml");
    assert_eq!(
        ConsortiumFile::parse(&text, f.path()).expect("parse"),
        f.file
    );
    let path = f.path().join("consortium.toml");
    std::fs::write(&path, &text).expect("write");
    let c = Consortium::load(&path, NOW).expect("load");
    assert_eq!(c.peers().len(), 4);
    let parsed = Consortium::parse(&text, f.path(), NOW).expect("parse");
    assert_eq!(parsed.management().id, c.management().id);
    // Unknown keys are rejected, not ignored.
    let bad = text.replace("channel = ", "chanel = ");
    assert!(matches!(
        Consortium::parse(&bad, f.path(), NOW),
        Err(MspError::Toml { .. })
    ));
    assert!(matches!(
        Consortium::load(&f.path().join("missing.toml"), NOW),
        Err(MspError::Io { .. })
    ));
}

#[test]
fn documented_toml_example_parses() {
    let text = r#"
channel = "arcanum-devnet"
lifecycle_policy = "MAJORITY Endorsement"

[endorsement]
mode = "replicated"
selection = "round-robin"
sequence = [[0], [0, 1]]
timeout_ms = 3000
retries = 1

[block]
max_txs = 100
max_bytes = 1048576
timeout_ms = 50

[[orgs]]
msp_id = "MgmtOrg"
ca_cert = "orgs/MgmtOrg/ca.pem"
kind = "orderer"

[[orgs]]
msp_id = "Org1"
ca_cert = "orgs/Org1/ca.pem"

[management]
name = "management"
msp_id = "MgmtOrg"
cert = "orgs/MgmtOrg/management.pem"
url = "http://127.0.0.1:7050"

[[endorsers]]
name = "endorser0"
msp_id = "MgmtOrg"
cert = "orgs/MgmtOrg/endorser0.pem"
url = "http://127.0.0.1:7051"
hosts = ["peer0.org1"]

[[peers]]
name = "peer0.org1"
msp_id = "Org1"
cert = "orgs/Org1/peer0.org1.pem"
url = "http://127.0.0.1:7053"

[[clients]]
name = "client0.org1"
msp_id = "Org1"
cert = "orgs/Org1/client0.org1.pem"
"#;
    let f = ConsortiumFile::parse(text, std::path::Path::new("doc")).expect("parse");
    assert_eq!(f.endorsement.mode, EndorsementMode::Replicated);
    assert_eq!(f.endorsement.selection, Selection::RoundRobin);
    assert_eq!(f.endorsement.sequence, vec![vec![0], vec![0, 1]]);
    assert_eq!(f.block.max_txs, 100);
    assert_eq!(f.orgs[0].kind, OrgKind::Orderer);
    assert_eq!(f.orgs[1].kind, OrgKind::Application);
    assert_eq!(f.endorsers[0].hosts, vec!["peer0.org1".to_owned()]);
}

fn entry_of(e: &MspError) -> Option<&str> {
    match e {
        MspError::UnknownOrg { entry, .. }
        | MspError::WrongOrgKind { entry, .. }
        | MspError::CertNotFromOrg { entry, .. }
        | MspError::MspMismatch { entry, .. }
        | MspError::NameMismatch { entry, .. }
        | MspError::WrongRole { entry, .. }
        | MspError::EntryCertificate { entry, .. }
        | MspError::EmptyField { entry, .. } => Some(entry),
        _ => None,
    }
}

#[test]
fn org_errors() {
    let mut f = Fixture::new();
    f.file.orgs.push(f.file.orgs[1].clone());
    assert!(matches!(f.load(), Err(MspError::DuplicateOrg { msp_id }) if msp_id == "Org1"));

    let mut f = Fixture::new();
    f.file.orgs[2].msp_id = "Org_2".into();
    assert!(matches!(f.load(), Err(MspError::InvalidMspId { msp_id }) if msp_id == "Org_2"));

    let mut f = Fixture::new();
    f.file.orgs.clear();
    assert!(matches!(f.load(), Err(MspError::Missing { what: "orgs" })));

    // Org2 pointing at Org1's CA certificate.
    let mut f = Fixture::new();
    f.file.orgs[2].ca_cert = f.file.orgs[1].ca_cert.clone();
    assert!(
        matches!(f.load(), Err(MspError::CaMspMismatch { msp_id, in_cert }) if msp_id == "Org2" && in_cert == "Org1")
    );

    // A leaf certificate as a CA.
    let mut f = Fixture::new();
    f.file.orgs[1].ca_cert = f.file.peers[0].cert.clone();
    let err = f.load().expect_err("leaf as CA");
    assert!(
        matches!(&err, MspError::InvalidCa { msp_id, source } if msp_id == "Org1" && matches!(**source, MspError::IssuerNotCa)),
        "{err}"
    );

    let mut f = Fixture::new();
    f.file.orgs[1].ca_cert = "nope.pem".into();
    assert!(
        matches!(f.load(), Err(MspError::InvalidCa { source, .. }) if matches!(*source, MspError::Io { .. }))
    );

    // The consortium loaded after every CA expired.
    let f = Fixture::new();
    assert!(
        matches!(f.load_at(NA + 1), Err(MspError::InvalidCa { source, .. }) if matches!(*source, MspError::Expired { .. }))
    );

    // An entry whose org is not declared, or of the wrong kind.
    let mut f = Fixture::new();
    f.file.peers[0].msp_id = "Org9".into();
    assert!(
        matches!(f.load(), Err(MspError::UnknownOrg { entry, msp_id }) if entry == "peers[peer0.org1]" && msp_id == "Org9")
    );
    let mut f = Fixture::new();
    f.file.management.msp_id = "Org1".into();
    assert!(
        matches!(f.load(), Err(MspError::WrongOrgKind { entry, expected: "orderer", .. }) if entry == "management[management]")
    );
    let mut f = Fixture::new();
    f.file.orgs[2].kind = OrgKind::Orderer;
    assert!(matches!(
        f.load(),
        Err(MspError::WrongOrgKind {
            expected: "application",
            ..
        })
    ));
}

#[test]
fn certificate_from_another_ca_is_rejected() {
    // A peer of Org1 certified by Org2's CA: its O says Org2.
    let mut f = Fixture::new();
    f.file.peers[0].cert = f.cert("Org2", "peer0.org1", Role::Peer);
    assert!(
        matches!(f.load(), Err(MspError::MspMismatch { entry, declared, in_cert })
        if entry == "peers[peer0.org1]" && declared == "Org1" && in_cert == "Org2")
    );

    // An impostor CA calling itself Org1.
    let mut f = Fixture::new();
    let impostor =
        CertificateAuthority::generate("Org1", Algorithm::Ed25519, NB, NA, f.rng()).expect("ca");
    f.file.clients[0].cert = f.cert_by(&impostor, "client0.org1", Role::Client);
    let err = f.load().expect_err("impostor");
    assert!(
        matches!(&err, MspError::CertNotFromOrg { entry, msp_id, source }
            if entry == "clients[client0.org1]" && msp_id == "Org1" && matches!(**source, MspError::BadCertificateSignature)),
        "{err}"
    );
}

#[test]
fn expired_and_not_yet_valid_members_are_rejected() {
    let mut f = Fixture::new();
    f.file.peers[1].cert = f.cert_window("Org1", "peer1.org1", Role::Peer, NB, NOW - 1);
    let err = f.load().expect_err("expired");
    assert!(
        matches!(&err, MspError::CertNotFromOrg { source, .. } if matches!(**source, MspError::Expired { .. })),
        "{err}"
    );
    assert_eq!(entry_of(&err), Some("peers[peer1.org1]"));

    let mut f = Fixture::new();
    f.file.endorsers[0].cert = f.cert_window("MgmtOrg", "endorser0", Role::Orderer, NOW + 1, NA);
    let err = f.load().expect_err("not yet valid");
    assert!(
        matches!(&err, MspError::CertNotFromOrg { source, .. } if matches!(**source, MspError::NotYetValid { .. })),
        "{err}"
    );
    assert_eq!(entry_of(&err), Some("endorsers[endorser0]"));
}

#[test]
fn wrong_ou_for_slot_is_rejected() {
    let cases: [(&str, Role); 5] = [
        ("peer", Role::Client),
        ("client", Role::Peer),
        ("client", Role::Orderer),
        ("management", Role::Peer),
        ("endorser", Role::Admin),
    ];
    for (slot, role) in cases {
        let mut f = Fixture::new();
        let expected_entry = match slot {
            "peer" => {
                f.file.peers[0].cert = f.cert("Org1", "peer0.org1", role);
                "peers[peer0.org1]"
            }
            "client" => {
                f.file.clients[0].cert = f.cert("Org1", "client0.org1", role);
                "clients[client0.org1]"
            }
            "management" => {
                f.file.management.cert = f.cert("MgmtOrg", "management", role);
                "management[management]"
            }
            _ => {
                f.file.endorsers[1].cert = f.cert("MgmtOrg", "endorser1", role);
                "endorsers[endorser1]"
            }
        };
        let err = f.load().expect_err("wrong role");
        assert!(
            matches!(&err, MspError::WrongRole { entry, role: r, .. } if entry == expected_entry && *r == role),
            "{slot}: {err}"
        );
    }
    // Admins are allowed as clients.
    let mut f = Fixture::new();
    f.file.clients[0].cert = f.cert("Org1", "client0.org1", Role::Admin);
    let c = f.load().expect("admin client");
    assert_eq!(c.clients()[0].role, Role::Admin);
}

#[test]
fn entry_errors() {
    let mut f = Fixture::new();
    f.file.peers[0].name = "peerX".into();
    f.file.endorsers[0].hosts[0] = "peerX".into();
    assert!(
        matches!(f.load(), Err(MspError::NameMismatch { entry, declared, in_cert })
        if entry == "peers[peerX]" && declared == "peerX" && in_cert == "peer0.org1")
    );

    let mut f = Fixture::new();
    f.file.clients.push(f.file.clients[0].clone());
    assert!(matches!(f.load(), Err(MspError::DuplicateName { name }) if name == "client0.org1"));

    // The same name in two different slots (a client named like a peer).
    let mut f = Fixture::new();
    let cert = f.cert("Org1", "peer0.org1", Role::Client);
    f.file.clients[0].name = "peer0.org1".into();
    f.file.clients[0].cert = cert;
    assert!(matches!(f.load(), Err(MspError::DuplicateName { name }) if name == "peer0.org1"));

    let mut f = Fixture::new();
    f.file.peers[2].url.clear();
    assert!(
        matches!(f.load(), Err(MspError::EmptyField { entry, field: "url" }) if entry == "peers[peer0.org2]")
    );
    let mut f = Fixture::new();
    f.file.clients[1].name.clear();
    assert!(matches!(
        f.load(),
        Err(MspError::EmptyField { field: "name", .. })
    ));
    let mut f = Fixture::new();
    f.file.channel.clear();
    assert!(matches!(
        f.load(),
        Err(MspError::EmptyField {
            field: "channel",
            ..
        })
    ));
    let mut f = Fixture::new();
    f.file.lifecycle_policy = " ".into();
    assert!(matches!(
        f.load(),
        Err(MspError::EmptyField {
            field: "lifecycle_policy",
            ..
        })
    ));

    let mut f = Fixture::new();
    f.file.peers[0].cert = "missing.pem".into();
    assert!(
        matches!(f.load(), Err(MspError::EntryCertificate { entry, source })
        if entry == "peers[peer0.org1]" && matches!(*source, MspError::Io { .. }))
    );
    let mut f = Fixture::new();
    f.file.peers[0].cert = f.write_pem("junk.pem", "hello");
    assert!(
        matches!(f.load(), Err(MspError::EntryCertificate { source, .. }) if matches!(*source, MspError::NotPemCertificate))
    );

    let mut f = Fixture::new();
    f.file.endorsers.clear();
    assert!(matches!(
        f.load(),
        Err(MspError::Missing { what: "endorsers" })
    ));
    let mut f = Fixture::new();
    f.file.peers.clear();
    for e in &mut f.file.endorsers {
        e.hosts.clear();
    }
    assert!(matches!(f.load(), Err(MspError::Missing { what: "peers" })));
}

#[test]
fn hosting_errors() {
    let mut f = Fixture::new();
    f.file.endorsers[0].hosts.push("peer7.org1".into());
    assert!(
        matches!(f.load(), Err(MspError::UnknownHostedPeer { endorser, peer }) if endorser == "endorser0" && peer == "peer7.org1")
    );

    let mut f = Fixture::new();
    f.file.endorsers[0].hosts.push("peer0.org1".into());
    assert!(
        matches!(f.load(), Err(MspError::DuplicateHostedPeer { endorser, peer }) if endorser == "endorser0" && peer == "peer0.org1")
    );

    let mut f = Fixture::new();
    f.file.endorsers[1].hosts.push("peer0.org1".into());
    assert!(
        matches!(f.load(), Err(MspError::PeerHostedTwice { peer, first, second })
        if peer == "peer0.org1" && first == "endorser0" && second == "endorser1")
    );

    let mut f = Fixture::new();
    f.file.endorsers[1].hosts.pop();
    assert!(matches!(f.load(), Err(MspError::PeerNotHosted { peer }) if peer == "peer1.org2"));

    // Replicated: every endorser must host every peer.
    let mut f = Fixture::new();
    f.file.endorsement.mode = EndorsementMode::Replicated;
    assert!(
        matches!(f.load(), Err(MspError::EndorserMissingPeer { endorser, peer }) if endorser == "endorser0" && peer == "peer0.org2")
    );
    let all: Vec<String> = f.file.peers.iter().map(|p| p.name.clone()).collect();
    for e in &mut f.file.endorsers {
        e.hosts = all.clone();
    }
    let c = f.load().expect("replicated");
    assert_eq!(c.endorsers_hosting("peer1.org2"), vec![0, 1]);
}

#[test]
fn endorsement_settings_errors() {
    let replicated = || {
        let mut f = Fixture::new();
        f.file.endorsement.mode = EndorsementMode::Replicated;
        let all: Vec<String> = f.file.peers.iter().map(|p| p.name.clone()).collect();
        for e in &mut f.file.endorsers {
            e.hosts = all.clone();
        }
        f.file.endorsement.selection = Selection::RoundRobin;
        f
    };
    // Default sequence: one endorser per step.
    let c = replicated().load().expect("round robin");
    assert_eq!(c.endorsement.sequence, vec![vec![0], vec![1]]);

    let mut f = replicated();
    f.file.endorsement.sequence = vec![vec![0], vec![0, 1]];
    assert_eq!(
        f.load().expect("explicit").endorsement.sequence,
        vec![vec![0], vec![0, 1]]
    );
    f.file.endorsement.sequence = vec![vec![0], vec![1, 2]];
    assert!(matches!(
        f.load(),
        Err(MspError::SequenceIndexOutOfRange {
            step: 1,
            index: 2,
            endorsers: 2
        })
    ));
    f.file.endorsement.sequence = vec![vec![0], vec![]];
    assert!(matches!(
        f.load(),
        Err(MspError::EmptySequenceStep { step: 1 })
    ));
    f.file.endorsement.sequence = vec![vec![1, 1]];
    assert!(matches!(
        f.load(),
        Err(MspError::SequenceDuplicateIndex { step: 0, index: 1 })
    ));
    f.file.endorsement.sequence = vec![vec![0]];
    f.file.endorsement.selection = Selection::Load;
    assert!(matches!(f.load(), Err(MspError::SequenceNotApplicable)));

    let mut f = Fixture::new();
    f.file.endorsement.sequence = vec![vec![0]];
    f.file.endorsement.selection = Selection::RoundRobin;
    assert!(
        matches!(f.load(), Err(MspError::SequenceNotApplicable)),
        "partitioned mode has no sequence"
    );

    let mut f = Fixture::new();
    f.file.endorsement.timeout_ms = 0;
    assert!(matches!(
        f.load(),
        Err(MspError::InvalidSetting {
            field: "endorsement.timeout_ms",
            ..
        })
    ));
}

#[test]
fn block_settings_errors() {
    for (field, set) in [
        (
            "block.max_txs",
            (|f: &mut ConsortiumFile| f.block.max_txs = 0) as fn(&mut ConsortiumFile),
        ),
        ("block.max_bytes", |f| f.block.max_bytes = 0),
        ("block.max_bytes", |f| {
            f.block.max_bytes = arcanum_types::limits::MAX_BLOCK_BYTES as u64 + 1
        }),
        ("block.timeout_ms", |f| f.block.timeout_ms = 0),
    ] {
        let mut f = Fixture::new();
        set(&mut f.file);
        assert!(
            matches!(f.load(), Err(MspError::InvalidSetting { field: got, .. }) if got == field),
            "{field}"
        );
    }
}

#[test]
fn org_entry_defaults_to_application() {
    let e: OrgEntry = toml::from_str("msp_id = \"X\"\nca_cert = \"x.pem\"").expect("parse");
    assert_eq!(e.kind, OrgKind::Application);
}

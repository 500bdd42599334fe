use std::collections::BTreeSet;

use arcanum_crypto::Algorithm;
use arcanum_msp::{
    Consortium, DevnetLayout, DevnetSpec, EndorsementMode, MemberKind, MspError, NodeConfig,
    NodeRole, Passphrase, Selection, generate_devnet, load_client_key, read_key_file,
    read_passphrase,
};
use arcanum_types::Role;

use crate::fixture::{NOW, rng};

fn generate(spec: &DevnetSpec) -> (tempfile::TempDir, DevnetLayout) {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = generate_devnet(&dir.path().join("net"), spec, NOW, &mut rng(42)).expect("devnet");
    (dir, layout)
}

#[test]
fn default_devnet_loads_back() {
    let spec = DevnetSpec::default();
    let (_tmp, layout) = generate(&spec);
    let c = Consortium::load(&layout.consortium, NOW).expect("consortium validates");
    assert_eq!(c.channel, "arcanum-devnet");
    assert_eq!(c.orgs(), vec!["Org1".to_owned(), "Org2".to_owned()]);
    assert_eq!(c.orderer_orgs(), vec!["MgmtOrg".to_owned()]);
    assert_eq!(c.endorsement.mode, EndorsementMode::Partitioned);
    let peers: Vec<&str> = c.peers().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        peers,
        ["peer0.org1", "peer1.org1", "peer0.org2", "peer1.org2"]
    );
    // Partitioned: contiguous split, one org per endorser.
    assert_eq!(c.endorsers()[0].hosts, ["peer0.org1", "peer1.org1"]);
    assert_eq!(c.endorsers()[1].hosts, ["peer0.org2", "peer1.org2"]);

    // Layout: JSON on disk equals the returned value; ports from base_port, in order.
    assert_eq!(
        DevnetLayout::load(&layout.dir).expect("layout.json"),
        layout
    );
    let ports: Vec<u16> = layout.nodes.iter().map(|n| n.listen.port()).collect();
    assert_eq!(ports, (7050..7057).collect::<Vec<_>>());
    assert_eq!(
        layout.node("management").map(|n| n.url.as_str()),
        Some("http://127.0.0.1:7050")
    );
    assert_eq!(
        c.peer_by_name("peer1.org2").and_then(|p| p.url.as_deref()),
        Some("http://127.0.0.1:7056")
    );

    // Allow-list: every client and admin, not the unlisted client.
    let allowed: BTreeSet<&str> = c.clients().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        allowed,
        BTreeSet::from(["client0.org1", "admin.org1", "client0.org2", "admin.org2"])
    );
    for cl in &layout.clients {
        assert_eq!(c.is_allowed_client(&cl.id), cl.allowed, "{}", cl.name);
    }
    let unlisted = layout.client("unlisted.org1").expect("unlisted client");
    assert!(!unlisted.allowed);
    assert!(c.identity(&unlisted.id).is_none());
    assert_eq!(
        c.member_by_name("admin.org1").map(|m| m.role),
        Some(Role::Admin)
    );

    // Client key material for the SDK, including the unlisted one.
    let me = load_client_key(&layout.dir, "client0.org2").expect("client");
    assert_eq!((me.msp_id.as_str(), me.role), ("Org2", Role::Client));
    assert_eq!(
        c.identity(&me.id).map(|m| &m.public_key),
        Some(&me.key.public_key())
    );
    let stranger = load_client_key(&layout.dir, "unlisted.org1").expect("unlisted");
    assert_eq!(stranger.id, unlisted.id);
    assert_eq!(stranger.msp_id, "Org1");
    assert!(matches!(
        load_client_key(&layout.dir, "nobody"),
        Err(MspError::UnknownClient { .. })
    ));
}

#[test]
fn node_configs_open_their_keys() {
    let (_tmp, layout) = generate(&DevnetSpec::default());
    let mut hosted_total = BTreeSet::new();
    for n in &layout.nodes {
        let cfg = NodeConfig::load(&n.config).expect("node config");
        assert_eq!(
            (cfg.role, cfg.name.as_str(), cfg.listen),
            (n.role, n.name.as_str(), n.listen)
        );
        assert!(cfg.data_dir.is_dir(), "data dir created");
        let c = cfg
            .load_consortium(NOW)
            .expect("consortium via node config");
        match cfg.role {
            NodeRole::Management => {
                let pass = cfg.passphrase().expect("passphrase");
                let key = cfg.load_own_key(&c, &pass).expect("block-signing key");
                assert_eq!(key.public_key(), c.management().public_key);
            }
            NodeRole::Endorser => {
                let pass = cfg.passphrase().expect("passphrase");
                let key = cfg.load_own_key(&c, &pass).expect("device key");
                let me = c.endorser_by_name(&cfg.name).expect("endorser");
                assert_eq!(key.public_key(), me.member.public_key);
                let hosted = cfg.load_hosted_keys(&c, &pass).expect("hosted keys");
                assert_eq!(hosted.len(), me.hosts.len());
                for (peer, k) in &hosted {
                    assert_eq!(
                        Some(&k.public_key()),
                        c.peer_by_name(peer).map(|p| &p.public_key)
                    );
                    assert!(
                        hosted_total.insert(peer.clone()),
                        "partitioned: {peer} hosted once"
                    );
                }
            }
            NodeRole::Attestation => {
                let pass = cfg.passphrase().expect("passphrase");
                let key = cfg.load_own_key(&c, &pass).expect("report-signing key");
                assert_eq!(
                    Some(key.public_key()),
                    c.attestation().map(|a| a.member.public_key.clone())
                );
            }
            NodeRole::Tee | NodeRole::Oracle => {
                unreachable!("the default devnet has no TEE nodes or oracle")
            }
            NodeRole::Peer => {
                assert_eq!(cfg.key, None);
                assert_eq!(
                    c.identity(&c.peer_by_name(&cfg.name).expect("peer").id)
                        .map(|m| m.kind),
                    Some(MemberKind::Peer)
                );
            }
        }
    }
    assert_eq!(hosted_total.len(), 4, "every peer is hosted");
}

#[test]
fn replicated_devnet_hosts_every_key_everywhere() {
    let spec = DevnetSpec {
        orgs: vec!["Org1".into()],
        peers_per_org: 2,
        endorsers: 3,
        mode: EndorsementMode::Replicated,
        selection: Selection::RoundRobin,
        sequence: vec![vec![0], vec![1, 2]],
        clients_per_org: 0,
        extra_unlisted_client: false,
        ..DevnetSpec::default()
    };
    let (_tmp, layout) = generate(&spec);
    let c = Consortium::load(&layout.consortium, NOW).expect("valid");
    assert_eq!(c.endorsement.sequence, vec![vec![0], vec![1, 2]]);
    assert_eq!(layout.clients.len(), 1, "only the admin");
    let pass = read_passphrase(&layout.passphrase_file).expect("passphrase");
    for n in layout.nodes.iter().filter(|n| n.role == NodeRole::Endorser) {
        let cfg = NodeConfig::load(&n.config).expect("config");
        let hosted = cfg.load_hosted_keys(&c, &pass).expect("hosted");
        assert_eq!(
            hosted.keys().cloned().collect::<Vec<_>>(),
            ["peer0.org1", "peer1.org1"]
        );
    }
}

#[test]
fn p256_devnet_loads_back() {
    let spec = DevnetSpec {
        orgs: vec!["Org1".into()],
        peers_per_org: 1,
        endorsers: 1,
        algorithm: Algorithm::P256,
        ..DevnetSpec::default()
    };
    let (_tmp, layout) = generate(&spec);
    let c = Consortium::load(&layout.consortium, NOW).expect("valid");
    assert_eq!(c.peers()[0].public_key.algorithm, Algorithm::P256);
    let cfg =
        NodeConfig::load(&layout.node("endorser0").expect("endorser").config).expect("config");
    let pass = cfg.passphrase().expect("passphrase");
    assert_eq!(cfg.load_hosted_keys(&c, &pass).expect("hosted").len(), 1);
    let me = load_client_key(&layout.dir, "client0.org1").expect("client");
    assert!(
        c.is_allowed_client(&me.id),
        "ECDSA certs are randomized: the layout id must be the written cert's"
    );
}

#[test]
fn key_material_is_protected() {
    let (_tmp, layout) = generate(&DevnetSpec::default());
    let pass = read_passphrase(&layout.passphrase_file).expect("passphrase");
    assert_eq!(pass.as_bytes().len(), 64);
    assert!(!format!("{pass:?}").contains(std::str::from_utf8(pass.as_bytes()).expect("hex")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&layout.passphrase_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let client = layout.client("client0.org1").expect("client");
        let mode = std::fs::metadata(&client.key)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A peer's key exists only in its endorser's hosted dir, never next to its certificate.
    assert!(!layout.dir.join("orgs/Org1/peer0.org1.key").exists());
    assert!(layout.dir.join("orgs/Org1/peer0.org1.pem").exists());
    assert!(
        layout
            .dir
            .join("endorsers/endorser0/hosted/peer0.org1.key")
            .exists()
    );
    assert!(
        !layout
            .dir
            .join("endorsers/endorser1/hosted/peer0.org1.key")
            .exists()
    );

    // Wrong passphrase.
    let client = layout.client("client0.org1").expect("client");
    let wrong = Passphrase::new(b"wrong".to_vec());
    assert!(matches!(
        read_key_file(&client.key, &wrong),
        Err(MspError::KeyFileOpen { .. })
    ));
    // A CA key opens and matches its certificate.
    let org1 = layout
        .orgs
        .iter()
        .find(|o| o.msp_id == "Org1")
        .expect("org1");
    let ca_key = read_key_file(&org1.ca_key, &pass).expect("ca key");
    let ca_pem = std::fs::read_to_string(&org1.ca_cert).expect("ca cert");
    let ca = arcanum_msp::CertificateAuthority::from_parts(
        &arcanum_msp::pem_to_der(&ca_pem).expect("pem"),
        ca_key,
    )
    .expect("CA reloads from the devnet files");
    assert_eq!(ca.msp_id(), "Org1");
}

#[test]
fn swapped_hosted_key_is_detected() {
    let (_tmp, layout) = generate(&DevnetSpec::default());
    let hosted = layout.dir.join("endorsers/endorser0/hosted");
    std::fs::copy(hosted.join("peer1.org1.key"), hosted.join("peer0.org1.key")).expect("swap");
    let cfg =
        NodeConfig::load(&layout.node("endorser0").expect("endorser").config).expect("config");
    let c = cfg.load_consortium(NOW).expect("consortium");
    let pass = cfg.passphrase().expect("passphrase");
    assert!(
        matches!(cfg.load_hosted_keys(&c, &pass), Err(MspError::KeyCertMismatch { name }) if name == "peer0.org1")
    );
    // An endorser config cannot open the management key as its own.
    let mut wrong = cfg.clone();
    wrong.key = NodeConfig::load(&layout.node("management").expect("mgmt").config)
        .expect("config")
        .key;
    assert!(matches!(
        wrong.load_own_key(&c, &pass),
        Err(MspError::KeyCertMismatch { .. })
    ));
    let mut stranger = cfg;
    stranger.name = "endorser9".into();
    assert!(matches!(
        stranger.load_own_key(&c, &pass),
        Err(MspError::NodeNotInConsortium { .. })
    ));
}

#[test]
fn bad_specs_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: Vec<DevnetSpec> = vec![
        DevnetSpec {
            orgs: vec![],
            ..DevnetSpec::default()
        },
        DevnetSpec {
            orgs: vec!["Org 1".into()],
            ..DevnetSpec::default()
        },
        DevnetSpec {
            orgs: vec!["../x".into()],
            ..DevnetSpec::default()
        },
        DevnetSpec {
            orgs: vec!["Org_1".into()],
            ..DevnetSpec::default()
        },
        DevnetSpec {
            orgs: vec!["Org1".into(), "org1".into()],
            ..DevnetSpec::default()
        },
        DevnetSpec {
            orgs: vec!["MgmtOrg".into()],
            ..DevnetSpec::default()
        },
        DevnetSpec {
            peers_per_org: 0,
            ..DevnetSpec::default()
        },
        DevnetSpec {
            endorsers: 0,
            ..DevnetSpec::default()
        },
        DevnetSpec {
            endorsers: 5,
            ..DevnetSpec::default()
        },
        DevnetSpec {
            base_port: u16::MAX - 3,
            ..DevnetSpec::default()
        },
        DevnetSpec {
            validity_secs: 0,
            ..DevnetSpec::default()
        },
        // TEE nodes need an attestation service; the oracle needs a TEE node.
        DevnetSpec {
            tee_nodes: 3,
            ..DevnetSpec::default()
        },
        DevnetSpec {
            oracle: true,
            ..DevnetSpec::default()
        },
        DevnetSpec {
            tee_nodes: 1,
            attestation: Some(arcanum_msp::DevnetAttestation {
                allow_simulation: true,
                endorser_measurements: vec![],
            }),
            cluster_measurements: vec!["not hex".into()],
            ..DevnetSpec::default()
        },
    ];
    for spec in cases {
        let res = generate_devnet(&dir.path().join("x"), &spec, NOW, &mut rng(1));
        assert!(matches!(res, Err(MspError::DevnetSpec(_))), "{spec:?}");
    }
    assert!(
        !dir.path().join("x").exists(),
        "nothing written for a bad spec"
    );
}

#[test]
fn tee_devnet_has_a_genesis_node_joiners_and_an_oracle() {
    let measurement = "ab".repeat(32);
    let spec = DevnetSpec {
        attestation: Some(arcanum_msp::DevnetAttestation {
            allow_simulation: true,
            endorser_measurements: vec![],
        }),
        tee_nodes: 3,
        oracle: true,
        cluster_measurements: vec![measurement.clone()],
        ..DevnetSpec::default()
    };
    let (_tmp, layout) = generate(&spec);
    let c = Consortium::load(&layout.consortium, NOW).expect("valid");
    assert_eq!(
        c.attestation()
            .map(|a| a.settings.cluster_measurements.clone()),
        Some(vec![measurement])
    );
    let tees: Vec<_> = layout
        .nodes
        .iter()
        .filter(|n| n.role == NodeRole::Tee)
        .collect();
    assert_eq!(
        tees.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
        ["tee0", "tee1", "tee2"]
    );
    let ports: BTreeSet<u16> = layout.nodes.iter().map(|n| n.listen.port()).collect();
    assert_eq!(
        ports.len(),
        layout.nodes.len(),
        "every node has its own port"
    );
    let mgmt_url = layout.nodes[0].url.clone();
    for (i, n) in tees.iter().enumerate() {
        let cfg = NodeConfig::load(&n.config).expect("tee config");
        assert_eq!(cfg.role, NodeRole::Tee);
        // The first node creates the cluster; the others join through it.
        assert_eq!(
            cfg.bootstrap,
            (i > 0).then(|| tees[0].url.clone()),
            "{}",
            n.name
        );
        let mut others: Vec<String> = tees
            .iter()
            .filter(|t| t.name != n.name)
            .map(|t| t.url.clone())
            .collect();
        others.sort();
        let mut listed = cfg.cluster_peers.clone();
        listed.sort();
        assert_eq!(listed, others, "{} lists every other member", n.name);
        assert_eq!(cfg.management_url.as_deref(), Some(mgmt_url.as_str()));
        assert!(cfg.peer_url.is_some());
        let admin = cfg.load_client_identity().expect("admin identity");
        assert_eq!(admin.role, arcanum_types::Role::Admin);
        assert_eq!(n.msp_id, admin.msp_id);
        assert!(
            cfg.load_own_key(&c, &cfg.passphrase().expect("pass"))
                .is_err()
        );
    }
    let oracle = layout.node("oracle").expect("oracle");
    let cfg = NodeConfig::load(&oracle.config).expect("oracle config");
    assert_eq!(cfg.role, NodeRole::Oracle);
    assert_eq!(cfg.tee_url.as_deref(), Some(tees[0].url.as_str()));
    let client = cfg.load_client_identity().expect("client identity");
    assert_eq!(client.role, arcanum_types::Role::Client);
    assert!(c.is_allowed_client(&client.id));
}

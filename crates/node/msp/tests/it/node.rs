use std::path::Path;

use arcanum_msp::{MspError, NodeConfig, NodeRole};

#[test]
fn endorser_config_resolves_relative_paths() {
    let text = r#"
role = "endorser"
name = "endorser0"
listen = "127.0.0.1:7051"
data_dir = "../data/endorser0"
consortium = "../consortium.toml"
key = "/abs/endorser0.key"
hosted_keys_dir = "../endorsers/endorser0/hosted"
passphrase_file = "../passphrase"
"#;
    let c = NodeConfig::parse(text, Path::new("/net/nodes")).expect("parse");
    assert_eq!(c.role, NodeRole::Endorser);
    assert_eq!(c.name, "endorser0");
    assert_eq!(c.listen.port(), 7051);
    assert_eq!(c.data_dir, Path::new("/net/nodes/../data/endorser0"));
    assert_eq!(c.consortium, Path::new("/net/nodes/../consortium.toml"));
    assert_eq!(
        c.key.as_deref(),
        Some(Path::new("/abs/endorser0.key")),
        "absolute paths stay"
    );
    assert_eq!(
        c.hosted_keys_dir.as_deref(),
        Some(Path::new("/net/nodes/../endorsers/endorser0/hosted"))
    );
    assert_eq!(
        c.passphrase_file.as_deref(),
        Some(Path::new("/net/nodes/../passphrase"))
    );
}

#[test]
fn peer_config_needs_no_key() {
    let text = "role = \"peer\"\nname = \"peer0.org1\"\nlisten = \"127.0.0.1:7053\"\ndata_dir = \"d\"\nconsortium = \"c.toml\"\n";
    let c = NodeConfig::parse(text, Path::new("/x")).expect("parse");
    assert_eq!((c.role, c.key.clone()), (NodeRole::Peer, None));
    assert!(matches!(
        c.passphrase(),
        Err(MspError::NodeFieldMissing {
            role: "peer",
            field: "passphrase_file"
        })
    ));
    // Written and read back.
    let again = NodeConfig::parse(&c.to_toml().expect("toml"), Path::new("/y")).expect("reparse");
    assert_eq!(again, c, "absolute paths survive a round trip");
}

#[test]
fn missing_fields_are_named() {
    let base = "name = \"n\"\nlisten = \"127.0.0.1:1\"\ndata_dir = \"d\"\nconsortium = \"c\"\n";
    let cases = [
        (
            "role = \"management\"\npassphrase_file = \"p\"\n",
            "management",
            "key",
        ),
        (
            "role = \"management\"\nkey = \"k\"\n",
            "management",
            "passphrase_file",
        ),
        (
            "role = \"endorser\"\nkey = \"k\"\npassphrase_file = \"p\"\n",
            "endorser",
            "hosted_keys_dir",
        ),
        (
            "role = \"tee\"\nclient_key = \"k\"\npassphrase_file = \"p\"\n",
            "tee",
            "client_cert",
        ),
        (
            "role = \"tee\"\nclient_cert = \"c\"\nclient_key = \"k\"\n",
            "tee",
            "passphrase_file",
        ),
        (
            "role = \"oracle\"\nclient_cert = \"c\"\nclient_key = \"k\"\npassphrase_file = \"p\"\ntee_url = \"http://t\"\n",
            "oracle",
            "peer_url",
        ),
        (
            "role = \"oracle\"\nclient_cert = \"c\"\nclient_key = \"k\"\npassphrase_file = \"p\"\npeer_url = \"http://p\"\n",
            "oracle",
            "tee_url",
        ),
    ];
    for (extra, role, field) in cases {
        let err =
            NodeConfig::parse(&format!("{base}{extra}"), Path::new("/")).expect_err("missing");
        assert!(
            matches!(err, MspError::NodeFieldMissing { role: r, field: f } if r == role && f == field),
            "{err}"
        );
    }
    assert!(matches!(
        NodeConfig::parse(&format!("{base}role = \"miner\"\n"), Path::new("/")),
        Err(MspError::Toml { .. })
    ));
    assert!(matches!(
        NodeConfig::parse(
            &format!("{base}role = \"peer\"\nkeys = \"k\"\n"),
            Path::new("/")
        ),
        Err(MspError::Toml { .. })
    ));
    assert!(matches!(
        NodeConfig::parse(
            &format!(
                "{}role = \"peer\"\n",
                base.replace("127.0.0.1:1", "localhost")
            ),
            Path::new("/")
        ),
        Err(MspError::Toml { .. })
    ));
    assert!(matches!(
        NodeConfig::load(Path::new("/nonexistent/node.toml")),
        Err(MspError::Io { .. })
    ));
}

#[test]
fn tee_config_resolves_its_paths_and_keeps_unknown_fields_out() {
    let text = r#"
role = "tee"
name = "tee1"
listen = "127.0.0.1:7060"
data_dir = "../data/tee1"
consortium = "../consortium.toml"
passphrase_file = "../passphrase"
enclave_binary = "/opt/arcanum-cluster-enclave"
bootstrap = "http://127.0.0.1:7059"
cluster_peers = ["http://127.0.0.1:7059", "http://127.0.0.1:7061"]
management_url = "http://127.0.0.1:7050"
peer_url = "http://127.0.0.1:7053"
client_cert = "../orgs/Org1/admin.org1.pem"
client_key = "../orgs/Org1/admin.org1.key"
tls_roots = ["roots/test-ca.pem", "/abs/other.der"]
"#;
    let c = NodeConfig::parse(text, Path::new("/net/nodes")).expect("parse");
    assert_eq!(c.role, NodeRole::Tee);
    assert_eq!(c.role.as_str(), "tee");
    assert_eq!(c.bootstrap.as_deref(), Some("http://127.0.0.1:7059"));
    assert_eq!(c.cluster_peers.len(), 2);
    assert_eq!(c.attestation_url, None);
    assert_eq!(
        c.client_key.as_deref(),
        Some(Path::new("/net/nodes/../orgs/Org1/admin.org1.key"))
    );
    assert_eq!(
        c.tls_roots,
        vec![
            Path::new("/net/nodes/roots/test-ca.pem").to_path_buf(),
            Path::new("/abs/other.der").to_path_buf()
        ]
    );
    let again = NodeConfig::parse(&c.to_toml().expect("toml"), Path::new("/y")).expect("reparse");
    assert_eq!(again, c);
    assert!(matches!(
        NodeConfig::parse(&format!("{text}bootstrap_url = \"x\"\n"), Path::new("/")),
        Err(MspError::Toml { .. })
    ));
}

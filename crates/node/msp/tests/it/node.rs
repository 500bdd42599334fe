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

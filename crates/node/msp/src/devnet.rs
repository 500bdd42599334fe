//! Devnet generation: CAs, certificates, encrypted keys, `consortium.toml` and one node config per
//! process, for a whole network on one machine.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use arcanum_crypto::keyfile::KdfParams;
use arcanum_crypto::{Algorithm, SigningKey};
use arcanum_types::{IdentityId, Role};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use crate::MspError;
use crate::cert::{CertificateAuthority, parse_certificate, pem_to_der};
use crate::consortium::{
    AttestationEntry, BlockSettings, ClientEntry, ConsortiumFile, EndorsementMode,
    EndorsementSettings, EndorserEntry, NodeEntry, OrgEntry, OrgKind, Selection,
};
use crate::keys::{
    DEVNET_KDF, Passphrase, read_key_file, read_passphrase, write_key_file, write_passphrase,
};
use crate::node::{NodeConfig, NodeRole};

/// The MSP id of the management network's org (management device and endorsement devices).
pub const MGMT_ORG: &str = "MgmtOrg";
/// File names inside a devnet directory.
pub const CONSORTIUM_FILE: &str = "consortium.toml";
pub const PASSPHRASE_FILE: &str = "passphrase";
pub const LAYOUT_FILE: &str = "devnet.json";

/// What network to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevnetSpec {
    pub channel: String,
    /// Application org MSP ids, e.g. `Org1`, `Org2`.
    pub orgs: Vec<String>,
    pub peers_per_org: usize,
    pub endorsers: usize,
    pub mode: EndorsementMode,
    pub selection: Selection,
    /// Round-robin groups of endorser indices (replicated + round-robin only; empty = one each).
    pub sequence: Vec<Vec<usize>>,
    /// Algorithm of every CA, node and client key.
    pub algorithm: Algorithm,
    /// Management gets `base_port`, endorsers the next ports, then peers.
    pub base_port: u16,
    pub clients_per_org: usize,
    /// Also issue `unlisted.<org1>`: a client of the first org that is not on the allow-list.
    pub extra_unlisted_client: bool,
    pub block: BlockSettings,
    pub lifecycle_policy: String,
    /// Certificates are valid from one hour before `now` to `now + validity_secs`.
    pub validity_secs: u64,
    /// An attestation service and policy; endorsement enclaves must then be attested.
    pub attestation: Option<DevnetAttestation>,
    /// The enclave binary endorsers launch (default: beside the running binary).
    pub enclave_binary: Option<PathBuf>,
    /// The endorsement flow; in the Fabric flow each peer also holds its own key.
    pub flow: crate::Flow,
    /// Emulated cross-domain links: the management network is domain 0, organisation `i`'s peers
    /// are in domain `1 + i % (domains - 1)`.
    pub link: Option<LinkSpec>,
    /// Argon2id cost of every key file (default [`DEVNET_KDF`]; see there for the trade-off).
    pub kdf: KdfParams,
    /// TEE nodes of the off-chain cluster (`tee<i>`, after the attestation service's port);
    /// they need `attestation`.
    pub tee_nodes: usize,
    /// An oracle relay (`oracle`, after the TEE nodes); it needs at least one TEE node.
    pub oracle: bool,
    /// The cluster enclave binary TEE nodes launch (default: beside the running binary).
    pub cluster_enclave_binary: Option<PathBuf>,
    /// Hex measurements of the cluster enclave that members accept in each other's reports
    /// (written to `[attestation].cluster_measurements`; empty: any attested measurement).
    pub cluster_measurements: Vec<String>,
    /// Root certificates (PEM or DER files) the TEE nodes' in-enclave HTTPS accepts.
    pub tls_roots: Vec<PathBuf>,
}

impl Default for DevnetSpec {
    fn default() -> Self {
        DevnetSpec {
            channel: "arcanum-devnet".into(),
            orgs: vec!["Org1".into(), "Org2".into()],
            peers_per_org: 2,
            endorsers: 2,
            mode: EndorsementMode::Partitioned,
            selection: Selection::Load,
            sequence: Vec::new(),
            algorithm: Algorithm::Ed25519,
            base_port: 7050,
            clients_per_org: 1,
            extra_unlisted_client: true,
            block: BlockSettings::default(),
            lifecycle_policy: "MAJORITY Endorsement".into(),
            validity_secs: 10 * 365 * 24 * 3600,
            attestation: None,
            enclave_binary: None,
            flow: crate::Flow::Hosted,
            link: None,
            kdf: DEVNET_KDF,
            tee_nodes: 0,
            oracle: false,
            cluster_enclave_binary: None,
            cluster_measurements: Vec::new(),
            tls_roots: Vec::new(),
        }
    }
}

/// Cross-domain link emulation of a devnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkSpec {
    /// At least 2: the management network plus one or more peer domains.
    pub domains: u32,
    pub latency_ms: u64,
    pub jitter_ms: u64,
}

/// The attestation part of a devnet spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevnetAttestation {
    /// Accept simulated evidence (the devnet has no TEE hardware).
    pub allow_simulation: bool,
    /// Hex measurements of the endorsement enclave to allow.
    pub endorser_measurements: Vec<String>,
}

/// One generated process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeLayout {
    pub name: String,
    pub role: NodeRole,
    pub msp_id: String,
    /// Its `nodes/<name>.toml`.
    pub config: PathBuf,
    pub listen: SocketAddr,
    pub url: String,
}

/// One generated client identity (allow-listed or not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientLayout {
    pub name: String,
    pub msp_id: String,
    pub role: Role,
    pub id: IdentityId,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Whether it is on the consortium's `[[clients]]` allow-list.
    pub allowed: bool,
}

/// One generated organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgLayout {
    pub msp_id: String,
    pub kind: OrgKind,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
}

/// Everything [`generate_devnet`] wrote, also stored as `devnet.json` in the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetLayout {
    pub dir: PathBuf,
    pub channel: String,
    pub consortium: PathBuf,
    pub passphrase_file: PathBuf,
    pub orgs: Vec<OrgLayout>,
    /// Management first, then endorsers, peers, the attestation service, TEE nodes, the oracle.
    pub nodes: Vec<NodeLayout>,
    pub clients: Vec<ClientLayout>,
}

impl DevnetLayout {
    /// Reads `<dir>/devnet.json`.
    pub fn load(dir: &Path) -> Result<DevnetLayout, MspError> {
        let path = dir.join(LAYOUT_FILE);
        let text = std::fs::read(&path).map_err(|e| MspError::io(&path, e))?;
        serde_json::from_slice(&text).map_err(|source| MspError::Json { path, source })
    }

    pub fn node(&self, name: &str) -> Option<&NodeLayout> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn client(&self, name: &str) -> Option<&ClientLayout> {
        self.clients.iter().find(|c| c.name == name)
    }
}

/// A client's identity material, as the SDK needs it.
#[derive(Debug)]
pub struct ClientIdentity {
    pub name: String,
    pub msp_id: String,
    pub role: Role,
    pub id: IdentityId,
    pub cert_der: Vec<u8>,
    pub key: SigningKey,
}

/// Loads client `name` of the devnet in `dir`: its certificate and decrypted key (checked to
/// match).
pub fn load_client_key(dir: &Path, name: &str) -> Result<ClientIdentity, MspError> {
    let layout = DevnetLayout::load(dir)?;
    let c = layout.client(name).ok_or_else(|| MspError::UnknownClient {
        name: name.to_owned(),
    })?;
    let passphrase = read_passphrase(&layout.passphrase_file)?;
    let text = std::fs::read_to_string(&c.cert).map_err(|e| MspError::io(&c.cert, e))?;
    let cert_der = pem_to_der(&text)?;
    let info = parse_certificate(&cert_der)?;
    let key = read_key_file(&c.key, &passphrase)?;
    if key.public_key() != info.public_key {
        return Err(MspError::KeyCertMismatch {
            name: name.to_owned(),
        });
    }
    Ok(ClientIdentity {
        name: info.name,
        msp_id: info.msp_id,
        role: info.role,
        id: info.id,
        cert_der,
        key,
    })
}

fn valid_org_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn check_spec(spec: &DevnetSpec) -> Result<(), MspError> {
    if spec.orgs.is_empty() {
        return Err(MspError::DevnetSpec("at least one org is needed"));
    }
    for (i, o) in spec.orgs.iter().enumerate() {
        if !valid_org_id(o) {
            return Err(MspError::DevnetSpec(
                "org ids must be 1-64 characters of [A-Za-z0-9-]",
            ));
        }
        if o == MGMT_ORG || spec.orgs[..i].iter().any(|p| p.eq_ignore_ascii_case(o)) {
            return Err(MspError::DevnetSpec(
                "org ids must be unique (case-insensitively) and not MgmtOrg",
            ));
        }
    }
    if spec.peers_per_org == 0 || spec.endorsers == 0 {
        return Err(MspError::DevnetSpec(
            "at least one peer per org and one endorser are needed",
        ));
    }
    if spec.mode == EndorsementMode::Partitioned
        && spec.endorsers > spec.orgs.len() * spec.peers_per_org
    {
        return Err(MspError::DevnetSpec(
            "partitioned mode needs at least as many peers as endorsers",
        ));
    }
    if spec.tee_nodes > 0 && spec.attestation.is_none() {
        return Err(MspError::DevnetSpec(
            "TEE nodes need an attestation service",
        ));
    }
    if spec.oracle && spec.tee_nodes == 0 {
        return Err(MspError::DevnetSpec("the oracle relay needs a TEE node"));
    }
    if spec
        .cluster_measurements
        .iter()
        .any(|m| m.is_empty() || hex::decode(m).is_err())
    {
        return Err(MspError::DevnetSpec("cluster measurements must be hex"));
    }
    if spec.validity_secs == 0 {
        return Err(MspError::DevnetSpec("validity_secs must be positive"));
    }
    Ok(())
}

fn mkdir(path: &Path) -> Result<(), MspError> {
    std::fs::create_dir_all(path).map_err(|e| MspError::io(path, e))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), MspError> {
    std::fs::write(path, bytes).map_err(|e| MspError::io(path, e))
}

/// Writes a fresh devnet into `dir` (created if missing) and returns its layout.
///
/// Contents: `passphrase` (0600, one random passphrase for every key file), `consortium.toml`,
/// `devnet.json` (the returned layout), `orgs/<msp>/ca.{pem,key}` and `orgs/<msp>/<name>.pem`
/// (+ `<name>.key` for identities that hold their own key: management, endorsers, clients),
/// `endorsers/<name>/hosted/<peer>.key` (peer keys live only there), `nodes/<name>.toml` and
/// `data/<name>/`. Names: `management`, `endorser<i>`, `peer<i>.<org>`, `client<i>.<org>`,
/// `admin.<org>`, `unlisted.<org1>` (`<org>` lower-cased), `attestation`, `tee<i>`, `oracle`.
pub fn generate_devnet(
    dir: &Path,
    spec: &DevnetSpec,
    now_unix: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<DevnetLayout, MspError> {
    check_spec(spec)?;
    let not_before = now_unix.saturating_sub(3600);
    let not_after = now_unix
        .checked_add(spec.validity_secs)
        .ok_or(MspError::DevnetSpec("validity window overflows"))?;
    let n_peers = spec.orgs.len() * spec.peers_per_org;
    let last_port =
        u64::from(spec.base_port) + (spec.endorsers + n_peers + 1 + spec.tee_nodes + 1) as u64;
    if last_port > u64::from(u16::MAX) {
        return Err(MspError::DevnetSpec("not enough ports above base_port"));
    }
    let mut next_port = spec.base_port;
    let mut take_port = || {
        let p = next_port;
        next_port = next_port.wrapping_add(1);
        p
    };

    mkdir(dir)?;
    for sub in ["orgs", "endorsers", "nodes", "data"] {
        mkdir(&dir.join(sub))?;
    }
    let passphrase = Passphrase::random(rng);
    let passphrase_file = dir.join(PASSPHRASE_FILE);
    write_passphrase(&passphrase_file, &passphrase)?;

    let mut out = Writer {
        dir,
        spec,
        passphrase: &passphrase,
        not_before,
        not_after,
        layout_orgs: Vec::new(),
    };

    // Management network org: management device and endorsement devices.
    let mgmt_ca = out.org(MGMT_ORG, OrgKind::Orderer, rng)?;
    let mut nodes = Vec::new();
    let mut node_configs: Vec<(NodeConfig, PathBuf)> = Vec::new();
    let listen = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let url = |port: u16| format!("http://127.0.0.1:{port}");

    let mgmt_port = take_port();
    let mgmt_key = SigningKey::generate(spec.algorithm, rng)?;
    let mgmt = out.identity(&mgmt_ca, "management", Role::Orderer, &mgmt_key, true, rng)?;
    let management = NodeEntry {
        name: "management".into(),
        msp_id: MGMT_ORG.into(),
        cert: mgmt.cert,
        url: url(mgmt_port),
    };
    nodes.push(NodeLayout {
        name: "management".into(),
        role: NodeRole::Management,
        msp_id: MGMT_ORG.into(),
        config: dir.join("nodes/management.toml"),
        listen: listen(mgmt_port),
        url: url(mgmt_port),
    });
    node_configs.push((
        NodeConfig {
            role: NodeRole::Management,
            name: "management".into(),
            listen: listen(mgmt_port),
            data_dir: "../data/management".into(),
            consortium: format!("../{CONSORTIUM_FILE}").into(),
            key: Some(Path::new("..").join(&mgmt.key)),
            hosted_keys_dir: None,
            passphrase_file: Some(format!("../{PASSPHRASE_FILE}").into()),
            enclave_binary: None,
            ..blank_config()
        },
        dir.join("nodes/management.toml"),
    ));

    // Endorser identities (their hosted peers are filled in once the peers exist).
    let mut endorser_entries = Vec::new();
    for i in 0..spec.endorsers {
        let name = format!("endorser{i}");
        let port = take_port();
        let key = SigningKey::generate(spec.algorithm, rng)?;
        let issued = out.identity(&mgmt_ca, &name, Role::Orderer, &key, true, rng)?;
        mkdir(&dir.join("endorsers").join(&name).join("hosted"))?;
        endorser_entries.push(EndorserEntry {
            name: name.clone(),
            msp_id: MGMT_ORG.into(),
            cert: issued.cert,
            url: url(port),
            hosts: Vec::new(),
        });
        nodes.push(NodeLayout {
            name: name.clone(),
            role: NodeRole::Endorser,
            msp_id: MGMT_ORG.into(),
            config: dir.join(format!("nodes/{name}.toml")),
            listen: listen(port),
            url: url(port),
        });
        node_configs.push((
            NodeConfig {
                role: NodeRole::Endorser,
                name: name.clone(),
                listen: listen(port),
                data_dir: format!("../data/{name}").into(),
                consortium: format!("../{CONSORTIUM_FILE}").into(),
                key: Some(Path::new("..").join(&issued.key)),
                hosted_keys_dir: Some(format!("../endorsers/{name}/hosted").into()),
                passphrase_file: Some(format!("../{PASSPHRASE_FILE}").into()),
                enclave_binary: spec.enclave_binary.clone(),
                ..blank_config()
            },
            dir.join(format!("nodes/{name}.toml")),
        ));
    }

    let mut domains = std::collections::BTreeMap::new();
    // Application orgs: peers (keys hosted), clients, admin, unlisted client.
    let mut peer_entries = Vec::new();
    let mut peer_keys = Vec::new();
    let mut client_entries = Vec::new();
    let mut clients = Vec::new();
    for (oi, org) in spec.orgs.iter().enumerate() {
        let ca = out.org(org, OrgKind::Application, rng)?;
        let lc = org.to_ascii_lowercase();
        for p in 0..spec.peers_per_org {
            let name = format!("peer{p}.{lc}");
            let port = take_port();
            let key = SigningKey::generate(spec.algorithm, rng)?;
            let fabric = spec.flow == crate::Flow::Fabric;
            let issued = out.identity(&ca, &name, Role::Peer, &key, fabric, rng)?;
            if let Some(link) = &spec.link {
                domains.insert(
                    name.clone(),
                    1 + (oi as u32) % link.domains.saturating_sub(1).max(1),
                );
            }
            peer_entries.push(NodeEntry {
                name: name.clone(),
                msp_id: org.clone(),
                cert: issued.cert,
                url: url(port),
            });
            peer_keys.push(key);
            nodes.push(NodeLayout {
                name: name.clone(),
                role: NodeRole::Peer,
                msp_id: org.clone(),
                config: dir.join(format!("nodes/{name}.toml")),
                listen: listen(port),
                url: url(port),
            });
            node_configs.push((
                NodeConfig {
                    role: NodeRole::Peer,
                    name: name.clone(),
                    listen: listen(port),
                    data_dir: format!("../data/{name}").into(),
                    consortium: format!("../{CONSORTIUM_FILE}").into(),
                    key: fabric.then(|| Path::new("..").join(&issued.key)),
                    hosted_keys_dir: None,
                    passphrase_file: fabric.then(|| format!("../{PASSPHRASE_FILE}").into()),
                    enclave_binary: None,
                    ..blank_config()
                },
                dir.join(format!("nodes/{name}.toml")),
            ));
        }
        let mut people: Vec<(String, Role, bool)> = (0..spec.clients_per_org)
            .map(|c| (format!("client{c}.{lc}"), Role::Client, true))
            .collect();
        people.push((format!("admin.{lc}"), Role::Admin, true));
        if oi == 0 && spec.extra_unlisted_client {
            people.push((format!("unlisted.{lc}"), Role::Client, false));
        }
        for (name, role, allowed) in people {
            let key = SigningKey::generate(spec.algorithm, rng)?;
            let issued = out.identity(&ca, &name, role, &key, true, rng)?;
            if allowed {
                client_entries.push(ClientEntry {
                    name: name.clone(),
                    msp_id: org.clone(),
                    cert: issued.cert.clone(),
                });
            }
            clients.push(ClientLayout {
                name,
                msp_id: org.clone(),
                role,
                id: issued.id,
                cert: dir.join(&issued.cert),
                key: dir.join(&issued.key),
                allowed,
            });
        }
    }

    // Hosted peer keys.
    let n = peer_entries.len();
    for (pi, (peer, key)) in peer_entries.iter().zip(&peer_keys).enumerate() {
        let hosts: Vec<usize> = match spec.mode {
            // Contiguous chunks: with one endorser per org, each hosts one org's peers.
            EndorsementMode::Partitioned => vec![pi * spec.endorsers / n],
            EndorsementMode::Replicated => (0..spec.endorsers).collect(),
        };
        for ei in hosts {
            let e = &mut endorser_entries[ei];
            e.hosts.push(peer.name.clone());
            let path = dir
                .join("endorsers")
                .join(&e.name)
                .join("hosted")
                .join(format!("{}.key", peer.name));
            write_key_file(&path, key, &passphrase, spec.kdf, rng)?;
        }
    }

    // The attestation service, last so the other nodes keep their ports.
    let attestation = match &spec.attestation {
        None => None,
        Some(a) => {
            let name = "attestation".to_owned();
            let port = take_port();
            let key = SigningKey::generate(spec.algorithm, rng)?;
            let issued = out.identity(&mgmt_ca, &name, Role::Orderer, &key, true, rng)?;
            nodes.push(NodeLayout {
                name: name.clone(),
                role: NodeRole::Attestation,
                msp_id: MGMT_ORG.into(),
                config: dir.join(format!("nodes/{name}.toml")),
                listen: listen(port),
                url: url(port),
            });
            node_configs.push((
                NodeConfig {
                    role: NodeRole::Attestation,
                    name: name.clone(),
                    listen: listen(port),
                    data_dir: format!("../data/{name}").into(),
                    consortium: format!("../{CONSORTIUM_FILE}").into(),
                    key: Some(Path::new("..").join(&issued.key)),
                    hosted_keys_dir: None,
                    passphrase_file: Some(format!("../{PASSPHRASE_FILE}").into()),
                    enclave_binary: None,
                    ..blank_config()
                },
                dir.join(format!("nodes/{name}.toml")),
            ));
            Some(AttestationEntry {
                name,
                msp_id: MGMT_ORG.into(),
                cert: issued.cert,
                url: url(port),
                allow_simulation: a.allow_simulation,
                allow_debug: false,
                min_tcb_status: "UpToDate".into(),
                endorser_measurements: a.endorser_measurements.clone(),
                cluster_measurements: spec.cluster_measurements.clone(),
                report_ttl_secs: 3600,
            })
        }
    };

    // TEE nodes: the first creates the cluster, the others join through it; all list each
    // other. Each registers the cluster with an org admin's identity.
    let tee_ports: Vec<u16> = (0..spec.tee_nodes).map(|_| take_port()).collect();
    let mgmt_url = url(mgmt_port);
    for (i, &port) in tee_ports.iter().enumerate() {
        let name = format!("tee{i}");
        let admin = admin_of(&clients, i)?;
        nodes.push(NodeLayout {
            name: name.clone(),
            role: NodeRole::Tee,
            msp_id: admin.msp_id.clone(),
            config: dir.join(format!("nodes/{name}.toml")),
            listen: listen(port),
            url: url(port),
        });
        node_configs.push((
            NodeConfig {
                role: NodeRole::Tee,
                name: name.clone(),
                listen: listen(port),
                data_dir: format!("../data/{name}").into(),
                consortium: format!("../{CONSORTIUM_FILE}").into(),
                passphrase_file: Some(format!("../{PASSPHRASE_FILE}").into()),
                enclave_binary: spec.cluster_enclave_binary.clone(),
                bootstrap: (i > 0).then(|| url(tee_ports[0])),
                cluster_peers: tee_ports
                    .iter()
                    .filter(|&&p| p != port)
                    .map(|&p| url(p))
                    .collect(),
                management_url: Some(mgmt_url.clone()),
                peer_url: peer_entries.first().map(|p| p.url.clone()),
                client_cert: Some(Path::new("..").join(rel(dir, &admin.cert))),
                client_key: Some(Path::new("..").join(rel(dir, &admin.key))),
                tls_roots: spec.tls_roots.clone(),
                ..blank_config()
            },
            dir.join(format!("nodes/{name}.toml")),
        ));
    }
    // The oracle relay: follows the first peer's events, calls the first TEE node and submits
    // callbacks as the first allow-listed client.
    if spec.oracle {
        let name = "oracle".to_owned();
        let port = take_port();
        let client = clients
            .iter()
            .find(|c| c.allowed && c.role == Role::Client)
            .ok_or(MspError::DevnetSpec(
                "the oracle needs an allow-listed client",
            ))?;
        nodes.push(NodeLayout {
            name: name.clone(),
            role: NodeRole::Oracle,
            msp_id: client.msp_id.clone(),
            config: dir.join(format!("nodes/{name}.toml")),
            listen: listen(port),
            url: url(port),
        });
        node_configs.push((
            NodeConfig {
                role: NodeRole::Oracle,
                name: name.clone(),
                listen: listen(port),
                data_dir: format!("../data/{name}").into(),
                consortium: format!("../{CONSORTIUM_FILE}").into(),
                passphrase_file: Some(format!("../{PASSPHRASE_FILE}").into()),
                management_url: Some(mgmt_url.clone()),
                peer_url: peer_entries.first().map(|p| p.url.clone()),
                tee_url: tee_ports.first().map(|&p| url(p)),
                client_cert: Some(Path::new("..").join(rel(dir, &client.cert))),
                client_key: Some(Path::new("..").join(rel(dir, &client.key))),
                ..blank_config()
            },
            dir.join(format!("nodes/{name}.toml")),
        ));
    }

    let consortium = ConsortiumFile {
        channel: spec.channel.clone(),
        lifecycle_policy: spec.lifecycle_policy.clone(),
        endorsement: EndorsementSettings {
            mode: spec.mode,
            selection: spec.selection,
            sequence: spec.sequence.clone(),
            ..EndorsementSettings::default()
        },
        block: spec.block.clone(),
        orgs: out
            .layout_orgs
            .iter()
            .map(|o| OrgEntry {
                msp_id: o.msp_id.clone(),
                ca_cert: rel(dir, &o.ca_cert),
                kind: o.kind,
            })
            .collect(),
        management,
        endorsers: endorser_entries,
        peers: peer_entries,
        clients: client_entries,
        attestation,
        network: (spec.flow != crate::Flow::Hosted || spec.link.is_some()).then(|| {
            crate::NetworkEntry {
                flow: spec.flow,
                cross_domain_latency_ms: spec.link.as_ref().map_or(0, |l| l.latency_ms),
                jitter_ms: spec.link.as_ref().map_or(0, |l| l.jitter_ms),
                domains,
            }
        }),
    };
    let consortium_path = dir.join(CONSORTIUM_FILE);
    write_file(&consortium_path, consortium.to_toml()?.as_bytes())?;
    for (cfg, path) in &node_configs {
        write_file(path, cfg.to_toml()?.as_bytes())?;
        if let Some(name) = path.file_stem() {
            mkdir(&dir.join("data").join(name))?;
        }
    }

    let layout = DevnetLayout {
        dir: dir.to_path_buf(),
        channel: spec.channel.clone(),
        consortium: consortium_path,
        passphrase_file,
        orgs: out.layout_orgs,
        nodes,
        clients,
    };
    let layout_path = dir.join(LAYOUT_FILE);
    let json = serde_json::to_vec_pretty(&layout).map_err(|source| MspError::Json {
        path: layout_path.clone(),
        source,
    })?;
    write_file(&layout_path, &json)?;
    Ok(layout)
}

/// A node config with every optional field empty (the generator fills in what a role needs).
fn blank_config() -> NodeConfig {
    NodeConfig {
        role: NodeRole::Peer,
        name: String::new(),
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        data_dir: PathBuf::new(),
        consortium: PathBuf::new(),
        key: None,
        hosted_keys_dir: None,
        passphrase_file: None,
        enclave_binary: None,
        bootstrap: None,
        cluster_peers: Vec::new(),
        attestation_url: None,
        management_url: None,
        peer_url: None,
        tee_url: None,
        client_cert: None,
        client_key: None,
        tls_roots: Vec::new(),
    }
}

/// The admin identity TEE node `i` registers the cluster with: the admins of the orgs in turn.
fn admin_of(clients: &[ClientLayout], i: usize) -> Result<&ClientLayout, MspError> {
    let admins: Vec<&ClientLayout> = clients.iter().filter(|c| c.role == Role::Admin).collect();
    if admins.is_empty() {
        return Err(MspError::DevnetSpec("TEE nodes need an org admin"));
    }
    Ok(admins[i % admins.len()])
}

fn rel(dir: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(dir)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Paths (relative to the devnet directory) and id of one issued identity.
struct Issued {
    cert: PathBuf,
    /// Where the key file is (or would be, for peers).
    key: PathBuf,
    id: IdentityId,
}

struct Writer<'a> {
    dir: &'a Path,
    spec: &'a DevnetSpec,
    passphrase: &'a Passphrase,
    not_before: u64,
    not_after: u64,
    layout_orgs: Vec<OrgLayout>,
}

impl Writer<'_> {
    /// Creates `orgs/<msp>/` with a CA certificate and encrypted CA key.
    fn org(
        &mut self,
        msp_id: &str,
        kind: OrgKind,
        rng: &mut impl CryptoRngCore,
    ) -> Result<CertificateAuthority, MspError> {
        let org_dir = self.dir.join("orgs").join(msp_id);
        mkdir(&org_dir)?;
        let ca = CertificateAuthority::generate(
            msp_id,
            self.spec.algorithm,
            self.not_before,
            self.not_after,
            rng,
        )?;
        let ca_cert = org_dir.join("ca.pem");
        let ca_key = org_dir.join("ca.key");
        write_file(&ca_cert, ca.certificate_pem().as_bytes())?;
        write_key_file(&ca_key, ca.key(), self.passphrase, self.spec.kdf, rng)?;
        self.layout_orgs.push(OrgLayout {
            msp_id: msp_id.to_owned(),
            kind,
            ca_cert,
            ca_key,
        });
        Ok(ca)
    }

    /// Issues `<name>` and writes `orgs/<msp>/<name>.pem`, plus the encrypted key as
    /// `orgs/<msp>/<name>.key` when `own_key` (peers' keys are written to hosting endorsers
    /// instead). Paths are relative to the devnet directory.
    fn identity(
        &self,
        ca: &CertificateAuthority,
        name: &str,
        role: Role,
        key: &SigningKey,
        own_key: bool,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Issued, MspError> {
        let base = Path::new("orgs").join(ca.msp_id());
        let cert = base.join(format!("{name}.pem"));
        let pem = ca.issue(name, role, key, self.not_before, self.not_after)?;
        write_file(&self.dir.join(&cert), pem.as_bytes())?;
        let id = IdentityId::of_certificate(&pem_to_der(&pem)?);
        let key_path = base.join(format!("{name}.key"));
        if own_key {
            write_key_file(
                &self.dir.join(&key_path),
                key,
                self.passphrase,
                self.spec.kdf,
                rng,
            )?;
        }
        Ok(Issued {
            cert,
            key: key_path,
            id,
        })
    }
}

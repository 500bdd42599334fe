//! The per-process node config (`nodes/<name>.toml`) and the loading of a node's key material.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use arcanum_crypto::SigningKey;
use serde::{Deserialize, Serialize};

use crate::MspError;
use crate::cert::{parse_certificate, pem_to_der};
use crate::consortium::Consortium;
use crate::devnet::ClientIdentity;
use crate::keys::{Passphrase, read_key_file, read_passphrase};

/// Which daemon a node config runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Management,
    Endorser,
    Peer,
    Attestation,
    /// A TEE node of the off-chain cluster: a host process and its cluster enclave.
    Tee,
    /// The oracle relay between the chain's events and the cluster.
    Oracle,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Management => "management",
            NodeRole::Endorser => "endorser",
            NodeRole::Peer => "peer",
            NodeRole::Attestation => "attestation",
            NodeRole::Tee => "tee",
            NodeRole::Oracle => "oracle",
        }
    }
}

/// One process's config. Relative paths are resolved against the config file's directory by
/// [`NodeConfig::load`] / [`NodeConfig::parse`], so the fields hold usable paths afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub role: NodeRole,
    /// The node's name in the consortium config.
    pub name: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Path of `consortium.toml`.
    pub consortium: PathBuf,
    /// This node's own encrypted key file: the block-signing key (management) or the device key
    /// (endorser). Peers have none: their signing keys are hosted by endorsers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Endorsers: directory with one encrypted key file per hosted peer, `<peer-name>.key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_keys_dir: Option<PathBuf>,
    /// File holding the key-file passphrase (management and endorsers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_file: Option<PathBuf>,
    /// The enclave binary to launch (default: beside the running binary): `arcanum-enclave`
    /// for endorsers, `arcanum-cluster-enclave` for TEE nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enclave_binary: Option<PathBuf>,
    /// TEE nodes: the URL of a cluster member to join through; absent for the node that
    /// creates the cluster (genesis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<String>,
    /// TEE nodes: the URLs of the other cluster members (deployments are replicated to them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_peers: Vec<String>,
    /// TEE nodes: the attestation service (default: the consortium's `[attestation]` url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_url: Option<String>,
    /// TEE nodes and oracle relays: the management device transactions are submitted to
    /// (default: the consortium's `[management]` url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_url: Option<String>,
    /// TEE nodes: a peer to read the registered cluster from; oracle relays: the peer whose
    /// event stream they follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_url: Option<String>,
    /// Oracle relays: the TEE node they forward requests to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tee_url: Option<String>,
    /// TEE nodes and oracle relays: the certificate of the client identity that signs their
    /// transactions (an org admin for TEE nodes, which register the cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<PathBuf>,
    /// The encrypted key file of that identity (its passphrase is `passphrase_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
    /// TEE nodes: PEM or DER files of the root certificates in-enclave HTTPS accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_roots: Vec<PathBuf>,
}

impl NodeConfig {
    /// Reads, resolves and checks a node config file.
    pub fn load(path: &Path) -> Result<NodeConfig, MspError> {
        let text = std::fs::read_to_string(path).map_err(|e| MspError::io(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        NodeConfig::parse_with_origin(&text, base, path)
    }

    /// Parses TOML text; relative paths are resolved against `base_dir`.
    pub fn parse(text: &str, base_dir: &Path) -> Result<NodeConfig, MspError> {
        NodeConfig::parse_with_origin(text, base_dir, Path::new("<string>"))
    }

    fn parse_with_origin(text: &str, base: &Path, origin: &Path) -> Result<NodeConfig, MspError> {
        let mut c: NodeConfig = toml::from_str(text).map_err(|e| MspError::Toml {
            path: origin.to_path_buf(),
            source: Box::new(e),
        })?;
        if c.name.is_empty() {
            return Err(MspError::EmptyField {
                entry: "node".into(),
                field: "name",
            });
        }
        let role = c.role.as_str();
        let need = |v: &Option<PathBuf>, field: &'static str| {
            if v.is_none() {
                Err(MspError::NodeFieldMissing { role, field })
            } else {
                Ok(())
            }
        };
        match c.role {
            NodeRole::Management | NodeRole::Attestation => {
                need(&c.key, "key")?;
                need(&c.passphrase_file, "passphrase_file")?;
            }
            NodeRole::Endorser => {
                need(&c.key, "key")?;
                need(&c.passphrase_file, "passphrase_file")?;
                need(&c.hosted_keys_dir, "hosted_keys_dir")?;
            }
            NodeRole::Peer => {}
            NodeRole::Tee => {
                need(&c.client_cert, "client_cert")?;
                need(&c.client_key, "client_key")?;
                need(&c.passphrase_file, "passphrase_file")?;
            }
            NodeRole::Oracle => {
                need(&c.client_cert, "client_cert")?;
                need(&c.client_key, "client_key")?;
                need(&c.passphrase_file, "passphrase_file")?;
                let url = |v: &Option<String>, field: &'static str| {
                    if v.as_deref().is_none_or(str::is_empty) {
                        Err(MspError::NodeFieldMissing { role, field })
                    } else {
                        Ok(())
                    }
                };
                url(&c.peer_url, "peer_url")?;
                url(&c.tee_url, "tee_url")?;
            }
        }
        let abs = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        abs(&mut c.data_dir);
        abs(&mut c.consortium);
        for p in [
            &mut c.key,
            &mut c.hosted_keys_dir,
            &mut c.passphrase_file,
            &mut c.enclave_binary,
            &mut c.client_cert,
            &mut c.client_key,
        ]
        .into_iter()
        .flatten()
        .chain(c.tls_roots.iter_mut())
        {
            abs(p);
        }
        Ok(c)
    }

    /// Encodes as TOML (as written by the devnet generator).
    pub fn to_toml(&self) -> Result<String, MspError> {
        Ok(toml::to_string(self)?)
    }

    /// Loads and validates the consortium config this node points at.
    pub fn load_consortium(&self, now_unix: u64) -> Result<Consortium, MspError> {
        Consortium::load(&self.consortium, now_unix)
    }

    /// Reads the passphrase file.
    pub fn passphrase(&self) -> Result<Passphrase, MspError> {
        let path = self
            .passphrase_file
            .as_ref()
            .ok_or(MspError::NodeFieldMissing {
                role: self.role.as_str(),
                field: "passphrase_file",
            })?;
        read_passphrase(path)
    }

    /// Opens this node's own key and checks that it matches the node's certificate in the
    /// consortium (management: `[management]`; endorser: its `[[endorsers]]` entry).
    pub fn load_own_key(
        &self,
        consortium: &Consortium,
        passphrase: &Passphrase,
    ) -> Result<SigningKey, MspError> {
        let path = self.key.as_ref().ok_or(MspError::NodeFieldMissing {
            role: self.role.as_str(),
            field: "key",
        })?;
        let member = match self.role {
            NodeRole::Management => Some(consortium.management()).filter(|m| m.name == self.name),
            NodeRole::Endorser => consortium.endorser_by_name(&self.name).map(|e| &e.member),
            NodeRole::Attestation => consortium
                .attestation()
                .map(|a| &a.member)
                .filter(|m| m.name == self.name),
            NodeRole::Peer => consortium.peer_by_name(&self.name),
            NodeRole::Tee | NodeRole::Oracle => None,
        }
        .ok_or_else(|| MspError::NodeNotInConsortium {
            name: self.name.clone(),
            role: self.role.as_str(),
        })?;
        let key = read_key_file(path, passphrase)?;
        if key.public_key() != member.public_key {
            return Err(MspError::KeyCertMismatch {
                name: self.name.clone(),
            });
        }
        Ok(key)
    }

    /// Endorsers: opens the key of every peer the consortium says this endorser hosts, from
    /// `<hosted_keys_dir>/<peer>.key`, and checks each against the peer's certificate.
    pub fn load_hosted_keys(
        &self,
        consortium: &Consortium,
        passphrase: &Passphrase,
    ) -> Result<BTreeMap<String, SigningKey>, MspError> {
        let dir = self
            .hosted_keys_dir
            .as_ref()
            .ok_or(MspError::NodeFieldMissing {
                role: self.role.as_str(),
                field: "hosted_keys_dir",
            })?;
        let endorser = consortium
            .endorser_by_name(&self.name)
            .filter(|_| self.role == NodeRole::Endorser)
            .ok_or_else(|| MspError::NodeNotInConsortium {
                name: self.name.clone(),
                role: "endorser",
            })?;
        load_hosted_keys(dir, &endorser.hosts, consortium, passphrase)
    }
}

impl NodeConfig {
    /// TEE nodes and oracle relays: the client identity their transactions are signed with
    /// (`client_cert` and `client_key`, opened with `passphrase_file`), checked to match.
    pub fn load_client_identity(&self) -> Result<ClientIdentity, MspError> {
        let missing = |field: &'static str| MspError::NodeFieldMissing {
            role: self.role.as_str(),
            field,
        };
        let cert_path = self.client_cert.as_ref().ok_or(missing("client_cert"))?;
        let key_path = self.client_key.as_ref().ok_or(missing("client_key"))?;
        let passphrase = self.passphrase()?;
        let text = std::fs::read_to_string(cert_path).map_err(|e| MspError::io(cert_path, e))?;
        let cert_der = pem_to_der(&text)?;
        let info = parse_certificate(&cert_der)?;
        let key = read_key_file(key_path, &passphrase)?;
        if key.public_key() != info.public_key {
            return Err(MspError::KeyCertMismatch { name: info.name });
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
}

/// Opens `<dir>/<peer>.key` for each of `peers` and checks it against the peer's certificate.
pub fn load_hosted_keys(
    dir: &Path,
    peers: &[String],
    consortium: &Consortium,
    passphrase: &Passphrase,
) -> Result<BTreeMap<String, SigningKey>, MspError> {
    let mut out = BTreeMap::new();
    for peer in peers {
        let member =
            consortium
                .peer_by_name(peer)
                .ok_or_else(|| MspError::NodeNotInConsortium {
                    name: peer.clone(),
                    role: "peer",
                })?;
        let key = read_key_file(&dir.join(format!("{peer}.key")), passphrase)?;
        if key.public_key() != member.public_key {
            return Err(MspError::KeyCertMismatch { name: peer.clone() });
        }
        out.insert(peer.clone(), key);
    }
    Ok(out)
}

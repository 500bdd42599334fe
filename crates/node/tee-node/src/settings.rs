//! A TEE node's resolved settings: the node config plus what it takes from the consortium
//! config (the attestation service's key, URL and the cluster attestation policy).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use arcanum_enclave_protocol::cluster::ClusterTrust;
use arcanum_msp::{Consortium, NodeConfig, NodeRole};

/// Everything a TEE node needs to start, resolved and checked.
#[derive(Clone, Debug)]
pub struct TeeSettings {
    pub name: String,
    pub data_dir: PathBuf,
    pub enclave_binary: PathBuf,
    pub attestation_url: String,
    pub management_url: String,
    /// A chain peer to read the registered cluster from.
    pub peer_url: Option<String>,
    /// The member to join through; `None` for genesis.
    pub bootstrap: Option<String>,
    /// The other members' URLs (without trailing slashes).
    pub cluster_peers: Vec<String>,
    pub trust: ClusterTrust,
    /// The consortium's channel (for signing registration transactions).
    pub channel: String,
}

fn trim(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

impl TeeSettings {
    /// Resolves a `role = "tee"` node config against its consortium.
    pub fn resolve(config: &NodeConfig, consortium: &Consortium) -> anyhow::Result<TeeSettings> {
        if config.role != NodeRole::Tee {
            bail!(
                "node {} has role {}, not tee",
                config.name,
                config.role.as_str()
            );
        }
        let attestation = consortium
            .attestation()
            .context("TEE nodes need the consortium's [attestation] section")?;
        let a = &attestation.settings;
        let policy = arcanum_attestation::AttestationPolicy {
            allowed_measurements: a.cluster_measurements.clone(),
            min_tcb_status: a.min_tcb_status.clone(),
            allow_debug: a.allow_debug,
            allow_simulation: a.allow_simulation,
            expected_product: None,
        };
        policy
            .validate()
            .map_err(|e| anyhow::anyhow!("the cluster attestation policy is invalid: {e}"))?;
        let mut tls_roots = Vec::new();
        for path in &config.tls_roots {
            tls_roots.extend(read_certificates(path)?);
        }
        let trust = ClusterTrust {
            issuers: vec![attestation.member.public_key.clone()],
            policy_toml: toml::to_string(&policy).context("encoding the attestation policy")?,
            tls_roots,
        };
        let attestation_url = config
            .attestation_url
            .clone()
            .unwrap_or_else(|| a.url.clone());
        let management_url = match &config.management_url {
            Some(u) => u.clone(),
            None => consortium
                .management()
                .url
                .clone()
                .context("the consortium's management device has no url")?,
        };
        let enclave_binary = match &config.enclave_binary {
            Some(p) => p.clone(),
            None => arcanum_enclave_host::beside_running_binary(
                arcanum_enclave_host::CLUSTER_ENCLAVE_BINARY,
            )
            .context("locating the cluster enclave")?,
        };
        let mut cluster_peers: Vec<String> = config.cluster_peers.iter().map(|u| trim(u)).collect();
        if let Some(b) = &config.bootstrap {
            cluster_peers.push(trim(b));
        }
        cluster_peers.sort();
        cluster_peers.dedup();
        Ok(TeeSettings {
            name: config.name.clone(),
            data_dir: config.data_dir.clone(),
            enclave_binary,
            attestation_url: trim(&attestation_url),
            management_url: trim(&management_url),
            peer_url: config.peer_url.as_deref().map(trim),
            bootstrap: config.bootstrap.as_deref().map(trim),
            cluster_peers,
            trust,
            channel: consortium.channel.clone(),
        })
    }
}

/// The DER certificates in a PEM file (every `CERTIFICATE` block) or a DER file.
pub fn read_certificates(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    if bytes[start..].starts_with(b"-----BEGIN") {
        let blocks =
            pem::parse_many(&bytes).with_context(|| format!("{} is not PEM", path.display()))?;
        let certs: Vec<Vec<u8>> = blocks
            .into_iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(pem::Pem::into_contents)
            .collect();
        if certs.is_empty() {
            bail!("{} holds no CERTIFICATE block", path.display());
        }
        Ok(certs)
    } else {
        Ok(vec![bytes])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_load_from_pem_bundles_and_der() {
        let dir = tempfile::tempdir().expect("tempdir");
        let der_a = vec![0x30, 0x82, 0x01, 0x00, 0xAA];
        let der_b = vec![0x30, 0x03, 0x01, 0x01, 0xFF];
        let bundle = format!(
            "{}{}",
            pem::encode(&pem::Pem::new("CERTIFICATE", der_a.clone())),
            pem::encode(&pem::Pem::new("CERTIFICATE", der_b.clone()))
        );
        let pem_path = dir.path().join("roots.pem");
        std::fs::write(&pem_path, bundle).expect("write");
        assert_eq!(
            read_certificates(&pem_path).expect("pem"),
            vec![der_a.clone(), der_b]
        );
        let der_path = dir.path().join("root.der");
        std::fs::write(&der_path, &der_a).expect("write");
        assert_eq!(read_certificates(&der_path).expect("der"), vec![der_a]);
        let key_path = dir.path().join("key.pem");
        std::fs::write(
            &key_path,
            pem::encode(&pem::Pem::new("PRIVATE KEY", vec![1])),
        )
        .expect("write");
        assert!(
            read_certificates(&key_path).is_err(),
            "no certificate in it"
        );
    }
}

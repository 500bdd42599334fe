//! A consortium written with certificates only (no key files), for validation tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arcanum_crypto::{Algorithm, SigningKey};
use arcanum_msp::{
    CertificateAuthority, ClientEntry, Consortium, ConsortiumFile, EndorsementSettings,
    EndorserEntry, MspError, NodeEntry, OrgEntry, OrgKind,
};
use arcanum_types::Role;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// "Now" for the fixtures: 2025-01-01T00:00:00Z.
pub const NOW: u64 = 1_735_689_600;
pub const NB: u64 = NOW - 86_400;
pub const NA: u64 = NOW + 365 * 86_400;

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub file: ConsortiumFile,
    pub cas: BTreeMap<String, CertificateAuthority>,
    rng: StdRng,
}

impl Fixture {
    /// MgmtOrg (management, endorser0, endorser1), Org1 and Org2 (peer0/peer1, client0, admin
    /// each); partitioned: endorser0 hosts Org1's peers, endorser1 Org2's.
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut rng = rng(7);
        let mut cas = BTreeMap::new();
        let mut orgs = Vec::new();
        for (msp, kind) in [
            ("MgmtOrg", OrgKind::Orderer),
            ("Org1", OrgKind::Application),
            ("Org2", OrgKind::Application),
        ] {
            let ca = CertificateAuthority::generate(msp, Algorithm::Ed25519, NB, NA, &mut rng)
                .expect("ca");
            let path = PathBuf::from(format!("{msp}-ca.pem"));
            std::fs::write(dir.path().join(&path), ca.certificate_pem()).expect("write");
            orgs.push(OrgEntry {
                msp_id: msp.into(),
                ca_cert: path,
                kind,
            });
            cas.insert(msp.to_owned(), ca);
        }
        let mut f = Fixture {
            dir,
            file: ConsortiumFile {
                channel: "test".into(),
                lifecycle_policy: "MAJORITY Endorsement".into(),
                endorsement: EndorsementSettings::default(),
                block: Default::default(),
                orgs,
                management: NodeEntry {
                    name: String::new(),
                    msp_id: String::new(),
                    cert: PathBuf::new(),
                    url: String::new(),
                },
                endorsers: Vec::new(),
                peers: Vec::new(),
                clients: Vec::new(),
                attestation: None,
                network: None,
            },
            cas,
            rng,
        };
        let cert = f.cert("MgmtOrg", "management", Role::Orderer);
        f.file.management = NodeEntry {
            name: "management".into(),
            msp_id: "MgmtOrg".into(),
            cert,
            url: "http://m".into(),
        };
        for (i, org) in ["Org1", "Org2"].into_iter().enumerate() {
            let name = format!("endorser{i}");
            let cert = f.cert("MgmtOrg", &name, Role::Orderer);
            let lc = org.to_ascii_lowercase();
            let hosts = vec![format!("peer0.{lc}"), format!("peer1.{lc}")];
            f.file.endorsers.push(EndorserEntry {
                name,
                msp_id: "MgmtOrg".into(),
                cert,
                url: "http://e".into(),
                hosts,
            });
        }
        for org in ["Org1", "Org2"] {
            let lc = org.to_ascii_lowercase();
            for p in 0..2 {
                let name = format!("peer{p}.{lc}");
                let cert = f.cert(org, &name, Role::Peer);
                f.file.peers.push(NodeEntry {
                    name,
                    msp_id: org.into(),
                    cert,
                    url: "http://p".into(),
                });
            }
            for (name, role) in [
                (format!("client0.{lc}"), Role::Client),
                (format!("admin.{lc}"), Role::Admin),
            ] {
                let cert = f.cert(org, &name, role);
                f.file.clients.push(ClientEntry {
                    name,
                    msp_id: org.into(),
                    cert,
                });
            }
        }
        f
    }

    /// Issues a certificate by `msp`'s CA (valid NB..NA) and writes it; returns the relative path.
    pub fn cert(&mut self, msp: &str, name: &str, role: Role) -> PathBuf {
        self.cert_window(msp, name, role, NB, NA)
    }

    pub fn cert_window(&mut self, msp: &str, name: &str, role: Role, nb: u64, na: u64) -> PathBuf {
        let key = SigningKey::generate(Algorithm::Ed25519, &mut self.rng).expect("key");
        let pem = self.cas[msp]
            .issue(name, role, &key, nb, na)
            .expect("issue");
        self.write_pem(&format!("{name}-{}-{nb}-{na}.pem", role.as_str()), &pem)
    }

    /// Issues by an arbitrary CA (e.g. an impostor).
    pub fn cert_by(&mut self, ca: &CertificateAuthority, name: &str, role: Role) -> PathBuf {
        let key = SigningKey::generate(Algorithm::Ed25519, &mut self.rng).expect("key");
        let pem = ca.issue(name, role, &key, NB, NA).expect("issue");
        self.write_pem(
            &format!("{name}-by-{}-{}.pem", ca.msp_id(), role.as_str()),
            &pem,
        )
    }

    pub fn write_pem(&self, file: &str, text: &str) -> PathBuf {
        std::fs::write(self.dir.path().join(file), text).expect("write");
        PathBuf::from(file)
    }

    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn load(&self) -> Result<Consortium, MspError> {
        Consortium::from_parts(self.file.clone(), self.dir.path(), NOW)
    }

    pub fn load_at(&self, now: u64) -> Result<Consortium, MspError> {
        Consortium::from_parts(self.file.clone(), self.dir.path(), now)
    }
}

//! The consortium config: the one TOML description of orgs, nodes, clients and settings that every
//! node loads ([`ConsortiumFile`] on disk, [`Consortium`] once resolved and validated).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arcanum_crypto::PublicKey;
use arcanum_types::{IdentityId, Role};
use serde::{Deserialize, Serialize};

use crate::MspError;
use crate::cert::{parse_certificate, pem_to_der, verify_ca_certificate, verify_issued_by};

/// Whether an org runs the application side (peers, clients) or the management network
/// (management device, endorsement devices), like Fabric's application and orderer orgs.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum OrgKind {
    #[default]
    Application,
    Orderer,
}

impl OrgKind {
    fn as_str(self) -> &'static str {
        match self {
            OrgKind::Application => "application",
            OrgKind::Orderer => "orderer",
        }
    }
}

/// `[[orgs]]`: an organisation and its CA certificate (PEM, path relative to the config file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgEntry {
    pub msp_id: String,
    pub ca_cert: PathBuf,
    #[serde(default)]
    pub kind: OrgKind,
}

/// `[management]` and `[[peers]]`: a node with an identity and an URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    pub name: String,
    pub msp_id: String,
    pub cert: PathBuf,
    pub url: String,
}

/// `[[endorsers]]`: an endorsement device and the peers whose keys it hosts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndorserEntry {
    pub name: String,
    pub msp_id: String,
    pub cert: PathBuf,
    pub url: String,
    pub hosts: Vec<String>,
}

/// `[[clients]]`: the allow-list of client identities (SPEC L3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    pub name: String,
    pub msp_id: String,
    pub cert: PathBuf,
}

/// SPEC L2: where hosted peer keys live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EndorsementMode {
    /// Each endorser hosts a disjoint set of peers; every peer is hosted exactly once.
    #[default]
    Partitioned,
    /// Every endorser hosts every peer.
    Replicated,
}

/// SPEC L2(b): how the management device picks endorsers in replicated mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// By current state: load, health, latency.
    #[default]
    Load,
    /// By the preset `sequence` of endorser-index groups, in turn.
    RoundRobin,
}

/// `[endorsement]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EndorsementSettings {
    pub mode: EndorsementMode,
    pub selection: Selection,
    /// Round-robin steps, each a group of endorser indices, e.g. `[[0], [1, 2]]`. Only with
    /// `mode = "replicated"` and `selection = "round-robin"`; empty there means one endorser per
    /// step, in order (filled in by [`Consortium`]).
    pub sequence: Vec<Vec<usize>>,
    /// How long the management device waits for one endorser's answer.
    pub timeout_ms: u64,
    /// How often a failed endorsement is sent again (to the same or another endorser).
    pub retries: u32,
}

impl Default for EndorsementSettings {
    fn default() -> Self {
        EndorsementSettings {
            mode: EndorsementMode::Partitioned,
            selection: Selection::Load,
            sequence: Vec::new(),
            timeout_ms: 5_000,
            retries: 2,
        }
    }
}

/// `[block]`: a block is cut at `max_txs` transactions, `max_bytes` bytes or `timeout_ms` after
/// its first transaction, whichever comes first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlockSettings {
    pub max_txs: u32,
    pub max_bytes: u64,
    pub timeout_ms: u64,
}

impl Default for BlockSettings {
    fn default() -> Self {
        BlockSettings {
            max_txs: 500,
            max_bytes: 8 * 1024 * 1024,
            timeout_ms: 200,
        }
    }
}

/// The consortium config as written on disk (`consortium.toml`). Resolve it with
/// [`Consortium::from_parts`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsortiumFile {
    pub channel: String,
    /// Fabric-style policy for contract lifecycle transactions, e.g. `MAJORITY Endorsement`.
    pub lifecycle_policy: String,
    #[serde(default)]
    pub endorsement: EndorsementSettings,
    #[serde(default)]
    pub block: BlockSettings,
    pub orgs: Vec<OrgEntry>,
    pub management: NodeEntry,
    #[serde(default)]
    pub endorsers: Vec<EndorserEntry>,
    #[serde(default)]
    pub peers: Vec<NodeEntry>,
    #[serde(default)]
    pub clients: Vec<ClientEntry>,
    /// The attestation service and the attestation policy (SPEC A2, L7). When present, the
    /// management device accepts endorsements only from attested endorsement enclaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationEntry>,
    /// Endorsement flow and cross-domain link emulation (benchmarks, SPEC §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkEntry>,
}

/// Who endorses: the management network with hosted keys, or peers with their own keys
/// collected by the client (Fabric's flow, for comparison).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flow {
    #[default]
    Hosted,
    Fabric,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Hosted => "hosted",
            Flow::Fabric => "fabric",
        }
    }
}

/// `[network]`: the endorsement flow, and an emulated one-way latency with jitter on every
/// connection between nodes of different domains (nodes not listed are in domain 0; clients sit
/// in a domain of their own). For benchmarks on loopback.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkEntry {
    #[serde(default)]
    pub flow: Flow,
    #[serde(default)]
    pub cross_domain_latency_ms: u64,
    #[serde(default)]
    pub jitter_ms: u64,
    /// Node name → domain.
    #[serde(default)]
    pub domains: BTreeMap<String, u32>,
}

impl NetworkEntry {
    /// The domain of node `name`.
    pub fn domain(&self, name: &str) -> u32 {
        self.domains.get(name).copied().unwrap_or(0)
    }
}

/// `[attestation]`: the attestation service's identity and the consortium's attestation policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationEntry {
    pub name: String,
    pub msp_id: String,
    pub cert: PathBuf,
    pub url: String,
    /// Accept simulated (insecure) TEE evidence: development networks only.
    #[serde(default)]
    pub allow_simulation: bool,
    #[serde(default)]
    pub allow_debug: bool,
    /// Lowest TCB status accepted, e.g. `UpToDate` or `SWHardeningNeeded`.
    #[serde(default = "default_min_tcb")]
    pub min_tcb_status: String,
    /// Hex measurements of the endorsement enclave the consortium allows (empty: none).
    #[serde(default)]
    pub endorser_measurements: Vec<String>,
    /// Hex measurements of the cluster enclave (`arcanum-cluster-enclave`) TEE nodes accept in
    /// each other's reports when they form the cluster (empty: any measurement the service
    /// attested).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_measurements: Vec<String>,
    /// Lifetime of an issued attestation report.
    #[serde(default = "default_report_ttl")]
    pub report_ttl_secs: u64,
}

fn default_min_tcb() -> String {
    "UpToDate".into()
}

fn default_report_ttl() -> u64 {
    3600
}

/// The resolved attestation service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationService {
    pub member: Member,
    pub settings: AttestationEntry,
}

impl ConsortiumFile {
    /// Parses TOML text (no validation).
    pub fn parse(text: &str, origin: &Path) -> Result<ConsortiumFile, MspError> {
        toml::from_str(text).map_err(|e| MspError::Toml {
            path: origin.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// Encodes as TOML.
    pub fn to_toml(&self) -> Result<String, MspError> {
        Ok(toml::to_string(self)?)
    }
}

/// What slot of the consortium config an identity fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    Client,
    Peer,
    Endorser,
    Management,
    AttestationService,
}

/// A resolved, validated identity of the consortium.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// SHA-256 of the certificate DER.
    pub id: IdentityId,
    pub name: String,
    pub msp_id: String,
    /// The certificate's OU role.
    pub role: Role,
    pub public_key: PublicKey,
    pub kind: MemberKind,
    /// Where the node listens (`None` for clients).
    pub url: Option<String>,
    pub cert_der: Vec<u8>,
    pub not_before: u64,
    pub not_after: u64,
}

/// A resolved endorsement device and the peers whose keys it hosts (in config order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endorser {
    pub member: Member,
    pub hosts: Vec<String>,
}

/// A resolved organisation: its kind and its verified CA certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    pub msp_id: String,
    pub kind: OrgKind,
    pub ca_cert_der: Vec<u8>,
    pub ca_public_key: PublicKey,
}

/// The resolved and validated consortium. Every identity in it chains to its org's CA, carries
/// the role of its slot, and has a unique name and id; the hosting layout matches the mode.
#[derive(Clone, Debug)]
pub struct Consortium {
    pub channel: String,
    pub lifecycle_policy: String,
    pub endorsement: EndorsementSettings,
    pub block: BlockSettings,
    orgs: BTreeMap<String, Org>,
    management: Member,
    endorsers: Vec<Endorser>,
    peers: Vec<Member>,
    clients: Vec<Member>,
    attestation: Option<AttestationService>,
    network: NetworkEntry,
    by_id: BTreeMap<IdentityId, Member>,
}

fn read_cert_file(path: &Path) -> Result<Vec<u8>, MspError> {
    let text = std::fs::read_to_string(path).map_err(|e| MspError::io(path, e))?;
    pem_to_der(&text)
}

struct Slot<'a> {
    entry: String,
    name: &'a str,
    msp_id: &'a str,
    cert: &'a Path,
    url: Option<&'a str>,
    kind: MemberKind,
}

impl Consortium {
    /// Loads `path` and validates it at `now_unix`. Certificate paths are relative to the
    /// directory of `path`.
    pub fn load(path: &Path, now_unix: u64) -> Result<Consortium, MspError> {
        let text = std::fs::read_to_string(path).map_err(|e| MspError::io(path, e))?;
        let file = ConsortiumFile::parse(&text, path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Consortium::from_parts(file, base, now_unix)
    }

    /// Parses TOML text and validates it; certificate paths are relative to `base_dir`.
    pub fn parse(text: &str, base_dir: &Path, now_unix: u64) -> Result<Consortium, MspError> {
        let file = ConsortiumFile::parse(text, Path::new("<string>"))?;
        Consortium::from_parts(file, base_dir, now_unix)
    }

    /// Resolves and validates a parsed config: loads every certificate (paths relative to
    /// `base_dir`), verifies it against its org's CA at `now_unix`, checks slot roles, unique
    /// names and identities, the hosting layout and the settings.
    pub fn from_parts(
        file: ConsortiumFile,
        base_dir: &Path,
        now_unix: u64,
    ) -> Result<Consortium, MspError> {
        if file.channel.is_empty() {
            return Err(MspError::EmptyField {
                entry: "consortium".into(),
                field: "channel",
            });
        }
        if file.lifecycle_policy.trim().is_empty() {
            return Err(MspError::EmptyField {
                entry: "consortium".into(),
                field: "lifecycle_policy",
            });
        }
        if file.orgs.is_empty() {
            return Err(MspError::Missing { what: "orgs" });
        }
        let mut orgs = BTreeMap::new();
        for o in &file.orgs {
            if o.msp_id.is_empty() {
                return Err(MspError::EmptyField {
                    entry: "orgs".into(),
                    field: "msp_id",
                });
            }
            if !o
                .msp_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            {
                return Err(MspError::InvalidMspId {
                    msp_id: o.msp_id.clone(),
                });
            }
            if orgs.contains_key(&o.msp_id) {
                return Err(MspError::DuplicateOrg {
                    msp_id: o.msp_id.clone(),
                });
            }
            let invalid = |e: MspError| MspError::InvalidCa {
                msp_id: o.msp_id.clone(),
                source: Box::new(e),
            };
            let der = read_cert_file(&base_dir.join(&o.ca_cert)).map_err(invalid)?;
            let info = verify_ca_certificate(&der, now_unix).map_err(invalid)?;
            if info.msp_id != o.msp_id {
                return Err(MspError::CaMspMismatch {
                    msp_id: o.msp_id.clone(),
                    in_cert: info.msp_id,
                });
            }
            orgs.insert(
                o.msp_id.clone(),
                Org {
                    msp_id: o.msp_id.clone(),
                    kind: o.kind,
                    ca_cert_der: der,
                    ca_public_key: info.public_key,
                },
            );
        }

        let mut names = BTreeSet::new();
        let mut by_id: BTreeMap<IdentityId, Member> = BTreeMap::new();
        let mut resolve = |slot: Slot<'_>| -> Result<Member, MspError> {
            let m = resolve_member(&orgs, base_dir, now_unix, &slot)?;
            if !names.insert(m.name.clone()) {
                return Err(MspError::DuplicateName {
                    name: m.name.clone(),
                });
            }
            // The CN is in the certificate and must equal the (unique) name, so ids are unique too.
            by_id.insert(m.id, m.clone());
            Ok(m)
        };

        let mg = &file.management;
        let management = resolve(Slot {
            entry: format!("management[{}]", mg.name),
            name: &mg.name,
            msp_id: &mg.msp_id,
            cert: &mg.cert,
            url: Some(&mg.url),
            kind: MemberKind::Management,
        })?;

        if file.endorsers.is_empty() {
            return Err(MspError::Missing { what: "endorsers" });
        }
        let mut endorsers = Vec::with_capacity(file.endorsers.len());
        for e in &file.endorsers {
            let member = resolve(Slot {
                entry: format!("endorsers[{}]", e.name),
                name: &e.name,
                msp_id: &e.msp_id,
                cert: &e.cert,
                url: Some(&e.url),
                kind: MemberKind::Endorser,
            })?;
            endorsers.push(Endorser {
                member,
                hosts: e.hosts.clone(),
            });
        }

        if file.peers.is_empty() {
            return Err(MspError::Missing { what: "peers" });
        }
        let mut peers = Vec::with_capacity(file.peers.len());
        for p in &file.peers {
            peers.push(resolve(Slot {
                entry: format!("peers[{}]", p.name),
                name: &p.name,
                msp_id: &p.msp_id,
                cert: &p.cert,
                url: Some(&p.url),
                kind: MemberKind::Peer,
            })?);
        }

        let mut clients = Vec::with_capacity(file.clients.len());
        for c in &file.clients {
            clients.push(resolve(Slot {
                entry: format!("clients[{}]", c.name),
                name: &c.name,
                msp_id: &c.msp_id,
                cert: &c.cert,
                url: None,
                kind: MemberKind::Client,
            })?);
        }

        let attestation = match &file.attestation {
            None => None,
            Some(a) => {
                let member = resolve(Slot {
                    entry: format!("attestation[{}]", a.name),
                    name: &a.name,
                    msp_id: &a.msp_id,
                    cert: &a.cert,
                    url: Some(&a.url),
                    kind: MemberKind::AttestationService,
                })?;
                if a.endorser_measurements
                    .iter()
                    .any(|m| m.is_empty() || hex::decode(m).is_err())
                {
                    return Err(MspError::EmptyField {
                        entry: format!("attestation[{}]", a.name),
                        field: "endorser_measurements",
                    });
                }
                if a.cluster_measurements
                    .iter()
                    .any(|m| m.is_empty() || hex::decode(m).is_err())
                {
                    return Err(MspError::EmptyField {
                        entry: format!("attestation[{}]", a.name),
                        field: "cluster_measurements",
                    });
                }
                Some(AttestationService {
                    member,
                    settings: a.clone(),
                })
            }
        };

        check_hosting(file.endorsement.mode, &endorsers, &peers)?;
        let endorsement = check_endorsement(file.endorsement, endorsers.len())?;
        check_block(&file.block)?;

        Ok(Consortium {
            channel: file.channel,
            lifecycle_policy: file.lifecycle_policy,
            endorsement,
            block: file.block,
            orgs,
            management,
            endorsers,
            peers,
            clients,
            attestation,
            network: file.network.unwrap_or_default(),
            by_id,
        })
    }

    /// MSP ids of the application orgs, sorted (the orgs whose peers endorse and whose members
    /// count in `MAJORITY`/`ALL` policies).
    pub fn orgs(&self) -> Vec<String> {
        self.orgs
            .values()
            .filter(|o| o.kind == OrgKind::Application)
            .map(|o| o.msp_id.clone())
            .collect()
    }

    /// MSP ids of the orderer orgs (the management network), sorted.
    pub fn orderer_orgs(&self) -> Vec<String> {
        self.orgs
            .values()
            .filter(|o| o.kind == OrgKind::Orderer)
            .map(|o| o.msp_id.clone())
            .collect()
    }

    /// An org (application or orderer) and its CA.
    pub fn org(&self, msp_id: &str) -> Option<&Org> {
        self.orgs.get(msp_id)
    }

    /// Any identity of the consortium (management, endorser, peer or listed client) by id.
    pub fn identity(&self, id: &IdentityId) -> Option<&Member> {
        self.by_id.get(id)
    }

    /// SPEC L3: whether `id` is on the client allow-list (`[[clients]]`, roles client or admin).
    pub fn is_allowed_client(&self, id: &IdentityId) -> bool {
        self.by_id
            .get(id)
            .is_some_and(|m| m.kind == MemberKind::Client)
    }

    /// The endorsement flow and link emulation.
    pub fn network(&self) -> &NetworkEntry {
        &self.network
    }

    /// The attestation service, when the consortium requires attested endorsement enclaves.
    pub fn attestation(&self) -> Option<&AttestationService> {
        self.attestation.as_ref()
    }

    pub fn management(&self) -> &Member {
        &self.management
    }

    /// Endorsers in config order: an endorser's index here is the one `endorsement.sequence` uses.
    pub fn endorsers(&self) -> &[Endorser] {
        &self.endorsers
    }

    pub fn endorser_by_name(&self, name: &str) -> Option<&Endorser> {
        self.endorsers.iter().find(|e| e.member.name == name)
    }

    /// Indices of the endorsers that host `peer`'s key (exactly one in partitioned mode).
    pub fn endorsers_hosting(&self, peer: &str) -> Vec<usize> {
        self.endorsers
            .iter()
            .enumerate()
            .filter(|(_, e)| e.hosts.iter().any(|h| h == peer))
            .map(|(i, _)| i)
            .collect()
    }

    /// Peers in config order.
    pub fn peers(&self) -> &[Member] {
        &self.peers
    }

    pub fn peer_by_name(&self, name: &str) -> Option<&Member> {
        self.peers.iter().find(|p| p.name == name)
    }

    /// The client allow-list, in config order.
    pub fn clients(&self) -> &[Member] {
        &self.clients
    }

    /// Any member by name.
    pub fn member_by_name(&self, name: &str) -> Option<&Member> {
        self.by_id.values().find(|m| m.name == name)
    }
}

fn allowed_roles(kind: MemberKind) -> (&'static [Role], &'static str, OrgKind) {
    match kind {
        MemberKind::Client => (
            &[Role::Client, Role::Admin],
            "client or admin",
            OrgKind::Application,
        ),
        MemberKind::Peer => (&[Role::Peer], "peer", OrgKind::Application),
        MemberKind::Endorser | MemberKind::Management | MemberKind::AttestationService => {
            (&[Role::Orderer], "orderer", OrgKind::Orderer)
        }
    }
}

fn resolve_member(
    orgs: &BTreeMap<String, Org>,
    base: &Path,
    now: u64,
    slot: &Slot<'_>,
) -> Result<Member, MspError> {
    let entry = || slot.entry.clone();
    if slot.name.is_empty() {
        return Err(MspError::EmptyField {
            entry: entry(),
            field: "name",
        });
    }
    if slot.url.is_some_and(str::is_empty) {
        return Err(MspError::EmptyField {
            entry: entry(),
            field: "url",
        });
    }
    let (roles, expected, org_kind) = allowed_roles(slot.kind);
    let org = orgs.get(slot.msp_id).ok_or_else(|| MspError::UnknownOrg {
        entry: entry(),
        msp_id: slot.msp_id.to_owned(),
    })?;
    if org.kind != org_kind {
        return Err(MspError::WrongOrgKind {
            entry: entry(),
            msp_id: slot.msp_id.to_owned(),
            expected: org_kind.as_str(),
        });
    }
    let load = |e: MspError| MspError::EntryCertificate {
        entry: entry(),
        source: Box::new(e),
    };
    let der = read_cert_file(&base.join(slot.cert)).map_err(load)?;
    let info = parse_certificate(&der).map_err(load)?;
    if info.msp_id != slot.msp_id {
        return Err(MspError::MspMismatch {
            entry: entry(),
            declared: slot.msp_id.to_owned(),
            in_cert: info.msp_id,
        });
    }
    verify_issued_by(&der, &org.ca_cert_der, now).map_err(|e| MspError::CertNotFromOrg {
        entry: entry(),
        msp_id: slot.msp_id.to_owned(),
        source: Box::new(e),
    })?;
    if info.name != slot.name {
        return Err(MspError::NameMismatch {
            entry: entry(),
            declared: slot.name.to_owned(),
            in_cert: info.name,
        });
    }
    if !roles.contains(&info.role) {
        return Err(MspError::WrongRole {
            entry: entry(),
            role: info.role,
            expected,
        });
    }
    Ok(Member {
        id: info.id,
        name: info.name,
        msp_id: info.msp_id,
        role: info.role,
        public_key: info.public_key,
        kind: slot.kind,
        url: slot.url.map(str::to_owned),
        cert_der: der,
        not_before: info.not_before,
        not_after: info.not_after,
    })
}

fn check_hosting(
    mode: EndorsementMode,
    endorsers: &[Endorser],
    peers: &[Member],
) -> Result<(), MspError> {
    let peer_names: BTreeSet<&str> = peers.iter().map(|p| p.name.as_str()).collect();
    let mut host_of: BTreeMap<&str, &str> = BTreeMap::new();
    for e in endorsers {
        let mut seen = BTreeSet::new();
        for h in &e.hosts {
            if !peer_names.contains(h.as_str()) {
                return Err(MspError::UnknownHostedPeer {
                    endorser: e.member.name.clone(),
                    peer: h.clone(),
                });
            }
            if !seen.insert(h.as_str()) {
                return Err(MspError::DuplicateHostedPeer {
                    endorser: e.member.name.clone(),
                    peer: h.clone(),
                });
            }
            if mode == EndorsementMode::Partitioned
                && let Some(first) = host_of.insert(h.as_str(), e.member.name.as_str())
            {
                return Err(MspError::PeerHostedTwice {
                    peer: h.clone(),
                    first: first.to_owned(),
                    second: e.member.name.clone(),
                });
            }
        }
        if mode == EndorsementMode::Replicated
            && let Some(missing) = peers.iter().find(|p| !seen.contains(p.name.as_str()))
        {
            return Err(MspError::EndorserMissingPeer {
                endorser: e.member.name.clone(),
                peer: missing.name.clone(),
            });
        }
    }
    if mode == EndorsementMode::Partitioned
        && let Some(p) = peers
            .iter()
            .find(|p| !host_of.contains_key(p.name.as_str()))
    {
        return Err(MspError::PeerNotHosted {
            peer: p.name.clone(),
        });
    }
    Ok(())
}

fn check_endorsement(
    mut s: EndorsementSettings,
    endorsers: usize,
) -> Result<EndorsementSettings, MspError> {
    if s.timeout_ms == 0 {
        return Err(MspError::InvalidSetting {
            field: "endorsement.timeout_ms",
            reason: "must be positive",
        });
    }
    let round_robin = s.mode == EndorsementMode::Replicated && s.selection == Selection::RoundRobin;
    if !round_robin {
        if !s.sequence.is_empty() {
            return Err(MspError::SequenceNotApplicable);
        }
        return Ok(s);
    }
    if s.sequence.is_empty() {
        s.sequence = (0..endorsers).map(|i| vec![i]).collect();
    }
    for (step, group) in s.sequence.iter().enumerate() {
        if group.is_empty() {
            return Err(MspError::EmptySequenceStep { step });
        }
        let mut seen = BTreeSet::new();
        for &index in group {
            if index >= endorsers {
                return Err(MspError::SequenceIndexOutOfRange {
                    step,
                    index,
                    endorsers,
                });
            }
            if !seen.insert(index) {
                return Err(MspError::SequenceDuplicateIndex { step, index });
            }
        }
    }
    Ok(s)
}

fn check_block(b: &BlockSettings) -> Result<(), MspError> {
    if b.max_txs == 0 {
        return Err(MspError::InvalidSetting {
            field: "block.max_txs",
            reason: "must be positive",
        });
    }
    if b.max_bytes == 0 || b.max_bytes > arcanum_types::limits::MAX_BLOCK_BYTES as u64 {
        return Err(MspError::InvalidSetting {
            field: "block.max_bytes",
            reason: "must be in 1..=MAX_BLOCK_BYTES",
        });
    }
    if b.timeout_ms == 0 {
        return Err(MspError::InvalidSetting {
            field: "block.timeout_ms",
            reason: "must be positive",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr() -> EndorsementSettings {
        EndorsementSettings {
            mode: EndorsementMode::Replicated,
            selection: Selection::RoundRobin,
            ..Default::default()
        }
    }

    #[test]
    fn round_robin_defaults_to_one_endorser_per_step() {
        assert_eq!(
            check_endorsement(rr(), 3).expect("ok").sequence,
            vec![vec![0], vec![1], vec![2]]
        );
    }

    #[test]
    fn load_selection_keeps_an_empty_sequence() {
        let s = EndorsementSettings {
            mode: EndorsementMode::Replicated,
            ..Default::default()
        };
        assert!(check_endorsement(s, 3).expect("ok").sequence.is_empty());
    }

    #[test]
    fn slot_roles() {
        assert_eq!(
            allowed_roles(MemberKind::Client).0,
            &[Role::Client, Role::Admin]
        );
        assert_eq!(allowed_roles(MemberKind::Peer).0, &[Role::Peer]);
        assert_eq!(allowed_roles(MemberKind::Endorser).2, OrgKind::Orderer);
        assert_eq!(allowed_roles(MemberKind::Management).0, &[Role::Orderer]);
    }
}

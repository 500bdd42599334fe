use std::path::PathBuf;

use arcanum_crypto::CryptoError;
use arcanum_types::Role;

/// Errors of the MSP: certificate issuing, parsing and verification, and config validation.
///
/// Validation errors name the offending config entry (`entry` is a human-readable locator such as
/// `peers[peer0.org1]`). `Display` never prints key material or passphrases.
#[derive(Debug, thiserror::Error)]
pub enum MspError {
    // ---- files -------------------------------------------------------------------------------
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {source}")]
    Toml {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("cannot encode TOML: {0}")]
    TomlEncode(#[from] toml::ser::Error),
    #[error("cannot encode or decode JSON {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("not a PEM `CERTIFICATE` block")]
    NotPemCertificate,
    #[error("passphrase file {path} is empty")]
    EmptyPassphrase { path: PathBuf },

    // ---- certificates ------------------------------------------------------------------------
    #[error("certificate is not valid DER X.509")]
    CertificateDecode,
    #[error("certificate has trailing bytes after the DER structure")]
    CertificateTrailingBytes,
    #[error("certificate subject lacks exactly one `{field}` attribute")]
    MissingSubjectField { field: &'static str },
    #[error("certificate OU `{ou}` is not a known role (client, peer, admin, orderer)")]
    UnknownRoleOu { ou: String },
    #[error("certificate subject key algorithm is not Ed25519, P-256 or RSA-2048")]
    UnsupportedKeyAlgorithm,
    #[error(
        "certificate signature algorithm is not Ed25519, ECDSA-P256-SHA256 or RSA-PKCS1-SHA256"
    )]
    UnsupportedSignatureAlgorithm,
    #[error("certificate's inner and outer signature algorithms differ")]
    SignatureAlgorithmMismatch,
    #[error("certificate signature does not verify under the issuer's key")]
    BadCertificateSignature,
    #[error("certificate issuer name does not match the CA's subject name")]
    IssuerMismatch,
    #[error("issuer certificate is not a CA (basicConstraints cA is absent or false)")]
    IssuerNotCa,
    #[error("certificate is not valid before {not_before} (now {now})")]
    NotYetValid { not_before: u64, now: u64 },
    #[error("certificate expired at {not_after} (now {now})")]
    Expired { not_after: u64, now: u64 },
    #[error("invalid validity window: not_before {not_before} must precede not_after {not_after}")]
    InvalidValidity { not_before: u64, not_after: u64 },
    #[error("role `{role}` cannot be put in a certificate (use client, peer, admin or orderer)")]
    RoleNotCertifiable { role: Role },
    #[error("certificate issuing failed: {0}")]
    Issue(#[source] rcgen::Error),
    #[error("CA key does not match the CA certificate")]
    CaKeyMismatch,
    #[error("key: {0}")]
    Crypto(#[from] CryptoError),

    // ---- consortium config -------------------------------------------------------------------
    #[error("consortium config lists no {what}")]
    Missing { what: &'static str },
    #[error(
        "org id `{msp_id}` must consist of ASCII letters, digits, `.` and `-` (policy principals name it)"
    )]
    InvalidMspId { msp_id: String },
    #[error("org `{msp_id}` is declared twice")]
    DuplicateOrg { msp_id: String },
    #[error("org `{msp_id}`: CA certificate is invalid: {source}")]
    InvalidCa {
        msp_id: String,
        #[source]
        source: Box<MspError>,
    },
    #[error("org `{msp_id}`: CA certificate's O is `{in_cert}`")]
    CaMspMismatch { msp_id: String, in_cert: String },
    #[error("{entry}: org `{msp_id}` is not declared in [[orgs]]")]
    UnknownOrg { entry: String, msp_id: String },
    #[error("{entry}: org `{msp_id}` is not an {expected} org")]
    WrongOrgKind {
        entry: String,
        msp_id: String,
        expected: &'static str,
    },
    #[error("{entry}: certificate is not valid for org `{msp_id}`: {source}")]
    CertNotFromOrg {
        entry: String,
        msp_id: String,
        #[source]
        source: Box<MspError>,
    },
    #[error("{entry}: certificate O is `{in_cert}` but the entry says `{declared}`")]
    MspMismatch {
        entry: String,
        declared: String,
        in_cert: String,
    },
    #[error("{entry}: certificate CN is `{in_cert}` but the entry is named `{declared}`")]
    NameMismatch {
        entry: String,
        declared: String,
        in_cert: String,
    },
    #[error("{entry}: certificate role `{role}` is not allowed in this slot (expected {expected})")]
    WrongRole {
        entry: String,
        role: Role,
        expected: &'static str,
    },
    #[error("{entry}: certificate could not be loaded: {source}")]
    EntryCertificate {
        entry: String,
        #[source]
        source: Box<MspError>,
    },
    #[error("name `{name}` is used by more than one entry")]
    DuplicateName { name: String },
    #[error("{entry}: `{field}` must not be empty")]
    EmptyField { entry: String, field: &'static str },
    #[error("endorser `{endorser}` hosts `{peer}`, which is not a declared peer")]
    UnknownHostedPeer { endorser: String, peer: String },
    #[error("endorser `{endorser}` lists hosted peer `{peer}` twice")]
    DuplicateHostedPeer { endorser: String, peer: String },
    #[error("partitioned mode: peer `{peer}` is hosted by both `{first}` and `{second}`")]
    PeerHostedTwice {
        peer: String,
        first: String,
        second: String,
    },
    #[error("peer `{peer}` is hosted by no endorser")]
    PeerNotHosted { peer: String },
    #[error("replicated mode: endorser `{endorser}` does not host peer `{peer}`")]
    EndorserMissingPeer { endorser: String, peer: String },
    #[error(
        "endorsement.sequence is only valid with mode = \"replicated\" and selection = \"round-robin\""
    )]
    SequenceNotApplicable,
    #[error("endorsement.sequence step {step} is empty")]
    EmptySequenceStep { step: usize },
    #[error(
        "endorsement.sequence step {step} names endorser index {index}, but there are {endorsers} endorsers"
    )]
    SequenceIndexOutOfRange {
        step: usize,
        index: usize,
        endorsers: usize,
    },
    #[error("endorsement.sequence step {step} names endorser index {index} twice")]
    SequenceDuplicateIndex { step: usize, index: usize },
    #[error("setting `{field}` is invalid: {reason}")]
    InvalidSetting {
        field: &'static str,
        reason: &'static str,
    },

    // ---- node config and key material --------------------------------------------------------
    #[error("node config: role `{role}` requires `{field}`")]
    NodeFieldMissing {
        role: &'static str,
        field: &'static str,
    },
    #[error("node `{name}` is not a {role} in the consortium config")]
    NodeNotInConsortium { name: String, role: &'static str },
    #[error("key file {path} could not be opened (wrong passphrase or corrupted)")]
    KeyFileOpen {
        path: PathBuf,
        #[source]
        source: CryptoError,
    },
    #[error("key for `{name}` does not match its certificate's public key")]
    KeyCertMismatch { name: String },
    #[error("devnet: {0}")]
    DevnetSpec(&'static str),
    #[error("devnet has no client named `{name}`")]
    UnknownClient { name: String },
}

impl MspError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> MspError {
        MspError::Io {
            path: path.into(),
            source,
        }
    }
}

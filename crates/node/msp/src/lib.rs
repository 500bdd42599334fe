//! Organisations, X.509 identities and the consortium config of Arcanum (SPEC L3, L5): the
//! membership service provider (MSP), in Fabric's style.
//!
//! - [`CertificateAuthority`]: one self-signed CA per organisation (Ed25519 by default, P-256 or
//!   RSA-2048 selectable). It issues certificates with subject `O=<msp_id>, OU=<role>, CN=<name>`
//!   (Fabric NodeOUs: client, peer, admin, orderer). [`parse_certificate`] reads them back into a
//!   [`CertInfo`] whose `id` is the SHA-256 of the DER; [`verify_issued_by`] checks issuer name,
//!   CA flag, signature (aws-lc-rs) and validity at a caller-given time.
//! - [`Consortium`]: the resolved `consortium.toml` ([`ConsortiumFile`]) that every node loads.
//!   Loading validates it completely: every certificate chains to its org's CA, the OU role fits
//!   its slot, names and identities are unique, and the hosting of peer keys by endorsers matches
//!   the endorsement mode (SPEC L2). It answers the allow-list question of L3.
//! - [`NodeConfig`]: one process's TOML config, and the loading of its encrypted keys.
//! - [`generate_devnet`]: a whole network's key material and configs in one directory.
//!
//! Invariants:
//! - No clock is read: every time check takes `now_unix` from the caller. No randomness except
//!   the caller's RNG (and aws-lc's DRBG inside P-256/RSA key generation and ECDSA signing).
//! - A [`Consortium`] value only exists if the whole config validated; errors name the offending
//!   entry with a precise [`MspError`] variant.
//! - Certificates are accepted only with Ed25519, ECDSA-P256-SHA256 or RSA-PKCS1-SHA256
//!   signatures and Ed25519, P-256 or RSA-2048 keys; public keys come out in arcanum-crypto's
//!   encodings (Ed25519 raw 32 B, P-256 SEC1 uncompressed 65 B, RSA PKCS#1 DER).
//! - Private keys exist on disk only as passphrase-protected key files (mode 0600); passphrases
//!   are zeroized and never printed.

mod cert;
mod consortium;
mod devnet;
mod error;
mod keys;
mod node;

pub use cert::{
    CaInfo, CertInfo, CertificateAuthority, der_to_pem, parse_ca_certificate, parse_certificate,
    pem_to_der, verify_ca_certificate, verify_issued_by,
};
pub use consortium::{
    AttestationEntry, AttestationService, BlockSettings, ClientEntry, Consortium, ConsortiumFile,
    EndorsementMode, EndorsementSettings, Endorser, EndorserEntry, Flow, Member, MemberKind,
    NetworkEntry, NodeEntry, Org, OrgEntry, OrgKind, Selection,
};
pub use devnet::{
    CONSORTIUM_FILE, ClientIdentity, ClientLayout, DevnetAttestation, DevnetLayout, DevnetSpec,
    LAYOUT_FILE, LinkSpec, MGMT_ORG, NodeLayout, OrgLayout, PASSPHRASE_FILE, generate_devnet,
    load_client_key,
};
pub use error::MspError;
pub use keys::{
    DEVNET_KDF, Passphrase, read_key_file, read_passphrase, write_key_file, write_passphrase,
};
pub use node::{NodeConfig, NodeRole, load_hosted_keys};

/// Seconds since the Unix epoch: the wall clock nodes and clients pass to validity checks
/// (certificates, attestation reports, join offers).
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

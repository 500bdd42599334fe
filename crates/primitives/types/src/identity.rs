use std::fmt;

use arcanum_crypto::Hash;
use borsh::{BorshDeserialize, BorshSerialize};

/// Roles an X.509 identity carries, as in a Fabric MSP with NodeOUs. `Member` is a principal role
/// only: any identity of the organisation satisfies it; certificates carry one of the other four.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[borsh(use_discriminant = true)]
pub enum Role {
    Member = 0,
    Admin = 1,
    Client = 2,
    Peer = 3,
    Orderer = 4,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Client => "client",
            Role::Peer => "peer",
            Role::Orderer => "orderer",
        }
    }

    /// Parses the lower-case role name used in principals and certificates.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "member" => Role::Member,
            "admin" => Role::Admin,
            "client" => Role::Client,
            "peer" => Role::Peer,
            "orderer" => Role::Orderer,
            _ => return None,
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An identity's id: the SHA-256 of its X.509 certificate (DER).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct IdentityId(pub Hash);

impl IdentityId {
    /// The id of a certificate.
    pub fn of_certificate(der: &[u8]) -> IdentityId {
        IdentityId(arcanum_crypto::sha256(der))
    }
}

impl fmt::Debug for IdentityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityId({})", &self.0.to_hex()[..16])
    }
}

impl fmt::Display for IdentityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

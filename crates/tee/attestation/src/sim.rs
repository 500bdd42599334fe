//! Arcanum simulation evidence: what the simulated TEE platform produces instead of a quote.
//!
//! Wire format (170 bytes):
//!
//! ```text
//! b"ARCSIM01" || borsh(SimEvidence) (98 bytes) || Ed25519 signature (64 bytes)
//! ```
//!
//! The signature is RFC 8032 Ed25519, by the simulated vendor key, over the 32-byte
//! `arcanum_crypto::tagged_hash(domain::TEE_SIM_EVIDENCE, &[&borsh(body)])`.
//!
//! The default vendor key is deterministic and **public** (seed =
//! SHA-256("arcanum simulated TEE vendor key v1")): anyone can forge this evidence, so it proves
//! nothing about isolation. Verification therefore always reports `is_secure = false`, platform
//! `Simulated` and TCB status `"Simulated"`, and the attestation policy refuses it unless
//! `allow_simulation` is set.

use std::collections::BTreeMap;

use arcanum_crypto::{PublicKey, SigningKey, domain, sha256, tagged_hash, verify_ed25519_raw};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::encoding::SIM_MAGIC;
use crate::{AttestError, Inspection, PlatformKind, Verdict};

/// The only evidence version.
pub const SIM_EVIDENCE_VERSION: u8 = 1;
/// Seed string of the default simulated vendor key.
pub const VENDOR_KEY_SEED: &str = "arcanum simulated TEE vendor key v1";
/// Length of the borsh body.
pub const BODY_LEN: usize = 1 + 32 + 64 + 1;
/// Total length of encoded simulation evidence.
pub const SIM_EVIDENCE_LEN: usize = SIM_MAGIC.len() + BODY_LEN + 64;
/// TCB status reported for simulation evidence.
pub const SIMULATED_TCB_STATUS: &str = "Simulated";

/// The body of simulation evidence.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SimEvidence {
    /// Always [`SIM_EVIDENCE_VERSION`].
    pub version: u8,
    /// Hash of the enclave binary (the simulated measurement).
    pub measurement: [u8; 32],
    /// Caller-chosen data bound into the evidence (e.g. `report::key_binding`).
    pub report_data: [u8; 64],
    /// Whether the simulated enclave runs in debug mode.
    pub debug: bool,
}

/// The default simulated vendor signing key (public, deterministic).
pub fn vendor_key() -> SigningKey {
    SigningKey::from_ed25519_seed(&sha256(VENDOR_KEY_SEED.as_bytes()).0)
}

/// The default simulated vendor public key.
pub fn vendor_public_key() -> PublicKey {
    vendor_key().public_key()
}

impl SimEvidence {
    /// Version-1 evidence.
    pub fn new(measurement: [u8; 32], report_data: [u8; 64], debug: bool) -> Self {
        SimEvidence {
            version: SIM_EVIDENCE_VERSION,
            measurement,
            report_data,
            debug,
        }
    }

    fn body(&self) -> [u8; BODY_LEN] {
        let mut b = [0u8; BODY_LEN];
        b[0] = self.version;
        b[1..33].copy_from_slice(&self.measurement);
        b[33..97].copy_from_slice(&self.report_data);
        b[97] = u8::from(self.debug);
        b
    }

    /// The 32-byte digest the vendor signs.
    pub fn signing_digest(&self) -> [u8; 32] {
        tagged_hash(domain::TEE_SIM_EVIDENCE, &[&self.body()]).0
    }

    /// Encodes and signs with an Ed25519 vendor key.
    ///
    /// Errors with [`AttestError::InvalidArgument`] for a non-Ed25519 key.
    pub fn try_sign(&self, vendor: &SigningKey) -> Result<Vec<u8>, AttestError> {
        let sig = vendor
            .sign_ed25519_raw(&self.signing_digest())
            .map_err(|_| AttestError::InvalidArgument {
                reason: "the simulated vendor key must be Ed25519",
            })?;
        let mut out = Vec::with_capacity(SIM_EVIDENCE_LEN);
        out.extend_from_slice(SIM_MAGIC);
        out.extend_from_slice(&self.body());
        out.extend_from_slice(&sig.0);
        Ok(out)
    }

    /// Encodes and signs with an Ed25519 vendor key (normally [`vendor_key`]).
    ///
    /// # Panics
    /// If `vendor` is not an Ed25519 key (a programming error); use [`SimEvidence::try_sign`]
    /// to get an error instead.
    pub fn sign(&self, vendor: &SigningKey) -> Vec<u8> {
        #[allow(clippy::expect_used)]
        self.try_sign(vendor)
            .expect("the simulated vendor key must be Ed25519")
    }

    /// Parses encoded evidence without checking the signature.
    pub fn decode(bytes: &[u8]) -> Result<(SimEvidence, [u8; 64]), AttestError> {
        if !bytes.starts_with(SIM_MAGIC) {
            return Err(AttestError::UnknownEvidenceType);
        }
        if bytes.len() < SIM_EVIDENCE_LEN {
            return Err(AttestError::EvidenceTruncated {
                what: "simulation evidence",
                need: SIM_EVIDENCE_LEN,
                have: bytes.len(),
            });
        }
        if bytes.len() > SIM_EVIDENCE_LEN {
            return Err(AttestError::malformed(
                "bytes after the simulation evidence signature",
            ));
        }
        let body = &bytes[SIM_MAGIC.len()..SIM_MAGIC.len() + BODY_LEN];
        let ev = SimEvidence::try_from_slice(body)
            .map_err(|e| AttestError::malformed(format!("simulation evidence body: {e}")))?;
        if ev.version != SIM_EVIDENCE_VERSION {
            return Err(AttestError::UnsupportedEvidence {
                reason: format!("simulation evidence version {}", ev.version),
            });
        }
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&bytes[SIM_MAGIC.len() + BODY_LEN..]);
        Ok((ev, sig))
    }
}

/// Parses simulation evidence without verifying it.
pub(crate) fn inspect(bytes: &[u8]) -> Result<Inspection, AttestError> {
    let (ev, _) = SimEvidence::decode(bytes)?;
    Ok(Inspection {
        platform: PlatformKind::Simulated,
        version: u32::from(ev.version),
        measurement: ev.measurement.to_vec(),
        report_data: ev.report_data.to_vec(),
        debug: ev.debug,
    })
}

/// Verifies simulation evidence against `vendor` (raw 32-byte Ed25519 key; `None` = default).
pub(crate) fn verify(bytes: &[u8], vendor: Option<&[u8]>) -> Result<Verdict, AttestError> {
    let default_pk = vendor_public_key();
    let vendor_pk: &[u8] = match vendor {
        Some(pk) if pk.len() == 32 => pk,
        Some(pk) => {
            return Err(AttestError::TrustAnchorInvalid {
                reason: format!(
                    "simulated vendor key must be 32 raw bytes, got {}",
                    pk.len()
                ),
            });
        }
        None => &default_pk.bytes,
    };
    let (ev, sig) = SimEvidence::decode(bytes)?;
    verify_ed25519_raw(vendor_pk, &ev.signing_digest(), &sig).map_err(|e| match e {
        arcanum_crypto::CryptoError::BadPublicKey | arcanum_crypto::CryptoError::WeakPublicKey => {
            AttestError::TrustAnchorInvalid {
                reason: "simulated vendor key is not a valid Ed25519 key".into(),
            }
        }
        _ => AttestError::EvidenceSignatureInvalid,
    })?;
    let mut extra = BTreeMap::new();
    extra.insert("evidence_version".into(), ev.version.to_string());
    extra.insert("vendor_key".into(), hex::encode(vendor_pk));
    Ok(Verdict {
        platform: PlatformKind::Simulated,
        measurement: ev.measurement.to_vec(),
        report_data: ev.report_data.to_vec(),
        tcb_status: SIMULATED_TCB_STATUS.into(),
        advisories: Vec::new(),
        debug: ev.debug,
        is_secure: false,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arcanum_crypto::Algorithm;

    #[test]
    fn body_is_borsh() {
        let ev = SimEvidence::new([7; 32], [9; 64], true);
        assert_eq!(
            borsh::to_vec(&ev).expect("borsh").as_slice(),
            &ev.body()[..]
        );
        let signed = ev.sign(&vendor_key());
        assert_eq!(signed.len(), SIM_EVIDENCE_LEN);
        assert_eq!(SimEvidence::decode(&signed).map(|(e, _)| e), Ok(ev));
    }

    #[test]
    fn vendor_key_is_deterministic() {
        assert_eq!(vendor_public_key(), vendor_key().public_key());
        assert_eq!(vendor_public_key().algorithm, Algorithm::Ed25519);
    }

    #[test]
    fn non_ed25519_vendor_key_is_an_error() {
        let key = SigningKey::generate(Algorithm::P256, &mut rand_core::OsRng).expect("P-256 key");
        assert_eq!(
            SimEvidence::new([0; 32], [0; 64], false)
                .try_sign(&key)
                .map_err(|e| e.code()),
            Err("INVALID_ARGUMENT")
        );
    }
}

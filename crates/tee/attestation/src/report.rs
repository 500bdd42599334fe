//! Signed remote attestation reports (SPEC A2): what the attestation service issues after a
//! verdict passes its policy, and what clients and other nodes verify.
//!
//! A node binds its public keys into its evidence by putting [`key_binding`] of them in the
//! report data; [`issue`] refuses a verdict whose report data is not exactly that, so a report
//! can only vouch for keys the attested enclave chose. The report is borsh-encoded and signed
//! with the service key under [`domain::ATTESTATION_REPORT_SIGNATURE`].

use arcanum_crypto::{PublicKey, Signature, SigningKey, domain, tagged_hash};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::{AttestError, PlatformKind, Verdict};

/// Current report format version.
pub const REPORT_VERSION: u8 = 1;
/// Largest accepted encoded [`SignedReport`].
pub const MAX_SIGNED_REPORT_BYTES: usize = 64 * 1024;

/// The statement the attestation service signs.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AttestationReport {
    /// [`REPORT_VERSION`].
    pub version: u8,
    /// Who was attested (node id, cluster name, …), chosen by the service.
    pub subject: String,
    pub platform: PlatformKind,
    pub measurement: Vec<u8>,
    pub tcb_status: String,
    pub advisories: Vec<String>,
    pub debug: bool,
    pub is_secure: bool,
    /// The evidence's report data: [`key_binding`] of `bound_keys`.
    pub report_data: [u8; 64],
    /// The node's public keys this report vouches for.
    pub bound_keys: Vec<PublicKey>,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds; the report is valid for `issued_at <= now < expires_at`.
    pub expires_at: u64,
}

/// A report with the service's signature.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedReport {
    pub report: AttestationReport,
    pub issuer: PublicKey,
    pub signature: Signature,
}

impl SignedReport {
    /// Canonical (borsh) encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail; lengths are bounded by `issue`.
        if self.serialize(&mut out).is_err() {
            out.clear();
        }
        out
    }

    /// Strict decoding (no trailing bytes), bounded by [`MAX_SIGNED_REPORT_BYTES`].
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedReport, AttestError> {
        if bytes.len() > MAX_SIGNED_REPORT_BYTES {
            return Err(AttestError::ReportMalformed {
                reason: format!("{} bytes, more than {MAX_SIGNED_REPORT_BYTES}", bytes.len()),
            });
        }
        SignedReport::try_from_slice(bytes).map_err(|e| AttestError::ReportMalformed {
            reason: e.to_string(),
        })
    }
}

/// `borsh(Vec<PublicKey>)`, written out so that it cannot fail.
fn encode_keys(keys: &[PublicKey]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
    for k in keys {
        out.push(k.algorithm as u8);
        out.extend_from_slice(&(k.bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&k.bytes);
    }
    out
}

/// The report data a node puts in its evidence to bind `keys`: the tagged hash
/// (`domain::ATTESTATION_KEY_BINDING`) of `borsh(keys)` in the first 32 bytes, zeros after.
/// Order matters.
pub fn key_binding(keys: &[PublicKey]) -> [u8; 64] {
    key_binding_with_context(keys, &[0; 32])
}

/// [`key_binding`] with a 32-byte context of the node's own in the last 32 bytes (an
/// endorsement enclave's chain pin hash). A report carries the whole report data, so whoever
/// verifies it reads the context back from [`AttestationReport::context`]; [`issue`] and
/// [`verify_report`] check the key half only.
pub fn key_binding_with_context(keys: &[PublicKey], context: &[u8; 32]) -> [u8; 64] {
    let h = tagged_hash(domain::ATTESTATION_KEY_BINDING, &[&encode_keys(keys)]);
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&h.0);
    out[32..].copy_from_slice(context);
    out
}

/// Whether report data binds exactly `keys` in its first half.
fn binds_keys(report_data: &[u8], keys: &[PublicKey]) -> bool {
    report_data.len() == 64 && report_data[..32] == key_binding(keys)[..32]
}

impl AttestationReport {
    /// The last 32 bytes of the report data: the context the node bound beside its keys.
    pub fn context(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.report_data[32..]);
        out
    }
}

fn report_bytes(report: &AttestationReport) -> Result<Vec<u8>, AttestError> {
    borsh::to_vec(report).map_err(|e| AttestError::ReportMalformed {
        reason: e.to_string(),
    })
}

/// Issues a signed report for a verdict that has passed the service's policy (the caller runs
/// `AttestationPolicy::check` first). Requires the verdict's report data to be
/// [`key_binding_with_context`] of `bound_keys` and some context (`KEY_BINDING_MISMATCH`), at
/// least one key and `ttl_secs > 0` (`INVALID_ARGUMENT`). The report carries the whole report
/// data, context included.
pub fn issue(
    verdict: &Verdict,
    subject: &str,
    bound_keys: &[PublicKey],
    issuer: &SigningKey,
    now: u64,
    ttl_secs: u64,
) -> Result<SignedReport, AttestError> {
    if bound_keys.is_empty() {
        return Err(AttestError::InvalidArgument {
            reason: "no keys to bind",
        });
    }
    if ttl_secs == 0 {
        return Err(AttestError::InvalidArgument {
            reason: "ttl_secs must be positive",
        });
    }
    let expires_at = now
        .checked_add(ttl_secs)
        .ok_or(AttestError::InvalidArgument {
            reason: "now + ttl_secs overflows",
        })?;
    if !binds_keys(&verdict.report_data, bound_keys) {
        return Err(AttestError::KeyBindingMismatch);
    }
    let mut binding = [0u8; 64];
    binding.copy_from_slice(&verdict.report_data);
    let report = AttestationReport {
        version: REPORT_VERSION,
        subject: subject.to_string(),
        platform: verdict.platform,
        measurement: verdict.measurement.clone(),
        tcb_status: verdict.tcb_status.clone(),
        advisories: verdict.advisories.clone(),
        debug: verdict.debug,
        is_secure: verdict.is_secure,
        report_data: binding,
        bound_keys: bound_keys.to_vec(),
        issued_at: now,
        expires_at,
    };
    let bytes = report_bytes(&report)?;
    if bytes.len() > MAX_SIGNED_REPORT_BYTES / 2 {
        return Err(AttestError::InvalidArgument {
            reason: "report too large",
        });
    }
    let signature = issuer
        .try_sign(domain::ATTESTATION_REPORT_SIGNATURE, &bytes)
        .map_err(|_| AttestError::SigningFailed)?;
    Ok(SignedReport {
        report,
        issuer: issuer.public_key(),
        signature,
    })
}

/// Verifies a signed report, in this order: issuer trusted (`FOREIGN_ISSUER`), signature
/// (`REPORT_SIGNATURE_INVALID`), version (`REPORT_MALFORMED`), time window
/// (`REPORT_NOT_YET_VALID` / `REPORT_EXPIRED`), internal key binding (`KEY_BINDING_MISMATCH`),
/// and, with `expected_keys`, that every expected key is bound (`KEY_MISMATCH`).
pub fn verify_report<'a>(
    signed: &'a SignedReport,
    trusted_issuers: &[PublicKey],
    now: u64,
    expected_keys: Option<&[PublicKey]>,
) -> Result<&'a AttestationReport, AttestError> {
    if !trusted_issuers.contains(&signed.issuer) {
        return Err(AttestError::ForeignIssuer);
    }
    let r = &signed.report;
    let bytes = report_bytes(r)?;
    signed
        .issuer
        .verify(
            domain::ATTESTATION_REPORT_SIGNATURE,
            &bytes,
            &signed.signature,
        )
        .map_err(|_| AttestError::ReportSignatureInvalid {
            what: "attestation report",
        })?;
    if r.version != REPORT_VERSION {
        return Err(AttestError::ReportMalformed {
            reason: format!("report version {}", r.version),
        });
    }
    if now < r.issued_at {
        return Err(AttestError::ReportNotYetValid);
    }
    if now >= r.expires_at {
        return Err(AttestError::ReportExpired);
    }
    if !binds_keys(&r.report_data, &r.bound_keys) {
        return Err(AttestError::KeyBindingMismatch);
    }
    if let Some(expected) = expected_keys
        && (expected.is_empty() || !expected.iter().all(|k| r.bound_keys.contains(k)))
    {
        return Err(AttestError::KeyMismatch);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arcanum_crypto::Algorithm;

    #[test]
    fn key_binding_hashes_borsh_of_the_keys() {
        let keys = vec![
            PublicKey {
                algorithm: Algorithm::Ed25519,
                bytes: vec![1; 32],
            },
            PublicKey {
                algorithm: Algorithm::P256,
                bytes: vec![4; 65],
            },
        ];
        assert_eq!(encode_keys(&keys), borsh::to_vec(&keys).expect("borsh"));
        let b = key_binding(&keys);
        assert_eq!(&b[32..], &[0u8; 32]);
        assert_ne!(b, key_binding(&keys[..1]));
        let mut swapped = keys.clone();
        swapped.reverse();
        assert_ne!(b, key_binding(&swapped));
    }
}

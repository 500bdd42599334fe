//! Judging another node: its attestation report, its node card and its trust configuration.

use arcanum_attestation::{
    AttestError, AttestationPolicy, AttestationReport, SignedReport, Verdict, verify_report,
};
use arcanum_crypto::{Hash, PublicKey, domain};
use arcanum_types::encode;
use arcanum_types::offchain::ClusterMember;

use crate::error::Refusal;

/// What this enclave trusts: the parsed form of the host's `ClusterTrust`.
#[derive(Clone, Debug)]
pub struct Trust {
    pub issuers: Vec<PublicKey>,
    pub policy: AttestationPolicy,
    /// `ClusterTrust::hash` of the configuration this was parsed from.
    pub hash: Hash,
}

impl Trust {
    /// Parses and validates the trust configuration.
    pub fn parse(trust: &arcanum_enclave_protocol::cluster::ClusterTrust) -> Result<Trust, String> {
        let policy: AttestationPolicy =
            toml::from_str(&trust.policy_toml).map_err(|e| format!("attestation policy: {e}"))?;
        policy
            .validate()
            .map_err(|e| format!("attestation policy: {e}"))?;
        Ok(Trust {
            issuers: trust.issuers.clone(),
            policy,
            hash: trust.hash(),
        })
    }

    /// Verifies a signed report at `now`: trusted issuer, signature, time window, that it
    /// binds every key of `keys`, and the attestation policy (measurement, TCB, debug,
    /// simulation).
    pub fn check_report(
        &self,
        report: &[u8],
        keys: &[PublicKey],
        now: u64,
    ) -> Result<AttestationReport, AttestError> {
        let signed = SignedReport::from_bytes(report)?;
        let report = verify_report(&signed, &self.issuers, now, Some(keys))?;
        self.policy.check(&verdict_of(report))?;
        Ok(report.clone())
    }

    /// Verifies a member (or joiner): its report at `now` under this trust — binding its node
    /// key and, for a member, the `cluster_key` it holds (so a report vouches that an attested
    /// enclave holds the cluster key) — its card's signature, and that it trusts exactly what
    /// we trust.
    pub fn check_member(
        &self,
        member: &ClusterMember,
        cluster_key: Option<&PublicKey>,
        now: u64,
    ) -> Result<(), Refusal> {
        let mut keys = vec![member.card.node_key.clone()];
        keys.extend(cluster_key.cloned());
        self.check_report(&member.report, &keys, now)
            .map_err(Refusal::Report)?;
        member
            .card
            .node_key
            .verify(
                domain::NODE_CARD,
                &encode(&member.card),
                &member.card_signature,
            )
            .map_err(|_| Refusal::CardSignature)?;
        if member.card.trust != self.hash {
            return Err(Refusal::TrustMismatch);
        }
        Ok(())
    }
}

/// The verdict a signed report restates, so the attestation policy can judge it. Platform
/// details (`Verdict::extra`) are not in reports: a policy with `expected_product` (SEV-SNP
/// only) therefore refuses every report.
fn verdict_of(report: &AttestationReport) -> Verdict {
    Verdict {
        platform: report.platform,
        measurement: report.measurement.clone(),
        report_data: report.report_data.to_vec(),
        tcb_status: report.tcb_status.clone(),
        advisories: report.advisories.clone(),
        debug: report.debug,
        is_secure: report.is_secure,
        extra: Default::default(),
    }
}

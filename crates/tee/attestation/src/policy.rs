//! The attestation policy (SPEC A2): which verdicts an attestation service accepts.

use serde::{Deserialize, Serialize};

use crate::sim::SIMULATED_TCB_STATUS;
use crate::snp::{split_product, stepping_number};
use crate::{AttestError, PlatformKind, Verdict};

/// What an attestation service accepts. Loadable from TOML or JSON (serde); missing fields take
/// the [`Default`] values, which are the strict ones.
///
/// ```toml
/// allowed_measurements = ["33d8736d…"]   # hex; empty = any measurement
/// min_tcb_status = "SWHardeningNeeded"
/// allow_debug = false
/// allow_simulation = false
/// expected_product = "Milan"            # SEV-SNP only; "Milan-B0" or "Milan-0" also pins the stepping
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttestationPolicy {
    /// Accepted measurements (hex, case-insensitive, optional `0x`); empty accepts any.
    pub allowed_measurements: Vec<String>,
    /// Lowest accepted TCB status (see [`tcb_rank`]). Default `"UpToDate"`.
    pub min_tcb_status: String,
    /// Accept debug enclaves/guests. Default `false`.
    pub allow_debug: bool,
    /// Accept simulation evidence. Default `false`.
    pub allow_simulation: bool,
    /// SEV-SNP only: the expected product, `"Milan"`, or with a stepping, `"Milan-B0"` (KDS
    /// suffix) or `"Milan-0"` (stepping number). Ignored for other platforms.
    pub expected_product: Option<String>,
}

impl Default for AttestationPolicy {
    fn default() -> Self {
        AttestationPolicy {
            allowed_measurements: Vec::new(),
            min_tcb_status: "UpToDate".into(),
            allow_debug: false,
            allow_simulation: false,
            expected_product: None,
        }
    }
}

/// Rank of a TCB status; higher is better. `UpToDate` 5 > `SWHardeningNeeded` 4 >
/// `ConfigurationAndSWHardeningNeeded` = `ConfigurationNeeded` 3 > `OutOfDate` = `TDRelaunchAdvised` 2 >
/// `OutOfDateConfigurationNeeded` = `TDRelaunchAdvisedConfigurationNeeded` 1 > `Revoked` 0.
/// Unknown statuses (including `"Simulated"`) have no rank.
pub fn tcb_rank(status: &str) -> Option<u8> {
    Some(match status {
        "UpToDate" => 5,
        "SWHardeningNeeded" => 4,
        "ConfigurationAndSWHardeningNeeded" | "ConfigurationNeeded" => 3,
        "OutOfDate" | "TDRelaunchAdvised" => 2,
        "OutOfDateConfigurationNeeded" | "TDRelaunchAdvisedConfigurationNeeded" => 1,
        "Revoked" => 0,
        _ => return None,
    })
}

fn normalize_hex(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    (!s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| s.to_ascii_lowercase())
}

impl AttestationPolicy {
    /// Checks the policy itself: a known minimum TCB status and hex measurements.
    pub fn validate(&self) -> Result<(), AttestError> {
        if tcb_rank(&self.min_tcb_status).is_none() {
            return Err(AttestError::PolicyInvalid {
                reason: format!("unknown min_tcb_status {:?}", self.min_tcb_status),
            });
        }
        if let Some(bad) = self
            .allowed_measurements
            .iter()
            .find(|m| normalize_hex(m).is_none())
        {
            return Err(AttestError::PolicyInvalid {
                reason: format!("allowed measurement {bad:?} is not hex"),
            });
        }
        Ok(())
    }

    /// Checks a verdict, in this order: simulation, debug, measurement, TCB status, product.
    /// Simulation verdicts (when allowed) skip the TCB check: `"Simulated"` has no rank.
    pub fn check(&self, verdict: &Verdict) -> Result<(), AttestError> {
        self.validate()?;
        let simulated = verdict.platform == PlatformKind::Simulated;
        if simulated && !self.allow_simulation {
            return Err(AttestError::SimulationNotAllowed);
        }
        if verdict.debug && !self.allow_debug {
            return Err(AttestError::DebugNotAllowed);
        }
        let measurement = hex::encode(&verdict.measurement);
        if !self.allowed_measurements.is_empty()
            && !self
                .allowed_measurements
                .iter()
                .any(|m| normalize_hex(m).as_deref() == Some(measurement.as_str()))
        {
            return Err(AttestError::MeasurementNotAllowed { measurement });
        }
        if !simulated || verdict.tcb_status != SIMULATED_TCB_STATUS {
            let min = tcb_rank(&self.min_tcb_status).unwrap_or(u8::MAX);
            let have = tcb_rank(&verdict.tcb_status);
            if have.is_none_or(|h| h < min) {
                return Err(AttestError::TcbTooLow {
                    status: verdict.tcb_status.clone(),
                    min: self.min_tcb_status.clone(),
                });
            }
        }
        if let (Some(expected), PlatformKind::SevSnp) = (&self.expected_product, verdict.platform) {
            let actual = verdict
                .extra
                .get("product_name")
                .cloned()
                .unwrap_or_default();
            let (a_name, a_step) = split_product(&actual);
            let (e_name, e_step) = split_product(expected);
            let name_ok = a_name.eq_ignore_ascii_case(e_name);
            let step_ok = match e_step {
                None => true,
                Some(e) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
                    let want = e.parse::<u32>().ok();
                    let have = a_step.and_then(stepping_number).map(u32::from);
                    want.is_some() && want == have
                }
                Some(e) => a_step.is_some_and(|a| a.eq_ignore_ascii_case(e)),
            };
            if !(name_ok && step_ok) {
                return Err(AttestError::ProductMismatch {
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(())
    }
}

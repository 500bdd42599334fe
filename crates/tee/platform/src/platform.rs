//! The [`Platform`] trait, [`PlatformKind`] and platform detection.

use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::PlatformError;
use crate::{gramine, tsm};

/// Length of the report data bound into every piece of evidence.
pub const REPORT_DATA_LEN: usize = 64;

/// Which TEE a [`Platform`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlatformKind {
    /// The development/CI simulation: **no hardware protection at all**.
    Simulated,
    /// Intel SGX, enclave under Gramine (`/dev/attestation`).
    Sgx,
    /// Intel TDX confidential VM (configfs-tsm provider `tdx_guest`).
    Tdx,
    /// AMD SEV-SNP confidential VM (configfs-tsm provider `sev_guest`).
    SevSnp,
}

impl PlatformKind {
    /// `false` only for [`PlatformKind::Simulated`].
    pub const fn is_secure(self) -> bool {
        !matches!(self, PlatformKind::Simulated)
    }

    /// Length in bytes of this platform's measurement: 32 (simulated SHA-256, SGX MRENCLAVE)
    /// or 48 (TDX MRTD, SEV-SNP MEASUREMENT).
    pub const fn measurement_len(self) -> usize {
        match self {
            PlatformKind::Simulated | PlatformKind::Sgx => 32,
            PlatformKind::Tdx | PlatformKind::SevSnp => 48,
        }
    }

    /// A stable lower-case name: `simulated`, `sgx`, `tdx`, `sev-snp`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PlatformKind::Simulated => "simulated",
            PlatformKind::Sgx => "sgx",
            PlatformKind::Tdx => "tdx",
            PlatformKind::SevSnp => "sev-snp",
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<PlatformKind> for arcanum_attestation::PlatformKind {
    /// The verifier's name for the same platform, to compare with `Verdict::platform`.
    fn from(kind: PlatformKind) -> Self {
        match kind {
            PlatformKind::Simulated => arcanum_attestation::PlatformKind::Simulated,
            PlatformKind::Sgx => arcanum_attestation::PlatformKind::Sgx,
            PlatformKind::Tdx => arcanum_attestation::PlatformKind::Tdx,
            PlatformKind::SevSnp => arcanum_attestation::PlatformKind::SevSnp,
        }
    }
}

/// A trusted execution environment, seen from inside it.
///
/// Implementations: [`crate::Simulated`], [`crate::ConfigfsTsm`] (TDX, SEV-SNP) and
/// [`crate::GramineSgx`]. Every method may be called from several threads.
pub trait Platform: Send + Sync {
    /// Which TEE this is.
    fn kind(&self) -> PlatformKind;

    /// `false` only for the simulation: its evidence and sealing protect nothing.
    fn is_secure(&self) -> bool {
        self.kind().is_secure()
    }

    /// The code identity: SGX MRENCLAVE (32 bytes), TDX MRTD (48), SEV-SNP MEASUREMENT (48), or
    /// for the simulation the SHA-256 of the enclave binary (32).
    fn measurement(&self) -> Result<Vec<u8>, PlatformError>;

    /// Fresh raw evidence binding `report_data`: an SGX or TDX DCAP quote, an SEV-SNP
    /// attestation report, or signed simulation evidence. Backends check that the evidence
    /// really carries `report_data` before returning it.
    fn evidence(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, PlatformError>;

    /// A 32-byte secret bound to this platform (and, where the hardware supports it, to the
    /// measurement), from which [`crate::Sealer`] derives sealing keys.
    ///
    /// Confidential VMs return [`PlatformError::SealingUnsupported`].
    fn sealing_root(&self) -> Result<Zeroizing<[u8; 32]>, PlatformError>;
}

/// Looks for a hardware TEE interface under `root` (normally `/`).
///
/// In order:
/// 1. Gramine: `<root>/dev/attestation/attestation_type` exists and says `dcap` →
///    [`PlatformKind::Sgx`];
/// 2. configfs-tsm: `<root>/sys/kernel/config/tsm/report` is a directory, and the guest
///    device `<root>/dev/tdx_guest` → [`PlatformKind::Tdx`], or `<root>/dev/sev-guest` →
///    [`PlatformKind::SevSnp`].
///
/// Returns `None` otherwise. The simulation is never detected: running without protection
/// must be an explicit choice of the caller. Detection creates no report entry and writes
/// nothing; the backend checks the configfs-tsm `provider` when it first generates evidence.
pub fn detect(root: &Path) -> Option<PlatformKind> {
    if gramine::GramineSgx::open(root).is_ok() {
        return Some(PlatformKind::Sgx);
    }
    if root.join(tsm::REPORT_DIR).is_dir() {
        if root.join("dev/tdx_guest").exists() {
            return Some(PlatformKind::Tdx);
        }
        if root.join("dev/sev-guest").exists() {
            return Some(PlatformKind::SevSnp);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_simulated_is_insecure() {
        assert!(!PlatformKind::Simulated.is_secure());
        assert!(PlatformKind::Sgx.is_secure());
        assert!(PlatformKind::Tdx.is_secure());
        assert!(PlatformKind::SevSnp.is_secure());
        assert_eq!(PlatformKind::SevSnp.to_string(), "sev-snp");
        assert_eq!(PlatformKind::Tdx.measurement_len(), 48);
        assert_eq!(PlatformKind::Sgx.measurement_len(), 32);
        for kind in [
            PlatformKind::Simulated,
            PlatformKind::Sgx,
            PlatformKind::Tdx,
            PlatformKind::SevSnp,
        ] {
            assert_eq!(
                arcanum_attestation::PlatformKind::from(kind).as_str(),
                kind.as_str()
            );
        }
    }
}

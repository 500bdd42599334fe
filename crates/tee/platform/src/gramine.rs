//! Intel SGX enclaves under Gramine, through its `/dev/attestation` pseudo-filesystem
//! (`<root>/dev/attestation`).
//!
//! Files used:
//! - `attestation_type` (read): must be `dcap` (Gramine also reports `none` or `epid`);
//! - `user_report_data` (write, 64 bytes): the report data of the next quote;
//! - `quote` (read): a DCAP quote (v3) over the current `user_report_data`, generated on read;
//! - `keys/_sgx_mrenclave` (read, 16 bytes): the SGX sealing key bound to MRENCLAVE
//!   (`EGETKEY` with `KEYPOLICY.MRENCLAVE`).
//!
//! `user_report_data` followed by `quote` is a two-step protocol on process-wide state, so the
//! backend serialises it with a mutex and checks that the quote carries the requested report
//! data. The measurement (MRENCLAVE) is parsed from a quote and cached.
//!
//! The sealing root is `HKDF-SHA256(ikm = _sgx_mrenclave key, salt = none, info =
//! domain::TEE_GRAMINE_SEALING_ROOT)`, expanded to 32 bytes. The hardware key already depends on
//! MRENCLAVE and the CPU; [`crate::Sealer`] additionally salts with the measurement.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use arcanum_crypto::domain;
use zeroize::Zeroizing;

use crate::error::PlatformError;
use crate::fsio::{read_attribute, read_up_to, show, write_attribute};
use crate::kdf::hkdf32;
use crate::layout::{self, Fields, MAX_QUOTE_LEN};
use crate::platform::{Platform, PlatformKind, REPORT_DATA_LEN};

/// The Gramine attestation directory, relative to the root.
pub(crate) const ATTESTATION_DIR: &str = "dev/attestation";
/// The MRENCLAVE-bound sealing key file, relative to the attestation directory.
const SEALING_KEY_FILE: &str = "keys/_sgx_mrenclave";
/// Size of a Gramine SGX sealing key.
const GRAMINE_KEY_LEN: usize = 16;

/// The Gramine SGX backend.
#[derive(Debug)]
pub struct GramineSgx {
    dir: PathBuf,
    quote_lock: Mutex<()>,
    measurement: OnceLock<Vec<u8>>,
}

impl GramineSgx {
    /// Opens `<root>/dev/attestation` and checks that `attestation_type` is `dcap`.
    pub fn open(root: &Path) -> Result<Self, PlatformError> {
        let dir = root.join(ATTESTATION_DIR);
        if !dir.is_dir() {
            return Err(PlatformError::InterfaceMissing {
                interface: "gramine /dev/attestation",
                path: dir,
            });
        }
        let kind = read_attribute(&dir.join("attestation_type"))?;
        if kind != b"dcap" {
            return Err(PlatformError::WrongAttestationType { found: show(&kind) });
        }
        Ok(GramineSgx {
            dir,
            quote_lock: Mutex::new(()),
            measurement: OnceLock::new(),
        })
    }

    fn quote(
        &self,
        report_data: &[u8; REPORT_DATA_LEN],
        check_binding: bool,
    ) -> Result<(Vec<u8>, Fields), PlatformError> {
        // The mutex guards no data, only the write-then-read sequence: a poisoned lock is safe
        // to reuse.
        let _guard = self
            .quote_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        write_attribute(&self.dir.join("user_report_data"), report_data)?;
        let quote = read_up_to(&self.dir.join("quote"), MAX_QUOTE_LEN + 1)?;
        let fields = layout::sgx_quote(&quote)?;
        if check_binding && fields.report_data != *report_data {
            return Err(PlatformError::ReportDataMismatch { attempts: 1 });
        }
        Ok((quote, fields))
    }
}

impl Platform for GramineSgx {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Sgx
    }

    /// MRENCLAVE, parsed from a quote over all-zero report data, then cached.
    fn measurement(&self) -> Result<Vec<u8>, PlatformError> {
        if let Some(m) = self.measurement.get() {
            return Ok(m.clone());
        }
        let (_, fields) = self.quote(&[0u8; REPORT_DATA_LEN], false)?;
        let _ = self.measurement.set(fields.measurement.clone());
        Ok(fields.measurement)
    }

    fn evidence(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, PlatformError> {
        let (quote, fields) = self.quote(report_data, true)?;
        let _ = self.measurement.set(fields.measurement);
        Ok(quote)
    }

    fn sealing_root(&self) -> Result<Zeroizing<[u8; 32]>, PlatformError> {
        let path = self.dir.join(SEALING_KEY_FILE);
        let key = Zeroizing::new(read_up_to(&path, GRAMINE_KEY_LEN + 1)?);
        if key.len() != GRAMINE_KEY_LEN {
            return Err(PlatformError::BadSealingKey {
                path,
                len: key.len(),
                expected: GRAMINE_KEY_LEN,
            });
        }
        let root = hkdf32(None, &key, &[domain::TEE_GRAMINE_SEALING_ROOT.as_bytes()]);
        Ok(root)
    }
}

//! Intel TDX and AMD SEV-SNP confidential VMs through Linux configfs-tsm
//! (`<root>/sys/kernel/config/tsm/report`, Linux ≥ 6.7).
//!
//! One report is produced like this:
//! 1. `mkdir <report>/<entry>`: the kernel populates the entry with its attributes. An entry
//!    that already exists is reused (configfs-tsm entries may be shared; steps 5–7 detect a
//!    concurrent writer). Only an entry this backend created is removed at the end (`rmdir`).
//! 2. read `provider`: must be `tdx_guest` or `sev_guest`, as configured;
//! 3. SEV-SNP only, if configured: write `privlevel` (the VMPL, 0–3);
//! 4. write `inblob`: the 64 bytes of report data;
//! 5. read `generation` (the kernel increments it on every attribute write);
//! 6. read `outblob`: the kernel generates the TDX quote or SNP report on this read;
//! 7. read `generation` again: if it changed, another writer raced the read, so retry;
//! 8. parse the outblob (bounds-checked) and check that it carries our report data (and, for
//!    SNP with `privlevel`, our VMPL); otherwise another writer got in between steps 4 and 5,
//!    so retry. After [`MAX_ATTEMPTS`] attempts the last reason is returned as an error.
//!
//! Sealing: configfs-tsm offers no sealing key, so [`Platform::sealing_root`] returns
//! [`PlatformError::SealingUnsupported`]; secrets at rest in a confidential VM need a key from the
//! key-management service instead.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use zeroize::Zeroizing;

use crate::error::PlatformError;
use crate::fsio::{io_err, read_attribute, read_up_to, show, write_attribute};
use crate::layout::{self, Fields, MAX_QUOTE_LEN};
use crate::platform::{Platform, PlatformKind, REPORT_DATA_LEN};

/// The configfs-tsm report directory, relative to the root.
pub(crate) const REPORT_DIR: &str = "sys/kernel/config/tsm/report";
/// How many times one report is attempted before a race is reported as an error.
pub const MAX_ATTEMPTS: u32 = 3;

/// Which configfs-tsm provider (and so which confidential VM) the backend expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TsmProvider {
    /// Intel TDX: provider `tdx_guest`, outblob = DCAP quote (v4/v5).
    Tdx,
    /// AMD SEV-SNP: provider `sev_guest`, outblob = 1184-byte attestation report.
    SevSnp,
}

impl TsmProvider {
    /// The value of the `provider` attribute.
    pub const fn name(self) -> &'static str {
        match self {
            TsmProvider::Tdx => "tdx_guest",
            TsmProvider::SevSnp => "sev_guest",
        }
    }

    /// The platform kind.
    pub const fn kind(self) -> PlatformKind {
        match self {
            TsmProvider::Tdx => PlatformKind::Tdx,
            TsmProvider::SevSnp => PlatformKind::SevSnp,
        }
    }

    fn parse(self, outblob: &[u8]) -> Result<Fields, PlatformError> {
        match self {
            TsmProvider::Tdx => layout::tdx_quote(outblob),
            TsmProvider::SevSnp => layout::snp_report(outblob),
        }
    }
}

/// Points in one attempt where tests can play the kernel (change `generation`, rewrite `outblob`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    AfterInblobWrite,
    AfterOutblobRead,
}

/// The configfs-tsm backend for TDX and SEV-SNP guests.
#[derive(Debug)]
pub struct ConfigfsTsm {
    report_dir: PathBuf,
    provider: TsmProvider,
    privlevel: Option<u8>,
    entry_name: Option<String>,
    measurement: OnceLock<Vec<u8>>,
}

static ENTRY_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Removes the report entry on drop if this backend created it. `rmdir` on a configfs entry
/// deletes it with its attributes; on a plain directory (tests) it fails if files are left,
/// which is harmless. Cleanup errors are ignored: the report has been read or the error that
/// matters has been returned.
struct EntryGuard {
    path: PathBuf,
    created: bool,
}

impl Drop for EntryGuard {
    fn drop(&mut self) {
        if self.created {
            let _ = fs::remove_dir(&self.path);
        }
    }
}

enum Race {
    Generation,
    ReportData,
    PrivLevel { expected: u8, found: u32 },
}

impl ConfigfsTsm {
    /// Opens the backend under `root` (normally `/`). Fails with
    /// [`PlatformError::InterfaceMissing`] if `<root>/sys/kernel/config/tsm/report` is not a
    /// directory. The provider is checked at the first report.
    pub fn open(root: &Path, provider: TsmProvider) -> Result<Self, PlatformError> {
        let report_dir = root.join(REPORT_DIR);
        if !report_dir.is_dir() {
            return Err(PlatformError::InterfaceMissing {
                interface: "configfs-tsm",
                path: report_dir,
            });
        }
        Ok(ConfigfsTsm {
            report_dir,
            provider,
            privlevel: None,
            entry_name: None,
            measurement: OnceLock::new(),
        })
    }

    /// SEV-SNP: request reports at VMPL `level` (0–3) by writing `privlevel`. Rejected for TDX,
    /// which has no such attribute, and for `level > 3`.
    pub fn with_privlevel(mut self, level: u8) -> Result<Self, PlatformError> {
        if self.provider != TsmProvider::SevSnp || level > 3 {
            return Err(PlatformError::InvalidPrivLevel(level));
        }
        self.privlevel = Some(level);
        Ok(self)
    }

    /// Uses a fixed report entry name instead of a fresh `arcanum-<pid>-<n>` per report. An
    /// existing entry of that name is reused. The name must be a single path component.
    pub fn with_entry_name(mut self, name: &str) -> Result<Self, PlatformError> {
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
            return Err(PlatformError::InvalidEntryName);
        }
        self.entry_name = Some(name.to_owned());
        Ok(self)
    }

    /// The configured provider.
    pub fn provider(&self) -> TsmProvider {
        self.provider
    }

    fn open_entry(&self) -> Result<EntryGuard, PlatformError> {
        let name = match &self.entry_name {
            Some(name) => name.clone(),
            None => format!(
                "arcanum-{}-{}",
                std::process::id(),
                ENTRY_COUNTER.fetch_add(1, Ordering::Relaxed)
            ),
        };
        let path = self.report_dir.join(name);
        let created = match fs::create_dir(&path) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(io_err(&path)(e)),
        };
        Ok(EntryGuard { path, created })
    }

    fn read_generation(entry: &Path) -> Result<u64, PlatformError> {
        let path = entry.join("generation");
        let raw = read_attribute(&path)?;
        std::str::from_utf8(&raw)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(PlatformError::BadGeneration { path })
    }

    /// Produces one report. `check_binding` is false only for [`Platform::measurement`], which
    /// does not care which report data the evidence carries.
    pub(crate) fn generate(
        &self,
        report_data: &[u8; REPORT_DATA_LEN],
        check_binding: bool,
        hook: &mut dyn FnMut(Stage, &Path),
    ) -> Result<(Vec<u8>, Fields), PlatformError> {
        let entry = self.open_entry()?;
        let provider = read_attribute(&entry.path.join("provider"))?;
        if provider != self.provider.name().as_bytes() {
            return Err(PlatformError::WrongProvider {
                expected: self.provider.name(),
                found: show(&provider),
            });
        }
        let mut race = Race::Generation;
        for _ in 0..MAX_ATTEMPTS {
            if let Some(level) = self.privlevel {
                write_attribute(&entry.path.join("privlevel"), level.to_string().as_bytes())?;
            }
            write_attribute(&entry.path.join("inblob"), report_data)?;
            hook(Stage::AfterInblobWrite, &entry.path);
            let before = Self::read_generation(&entry.path)?;
            let outblob = read_up_to(&entry.path.join("outblob"), MAX_QUOTE_LEN + 1)?;
            hook(Stage::AfterOutblobRead, &entry.path);
            let after = Self::read_generation(&entry.path)?;
            if before != after {
                race = Race::Generation;
                continue;
            }
            let fields = self.provider.parse(&outblob)?;
            if check_binding && fields.report_data != *report_data {
                race = Race::ReportData;
                continue;
            }
            if let (Some(expected), Some(found)) = (self.privlevel, fields.vmpl)
                && found != u32::from(expected)
            {
                race = Race::PrivLevel { expected, found };
                continue;
            }
            return Ok((outblob, fields));
        }
        Err(match race {
            Race::Generation => PlatformError::GenerationChanged {
                attempts: MAX_ATTEMPTS,
            },
            Race::ReportData => PlatformError::ReportDataMismatch {
                attempts: MAX_ATTEMPTS,
            },
            Race::PrivLevel { expected, found } => {
                PlatformError::PrivLevelMismatch { expected, found }
            }
        })
    }
}

impl Platform for ConfigfsTsm {
    fn kind(&self) -> PlatformKind {
        self.provider.kind()
    }

    /// MRTD (TDX) or MEASUREMENT (SEV-SNP), parsed from a fresh report generated with all-zero
    /// report data, then cached: it cannot change while the VM runs.
    fn measurement(&self) -> Result<Vec<u8>, PlatformError> {
        if let Some(m) = self.measurement.get() {
            return Ok(m.clone());
        }
        let (_, fields) = self.generate(&[0u8; REPORT_DATA_LEN], false, &mut |_, _| {})?;
        let _ = self.measurement.set(fields.measurement.clone());
        Ok(fields.measurement)
    }

    fn evidence(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, PlatformError> {
        let (outblob, fields) = self.generate(report_data, true, &mut |_, _| {})?;
        let _ = self.measurement.set(fields.measurement);
        Ok(outblob)
    }

    fn sealing_root(&self) -> Result<Zeroizing<[u8; 32]>, PlatformError> {
        Err(PlatformError::SealingUnsupported { kind: self.kind() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake report entry: provider, generation and a synthetic SNP report carrying `rd`.
    fn fake(rd: &[u8; 64]) -> anyhow::Result<(tempfile::TempDir, ConfigfsTsm)> {
        let root = tempfile::tempdir()?;
        let entry = root.path().join(REPORT_DIR).join("e");
        fs::create_dir_all(&entry)?;
        fs::write(entry.join("provider"), "sev_guest\n")?;
        fs::write(entry.join("generation"), "7\n")?;
        let mut report = vec![0u8; layout::SNP_REPORT_LEN];
        report[0] = 2;
        report[0x50..0x90].copy_from_slice(rd);
        fs::write(entry.join("outblob"), &report)?;
        let tsm = ConfigfsTsm::open(root.path(), TsmProvider::SevSnp)?.with_entry_name("e")?;
        Ok((root, tsm))
    }

    fn bump_generation(entry: &Path) {
        let path = entry.join("generation");
        let g: u64 = fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        // A failed write leaves the generation unchanged, which the test would notice.
        let _ = fs::write(&path, format!("{}\n", g + 1));
    }

    #[test]
    fn generation_change_on_every_attempt_is_an_error() -> anyhow::Result<()> {
        let rd = [5u8; 64];
        let (_root, tsm) = fake(&rd)?;
        let mut reads = 0;
        let result = tsm.generate(&rd, true, &mut |stage, entry| {
            if stage == Stage::AfterOutblobRead {
                reads += 1;
                bump_generation(entry);
            }
        });
        assert!(matches!(
            result,
            Err(PlatformError::GenerationChanged {
                attempts: MAX_ATTEMPTS
            })
        ));
        assert_eq!(reads, MAX_ATTEMPTS);
        Ok(())
    }

    #[test]
    fn one_concurrent_writer_is_retried() -> anyhow::Result<()> {
        let rd = [5u8; 64];
        let (_root, tsm) = fake(&rd)?;
        let mut reads = 0;
        let (_, fields) = tsm.generate(&rd, true, &mut |stage, entry| {
            if stage == Stage::AfterOutblobRead {
                reads += 1;
                if reads == 1 {
                    bump_generation(entry);
                }
            }
        })?;
        assert_eq!(reads, 2);
        assert_eq!(fields.report_data, rd);
        Ok(())
    }

    #[test]
    fn a_writer_between_inblob_and_generation_is_caught_by_the_binding() -> anyhow::Result<()> {
        let ours = [5u8; 64];
        let (_root, tsm) = fake(&ours)?;
        // The "kernel" serves a report for someone else's report data on the first attempt,
        // then ours: the first attempt must be discarded.
        let mut writes = 0;
        let (_, fields) = tsm.generate(&ours, true, &mut |stage, entry| {
            if stage == Stage::AfterInblobWrite {
                writes += 1;
                let rd = if writes == 1 { [9u8; 64] } else { [5u8; 64] };
                let mut report = vec![0u8; layout::SNP_REPORT_LEN];
                report[0] = 2;
                report[0x50..0x90].copy_from_slice(&rd);
                let _ = fs::write(entry.join("outblob"), &report);
            }
        })?;
        assert_eq!(writes, 2);
        assert_eq!(fields.report_data, ours);
        Ok(())
    }

    #[test]
    fn privlevel_is_written_and_checked() -> anyhow::Result<()> {
        let rd = [5u8; 64];
        let (root, tsm) = fake(&rd)?;
        let tsm = tsm.with_privlevel(2)?;
        // The synthetic report says VMPL 0.
        assert!(matches!(
            tsm.evidence(&rd),
            Err(PlatformError::PrivLevelMismatch {
                expected: 2,
                found: 0
            })
        ));
        let written = fs::read(root.path().join(REPORT_DIR).join("e/privlevel"))?;
        assert_eq!(written, b"2");
        assert!(matches!(
            ConfigfsTsm::open(root.path(), TsmProvider::Tdx)?.with_privlevel(0),
            Err(PlatformError::InvalidPrivLevel(0))
        ));
        assert!(matches!(
            ConfigfsTsm::open(root.path(), TsmProvider::SevSnp)?.with_privlevel(4),
            Err(PlatformError::InvalidPrivLevel(4))
        ));
        Ok(())
    }

    #[test]
    fn entry_names_are_single_components() -> anyhow::Result<()> {
        let (root, tsm) = fake(&[0u8; 64])?;
        for bad in ["", ".", "..", "a/b", "/abs"] {
            assert!(matches!(
                ConfigfsTsm::open(root.path(), TsmProvider::SevSnp)?.with_entry_name(bad),
                Err(PlatformError::InvalidEntryName)
            ));
        }
        assert_eq!(
            tsm.with_entry_name("ok-name")?.entry_name.as_deref(),
            Some("ok-name")
        );
        Ok(())
    }

    #[test]
    fn bad_generation_is_rejected() -> anyhow::Result<()> {
        let rd = [5u8; 64];
        let (root, tsm) = fake(&rd)?;
        fs::write(root.path().join(REPORT_DIR).join("e/generation"), "x1\n")?;
        assert!(matches!(
            tsm.evidence(&rd),
            Err(PlatformError::BadGeneration { .. })
        ));
        Ok(())
    }
}

//! configfs-tsm (TDX, SEV-SNP) against fake trees holding the real dcap-qvl TDX quote and the
//! go-sev-guest SNP report. Expected values are those in the testdata READMEs.

use std::fs;

use arcanum_tee::{
    ConfigfsTsm, MAX_ATTEMPTS, Platform, PlatformError, PlatformKind, SealError, Sealer,
    TsmProvider,
};

use crate::fake::{self, ENTRY, REPORT_DIR, hex64, tsm_tree};

/// MRTD of dcap-qvl `tdx_quote` (sgx_tdx_dcap/README.md).
const TDX_MRTD: &str = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
/// report_data of dcap-qvl `tdx_quote`.
const TDX_REPORT_DATA: &str = "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20";
/// MEASUREMENT of go-sev-guest `attestation.bin` (sev_snp/README.md).
const SNP_MEASUREMENT: &str = "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01";

fn snp_report_data() -> [u8; 64] {
    let mut rd = [0u8; 64];
    rd[..5].copy_from_slice(&[1, 2, 3, 4, 5]);
    rd
}

fn tdx(root: &std::path::Path) -> Result<ConfigfsTsm, PlatformError> {
    ConfigfsTsm::open(root, TsmProvider::Tdx)?.with_entry_name(ENTRY)
}

fn snp(root: &std::path::Path) -> Result<ConfigfsTsm, PlatformError> {
    ConfigfsTsm::open(root, TsmProvider::SevSnp)?.with_entry_name(ENTRY)
}

#[test]
fn tdx_evidence_writes_inblob_and_returns_the_quote() -> anyhow::Result<()> {
    let quote = fake::tdx_quote();
    let (root, entry) = tsm_tree("tdx_guest", &quote)?;
    let tsm = tdx(root.path())?;
    assert_eq!(tsm.kind(), PlatformKind::Tdx);
    assert!(tsm.is_secure());
    let rd = hex64(TDX_REPORT_DATA);
    assert_eq!(tsm.evidence(&rd)?, quote);
    assert_eq!(fs::read(entry.join("inblob"))?, rd);
    assert_eq!(hex::encode(tsm.measurement()?), TDX_MRTD);
    // A pre-existing entry is reused, not removed.
    assert!(entry.join("outblob").is_file());
    Ok(())
}

#[test]
fn tdx_measurement_from_a_fresh_quote() -> anyhow::Result<()> {
    let (root, entry) = tsm_tree("tdx_guest", &fake::tdx_quote())?;
    assert_eq!(hex::encode(tdx(root.path())?.measurement()?), TDX_MRTD);
    // The measurement quote asks for all-zero report data.
    assert_eq!(fs::read(entry.join("inblob"))?, [0u8; 64]);
    Ok(())
}

#[test]
fn tdx_v5_quote_measurement() -> anyhow::Result<()> {
    // dcap-qvl `tdx_quote_outdated`: quote v5, TD report 1.5 body.
    let quote = fake::external("sgx_tdx_dcap/dcap-qvl/tdx_quote_outdated");
    let (root, _) = tsm_tree("tdx_guest", &quote)?;
    assert_eq!(
        hex::encode(tdx(root.path())?.measurement()?),
        "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd"
    );
    Ok(())
}

#[test]
fn snp_evidence_writes_inblob_and_privlevel() -> anyhow::Result<()> {
    let report = fake::snp_report();
    let (root, entry) = tsm_tree("sev_guest", &report)?;
    let tsm = snp(root.path())?.with_privlevel(0)?;
    assert_eq!(tsm.kind(), PlatformKind::SevSnp);
    let rd = snp_report_data();
    assert_eq!(tsm.evidence(&rd)?, report);
    assert_eq!(fs::read(entry.join("inblob"))?, rd);
    assert_eq!(fs::read(entry.join("privlevel"))?, b"0");
    assert_eq!(hex::encode(tsm.measurement()?), SNP_MEASUREMENT);
    Ok(())
}

#[test]
fn snp_measurement_from_a_fresh_report() -> anyhow::Result<()> {
    let (root, _) = tsm_tree("sev_guest", &fake::snp_report())?;
    assert_eq!(
        hex::encode(snp(root.path())?.measurement()?),
        SNP_MEASUREMENT
    );
    Ok(())
}

#[test]
fn confidential_vms_have_no_sealing_key() -> anyhow::Result<()> {
    let (root, _) = tsm_tree("sev_guest", &fake::snp_report())?;
    let tsm = snp(root.path())?;
    assert!(matches!(
        tsm.sealing_root(),
        Err(PlatformError::SealingUnsupported {
            kind: PlatformKind::SevSnp
        })
    ));
    assert!(matches!(
        Sealer::new(&tsm),
        Err(SealError::Platform(
            PlatformError::SealingUnsupported { .. }
        ))
    ));
    Ok(())
}

#[test]
fn missing_tree_is_reported() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    assert!(matches!(
        ConfigfsTsm::open(root.path(), TsmProvider::Tdx),
        Err(PlatformError::InterfaceMissing {
            interface: "configfs-tsm",
            ..
        })
    ));
    Ok(())
}

#[test]
fn wrong_provider_is_rejected() -> anyhow::Result<()> {
    let (root, entry) = tsm_tree("sev_guest", &fake::snp_report())?;
    let err = tdx(root.path())?.evidence(&[0; 64]);
    assert!(
        matches!(
            &err,
            Err(PlatformError::WrongProvider { expected: "tdx_guest", found }) if found == "sev_guest"
        ),
        "{err:?}"
    );
    // Nothing was written before the provider check.
    assert!(!entry.join("inblob").exists());
    Ok(())
}

#[test]
fn short_and_oversized_outblobs_are_rejected() -> anyhow::Result<()> {
    let quote = fake::tdx_quote();
    let (root, _) = tsm_tree("tdx_guest", &quote[..600])?;
    assert!(matches!(
        tdx(root.path())?.measurement(),
        Err(PlatformError::EvidenceTooShort {
            what: "TDX quote",
            len: 600,
            min: 632
        })
    ));
    let (root, _) = tsm_tree("tdx_guest", &[])?;
    assert!(matches!(
        tdx(root.path())?.measurement(),
        Err(PlatformError::EvidenceTooShort { len: 0, .. })
    ));
    let mut huge = quote.clone();
    huge.resize(64 * 1024 + 1, 0);
    let (root, _) = tsm_tree("tdx_guest", &huge)?;
    assert!(matches!(
        tdx(root.path())?.measurement(),
        Err(PlatformError::EvidenceTooLarge { .. })
    ));

    let report = fake::snp_report();
    let (root, _) = tsm_tree("sev_guest", &report[..report.len() - 1])?;
    assert!(matches!(
        snp(root.path())?.measurement(),
        Err(PlatformError::EvidenceTooShort {
            what: "SEV-SNP report",
            ..
        })
    ));
    let mut long = report.clone();
    long.push(0);
    let (root, _) = tsm_tree("sev_guest", &long)?;
    assert!(matches!(
        snp(root.path())?.measurement(),
        Err(PlatformError::EvidenceTooLarge {
            what: "SEV-SNP report",
            max: 1184
        })
    ));
    Ok(())
}

#[test]
fn an_sgx_quote_is_not_a_tdx_quote() -> anyhow::Result<()> {
    let (root, _) = tsm_tree("tdx_guest", &fake::sgx_quote())?;
    assert!(matches!(
        tdx(root.path())?.measurement(),
        Err(PlatformError::WrongTeeType {
            expected: 0x81,
            found: 0,
            ..
        })
    ));
    Ok(())
}

#[test]
fn evidence_for_other_report_data_is_retried_then_rejected() -> anyhow::Result<()> {
    let (root, _) = tsm_tree("tdx_guest", &fake::tdx_quote())?;
    assert!(matches!(
        tdx(root.path())?.evidence(&[0x42; 64]),
        Err(PlatformError::ReportDataMismatch {
            attempts: MAX_ATTEMPTS
        })
    ));
    Ok(())
}

#[test]
fn a_created_entry_is_removed_even_on_error() -> anyhow::Result<()> {
    // No pre-created entry: the backend makes its own, and with no kernel behind the plain
    // directory the provider attribute is missing.
    let root = tempfile::tempdir()?;
    let report_dir = root.path().join(REPORT_DIR);
    fs::create_dir_all(&report_dir)?;
    let tsm = ConfigfsTsm::open(root.path(), TsmProvider::Tdx)?;
    assert!(matches!(
        tsm.evidence(&[0; 64]),
        Err(PlatformError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound
    ));
    assert_eq!(fs::read_dir(&report_dir)?.count(), 0);
    Ok(())
}

//! Platform detection under a root directory.

use std::fs;

use arcanum_tee::{PlatformKind, detect};

use crate::fake::{self, REPORT_DIR, gramine_tree};

#[test]
fn nothing_is_detected_in_an_empty_root() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    assert_eq!(detect(root.path()), None);
    Ok(())
}

#[test]
fn gramine_with_dcap_is_sgx() -> anyhow::Result<()> {
    let (root, _) = gramine_tree("dcap", &fake::sgx_quote(), None)?;
    assert_eq!(detect(root.path()), Some(PlatformKind::Sgx));
    let (root, _) = gramine_tree("none", &fake::sgx_quote(), None)?;
    assert_eq!(detect(root.path()), None);
    Ok(())
}

#[test]
fn configfs_tsm_with_a_guest_device() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    fs::create_dir_all(root.path().join(REPORT_DIR))?;
    assert_eq!(detect(root.path()), None, "no guest device");
    fs::create_dir_all(root.path().join("dev"))?;
    fs::write(root.path().join("dev/sev-guest"), b"")?;
    assert_eq!(detect(root.path()), Some(PlatformKind::SevSnp));
    fs::write(root.path().join("dev/tdx_guest"), b"")?;
    assert_eq!(detect(root.path()), Some(PlatformKind::Tdx));
    // A guest device without configfs-tsm is not enough.
    let bare = tempfile::tempdir()?;
    fs::create_dir_all(bare.path().join("dev"))?;
    fs::write(bare.path().join("dev/tdx_guest"), b"")?;
    assert_eq!(detect(bare.path()), None);
    Ok(())
}

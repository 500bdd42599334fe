//! Gramine SGX against a fake `/dev/attestation` holding the real dcap-qvl SGX quote.

use std::fs;

use arcanum_tee::{GramineSgx, Platform, PlatformError, PlatformKind, SealError, Sealer};

use crate::fake::{self, gramine_tree};

/// MRENCLAVE of dcap-qvl `sgx_quote` (sgx_tdx_dcap/README.md).
const MRENCLAVE: &str = "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";

fn hello_report_data() -> [u8; 64] {
    let mut rd = [0u8; 64];
    rd[..13].copy_from_slice(b"Hello, world!");
    rd
}

#[test]
fn evidence_writes_user_report_data_and_returns_the_quote() -> anyhow::Result<()> {
    let quote = fake::sgx_quote();
    let (root, dir) = gramine_tree("dcap\n", &quote, None)?;
    let sgx = GramineSgx::open(root.path())?;
    assert_eq!(sgx.kind(), PlatformKind::Sgx);
    assert!(sgx.is_secure());
    let rd = hello_report_data();
    assert_eq!(sgx.evidence(&rd)?, quote);
    assert_eq!(fs::read(dir.join("user_report_data"))?, rd);
    assert_eq!(hex::encode(sgx.measurement()?), MRENCLAVE);
    Ok(())
}

#[test]
fn measurement_from_a_fresh_quote() -> anyhow::Result<()> {
    let (root, dir) = gramine_tree("dcap", &fake::sgx_quote(), None)?;
    assert_eq!(
        hex::encode(GramineSgx::open(root.path())?.measurement()?),
        MRENCLAVE
    );
    assert_eq!(fs::read(dir.join("user_report_data"))?, [0u8; 64]);
    Ok(())
}

#[test]
fn other_report_data_is_rejected() -> anyhow::Result<()> {
    let (root, _) = gramine_tree("dcap", &fake::sgx_quote(), None)?;
    assert!(matches!(
        GramineSgx::open(root.path())?.evidence(&[7; 64]),
        Err(PlatformError::ReportDataMismatch { attempts: 1 })
    ));
    Ok(())
}

#[test]
fn missing_tree_and_wrong_attestation_type() -> anyhow::Result<()> {
    let empty = tempfile::tempdir()?;
    assert!(matches!(
        GramineSgx::open(empty.path()),
        Err(PlatformError::InterfaceMissing { .. })
    ));
    let (root, _) = gramine_tree("none\n", &fake::sgx_quote(), None)?;
    assert!(matches!(
        GramineSgx::open(root.path()),
        Err(PlatformError::WrongAttestationType { found }) if found == "none"
    ));
    Ok(())
}

#[test]
fn malformed_quotes_are_rejected() -> anyhow::Result<()> {
    let (root, _) = gramine_tree("dcap", &fake::tdx_quote(), None)?;
    assert!(matches!(
        GramineSgx::open(root.path())?.measurement(),
        Err(PlatformError::WrongTeeType {
            what: "SGX quote",
            expected: 0,
            found: 0x81
        })
    ));
    let quote = fake::sgx_quote();
    let (root, _) = gramine_tree("dcap", &quote[..431], None)?;
    assert!(matches!(
        GramineSgx::open(root.path())?.measurement(),
        Err(PlatformError::EvidenceTooShort { min: 432, .. })
    ));
    let mut bad_version = quote.clone();
    bad_version[0] = 2;
    let (root, _) = gramine_tree("dcap", &bad_version, None)?;
    assert!(matches!(
        GramineSgx::open(root.path())?.measurement(),
        Err(PlatformError::UnsupportedEvidenceVersion { version: 2, .. })
    ));
    Ok(())
}

#[test]
fn sealing_root_from_the_mrenclave_key() -> anyhow::Result<()> {
    let quote = fake::sgx_quote();
    let (root_a, _) = gramine_tree("dcap", &quote, Some(&[1u8; 16]))?;
    let (root_a2, _) = gramine_tree("dcap", &quote, Some(&[1u8; 16]))?;
    let (root_b, _) = gramine_tree("dcap", &quote, Some(&[2u8; 16]))?;
    let a = GramineSgx::open(root_a.path())?;
    let a2 = GramineSgx::open(root_a2.path())?;
    let b = GramineSgx::open(root_b.path())?;
    assert_eq!(*a.sealing_root()?, *a2.sealing_root()?);
    assert_ne!(*a.sealing_root()?, *b.sealing_root()?);

    let blob = Sealer::new(&a)?.seal("state", b"secret", b"")?;
    assert_eq!(&*Sealer::new(&a2)?.unseal("state", &blob, b"")?, b"secret");
    assert!(matches!(
        Sealer::new(&b)?.unseal("state", &blob, b""),
        Err(SealError::Decrypt)
    ));
    Ok(())
}

#[test]
fn bad_sealing_key_files() -> anyhow::Result<()> {
    let quote = fake::sgx_quote();
    for len in [0usize, 15, 17, 32] {
        let (root, _) = gramine_tree("dcap", &quote, Some(&vec![1u8; len]))?;
        let err = GramineSgx::open(root.path())?.sealing_root();
        assert!(
            matches!(err, Err(PlatformError::BadSealingKey { expected: 16, .. })),
            "length {len}"
        );
    }
    let (root, _) = gramine_tree("dcap", &quote, None)?;
    assert!(matches!(
        GramineSgx::open(root.path())?.sealing_root(),
        Err(PlatformError::Io { .. })
    ));
    Ok(())
}

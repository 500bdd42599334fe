//! The simulation platform: insecure by label, measured by the binary's hash, sealing bound to
//! the fuse and the measurement.

use arcanum_attestation::{PlatformKind as AttestKind, VerifyInputs, verify_evidence};
use arcanum_tee::{Platform, PlatformKind, SimFuse, Simulated};
use sha2::{Digest, Sha256};

#[test]
fn simulation_is_labelled_insecure() {
    let sim = Simulated::new(b"enclave", SimFuse::from_bytes([1; 32]));
    assert_eq!(sim.kind(), PlatformKind::Simulated);
    assert!(!sim.is_secure());
}

#[test]
fn measurement_is_the_binary_hash() -> anyhow::Result<()> {
    let sim = Simulated::new(b"enclave", SimFuse::from_bytes([1; 32]));
    assert_eq!(sim.measurement()?, Sha256::digest(b"enclave").to_vec());
    Ok(())
}

#[test]
fn sealing_root_depends_on_fuse_and_binary() -> anyhow::Result<()> {
    let a = Simulated::new(b"enclave", SimFuse::from_bytes([1; 32])).sealing_root()?;
    let same = Simulated::new(b"enclave", SimFuse::from_bytes([1; 32])).sealing_root()?;
    let other_fuse = Simulated::new(b"enclave", SimFuse::from_bytes([2; 32])).sealing_root()?;
    let other_binary = Simulated::new(b"enclave2", SimFuse::from_bytes([1; 32])).sealing_root()?;
    assert_eq!(*a, *same);
    assert_ne!(*a, *other_fuse);
    assert_ne!(*a, *other_binary);
    assert_ne!(*a, [1; 32], "the fuse itself is not the root");
    Ok(())
}

#[test]
fn generated_fuses_round_trip_through_bytes() -> anyhow::Result<()> {
    let fuse = SimFuse::generate(&mut rand::rngs::OsRng)?;
    let again = SimFuse::from_slice(fuse.to_bytes().as_ref())?;
    let a = Simulated::new(b"e", fuse).sealing_root()?;
    let b = Simulated::new(b"e", again).sealing_root()?;
    assert_eq!(*a, *b);
    Ok(())
}

#[test]
fn evidence_verifies_as_simulated_and_insecure() -> anyhow::Result<()> {
    let binary = b"\x7fELF simulated enclave";
    let mut rd = [0u8; 64];
    rd[..4].copy_from_slice(b"keys");
    let sim = Simulated::new(binary, SimFuse::from_bytes([1; 32]));
    let evidence = sim.evidence(&rd)?;
    let verdict = verify_evidence(&evidence, &VerifyInputs::default(), 0)?;
    assert_eq!(verdict.platform, sim.kind().into());
    assert_eq!(verdict.platform, AttestKind::Simulated);
    assert!(!verdict.is_secure);
    assert!(!verdict.debug);
    assert_eq!(verdict.measurement, Sha256::digest(binary).to_vec());
    assert_eq!(verdict.report_data, rd.to_vec());

    let debug = Simulated::new(binary, SimFuse::from_bytes([1; 32])).with_debug(true);
    let verdict = verify_evidence(&debug.evidence(&rd)?, &VerifyInputs::default(), 0)?;
    assert!(verdict.debug);

    // Flipping a report-data byte breaks the vendor signature.
    let mut tampered = evidence.clone();
    let at = tampered.len() - 64 - 10;
    tampered[at] ^= 1;
    assert!(verify_evidence(&tampered, &VerifyInputs::default(), 0).is_err());
    Ok(())
}

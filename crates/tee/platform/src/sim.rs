//! The simulation platform, for development and CI. **It protects nothing** (CCF's "Insecure
//! Virtual" platform, Oasis' `is_secure == false`):
//!
//! - the measurement is the SHA-256 of the enclave binary (what `sha256sum` prints), so it
//!   identifies the code but proves nothing about where it runs;
//! - the evidence is `arcanum_attestation::sim::SimEvidence` signed with the *publicly known*
//!   simulation vendor key; anyone can forge it, and the format says it is simulated, so an
//!   attestation policy accepts it only if it explicitly allows simulation;
//! - the sealing root is `HKDF-SHA256(ikm = fuse, salt = measurement, info =
//!   domain::TEE_SIM_SEALING_ROOT)`, where the "simulated fuse" ([`SimFuse`]) is a 32-byte secret
//!   the host keeps in an ordinary file and hands to the enclave. Whoever can read that file can
//!   unseal everything: it stands in for the CPU fuse key only so that sealing code paths run.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::Path;

use arcanum_attestation::sim::{self as sim_evidence, SimEvidence};
use arcanum_crypto::domain;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::PlatformError;
use crate::fsio::io_err;
use crate::kdf::hkdf32;
use crate::platform::{Platform, PlatformKind, REPORT_DATA_LEN};

/// The simulation's stand-in for a CPU fuse secret: 32 bytes the host stores in a file.
/// Insecure by design (see the module documentation). `Debug` does not print it.
#[derive(Clone)]
pub struct SimFuse(Zeroizing<[u8; 32]>);

impl fmt::Debug for SimFuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimFuse(<redacted>)")
    }
}

impl SimFuse {
    /// Length of a fuse.
    pub const LEN: usize = 32;

    /// A fuse from its bytes.
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        SimFuse(Zeroizing::new(bytes))
    }

    /// A fuse from a slice (for example a file's contents); must be exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, PlatformError> {
        let arr: [u8; Self::LEN] = bytes
            .try_into()
            .map_err(|_| PlatformError::BadFuseLength { len: bytes.len() })?;
        Ok(Self::from_bytes(arr))
    }

    /// A fresh random fuse, for the host to store on first start.
    pub fn generate<R: CryptoRngCore + ?Sized>(rng: &mut R) -> Result<Self, PlatformError> {
        let mut bytes = Zeroizing::new([0u8; Self::LEN]);
        rng.try_fill_bytes(bytes.as_mut())
            .map_err(|_| PlatformError::Rng)?;
        Ok(SimFuse(bytes))
    }

    /// The bytes, for the host to store.
    pub fn to_bytes(&self) -> Zeroizing<[u8; Self::LEN]> {
        self.0.clone()
    }
}

/// The simulation platform.
pub struct Simulated {
    measurement: [u8; 32],
    fuse: SimFuse,
    debug: bool,
}

impl fmt::Debug for Simulated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulated")
            .field("measurement", &hex_lower(&self.measurement))
            .field("fuse", &self.fuse)
            .field("debug", &self.debug)
            .finish()
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Simulated {
    /// A simulated enclave whose measurement is the SHA-256 of `enclave_binary`.
    pub fn new(enclave_binary: &[u8], fuse: SimFuse) -> Self {
        Simulated {
            measurement: Sha256::digest(enclave_binary).into(),
            fuse,
            debug: false,
        }
    }

    /// Like [`Simulated::new`], hashing the binary at `path` as a stream.
    pub fn from_binary_file(path: &Path, fuse: SimFuse) -> Result<Self, PlatformError> {
        let mut file = fs::File::open(path).map_err(io_err(path))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(path)(e)),
            }
        }
        Ok(Simulated {
            measurement: hasher.finalize().into(),
            fuse,
            debug: false,
        })
    }

    /// Marks the evidence as coming from a debug enclave (default `false`), so that policies
    /// forbidding debug can be exercised with the simulation.
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// The measurement as a fixed-size array.
    pub fn measurement_bytes(&self) -> [u8; 32] {
        self.measurement
    }
}

impl Platform for Simulated {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Simulated
    }

    fn measurement(&self) -> Result<Vec<u8>, PlatformError> {
        Ok(self.measurement.to_vec())
    }

    /// Simulation evidence (`SimEvidence` version 1) signed with the public simulation vendor
    /// key.
    fn evidence(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, PlatformError> {
        let evidence = SimEvidence {
            version: 1,
            measurement: self.measurement,
            report_data: *report_data,
            debug: self.debug,
        };
        Ok(evidence.sign(&sim_evidence::vendor_key()))
    }

    fn sealing_root(&self) -> Result<Zeroizing<[u8; 32]>, PlatformError> {
        Ok(hkdf32(
            Some(&self.measurement),
            self.fuse.0.as_ref(),
            &[domain::TEE_SIM_SEALING_ROOT.as_bytes()],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurement_is_sha256_of_the_binary() -> anyhow::Result<()> {
        let sim = Simulated::new(b"abc", SimFuse::from_bytes([0; 32]));
        assert_eq!(
            hex::encode(sim.measurement()?),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("enclave");
        // Larger than the read buffer, to exercise streaming.
        let binary: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&path, &binary)?;
        let from_file = Simulated::from_binary_file(&path, SimFuse::from_bytes([0; 32]))?;
        let in_memory = Simulated::new(&binary, SimFuse::from_bytes([0; 32]));
        assert_eq!(from_file.measurement_bytes(), in_memory.measurement_bytes());
        assert!(matches!(
            Simulated::from_binary_file(&dir.path().join("missing"), SimFuse::from_bytes([0; 32])),
            Err(PlatformError::Io { .. })
        ));
        Ok(())
    }

    #[test]
    fn fuse_is_never_printed() {
        let sim = Simulated::new(b"abc", SimFuse::from_bytes([0xAB; 32]));
        let shown = format!("{sim:?}");
        assert!(!shown.contains("abab"), "{shown}");
        assert!(!shown.contains("171, 171"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn fuse_length_is_checked() {
        assert!(matches!(
            SimFuse::from_slice(&[0; 31]),
            Err(PlatformError::BadFuseLength { len: 31 })
        ));
        assert!(SimFuse::from_slice(&[0; 32]).is_ok());
    }
}

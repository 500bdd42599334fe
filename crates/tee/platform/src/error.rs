//! Error types: [`PlatformError`] for the platform backends, [`SealError`] for sealing.
//!
//! No variant carries secret material: sealing roots, fuses, derived keys and plaintexts never
//! appear in an error or its `Display`.

use std::io;
use std::path::PathBuf;

use crate::platform::PlatformKind;

/// Why a platform backend could not produce evidence, a measurement or a sealing root.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The platform's file interface does not exist under the given root (not running on that
    /// platform, or the kernel/runtime does not expose it).
    #[error("{interface} interface not found at {path}")]
    InterfaceMissing {
        /// `"configfs-tsm"`, `"gramine /dev/attestation"` or `"simulated enclave binary"`.
        interface: &'static str,
        /// The directory or file that was looked for.
        path: PathBuf,
    },
    /// Reading or writing one of the interface's files failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A small text attribute (`provider`, `generation`, `attestation_type`) was longer than
    /// any legitimate value.
    #[error("attribute {path} is longer than {max} bytes")]
    AttributeTooLarge {
        /// The attribute file.
        path: PathBuf,
        /// The largest accepted size.
        max: usize,
    },
    /// configfs-tsm reports a different provider than the backend was opened for
    /// (for example `sev_guest` when `tdx_guest` was expected).
    #[error("configfs-tsm provider is {found:?}, expected {expected:?}")]
    WrongProvider {
        /// The provider this backend needs.
        expected: &'static str,
        /// What the `provider` attribute said (lossily decoded, bounded).
        found: String,
    },
    /// Gramine's `attestation_type` is not `dcap` (for example `none` or `epid`).
    #[error("Gramine attestation type is {found:?}, expected \"dcap\"")]
    WrongAttestationType {
        /// What `attestation_type` said (lossily decoded, bounded).
        found: String,
    },
    /// The configfs-tsm `generation` attribute is not a decimal integer.
    #[error("configfs-tsm generation at {path} is not a decimal integer")]
    BadGeneration {
        /// The attribute file.
        path: PathBuf,
    },
    /// The `generation` attribute changed while the report was read, on every attempt: another
    /// process kept writing to the same report entry.
    #[error(
        "configfs-tsm report entry changed during each of {attempts} attempts (concurrent writer)"
    )]
    GenerationChanged {
        /// How many attempts were made.
        attempts: u32,
    },
    /// The quote or report did not carry the report data that was written, on every attempt
    /// (a concurrent writer, or a host that returns stale or foreign evidence).
    #[error("evidence does not carry the requested report data ({attempts} attempts)")]
    ReportDataMismatch {
        /// How many attempts were made.
        attempts: u32,
    },
    /// An SEV-SNP report was produced at a different VMPL than the `privlevel` requested, on
    /// every attempt.
    #[error("SEV-SNP report is for VMPL {found}, requested privlevel {expected}")]
    PrivLevelMismatch {
        /// The requested privilege level.
        expected: u8,
        /// The VMPL in the report.
        found: u32,
    },
    /// The evidence is shorter than its fixed layout.
    #[error("{what} is {len} bytes, shorter than the required {min}")]
    EvidenceTooShort {
        /// `"TDX quote"`, `"SGX quote"` or `"SEV-SNP report"`.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The length required.
        min: usize,
    },
    /// The evidence is longer than any legitimate quote or report.
    #[error("{what} is longer than the maximum of {max} bytes")]
    EvidenceTooLarge {
        /// `"TDX quote"`, `"SGX quote"` or `"SEV-SNP report"`.
        what: &'static str,
        /// The largest accepted length.
        max: usize,
    },
    /// The quote header has a version this crate does not parse.
    #[error("{what} has unsupported version {version}")]
    UnsupportedEvidenceVersion {
        /// `"TDX quote"`, `"SGX quote"` or `"SEV-SNP report"`.
        what: &'static str,
        /// The version field.
        version: u32,
    },
    /// The quote header names a different TEE than expected (SGX = 0x00, TDX = 0x81).
    #[error("{what} has TEE type {found:#x}, expected {expected:#x}")]
    WrongTeeType {
        /// `"TDX quote"` or `"SGX quote"`.
        what: &'static str,
        /// The TEE type this backend expects.
        expected: u32,
        /// The TEE type in the header.
        found: u32,
    },
    /// A version 5 quote has a body type or body size that does not match its TEE.
    #[error("{what} has unsupported body type {body_type} of {size} bytes")]
    UnsupportedQuoteBody {
        /// `"TDX quote"` or `"SGX quote"`.
        what: &'static str,
        /// The body type field.
        body_type: u16,
        /// The body size field.
        size: u32,
    },
    /// The platform cannot provide a sealing root (confidential VMs through configfs-tsm).
    #[error("the {kind} platform provides no sealing key; use a key-management service")]
    SealingUnsupported {
        /// The platform.
        kind: PlatformKind,
    },
    /// Gramine's sealing key file has the wrong size.
    #[error("sealing key at {path} is {len} bytes, expected {expected}")]
    BadSealingKey {
        /// The key file.
        path: PathBuf,
        /// Its length (truncated at `expected + 1`).
        len: usize,
        /// The expected length.
        expected: usize,
    },
    /// A `privlevel` above 3, or any `privlevel` on TDX (which has no such attribute).
    #[error("privlevel {0} is not valid for this provider (SEV-SNP: 0..=3, TDX: none)")]
    InvalidPrivLevel(u8),
    /// A configfs-tsm report entry name that is not a single path component.
    #[error("invalid configfs-tsm report entry name")]
    InvalidEntryName,
    /// The random number generator failed.
    #[error("random number generator failed")]
    Rng,
    /// A simulated fuse of the wrong length was given.
    #[error("simulated fuse is {len} bytes, expected 32")]
    BadFuseLength {
        /// The given length.
        len: usize,
    },
}

/// Why a blob could not be sealed or unsealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The blob does not start with `"ARCSEAL"`.
    #[error("not a sealed blob (bad magic)")]
    BadMagic,
    /// The container format version is not one this build reads.
    #[error("unsupported sealed-blob format version {version}")]
    UnsupportedFormat {
        /// The format version byte.
        version: u8,
    },
    /// The blob was sealed under a key version this sealer does not accept (retired, or newer
    /// than the current one).
    #[error("sealed under key version {version}, which this sealer does not accept")]
    UnknownKeyVersion {
        /// The key version in the blob header.
        version: u32,
    },
    /// The blob is shorter than a header plus an authentication tag.
    #[error("sealed blob is {len} bytes, shorter than the minimum {min}")]
    Truncated {
        /// Its length.
        len: usize,
        /// The minimum length.
        min: usize,
    },
    /// Authentication failed: the blob was tampered with, or it was sealed on another platform,
    /// for another measurement, for another purpose or with other associated data. These cases
    /// cannot be told apart, by design.
    #[error(
        "sealed blob failed authentication (tampered, or wrong platform, measurement, purpose or aad)"
    )]
    Decrypt,
    /// The purpose string is empty, too long or contains control characters.
    #[error("invalid sealing purpose (must be 1..=128 printable ASCII bytes)")]
    InvalidPurpose,
    /// Key version 0 was requested, or the accepted range would be empty.
    #[error("invalid key version configuration: oldest {oldest}, current {current}")]
    InvalidKeyVersion {
        /// Oldest accepted version.
        oldest: u32,
        /// Current version.
        current: u32,
    },
    /// Rotation past `u32::MAX`.
    #[error("key version space exhausted")]
    KeyVersionExhausted,
    /// The plaintext is too large for the AEAD.
    #[error("plaintext too large to seal")]
    PlaintextTooLarge,
    /// The random number generator failed to produce a nonce.
    #[error("random number generator failed")]
    Rng,
    /// The platform could not provide its sealing root or measurement.
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

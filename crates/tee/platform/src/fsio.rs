//! Bounded file access for the pseudo-file interfaces (configfs-tsm, Gramine).
//!
//! Everything read from these files is host-influenced (in a confidential VM the kernel is
//! trusted, but in tests and under a misconfigured mount it is just a file), so every read has
//! an upper bound and every error names the file.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::error::PlatformError;

/// Largest accepted small text attribute (`provider`, `generation`, `attestation_type`).
pub(crate) const MAX_ATTRIBUTE_LEN: usize = 64;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PlatformError + '_ {
    move |source| PlatformError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads at most `limit` bytes of `path`. A result of exactly `limit` bytes may be truncated, so
/// callers pass their maximum plus one and reject a result longer than the maximum.
pub(crate) fn read_up_to(path: &Path, limit: usize) -> Result<Vec<u8>, PlatformError> {
    let file = fs::File::open(path).map_err(io_err(path))?;
    let mut buf = Vec::new();
    // `usize` → `u64` never truncates on supported targets; saturate just in case.
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    file.take(limit)
        .read_to_end(&mut buf)
        .map_err(io_err(path))?;
    Ok(buf)
}

/// Reads a small text attribute and trims surrounding ASCII whitespace (the kernel appends a
/// newline).
pub(crate) fn read_attribute(path: &Path) -> Result<Vec<u8>, PlatformError> {
    let raw = read_up_to(path, MAX_ATTRIBUTE_LEN + 1)?;
    if raw.len() > MAX_ATTRIBUTE_LEN {
        return Err(PlatformError::AttributeTooLarge {
            path: path.to_path_buf(),
            max: MAX_ATTRIBUTE_LEN,
        });
    }
    Ok(raw.trim_ascii().to_vec())
}

/// Writes `bytes` to `path` in one `write` call (pseudo-files take the whole value at once).
/// Creates the file if absent, which is a no-op on real configfs/Gramine attributes and lets a
/// fake tree in tests behave like a plain directory.
pub(crate) fn write_attribute(path: &Path, bytes: &[u8]) -> Result<(), PlatformError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io_err(path))?;
    file.write_all(bytes).map_err(io_err(path))
}

/// Bounded, printable rendering of an attribute value for an error message.
pub(crate) fn show(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .chars()
        .take(MAX_ATTRIBUTE_LEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_up_to_is_bounded() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f");
        fs::write(&path, [7u8; 100])?;
        assert_eq!(read_up_to(&path, 10)?.len(), 10);
        assert_eq!(read_up_to(&path, 1000)?.len(), 100);
        Ok(())
    }

    #[test]
    fn attributes_are_trimmed_and_bounded() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("provider");
        fs::write(&path, b"tdx_guest\n")?;
        assert_eq!(read_attribute(&path)?, b"tdx_guest");
        fs::write(&path, [b'a'; MAX_ATTRIBUTE_LEN + 1])?;
        assert!(matches!(
            read_attribute(&path),
            Err(PlatformError::AttributeTooLarge { .. })
        ));
        let missing = dir.path().join("missing");
        assert!(matches!(
            read_attribute(&missing),
            Err(PlatformError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound
        ));
        Ok(())
    }
}

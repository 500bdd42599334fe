//! The host's private files next to an enclave: written atomically and readable by the owner
//! only, and the simulated platform's fuse secret.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use arcanum_enclave_protocol::Secret;

/// File (in a node's data dir) of the simulated platform's fuse secret.
pub const SIM_FUSE: &str = "sim-fuse.key";

/// The simulation's fuse secret for the enclave of a host whose data dir is `data_dir`: created
/// once (32 random bytes, mode 0600), read back afterwards; a file of another length is corrupt.
pub fn sim_fuse(data_dir: &Path) -> std::io::Result<Secret> {
    let path = data_dir.join(SIM_FUSE);
    if let Ok(bytes) = std::fs::read(&path) {
        if bytes.len() == 32 {
            return Ok(Secret(bytes));
        }
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is corrupt", path.display()),
        ));
    }
    let fuse: [u8; 32] = rand::random();
    write_private(&path, &fuse)?;
    Ok(Secret(fuse.to_vec()))
}

/// Writes a file readable only by its owner, atomically (temp file, sync, rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_sim_fuse_is_created_once_private_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = sim_fuse(dir.path()).expect("create");
        assert_eq!(first.0.len(), 32);
        let mode = std::fs::metadata(dir.path().join(SIM_FUSE))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(sim_fuse(dir.path()).expect("again").0, first.0);
        std::fs::write(dir.path().join(SIM_FUSE), b"short").expect("write");
        assert!(sim_fuse(dir.path()).is_err());
    }
}

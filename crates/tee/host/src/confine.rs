//! Confinement of a simulated enclave process (docs/design/host-enclave-protocol.md): a seccomp
//! filter that fails every socket syscall (no network) and a landlock ruleset that allows only
//! reading and executing the enclave binary and the system libraries (no other file access).
//! Both are prepared in the parent and applied between `fork` and `exec`, where nothing may
//! allocate; both survive `exec`.

use std::collections::BTreeMap;
use std::path::Path;

use landlock::{
    ABI, Access, AccessFs, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreated, RulesetCreatedAttr,
};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

/// Syscalls the enclave may not make: the whole socket family, and reaching into other processes.
const DENIED_SYSCALLS: &[libc::c_long] = &[
    libc::SYS_socket,
    libc::SYS_socketpair,
    libc::SYS_connect,
    libc::SYS_bind,
    libc::SYS_listen,
    libc::SYS_accept,
    libc::SYS_accept4,
    libc::SYS_sendto,
    libc::SYS_recvfrom,
    libc::SYS_sendmsg,
    libc::SYS_recvmsg,
    libc::SYS_sendmmsg,
    libc::SYS_recvmmsg,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
];

/// Directories the dynamic loader needs.
const LIBRARY_DIRS: &[&str] = &[
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/etc/ld.so.cache",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error("seccomp filter: {0}")]
    Seccomp(String),
    #[error("landlock ruleset: {0}")]
    Landlock(String),
}

/// A prepared confinement, applied in the child with [`Confinement::apply`].
pub struct Confinement {
    seccomp: BpfProgram,
    landlock: Option<RulesetCreated>,
}

impl std::fmt::Debug for Confinement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confinement")
            .field("landlock", &self.landlock.is_some())
            .finish()
    }
}

impl Confinement {
    /// Prepares the filter and the ruleset in the parent process.
    pub fn prepare(binary: &Path) -> Result<Confinement, ConfineError> {
        let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
            DENIED_SYSCALLS.iter().map(|&s| (s, Vec::new())).collect();
        let arch = TargetArch::try_from(std::env::consts::ARCH)
            .map_err(|e| ConfineError::Seccomp(e.to_string()))?;
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(libc::EPERM as u32),
            arch,
        )
        .map_err(|e| ConfineError::Seccomp(e.to_string()))?;
        let seccomp: BpfProgram = filter
            .try_into()
            .map_err(|e: seccompiler::BackendError| ConfineError::Seccomp(e.to_string()))?;

        let abi = ABI::V2;
        let landlock_err = |e: landlock::RulesetError| ConfineError::Landlock(e.to_string());
        let mut ruleset = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(AccessFs::from_all(abi))
            .map_err(landlock_err)?
            .create()
            .map_err(landlock_err)?;
        let read_exec = AccessFs::from_read(abi);
        for dir in LIBRARY_DIRS
            .iter()
            .map(Path::new)
            .chain(std::iter::once(binary))
        {
            if let Ok(fd) = PathFd::new(dir) {
                let access = if dir.is_dir() {
                    read_exec
                } else {
                    read_exec & AccessFs::from_file(abi)
                };
                ruleset = ruleset
                    .add_rule(PathBeneath::new(fd, access))
                    .map_err(landlock_err)?;
            }
        }
        Ok(Confinement {
            seccomp,
            landlock: Some(ruleset),
        })
    }

    /// Applies both in the calling (child) process. Called between `fork` and `exec`.
    pub fn apply(&mut self) -> std::io::Result<()> {
        // SAFETY: prctl with PR_SET_NO_NEW_PRIVS takes integer arguments only; it is needed so an
        // unprivileged process may install the seccomp filter and the landlock ruleset.
        let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if let Some(ruleset) = self.landlock.take() {
            ruleset
                .restrict_self()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        seccompiler::apply_filter(&self.seccomp).map_err(|e| std::io::Error::other(e.to_string()))
    }
}

//! The VM's error type.

use arcanum_types::ErrorCode;

use crate::{HostError, Limit};

/// Why a module was rejected or an invocation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    /// The bytes are not a WebAssembly binary (text format is not accepted).
    #[error("not a WebAssembly binary module")]
    NotWasm,
    /// The module is larger than the engine accepts.
    #[error("module of {size} bytes exceeds the limit of {max}")]
    ModuleTooLarge { size: usize, max: usize },
    /// The module does not parse or validate (includes float and other disabled instructions).
    #[error("invalid module: {0}")]
    InvalidModule(String),
    /// The module has a start function; contracts run only through entry points.
    #[error("start functions are not allowed")]
    StartFunction,
    /// A required export is missing (`memory`, or any entry point).
    #[error("missing export: {0}")]
    MissingExport(String),
    /// The module imports something the host does not provide, or with the wrong type.
    #[error("unsupported import {module}.{name}: {reason}")]
    BadImport {
        module: String,
        name: String,
        reason: &'static str,
    },
    /// The module's initial memory exceeds the engine's cap.
    #[error("module memory of {pages} pages exceeds the limit of {max}")]
    MemoryTooLarge { pages: u64, max: u32 },
    /// The contract has no entry point of that name.
    #[error("unknown function: {0}")]
    UnknownFunction(String),
    /// The invocation used up its fuel.
    #[error("out of fuel")]
    OutOfFuel,
    /// The guest trapped (`unreachable`, division by zero, stack overflow, ...).
    #[error("contract trapped: {0}")]
    Trap(String),
    /// The contract reported an error through `fail`.
    #[error("contract error: {message}")]
    ContractError { message: String },
    /// The invocation broke a [`crate::Limits`] bound.
    #[error("{what} limit exceeded: {len} > {max}")]
    LimitExceeded { what: Limit, len: u64, max: u64 },
    /// The guest passed a pointer/length outside its linear memory.
    #[error("guest memory access out of bounds: {len} bytes at {ptr}")]
    MemoryOutOfBounds { ptr: u32, len: u32 },
    /// The guest passed bytes that must be UTF-8 but are not.
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 { what: &'static str },
    /// The embedder failed (state backend, or an off-chain host function such as
    /// `https_get`).
    #[error(transparent)]
    Host(HostError),
}

impl VmError {
    /// The stable API error code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            VmError::NotWasm
            | VmError::ModuleTooLarge { .. }
            | VmError::InvalidModule(_)
            | VmError::StartFunction
            | VmError::MissingExport(_)
            | VmError::BadImport { .. }
            | VmError::MemoryTooLarge { .. } => ErrorCode::InvalidContract,
            VmError::UnknownFunction(_)
            | VmError::LimitExceeded {
                what: Limit::Args | Limit::ArgsBytes,
                ..
            } => ErrorCode::InvalidTx,
            VmError::OutOfFuel => ErrorCode::OutOfFuel,
            VmError::ContractError { .. } => ErrorCode::ContractError,
            VmError::Trap(_)
            | VmError::LimitExceeded { .. }
            | VmError::MemoryOutOfBounds { .. }
            | VmError::InvalidUtf8 { .. } => ErrorCode::ContractTrap,
            // An embedder failure with a registry code keeps it (TLS_FAILURE, HTTPS_FAILURE,
            // ...); an unknown code string is an internal failure.
            VmError::Host(HostError::Failed { code, .. }) => {
                ErrorCode::parse(code).unwrap_or(ErrorCode::Internal)
            }
            VmError::Host(_) => ErrorCode::Internal,
        }
    }

    /// Whether the failure is the contract's doing (deterministic: every endorser sees it), as
    /// opposed to a module rejected at deploy time or a failing state backend.
    pub fn is_execution_failure(&self) -> bool {
        matches!(
            self.code(),
            ErrorCode::OutOfFuel | ErrorCode::ContractError | ErrorCode::ContractTrap
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_registry() {
        assert_eq!(VmError::OutOfFuel.code(), ErrorCode::OutOfFuel);
        assert_eq!(VmError::StartFunction.code(), ErrorCode::InvalidContract);
        assert_eq!(
            VmError::ContractError {
                message: "x".into()
            }
            .code(),
            ErrorCode::ContractError
        );
        assert_eq!(
            VmError::MemoryOutOfBounds { ptr: 0, len: 1 }.code(),
            ErrorCode::ContractTrap
        );
        assert_eq!(
            VmError::LimitExceeded {
                what: Limit::Args,
                len: 65,
                max: 64
            }
            .code(),
            ErrorCode::InvalidTx
        );
        assert_eq!(
            VmError::Host(HostError::Backend("io".into())).code(),
            ErrorCode::Internal
        );
        assert_eq!(
            VmError::Host(HostError::failed(ErrorCode::TlsFailure, "bad record MAC")).code(),
            ErrorCode::TlsFailure
        );
        assert_eq!(
            VmError::Host(HostError::Failed {
                code: "NOT_A_CODE".into(),
                message: String::new()
            })
            .code(),
            ErrorCode::Internal
        );
        assert!(VmError::Trap("unreachable".into()).is_execution_failure());
        assert!(!VmError::Host(HostError::Backend("io".into())).is_execution_failure());
    }
}

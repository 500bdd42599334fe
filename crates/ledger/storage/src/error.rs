use arcanum_types::ErrorCode;

/// Errors of the ledger store.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// The storage backend failed (I/O, locking, the file is held by another process, …).
    #[error("storage backend: {0}")]
    Backend(String),
    /// A stored record does not decode, or the stored records contradict each other.
    #[error("corrupt {record}: {reason}")]
    Corrupt { record: String, reason: String },
    /// The database was written by an incompatible version of this crate.
    #[error("unsupported ledger format version {found} (this build reads version {supported})")]
    UnsupportedFormat { found: u32, supported: u32 },
    /// A block commit at the wrong height: only `tip + 1` is accepted.
    #[error("block height mismatch: expected {expected}, got {got}")]
    HeightMismatch { expected: u64, got: u64 },
    /// A block commit that breaks the rules of `BlockCommit` (a caller bug); nothing was written.
    #[error("invalid block commit: {reason}")]
    InvalidCommit { reason: InvalidCommit },
    /// The root of the state a commit produces is not the one the commit names (for a peer:
    /// the block header's); nothing was written.
    #[error("state root mismatch: the block names {expected}, its writes produce {computed}")]
    StateRootMismatch {
        expected: arcanum_types::Hash,
        computed: arcanum_types::Hash,
    },
    /// A state query at a height the store does not hold (above the tip).
    #[error("no state at height {height} (the tip is {tip})")]
    NoSuchHeight { height: u64, tip: u64 },
    /// A key, value or block larger than the protocol allows; nothing was written.
    #[error("{what} of {len} bytes exceeds the limit of {max}")]
    LimitExceeded {
        what: &'static str,
        len: usize,
        max: usize,
    },
}

/// Why a block commit was refused as malformed.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum InvalidCommit {
    /// Receipt `position` names another block or another index.
    #[error("receipt {position} does not name this block and position")]
    ReceiptPosition { position: usize },
    /// Write `position` carries a version of another block.
    #[error("write {position} carries a version of another block")]
    WriteVersionBlock { position: usize },
    /// Write `position` carries a version naming no transaction, or an invalid one.
    #[error("write {position} does not come from a valid transaction of this block")]
    WriteNotFromValidTx { position: usize },
}

impl StorageError {
    /// The stable error code the API reports for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            StorageError::HeightMismatch { expected, got } if got > expected => {
                ErrorCode::BlockHeightGap
            }
            StorageError::HeightMismatch { .. } => ErrorCode::BlockConflict,
            StorageError::StateRootMismatch { .. } => ErrorCode::BlockStateRootMismatch,
            StorageError::NoSuchHeight { .. } => ErrorCode::NotFound,
            StorageError::Backend(_)
            | StorageError::Corrupt { .. }
            | StorageError::UnsupportedFormat { .. }
            | StorageError::InvalidCommit { .. }
            | StorageError::LimitExceeded { .. } => ErrorCode::Internal,
        }
    }

    /// A [`StorageError::Corrupt`] for `record`.
    pub fn corrupt(record: impl Into<String>, reason: impl ToString) -> StorageError {
        StorageError::Corrupt {
            record: record.into(),
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn height_mismatch_codes_distinguish_gap_from_conflict() {
        let gap = StorageError::HeightMismatch {
            expected: 3,
            got: 5,
        };
        let conflict = StorageError::HeightMismatch {
            expected: 3,
            got: 2,
        };
        assert_eq!(gap.code(), ErrorCode::BlockHeightGap);
        assert_eq!(conflict.code(), ErrorCode::BlockConflict);
        assert_eq!(
            StorageError::Backend("x".into()).code(),
            ErrorCode::Internal
        );
    }
}

//! Block validation and atomic commit

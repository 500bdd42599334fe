//! Endorsement device logic

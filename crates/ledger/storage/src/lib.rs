//! Ledger storage trait and its redb implementation

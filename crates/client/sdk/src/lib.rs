//! Rust client SDK

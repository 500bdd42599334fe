//! Deterministic fuel-metered WebAssembly contract VM

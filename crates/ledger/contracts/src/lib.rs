//! Example contracts, compiled to WebAssembly at build time

//! The `arcanum` command-line interface.
fn main() {}

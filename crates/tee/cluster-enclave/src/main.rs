//! The cluster enclave process: rings to the trusted ClusterService, with ocalls back to its host

fn main() {}

//! Integration tests of `arcanum-policy`: every case of the shared Fabric policy data set,
//! MSP role matching and implicit-meta evaluation, and property tests.

mod fabric_cases;
mod props;
mod roles;

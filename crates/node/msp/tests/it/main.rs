//! Integration tests of arcanum-msp: certificates, consortium validation, node configs, devnet.

mod certs;
mod consortium;
mod devnet;
mod fixture;
mod node;

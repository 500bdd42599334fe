//! HTTPS inside the enclave: rustls over bytes the untrusted host relays

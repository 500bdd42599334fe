//! Organisations, X.509 identities and the consortium config

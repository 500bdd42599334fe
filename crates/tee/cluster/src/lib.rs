//! The trusted core of a cluster enclave: cluster key schedule, mutual-attestation join, encrypted deploy and invoke with the T2 state cache

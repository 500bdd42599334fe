//! A TEE node host: launches the cluster enclave, stores its sealed and encrypted records, relays TLS bytes, joins and serves the cluster over HTTP

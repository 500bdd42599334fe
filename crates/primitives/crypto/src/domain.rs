//! The registry of domain-separation strings (`"arcanum/<module>: <use>"`).
//!
//! Every hash and signature in Arcanum is bound to exactly one of these, so that bytes signed for
//! one purpose can never be replayed as another. [`ALL`] lists them; a test asserts uniqueness.

/// Hash of a transaction payload: the transaction id.
pub const TX_ID: &str = "arcanum/ledger: transaction id";
/// Client signature over a transaction id.
pub const TX_SIGNATURE: &str = "arcanum/ledger: client transaction signature";
/// Hash of a simulated proposal response (read/write set, result, vote).
pub const RESPONSE_HASH: &str = "arcanum/ledger: proposal response hash";
/// Endorsement signature by a hosted peer key.
pub const ENDORSEMENT: &str = "arcanum/endorsement: peer endorsement";
/// Hash of a block header.
pub const BLOCK_HASH: &str = "arcanum/ledger: block header hash";
/// Management device signature over a block hash.
pub const BLOCK_SIGNATURE: &str = "arcanum/ordering: block signature";
/// Merkle tree leaf over a transaction.
pub const MERKLE_LEAF: &str = "arcanum/ledger: merkle leaf";
/// Merkle tree interior node.
pub const MERKLE_NODE: &str = "arcanum/ledger: merkle node";
/// Hash of a world-state key: its path in the state tree.
pub const STATE_KEY: &str = "arcanum/ledger: state key";
/// Hash of the consortium pinned in an endorsement enclave (bound into its evidence).
pub const ENCLAVE_CHAIN_PIN: &str = "arcanum/endorsement: enclave chain pin";
/// Hash of contract bytecode.
pub const CODE_HASH: &str = "arcanum/contracts: code hash";
/// Passphrase-derived key-file encryption key.
pub const KEYFILE: &str = "arcanum/keyfile: key encryption";
/// Simulated TEE vendor signature over simulation evidence (hash of the borsh body).
pub const TEE_SIM_EVIDENCE: &str = "arcanum/tee: simulated evidence";
/// Attestation service signature over a remote attestation report.
pub const ATTESTATION_REPORT_SIGNATURE: &str = "arcanum/attestation: report signature";
/// Hash of the public keys a node binds into its evidence's report data.
pub const ATTESTATION_KEY_BINDING: &str = "arcanum/attestation: key binding";
/// HKDF info deriving the simulated TEE's sealing root from its (insecure) fuse secret.
pub const TEE_SIM_SEALING_ROOT: &str = "arcanum/tee: simulated sealing root";
/// HKDF info expanding Gramine's 16-byte SGX sealing key into a 32-byte sealing root.
pub const TEE_GRAMINE_SEALING_ROOT: &str = "arcanum/tee: gramine sealing root";
/// Prefix of the HKDF info of sealing keys: `"arcanum/sealing: <purpose> v<key_version>"`.
pub const SEALING_KEY_PREFIX: &str = "arcanum/sealing: ";

/// HKDF info prefix of the keys derived from the cluster secret: `"<prefix> <purpose>"`.
pub const CLUSTER_KEY_SCHEDULE: &str = "arcanum/cluster: key schedule";
/// Hash of a TEE node's trust configuration (attestation issuers, policy, TLS roots).
pub const CLUSTER_TRUST: &str = "arcanum/cluster: trust configuration";
/// A TEE node's signature over its node card (its HPKE key and trust hash).
pub const NODE_CARD: &str = "arcanum/cluster: node card signature";
/// The cluster key's signature over a join offer to an attested joiner.
pub const JOIN_OFFER: &str = "arcanum/cluster: join offer signature";
/// A joiner's node-key signature accepting a verified offer.
pub const JOIN_ACCEPT: &str = "arcanum/cluster: join acceptance signature";
/// HPKE info of the cluster secret sealed to a joiner.
pub const JOIN_SECRET: &str = "arcanum/cluster: join secret";
/// The cluster key's signature over an on-chain cluster registration.
pub const CLUSTER_REGISTRATION: &str = "arcanum/cluster: registration signature";
/// An off-chain contract's global id: hash of its code hash and the deployer's salt.
pub const CONTRACT_ID: &str = "arcanum/offchain: contract id";
/// The cluster key's signature over an off-chain deployment statement.
pub const DEPLOYMENT_STATEMENT: &str = "arcanum/offchain: deployment statement signature";
/// HPKE info of an encrypted deployment.
pub const OFFCHAIN_DEPLOY: &str = "arcanum/offchain: deploy request";
/// HPKE info of an encrypted invocation.
pub const OFFCHAIN_INVOKE: &str = "arcanum/offchain: invoke request";
/// HPKE exporter context of the key that encrypts an invocation's reply.
pub const OFFCHAIN_REPLY: &str = "arcanum/offchain: reply key";
/// Hash of an off-chain invocation request (the replay and callback identity).
pub const OFFCHAIN_REQUEST: &str = "arcanum/offchain: request hash";
/// A contract key's signature over an off-chain result.
pub const OFFCHAIN_RESULT: &str = "arcanum/offchain: result signature";
/// AEAD associated-data tag of code and state records encrypted under the cluster storage key.
pub const OFFCHAIN_RECORD: &str = "arcanum/offchain: stored record";

/// Every registered domain string.
pub const ALL: &[&str] = &[
    TX_ID,
    TX_SIGNATURE,
    RESPONSE_HASH,
    ENDORSEMENT,
    BLOCK_HASH,
    BLOCK_SIGNATURE,
    MERKLE_LEAF,
    MERKLE_NODE,
    STATE_KEY,
    ENCLAVE_CHAIN_PIN,
    CODE_HASH,
    KEYFILE,
    TEE_SIM_EVIDENCE,
    ATTESTATION_REPORT_SIGNATURE,
    ATTESTATION_KEY_BINDING,
    TEE_SIM_SEALING_ROOT,
    TEE_GRAMINE_SEALING_ROOT,
    SEALING_KEY_PREFIX,
    CLUSTER_KEY_SCHEDULE,
    CLUSTER_TRUST,
    NODE_CARD,
    JOIN_OFFER,
    JOIN_ACCEPT,
    JOIN_SECRET,
    CLUSTER_REGISTRATION,
    CONTRACT_ID,
    DEPLOYMENT_STATEMENT,
    OFFCHAIN_DEPLOY,
    OFFCHAIN_INVOKE,
    OFFCHAIN_REPLY,
    OFFCHAIN_REQUEST,
    OFFCHAIN_RESULT,
    OFFCHAIN_RECORD,
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn domains_are_unique_and_well_formed() {
        let set: BTreeSet<_> = super::ALL.iter().collect();
        assert_eq!(set.len(), super::ALL.len(), "duplicate domain string");
        for d in super::ALL {
            assert!(
                d.starts_with("arcanum/") && d.contains(": "),
                "malformed domain {d}"
            );
        }
    }
}

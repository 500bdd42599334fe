//! The stable error-code registry. Codes never change meaning and are never reused; new codes are
//! appended. `docs/error-codes.md` lists them all (a test checks that).

use borsh::{BorshDeserialize, BorshSerialize};

macro_rules! error_codes {
    ($($variant:ident = $num:literal, $code:literal, $http:literal, $doc:literal;)*) => {
        /// A stable, machine-matchable error code. The string form (`CLIENT_NOT_ALLOWED`) is what the
        /// API and CLI print.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
        #[borsh(use_discriminant = true)]
        #[repr(u8)]
        pub enum ErrorCode {
            $(#[doc = $doc] $variant = $num,)*
        }

        impl ErrorCode {
            /// Every code, in registry order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable string form.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status the API answers with.
            pub fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $http,)* }
            }

            /// One-line description for the docs.
            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $doc,)* }
            }

            /// Parses the string form.
            pub fn parse(s: &str) -> Option<ErrorCode> {
                match s { $($code => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    Internal = 0, "INTERNAL", 500, "An unexpected internal failure; details are in the server log.";
    BadRequest = 1, "BAD_REQUEST", 400, "The request is malformed (missing field, bad parameter).";
    MalformedEncoding = 2, "MALFORMED_ENCODING", 400, "The bytes do not decode strictly as the expected type.";
    BodyTooLarge = 3, "BODY_TOO_LARGE", 413, "The request body exceeds its size limit.";
    Busy = 4, "BUSY", 503, "The node is at capacity (queue full); retry later.";
    NotFound = 5, "NOT_FOUND", 404, "The requested block, transaction, key or contract does not exist.";
    Timeout = 6, "TIMEOUT", 504, "The operation did not finish within its deadline.";
    ClientNotAllowed = 10, "CLIENT_NOT_ALLOWED", 403, "The client identity is not on the consortium allow-list (L3).";
    UnknownIdentity = 11, "UNKNOWN_IDENTITY", 403, "The identity is not known to the consortium.";
    BadClientSignature = 12, "BAD_CLIENT_SIGNATURE", 401, "The client's reference signature does not verify.";
    WrongChannel = 13, "WRONG_CHANNEL", 400, "The transaction names another consortium.";
    DuplicateTx = 14, "DUPLICATE_TX", 409, "The transaction id (or nonce) was already used: a replay.";
    InvalidTx = 15, "INVALID_TX", 400, "The transaction is not well formed (names, sizes, arguments).";
    NotAdmin = 16, "NOT_ADMIN", 403, "The action needs an admin identity.";
    ContractNotFound = 20, "CONTRACT_NOT_FOUND", 404, "No contract with that name is deployed.";
    ContractExists = 21, "CONTRACT_EXISTS", 409, "A contract with that name is already deployed.";
    InvalidContract = 22, "INVALID_CONTRACT", 400, "The WebAssembly module is invalid or lacks the Arcanum ABI.";
    ContractError = 23, "CONTRACT_ERROR", 422, "The contract returned an error.";
    OutOfFuel = 24, "OUT_OF_FUEL", 422, "The contract ran out of fuel.";
    ContractTrap = 25, "CONTRACT_TRAP", 422, "The contract trapped or broke a VM limit.";
    PolicyParseError = 30, "POLICY_PARSE_ERROR", 400, "The endorsement policy does not parse.";
    PolicyNotSatisfied = 31, "POLICY_NOT_SATISFIED", 403, "The endorsements do not satisfy the contract's endorsement policy (L4).";
    BadEndorsement = 32, "BAD_ENDORSEMENT", 502, "An endorsement signature does not verify or names a non-peer.";
    EndorsementMismatch = 33, "ENDORSEMENT_MISMATCH", 502, "Endorsers produced different simulation results.";
    EndorserUnavailable = 34, "ENDORSER_UNAVAILABLE", 503, "No endorsement device could endorse for a target peer.";
    EndorsementRejected = 35, "ENDORSEMENT_REJECTED", 422, "The endorsement vote was reject.";
    MvccReadConflict = 40, "MVCC_READ_CONFLICT", 409, "A value the transaction read changed before it committed.";
    BlockBadSignature = 50, "BLOCK_BAD_SIGNATURE", 400, "The block is not signed by the management device.";
    BlockTxRootMismatch = 51, "BLOCK_TX_ROOT_MISMATCH", 400, "The block's transaction root does not match its transactions.";
    BlockBadPrevHash = 52, "BLOCK_BAD_PREV_HASH", 400, "The block does not extend the local chain.";
    BlockHeightGap = 53, "BLOCK_HEIGHT_GAP", 409, "The block is ahead of the local chain; catch up first.";
    BlockConflict = 54, "BLOCK_CONFLICT", 409, "A different block is already committed at that height.";
    BlockStateRootMismatch = 55, "BLOCK_STATE_ROOT_MISMATCH", 400, "The block's state root differs from the root of the state its valid transactions produce.";
    KeyFile = 60, "KEY_FILE", 500, "A key file cannot be read or decrypted.";
    EvidenceInvalid = 70, "EVIDENCE_INVALID", 422, "TEE evidence does not verify; the message starts with the precise attestation code.";
    AttestationPolicy = 71, "ATTESTATION_POLICY", 403, "Verified evidence breaks the attestation policy (measurement, TCB, debug, simulation).";
    ReportInvalid = 72, "REPORT_INVALID", 403, "A remote attestation report is expired, foreign, tampered or for other keys.";
    ClusterNotFormed = 80, "CLUSTER_NOT_FORMED", 503, "This TEE node has no cluster key yet (not formed or not joined).";
    ClusterExists = 81, "CLUSTER_EXISTS", 409, "This TEE node already holds a cluster key.";
    JoinRefused = 82, "JOIN_REFUSED", 403, "Mutual attestation failed: the other node's report, node card or trust configuration is not acceptable; the message starts with the precise cause.";
    BadChainPin = 104, "BAD_CHAIN_PIN", 400, "The consortium configuration pinned in an endorsement enclave is malformed: members not sorted or unique, the orderer not a member, or a lifecycle policy not in canonical form.";
    ContractCodeRequired = 105, "CONTRACT_CODE_REQUIRED", 502, "The endorsement enclave has not compiled the contract's code yet and the host did not send it, or sent code whose hash is not the witnessed definition's.";
    ClusterKeyMismatch = 83, "CLUSTER_KEY_MISMATCH", 409, "The cluster keys do not match the registered or offered ones.";
    WrongClusterKey = 84, "WRONG_CLUSTER_KEY", 400, "The request is encrypted to another cluster key.";
    DecryptionFailed = 85, "DECRYPTION_FAILED", 400, "The ciphertext does not authenticate (tampered or for another key).";
    OffchainContractUnknown = 86, "OFFCHAIN_CONTRACT_UNKNOWN", 404, "No off-chain contract with that id (and key version) is deployed.";
    InputTooLarge = 87, "INPUT_TOO_LARGE", 413, "The off-chain request, input or result exceeds its limit.";
    ReplayedRequest = 88, "REPLAYED_REQUEST", 409, "This off-chain request (same request hash) was already served.";
    StateRollback = 89, "STATE_ROLLBACK", 409, "The host returned a swapped, stale or missing sealed state record.";
    TlsFailure = 90, "TLS_FAILURE", 502, "The in-enclave TLS session failed (certificate, record MAC, protocol).";
    HttpsFailure = 91, "HTTPS_FAILURE", 502, "The external HTTPS response is malformed, too large or not 200.";
    ClusterSignatureInvalid = 92, "CLUSTER_SIGNATURE_INVALID", 400, "A registration or deployment is not signed by the cluster key.";
    ClusterNotRegistered = 93, "CLUSTER_NOT_REGISTERED", 409, "No cluster is registered on chain, or the epoch does not follow.";
    DeploymentInvalid = 94, "DEPLOYMENT_INVALID", 409, "The off-chain deployment exists already or its key version does not follow.";
    CallbackSignatureInvalid = 95, "CALLBACK_SIGNATURE_INVALID", 400, "The callback result is not signed by the registered contract key.";
    CallbackDuplicate = 96, "CALLBACK_DUPLICATE", 409, "The oracle request already has an accepted callback.";
    OracleRequestNotFound = 97, "ORACLE_REQUEST_NOT_FOUND", 404, "The callback names no oracle request on chain, or a different one.";
    ReceiptInvalid = 98, "RECEIPT_INVALID", 422, "The receipt is malformed or one link of its chain does not verify; the message names the link.";
    CallbackKeyRetired = 99, "CALLBACK_KEY_RETIRED", 409, "The callback result is signed under a contract key version that a rotation has retired; invoke the contract again.";
    StateProofInvalid = 100, "STATE_PROOF_INVALID", 422, "The state proof does not connect the key and value (or absence) to the state root.";
    StateRootMismatch = 101, "STATE_ROOT_MISMATCH", 422, "The state root does not match the signed block header that should carry it.";
    StateHeightMismatch = 102, "STATE_HEIGHT_MISMATCH", 422, "The height does not match the signed block header's height.";
    StateWitnessInvalid = 103, "STATE_WITNESS_INVALID", 502, "The endorsement enclave refused the host's state: a read without a valid proof against a verified root, a read it did not ask for, or a header that does not extend its verified chain; the message starts with the precise cause.";
}

/// The API's error body: `{"code": "...", "message": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        ErrorCode::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code {s}")))
    }
}

impl serde::Serialize for ApiError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ApiError", 2)?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("message", &self.message)?;
        st.end()
    }
}

impl<'de> serde::Deserialize<'de> for ApiError {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Raw {
            code: ErrorCode,
            message: String,
        }
        let r = Raw::deserialize(d)?;
        Ok(ApiError {
            code: r.code,
            message: r.message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(*c as u8), "duplicate number for {c}");
            assert_eq!(ErrorCode::parse(c.as_str()), Some(*c));
            let bytes = crate::encode(c);
            assert_eq!(crate::decode::<ErrorCode>(&bytes, 8).ok(), Some(*c));
        }
    }
}

#[cfg(test)]
mod doc_tests {
    use super::ErrorCode;

    #[test]
    fn every_code_is_documented() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../docs/error-codes.md"
        ))
        .expect("docs/error-codes.md exists");
        for c in ErrorCode::ALL {
            assert!(
                doc.contains(&format!("`{}`", c.as_str())),
                "{c} missing from docs/error-codes.md"
            );
        }
    }
}

//! What the chain records about the off-chain cluster, read from any peer: the cluster
//! registration, off-chain deployments, accepted oracle results, and transaction inclusion
//! proofs (`TxProof::verify` checks one offline against the management device's key).
//!
//! The node's answers are decoded strictly and checked to be about what was asked (the right
//! contract id, request hash or transaction id); their signatures are for the caller to judge
//! against its own trust anchors (the receipt verifier does).

use arcanum_api::routes;
use arcanum_crypto::Hash;
use arcanum_types::offchain::{SignedDeployment, SignedRegistration, SignedResult};
use arcanum_types::{TxProof, limits};

use crate::{Client, SdkError};

/// Largest answer to the off-chain record queries (a registration is a state value).
const MAX_RECORD_BYTES: usize = limits::MAX_VALUE_BYTES;
/// Largest transaction proof: the transaction, a header and a path of at most 32 hashes.
const MAX_PROOF_BYTES: usize = limits::MAX_ENDORSED_TX_BYTES + 64 * 1024;

impl Client {
    /// The off-chain cluster's registration on chain (`NOT_FOUND` before one is registered).
    pub async fn cluster_registration(&self) -> Result<SignedRegistration, SdkError> {
        let resp = self.get(routes::OFFCHAIN_CLUSTER).await?;
        Self::borsh(resp, MAX_RECORD_BYTES).await
    }

    /// An off-chain contract's registered deployment: key version `version`, or the latest.
    pub async fn offchain_deployment(
        &self,
        contract_id: &Hash,
        version: Option<u32>,
    ) -> Result<SignedDeployment, SdkError> {
        let mut path = routes::OFFCHAIN_DEPLOYMENT.replace("{contract_id}", &contract_id.to_hex());
        if let Some(v) = version {
            path.push_str(&format!("?version={v}"));
        }
        let deployment: SignedDeployment =
            Self::borsh(self.get(&path).await?, MAX_RECORD_BYTES).await?;
        let s = &deployment.statement;
        if s.contract_id != *contract_id || version.is_some_and(|v| v != s.key_version) {
            return Err(SdkError::Protocol(
                "the node answered with another deployment than the one asked for".into(),
            ));
        }
        Ok(deployment)
    }

    /// The oracle result the chain accepted for request hash `request`
    /// ([`arcanum_types::offchain::InvokeRequest::hash`]).
    pub async fn oracle_result(&self, request: &Hash) -> Result<SignedResult, SdkError> {
        let path = routes::ORACLE_RESULT.replace("{request_hash}", &request.to_hex());
        let result: SignedResult = Self::borsh(self.get(&path).await?, MAX_RECORD_BYTES).await?;
        if result.result.request != *request {
            return Err(SdkError::Protocol(
                "the node answered with the result of another request".into(),
            ));
        }
        Ok(result)
    }

    /// The inclusion proof of committed transaction `tx_id`. Not yet verified: check it with
    /// `TxProof::verify` against the management device's key.
    pub async fn tx_proof(&self, tx_id: &Hash) -> Result<TxProof, SdkError> {
        let path = routes::TX_PROOF.replace("{tx_id}", &tx_id.to_hex());
        let proof: TxProof = Self::borsh(self.get(&path).await?, MAX_PROOF_BYTES).await?;
        if proof.tx_id() != *tx_id {
            return Err(SdkError::Protocol(
                "the node answered with the proof of another transaction".into(),
            ));
        }
        Ok(proof)
    }
}

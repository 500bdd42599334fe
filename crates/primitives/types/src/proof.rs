//! Transaction inclusion proofs: a committed transaction, the signed header of its block and
//! the Merkle path from the transaction to the header's transaction root. Anyone holding the
//! management device's public key can check one offline.

use arcanum_crypto::{PublicKey, Signature, domain};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::{BlockHeader, EndorsedTx, Hash, TxStatus, encode, verify_merkle_proof};

/// Proof that `tx` is transaction `index` of the block whose header is `header`, signed by the
/// management device.
///
/// What it proves: the orderer signed a block containing exactly this transaction at this
/// position. `status` is the serving peer's validation verdict; it is not covered by any
/// signature (every honest peer computes the same one, so a verifier that needs certainty asks
/// several peers or re-validates).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TxProof {
    pub header: BlockHeader,
    /// The orderer's signature over `header.hash()` under [`domain::BLOCK_SIGNATURE`].
    pub signature: Signature,
    /// Position of `tx` in the block; the tree size is the signed `header.tx_count`.
    pub index: u32,
    /// [`crate::merkle_proof`] of `encode(tx)` in the block's transaction tree.
    pub path: Vec<Hash>,
    pub tx: EndorsedTx,
    pub status: TxStatus,
}

/// Why a [`TxProof`] does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the block header is not signed by the given orderer key")]
    HeaderSignature,
    #[error("the Merkle path does not lead from the transaction to the header's transaction root")]
    MerklePath,
    #[error("the proof is for transaction {expected}, not {found}")]
    TxId { expected: Hash, found: Hash },
}

impl TxProof {
    /// The id of the proven transaction.
    pub fn tx_id(&self) -> Hash {
        self.tx.id()
    }

    /// Checks the header signature under `orderer_key` and the Merkle path of the transaction to
    /// the signed transaction root.
    pub fn verify(&self, orderer_key: &PublicKey) -> Result<(), ProofError> {
        orderer_key
            .verify(
                domain::BLOCK_SIGNATURE,
                &self.header.hash().0,
                &self.signature,
            )
            .map_err(|_| ProofError::HeaderSignature)?;
        let included = verify_merkle_proof(
            &encode(&self.tx),
            self.index as usize,
            self.header.tx_count as usize,
            &self.path,
            &self.header.tx_root,
        );
        if !included {
            return Err(ProofError::MerklePath);
        }
        Ok(())
    }

    /// [`TxProof::verify`], and the proven transaction must be `tx_id`.
    pub fn verify_for(&self, tx_id: &Hash, orderer_key: &PublicKey) -> Result<(), ProofError> {
        let found = self.tx_id();
        if found != *tx_id {
            return Err(ProofError::TxId {
                expected: *tx_id,
                found,
            });
        }
        self.verify(orderer_key)
    }
}

#[cfg(test)]
mod tests {
    use arcanum_crypto::SigningKey;

    use super::*;
    use crate::{
        Block, IdentityId, ProposalResponse, RwSet, SignedTx, TxAction, TxPayload, Vote,
        merkle_proof,
    };

    fn tx(nonce: u64) -> EndorsedTx {
        let payload = TxPayload {
            channel: "c".into(),
            creator: IdentityId(Hash::ZERO),
            nonce,
            action: TxAction::Invoke {
                contract: "kv".into(),
                function: "put".into(),
                args: vec![],
            },
        };
        EndorsedTx {
            response: ProposalResponse {
                tx_id: payload.id(),
                rwset: RwSet::default(),
                result: vec![],
                events: vec![],
                vote: Vote::Approve,
            },
            tx: SignedTx {
                payload,
                signature: Signature(vec![]),
            },
            endorsements: vec![],
        }
    }

    fn proof_of(block: &Block, index: usize) -> TxProof {
        let leaves: Vec<Vec<u8>> = block.txs.iter().map(encode).collect();
        TxProof {
            header: block.header.clone(),
            signature: block.signature.clone(),
            index: index as u32,
            path: merkle_proof(leaves.iter().map(Vec::as_slice), index).expect("in range"),
            tx: block.txs[index].clone(),
            status: TxStatus::Valid,
        }
    }

    #[test]
    fn proofs_verify_and_tampering_is_caught() {
        let orderer = SigningKey::from_ed25519_seed(&[7; 32]);
        let other = SigningKey::from_ed25519_seed(&[8; 32]);
        let txs: Vec<EndorsedTx> = (0..5).map(tx).collect();
        let mut block = Block {
            header: BlockHeader {
                height: 3,
                prev_hash: Hash::ZERO,
                tx_root: Hash::ZERO,
                tx_count: 5,
                state_root: Hash::ZERO,
                timestamp_ms: 1,
                orderer: IdentityId(Hash::ZERO),
            },
            txs,
            signature: Signature(vec![]),
        };
        block.header.tx_root = block.compute_tx_root();
        block.signature = orderer.sign(domain::BLOCK_SIGNATURE, &block.header.hash().0);
        let key = orderer.public_key();
        for i in 0..5 {
            let p = proof_of(&block, i);
            assert_eq!(p.verify(&key), Ok(()));
            assert_eq!(p.verify_for(&block.txs[i].id(), &key), Ok(()));
        }
        let p = proof_of(&block, 2);
        assert_eq!(
            p.verify(&other.public_key()),
            Err(ProofError::HeaderSignature)
        );
        assert!(matches!(
            p.verify_for(&block.txs[3].id(), &key),
            Err(ProofError::TxId { .. })
        ));
        let mut swapped = p.clone();
        swapped.tx = block.txs[3].clone();
        assert_eq!(swapped.verify(&key), Err(ProofError::MerklePath));
        let mut moved = p.clone();
        moved.index = 3;
        assert_eq!(moved.verify(&key), Err(ProofError::MerklePath));
        let mut recounted = p.clone();
        recounted.header.tx_count = 6;
        assert_eq!(recounted.verify(&key), Err(ProofError::HeaderSignature));
        let mut short = p;
        short.path.pop();
        assert_eq!(short.verify(&key), Err(ProofError::MerklePath));
    }
}

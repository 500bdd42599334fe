use arcanum_crypto::{Hash, Signature, domain, tagged_hash};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::{EndorsedTx, ErrorCode, IdentityId, encode, merkle_root};

/// A block header. The management device signs its hash.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlockHeader {
    /// Height; the first block is 1 and its `prev_hash` is [`Hash::ZERO`].
    pub height: u64,
    pub prev_hash: Hash,
    /// [`merkle_root`] over the encoded transactions.
    pub tx_root: Hash,
    pub tx_count: u32,
    /// The root of the world state after this block's valid transactions are applied
    /// ([`crate::state`]): the management device computes it before it signs, and every peer
    /// recomputes it and refuses the block if it differs (`BLOCK_STATE_ROOT_MISMATCH`).
    pub state_root: Hash,
    /// Milliseconds since the Unix epoch, as read by the management device when it cut the block.
    pub timestamp_ms: u64,
    /// The management device that signed the block.
    pub orderer: IdentityId,
}

impl BlockHeader {
    pub fn hash(&self) -> Hash {
        tagged_hash(domain::BLOCK_HASH, &[&encode(self)])
    }
}

/// A signed block of endorsed transactions.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Block {
    pub header: BlockHeader,
    pub txs: Vec<EndorsedTx>,
    /// The orderer's signature over the header hash.
    pub signature: Signature,
}

impl Block {
    /// The transaction root the header should carry.
    pub fn compute_tx_root(&self) -> Hash {
        let encoded: Vec<Vec<u8>> = self.txs.iter().map(encode).collect();
        merkle_root(encoded.iter().map(Vec::as_slice))
    }
}

/// A transaction's validation outcome as recorded by a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum TxStatus {
    Valid,
    Invalid(ErrorCode),
}

impl TxStatus {
    /// `"VALID"` or the stable error code.
    pub fn as_str(&self) -> &'static str {
        match self {
            TxStatus::Valid => "VALID",
            TxStatus::Invalid(code) => code.as_str(),
        }
    }
}

/// Receipt of commit: where a transaction landed and whether it was valid.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TxReceipt {
    pub tx_id: Hash,
    pub block: u64,
    pub index: u32,
    pub status: TxStatus,
}

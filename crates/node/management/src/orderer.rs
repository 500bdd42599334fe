//! The block cutter and committer, pipelined: while one block is being committed (validated
//! and made durable on the management device's own chain), the next one is already being
//! collected, by count, bytes and timeout, and signed.
//!
//! The cutter chains each block to the one it cut before, from an in-memory parent. Blocks reach
//! the committer in order through a bounded channel, so at most [`BLOCKS_AHEAD`] signed blocks
//! wait behind the one being committed. If a commit fails, the committer resets the parent to
//! the chain's real tip (unless the cutter has moved back already); a block already cut on top
//! of the failed one then fails its previous-hash check, and its submitters get the error too. Nothing is half-applied either way.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arcanum_crypto::{Hash, domain};
use arcanum_types::{ApiError, Block, BlockHeader, ErrorCode, TxReceipt, encode, merkle_root};
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::{EndorserTransport, Management, Queued};

/// Signed blocks that may wait behind the one being committed.
const BLOCKS_AHEAD: usize = 1;

type Reply = oneshot::Sender<Result<TxReceipt, ApiError>>;

/// A signed block, its encoding and the submitters waiting for it.
struct Cut {
    block: Block,
    bytes: Vec<u8>,
    ids: Vec<Hash>,
    replies: Vec<Reply>,
}

/// The ordering loop; ends when every sender is gone and the last block is committed.
pub(crate) async fn run<T: EndorserTransport>(
    m: Arc<Management<T>>,
    mut rx: mpsc::Receiver<Queued>,
) {
    let parent = match m.ledger.tip() {
        Ok(tip) => Arc::new(Mutex::new(tip)),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the chain tip; ordering stopped");
            return;
        }
    };
    let (blocks, mut cuts) = mpsc::channel::<Cut>(BLOCKS_AHEAD);
    let committer = {
        let (m, parent) = (m.clone(), parent.clone());
        tokio::spawn(async move {
            while let Some(cut) = cuts.recv().await {
                let (m, parent) = (m.clone(), parent.clone());
                // Validation and the durable commit are CPU and disk work.
                if let Err(e) =
                    tokio::task::spawn_blocking(move || m.commit_cut(cut, &parent)).await
                {
                    tracing::error!(error = %e, "block commit task failed");
                }
            }
        })
    };
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::from_std(Instant::now() + m.settings.block_timeout);
        let mut bytes = first.size;
        let mut batch = vec![first];
        while batch.len() < m.settings.max_block_txs && bytes < m.settings.max_block_bytes {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(q)) => {
                    bytes += q.size;
                    batch.push(q);
                }
                Ok(None) | Err(_) => break,
            }
        }
        match m.cut(batch, &parent) {
            Ok(cut) => {
                if blocks.send(cut).await.is_err() {
                    break;
                }
            }
            Err((e, replies)) => {
                tracing::error!(error = %e, "block cutting failed");
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
    drop(blocks);
    let _ = committer.await;
}

impl<T: EndorserTransport> Management<T> {
    /// Builds and signs the block of `batch` on top of `parent`, which it advances.
    fn cut(
        &self,
        batch: Vec<Queued>,
        parent: &Mutex<(u64, Hash)>,
    ) -> Result<Cut, (ApiError, Vec<Reply>)> {
        let (txs, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|q| (q.tx, q.reply)).unzip();
        let ids: Vec<_> = txs.iter().map(|t| t.id()).collect();
        let Ok(tx_count) = u32::try_from(txs.len()) else {
            self.forget(&ids);
            return Err((
                ApiError::new(ErrorCode::Internal, "block too large"),
                replies,
            ));
        };
        let mut parent = parent.lock();
        let (height, prev_hash) = *parent;
        let encoded: Vec<Vec<u8>> = txs.iter().map(encode).collect();
        let header = BlockHeader {
            height: height + 1,
            prev_hash,
            tx_root: merkle_root(encoded.iter().map(Vec::as_slice)),
            tx_count,
            timestamp_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            orderer: self.ledger.config().orderer,
        };
        let signature = self.key.sign(domain::BLOCK_SIGNATURE, &header.hash().0);
        *parent = (header.height, header.hash());
        let block = Block {
            header,
            txs,
            signature,
        };
        let bytes = encode(&block);
        Ok(Cut {
            block,
            bytes,
            ids,
            replies,
        })
    }

    /// Commits a cut block to the device's own chain and answers its submitters.
    fn commit_cut(&self, cut: Cut, parent: &Mutex<(u64, Hash)>) {
        let Cut {
            block,
            bytes,
            ids,
            replies,
        } = cut;
        let result = self.ledger.commit(&block, bytes);
        self.forget(&ids);
        match result {
            Ok(summary) => {
                // The new height and the block's summary first: a submitter that sends its next
                // transaction as soon as it hears back must have it endorsed against this block's
                // state, and subscribers see the block before any submitter does.
                self.tip.send_replace(summary.height);
                let summary = Arc::new(summary);
                // No subscribers is fine.
                let _ = self.commits.send(summary.clone());
                for (reply, receipt) in replies.into_iter().zip(summary.receipts.iter()) {
                    // A submitter that stopped waiting is fine.
                    let _ = reply.send(Ok(receipt.clone()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, height = block.header.height, "block commit failed");
                // Blocks cut on top of this one will fail their previous-hash check; unless the
                // cutter has moved back already, cut the next ones on the chain's real tip.
                let mut parent = parent.lock();
                if parent.0 >= block.header.height {
                    match self.ledger.tip() {
                        Ok(tip) => *parent = tip,
                        Err(e) => tracing::error!(error = %e, "cannot read the chain tip"),
                    }
                }
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }

    /// The transactions are no longer pending (committed, or failed with their block).
    fn forget(&self, ids: &[Hash]) {
        let mut pending = self.pending.lock();
        for id in ids {
            pending.remove(id);
        }
    }
}

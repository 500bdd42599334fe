//! The block cutter: batches verified transactions by count, bytes and timeout, signs the block,
//! commits it to the management device's own chain and answers the waiting submitters.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arcanum_crypto::domain;
use arcanum_types::{ApiError, Block, BlockHeader, ErrorCode, encode, merkle_root};
use tokio::sync::mpsc;

use crate::{EndorserTransport, Management, Queued};

/// The ordering loop; ends when every sender is gone.
pub(crate) async fn run<T: EndorserTransport>(
    m: Arc<Management<T>>,
    mut rx: mpsc::Receiver<Queued>,
) {
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
        let m2 = m.clone();
        // Signing, validation and the durable commit are CPU and disk work.
        let outcome = tokio::task::spawn_blocking(move || m2.cut(batch)).await;
        if let Err(e) = outcome {
            tracing::error!(error = %e, "block cutting task failed");
        }
    }
}

impl<T: EndorserTransport> Management<T> {
    fn cut(&self, batch: Vec<Queued>) {
        let (txs, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|q| (q.tx, q.reply)).unzip();
        let ids: Vec<_> = txs.iter().map(|t| t.id()).collect();
        let result = self.sign_and_commit(txs);
        {
            let mut pending = self.pending.lock();
            for id in &ids {
                pending.remove(id);
            }
        }
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
                tracing::error!(error = %e, "block commit failed");
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }

    fn sign_and_commit(
        &self,
        txs: Vec<arcanum_types::EndorsedTx>,
    ) -> Result<arcanum_ledger::CommitSummary, ApiError> {
        let (height, prev_hash) = self.ledger.tip()?;
        let encoded: Vec<Vec<u8>> = txs.iter().map(encode).collect();
        let header = BlockHeader {
            height: height + 1,
            prev_hash,
            tx_root: merkle_root(encoded.iter().map(Vec::as_slice)),
            tx_count: u32::try_from(txs.len())
                .map_err(|_| ApiError::new(ErrorCode::Internal, "block too large"))?,
            timestamp_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            orderer: self.ledger.config().orderer,
        };
        let signature = self.key.sign(domain::BLOCK_SIGNATURE, &header.hash().0);
        let block = Block {
            header,
            txs,
            signature,
        };
        let bytes = encode(&block);
        self.ledger.commit(&block, bytes)
    }
}

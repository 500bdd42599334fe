//! The block cutter and committer, pipelined: while one block is being committed (validated,
//! its state root computed, signed and made durable on the management device's own chain), the
//! next one is already being collected, by count, bytes and timeout.
//!
//! The committer builds each block on its own chain's tip ([`arcanum_ledger::Ledger::order`]):
//! the header's state root is the root after that very block (docs/design/ledger-format.md),
//! which needs the block validated before it is signed. Batches reach the committer in order
//! through a bounded channel, so at most [`BATCHES_AHEAD`] collected batches wait behind the one
//! being committed. A failed commit fails only its own batch's submitters; nothing is
//! half-applied.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arcanum_crypto::{Hash, domain};
use arcanum_types::{ApiError, TxReceipt};
use tokio::sync::{mpsc, oneshot};

use crate::{EndorserTransport, Management, Queued};

/// Collected batches that may wait behind the one being committed.
const BATCHES_AHEAD: usize = 1;

type Reply = oneshot::Sender<Result<TxReceipt, ApiError>>;

/// The ordering loop; ends when every sender is gone and the last block is committed.
pub(crate) async fn run<T: EndorserTransport>(
    m: Arc<Management<T>>,
    mut rx: mpsc::Receiver<Queued>,
) {
    let (batches, mut collected) = mpsc::channel::<Vec<Queued>>(BATCHES_AHEAD);
    let committer = {
        let m = m.clone();
        tokio::spawn(async move {
            while let Some(batch) = collected.recv().await {
                let m = m.clone();
                // Validation, the state root, signing and the durable commit are CPU and disk
                // work.
                if let Err(e) = tokio::task::spawn_blocking(move || m.commit_batch(batch)).await {
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
        if batches.send(batch).await.is_err() {
            break;
        }
    }
    drop(batches);
    let _ = committer.await;
}

impl<T: EndorserTransport> Management<T> {
    /// Orders a batch into the next block of the device's own chain (validated, rooted, signed,
    /// durable) and answers its submitters.
    fn commit_batch(&self, batch: Vec<Queued>) {
        let (txs, replies): (Vec<_>, Vec<Reply>) =
            batch.into_iter().map(|q| (q.tx, q.reply)).unzip();
        let ids: Vec<Hash> = txs.iter().map(|t| t.id()).collect();
        let timestamp_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let result = self.ledger.order(txs, timestamp_ms, |hash| {
            self.key.sign(domain::BLOCK_SIGNATURE, &hash.0)
        });
        self.forget(&ids);
        match result {
            Ok((_, _, summary)) => {
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

    /// The transactions are no longer pending (committed, or failed with their block).
    fn forget(&self, ids: &[Hash]) {
        let mut pending = self.pending.lock();
        for id in ids {
            pending.remove(id);
        }
    }
}

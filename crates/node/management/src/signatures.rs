//! Natural batching of the client signature check on submission, one batcher per management
//! device.
//!
//! Every transaction handed to [`crate::Management::endorse`] (and so to `execute`) has its
//! client's reference signature verified here, after admission and before any endorsement
//! work. Callers enqueue one signature each; the batcher verifies whatever is queued in ONE
//! [`VerifiedSet::verify_all`] as soon as fewer than [`BATCHES_IN_FLIGHT`] batches are being
//! verified. There is no timer: at low load a lone signature is verified at once; under load,
//! submissions that arrive while a batch is being verified are verified together in the next.
//! A batch holds at most [`MAX_BATCH`] signatures.
//!
//! Each caller gets the batch's shared set and judges its own transaction with
//! [`arcanum_ledger::check_client_with`], the peers' own check: a signature that verified in the
//! batch is a lookup, one that failed (the batch is bisected) is verified again on its own and
//! refused with `BAD_CLIENT_SIGNATURE`, so one forged signature never spoils the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arcanum_crypto::{Hash, PublicKey, Signature, VerifiedSet, domain};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};

/// Most signatures in one batch (the size of the endorse batches they go on to).
pub(crate) const MAX_BATCH: usize = arcanum_api::MAX_ENDORSE_ITEMS;

/// Batches being verified at a time: one on a core while the next gathers.
const BATCHES_IN_FLIGHT: usize = 2;

/// Below this many signatures, a batch is verified on the runtime's thread.
const INLINE_SIGNATURES: usize = 16;

/// One client signature to verify: the creator's key, the transaction id and the signature.
pub(crate) struct Job {
    pub key: PublicKey,
    pub tx_id: Hash,
    pub signature: Signature,
    pub reply: oneshot::Sender<Arc<VerifiedSet>>,
}

/// The batcher: runs until every sender is gone and its batches are verified. Counts each batch
/// in `batches`.
pub(crate) async fn run(mut queue: mpsc::Receiver<Job>, batches: Arc<AtomicU64>) {
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() >= BATCHES_IN_FLIGHT {
            in_flight.next().await;
        }
        let first = tokio::select! {
            job = queue.recv() => match job {
                Some(job) => job,
                None => break,
            },
            Some(()) = in_flight.next(), if !in_flight.is_empty() => continue,
        };
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        // A caller that gave up needs no verdict.
        jobs.retain(|j| !j.reply.is_closed());
        if !jobs.is_empty() {
            batches.fetch_add(1, Ordering::Relaxed);
            in_flight.push(verify(jobs));
        }
    }
    while in_flight.next().await.is_some() {}
}

/// Verifies one batch and hands every caller the shared set.
async fn verify(jobs: Vec<Job>) {
    let (jobs, verified) = if jobs.len() < INLINE_SIGNATURES {
        let verified = verify_all(&jobs);
        (jobs, verified)
    } else {
        let verifying = tokio::task::spawn_blocking(move || {
            let verified = verify_all(&jobs);
            (jobs, verified)
        });
        match verifying.await {
            Ok(done) => done,
            // The jobs went with the task: their callers see the reply dropped and verify
            // alone.
            Err(e) => {
                tracing::error!(error = %e, "verifying a client signature batch failed");
                return;
            }
        }
    };
    let verified = Arc::new(verified);
    for job in jobs {
        // A caller that stopped waiting is fine.
        let _ = job.reply.send(verified.clone());
    }
}

fn verify_all(jobs: &[Job]) -> VerifiedSet {
    let items: Vec<(&PublicKey, &str, &[u8], &Signature)> = jobs
        .iter()
        .map(|j| {
            (
                &j.key,
                domain::TX_SIGNATURE,
                j.tx_id.0.as_slice(),
                &j.signature,
            )
        })
        .collect();
    VerifiedSet::verify_all(&items)
}

//! Natural batching of endorsement requests, one batcher per endorsement device.
//!
//! Callers enqueue one item each (a transaction and the peers the device must endorse it for).
//! The batcher sends whatever is queued as ONE [`EndorseBatch`] as soon as fewer than
//! [`crate::Settings::endorse_batches_in_flight`] batches are in flight to its device. There is
//! no timer: at low load a lone item leaves at once; under load, items pile up while the device
//! is busy and leave together. A batch holds at most [`MAX_ENDORSE_ITEMS`] items and
//! [`BATCH_BYTES`] bytes, and asks for the highest `min_height` of its items.
//!
//! On an answer, every endorsement of every endorsed item is verified in ONE
//! [`VerifiedSet::verify_all`], under the peers' current keys; each item then gets its own
//! outcome and the shared set, so the caller's full check finds its signatures already
//! verified. A transport failure of a batch (unreachable, timeout, an answer of the wrong
//! length) fails each of its items with that error, so the callers' per-item retries and
//! fallbacks work as they do for single requests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arcanum_api::{EndorseBatch, EndorseItem, EndorseOutcome, EndorseResponse, MAX_ENDORSE_ITEMS};
use arcanum_crypto::{PublicKey, Signature, VerifiedSet, domain};
use arcanum_ledger::Ledger;
use arcanum_types::IdentityId;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};

use crate::{EndorserTransport, TransportError};

/// Most bytes of items in one batch: the endorse route's body limit, less room for the header.
pub(crate) const BATCH_BYTES: usize = arcanum_api::MAX_ENDORSE_BATCH_BYTES - 4096;

/// Below this many signatures, a batch's answer is verified on the runtime's thread.
const INLINE_SIGNATURES: usize = 16;

/// An item's endorsements, with the signatures of its whole batch verified together.
pub(crate) struct Endorsed {
    pub response: EndorseResponse,
    pub verified: Arc<VerifiedSet>,
}

pub(crate) type Reply = oneshot::Sender<Result<Endorsed, TransportError>>;

/// One queued item.
pub(crate) struct Job {
    pub item: EndorseItem,
    pub min_height: u64,
    /// The item's encoded size.
    pub size: usize,
    pub reply: Reply,
}

impl Job {
    pub(crate) fn new(item: EndorseItem, min_height: u64, reply: Reply) -> Job {
        let size = borsh::object_length(&item).unwrap_or(BATCH_BYTES);
        Job {
            item,
            min_height,
            size,
            reply,
        }
    }
}

/// What a batcher needs of its management device.
pub(crate) struct Device<T> {
    pub index: usize,
    pub transport: Arc<T>,
    pub ledger: Arc<Ledger>,
    pub timeout: Duration,
    pub in_flight: usize,
}

/// The batcher of one device: runs until every sender is gone and its batches are answered.
pub(crate) async fn run<T: EndorserTransport>(device: Device<T>, mut queue: mpsc::Receiver<Job>) {
    let device = Arc::new(device);
    let limit = device.in_flight.max(1);
    let mut in_flight = FuturesUnordered::new();
    // A job that did not fit the batch before it: first in the next one.
    let mut carried: Option<Job> = None;
    loop {
        while in_flight.len() >= limit {
            in_flight.next().await;
        }
        let first = match carried.take() {
            Some(job) => job,
            None => tokio::select! {
                job = queue.recv() => match job {
                    Some(job) => job,
                    None => break,
                },
                Some(()) = in_flight.next(), if !in_flight.is_empty() => continue,
            },
        };
        let mut bytes = first.size;
        let mut jobs = vec![first];
        while jobs.len() < MAX_ENDORSE_ITEMS {
            match queue.try_recv() {
                Ok(job) if bytes + job.size > BATCH_BYTES => {
                    carried = Some(job);
                    break;
                }
                Ok(job) => {
                    bytes += job.size;
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        // A caller that gave up (timeout, dropped request) needs no endorsement.
        jobs.retain(|j| !j.reply.is_closed());
        if !jobs.is_empty() {
            in_flight.push(send(device.clone(), jobs));
        }
    }
    while in_flight.next().await.is_some() {}
}

/// Sends one batch and answers each of its items.
async fn send<T: EndorserTransport>(device: Arc<Device<T>>, jobs: Vec<Job>) {
    let min_height = jobs.iter().map(|j| j.min_height).max().unwrap_or(0);
    let (items, replies): (Vec<EndorseItem>, Vec<Reply>) =
        jobs.into_iter().map(|j| (j.item, j.reply)).unzip();
    let batch = EndorseBatch { min_height, items };
    let answer = tokio::time::timeout(
        device.timeout,
        device.transport.endorse(device.index, &batch),
    )
    .await;
    let outcomes = match answer {
        Err(_) => return fail(replies, TransportError::Timeout),
        Ok(Err(e)) => return fail(replies, e),
        Ok(Ok(o)) if o.len() != batch.items.len() => {
            let why = format!(
                "answered {} outcomes for {} items",
                o.len(),
                batch.items.len()
            );
            return fail(replies, TransportError::Unreachable(why));
        }
        Ok(Ok(o)) => o,
    };
    let signatures: usize = outcomes
        .iter()
        .map(|o| match o {
            EndorseOutcome::Endorsed(r) => r.endorsements.len(),
            EndorseOutcome::Failed { .. } => 0,
        })
        .sum();
    let (items, outcomes, verified) = if signatures < INLINE_SIGNATURES {
        let verified = verify(&device.ledger, &batch.items, &outcomes);
        (batch.items, outcomes, verified)
    } else {
        let ledger = device.ledger.clone();
        let items = batch.items;
        let verifying = tokio::task::spawn_blocking(move || {
            let verified = verify(&ledger, &items, &outcomes);
            (items, outcomes, verified)
        });
        match verifying.await {
            Ok(done) => done,
            Err(e) => {
                let why = format!("verifying the batch failed: {e}");
                return fail(replies, TransportError::Unreachable(why));
            }
        }
    };
    drop(items);
    let verified = Arc::new(verified);
    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        let result = outcome
            .into_result()
            .map(|response| Endorsed {
                response,
                verified: verified.clone(),
            })
            .map_err(TransportError::from_device);
        // A caller that stopped waiting is fine.
        let _ = reply.send(result);
    }
}

fn fail(replies: Vec<Reply>, error: TransportError) {
    for reply in replies {
        let _ = reply.send(Err(error.clone()));
    }
}

/// Verifies every endorsement of every endorsed item together, under each peer's key at the
/// tip. Unknown endorsers are left out: the caller's full check refuses them.
fn verify(ledger: &Ledger, items: &[EndorseItem], outcomes: &[EndorseOutcome]) -> VerifiedSet {
    let config = ledger.config();
    let mut keys: BTreeMap<IdentityId, Option<PublicKey>> = BTreeMap::new();
    let mut checks: Vec<(PublicKey, Vec<u8>, &Signature)> = Vec::new();
    for (item, outcome) in items.iter().zip(outcomes) {
        let EndorseOutcome::Endorsed(r) = outcome else {
            continue;
        };
        let msg = r.response.endorsement_message(item.tx.payload.id());
        for e in &r.endorsements {
            let key = keys.entry(e.endorser).or_insert_with(|| {
                config
                    .member(&e.endorser)
                    .and_then(|m| ledger.peer_key_at_tip(m).ok())
            });
            if let Some(key) = key {
                checks.push((key.clone(), msg.clone(), &e.signature));
            }
        }
    }
    let refs: Vec<(&PublicKey, &str, &[u8], &Signature)> = checks
        .iter()
        .map(|(k, m, s)| (k, domain::ENDORSEMENT, m.as_slice(), *s))
        .collect();
    VerifiedSet::verify_all(&refs)
}

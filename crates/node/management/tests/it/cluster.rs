//! An in-process management network: one management device over its own ledger, and real
//! endorsement devices, each over its own ledger replica, reached through [`InProcess`], a
//! transport that calls [`Endorser::endorse_batch`] directly and can inject faults per device
//! (per batch). It records each item's peers as one "call" and each batch's size.
//!
//! Replicas are kept in sync the way the server keeps them: before a device simulates, it
//! applies the management device's blocks up to the request's `min_height` (read from the
//! management ledger's store and committed with `commit_bytes`). Nothing waits on wall-clock
//! sleeps: tests synchronise on receipts, on the call counter and on per-device gates.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arcanum_crypto::domain;
use arcanum_endorser::{EndorseBatch, EndorseOutcome, Endorser};
use arcanum_ledger::{CommitSummary, Ledger};
use arcanum_management::{
    EndorserInfo, EndorserTransport, KeyMode, Management, Selection, Settings, TransportError,
};
use arcanum_types::{
    ApiError, EndorsedTx, ErrorCode, IdentityId, SignedTx, TxReceipt, TxStatus, decode, limits,
};
use parking_lot::Mutex;
use tokio::sync::{oneshot, watch};

use crate::net::Net;

/// What a faulty device does instead of answering honestly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The device cannot be reached.
    Unreachable,
    /// The device never answers (the management device's timeout must fire).
    Hang,
    /// The device answers with a corrupted endorsement signature, for every item.
    Tamper,
    /// The device corrupts an endorsement signature of the first item of the batch only.
    TamperFirst,
    /// The device answers with a validly signed but different simulation result.
    Diverge,
    /// The device answers with a definitive error about the request.
    Reject(ErrorCode),
    /// The device does not apply new blocks: it simulates against an old state.
    Stale,
    /// The device waits until its gate is opened, then answers honestly.
    Gate,
}

/// One endorsement device behind the transport.
pub struct Device {
    pub endorser: Arc<Endorser>,
    /// The fault and how many more calls it affects (`None`: every call).
    fault: Mutex<Option<(Fault, Option<u32>)>>,
    /// The peers each item asked for, in call order.
    calls: Mutex<Vec<Vec<IdentityId>>>,
    /// The item count of each batch, in call order.
    batches: Mutex<Vec<usize>>,
    gate: watch::Sender<bool>,
}

/// The in-process transport.
pub struct InProcess {
    /// The management device's ledger: where replicas read the blocks they are missing.
    source: Arc<Ledger>,
    pub devices: Vec<Device>,
    net: Arc<Net>,
    /// Total items so far, to wait on.
    total: watch::Sender<usize>,
}

impl InProcess {
    fn catch_up(&self, replica: &Ledger, height: u64) {
        let (mut h, _) = replica.tip().unwrap();
        while h < height {
            h += 1;
            let bytes = self.source.store().block(h).unwrap().unwrap();
            replica.commit_bytes(&bytes).unwrap();
        }
    }

    /// Takes one use of device `index`'s fault, if any.
    fn take_fault(&self, index: usize) -> Option<Fault> {
        let mut slot = self.devices[index].fault.lock();
        let (fault, left) = slot.clone()?;
        match left {
            None => {}
            Some(n) if n <= 1 => *slot = None,
            Some(n) => *slot = Some((fault.clone(), Some(n - 1))),
        }
        Some(fault)
    }
}

impl EndorserTransport for InProcess {
    async fn endorse(
        &self,
        index: usize,
        batch: &EndorseBatch,
    ) -> Result<Vec<EndorseOutcome>, TransportError> {
        let device = &self.devices[index];
        device
            .calls
            .lock()
            .extend(batch.items.iter().map(|i| i.peers.clone()));
        device.batches.lock().push(batch.items.len());
        self.total.send_modify(|n| *n += batch.items.len());
        let fault = self.take_fault(index);
        match &fault {
            Some(Fault::Unreachable) => {
                return Err(TransportError::Unreachable("connection refused".into()));
            }
            Some(Fault::Hang) => std::future::pending::<()>().await,
            Some(Fault::Reject(code)) => {
                return Err(TransportError::Rejected(ApiError::new(*code, "injected")));
            }
            Some(Fault::Gate) => {
                let mut gate = device.gate.subscribe();
                gate.wait_for(|open| *open).await.unwrap();
            }
            _ => {}
        }
        if fault != Some(Fault::Stale) {
            self.catch_up(device.endorser.ledger(), batch.min_height);
        }
        let mut results = device.endorser.endorse_batch(batch);
        for (i, (item, result)) in batch.items.iter().zip(&mut results).enumerate() {
            let Ok(resp) = result else { continue };
            match fault {
                Some(Fault::Tamper) => {
                    if let Some(e) = resp.endorsements.first_mut() {
                        e.signature.0[0] ^= 0x80;
                    }
                }
                Some(Fault::TamperFirst) if i == 0 => {
                    if let Some(e) = resp.endorsements.first_mut() {
                        e.signature.0[0] ^= 0x80;
                    }
                }
                Some(Fault::Diverge) => {
                    resp.response.result.extend_from_slice(b" (diverged)");
                    let msg = EndorsedTx {
                        tx: item.tx.clone(),
                        response: resp.response.clone(),
                        endorsements: Vec::new(),
                    }
                    .endorsement_message();
                    for e in &mut resp.endorsements {
                        e.signature = self
                            .net
                            .peer_key(&e.endorser)
                            .sign(domain::ENDORSEMENT, &msg);
                    }
                }
                _ => {}
            }
        }
        Ok(results.into_iter().map(EndorseOutcome::from).collect())
    }
}

type Run = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The management device, its devices and the consortium.
pub struct Cluster {
    pub net: Arc<Net>,
    pub mgmt: Arc<Management<Arc<InProcess>>>,
    pub transport: Arc<InProcess>,
    run: Option<Run>,
}

/// Settings for tests: generous endorsement timeout, two retries, small fast blocks.
pub fn settings(layout: &[Vec<IdentityId>], mode: KeyMode, selection: Selection) -> Settings {
    Settings {
        endorsers: layout
            .iter()
            .enumerate()
            .map(|(i, hosts)| EndorserInfo {
                name: format!("dev{i}"),
                hosts: hosts.iter().copied().collect::<BTreeSet<_>>(),
            })
            .collect(),
        mode,
        selection,
        endorse_timeout: Duration::from_secs(5),
        endorse_batches_in_flight: Settings::DEFAULT_ENDORSE_BATCHES_IN_FLIGHT,
        retries: 2,
        max_block_txs: 10,
        max_block_bytes: limits::MAX_BLOCK_BYTES,
        block_timeout: Duration::from_millis(5),
        queue_depth: 64,
        attestation: None,
    }
}

impl Cluster {
    /// Devices hosting the peers of `layout` (indices into `net.peers`), with `tweak` applied to
    /// the default [`settings`]. The ordering loop is not running until [`Cluster::start`].
    pub fn new(
        layout: &[&[usize]],
        mode: KeyMode,
        selection: Selection,
        tweak: impl FnOnce(&mut Settings),
    ) -> Cluster {
        let net = Arc::new(Net::new());
        let source = net.ledger();
        let ids: Vec<Vec<IdentityId>> = layout.iter().map(|peers| net.peer_ids(peers)).collect();
        let devices = layout
            .iter()
            .map(|peers| Device {
                endorser: Arc::new(
                    Endorser::in_process(
                        net.ledger(),
                        peers
                            .iter()
                            .map(|&i| (net.peers[i].id, net.peers[i].key()))
                            .collect(),
                    )
                    .unwrap(),
                ),
                fault: Mutex::new(None),
                calls: Mutex::new(Vec::new()),
                batches: Mutex::new(Vec::new()),
                gate: watch::channel(false).0,
            })
            .collect();
        let transport = Arc::new(InProcess {
            source: source.clone(),
            devices,
            net: net.clone(),
            total: watch::channel(0).0,
        });
        let mut s = settings(&ids, mode, selection);
        tweak(&mut s);
        let (mgmt, run) = Management::new(source, net.orderer.key(), s, transport.clone()).unwrap();
        Cluster {
            net,
            mgmt,
            transport,
            run: Some(Box::pin(run)),
        }
    }

    /// `n` devices, each hosting every peer.
    pub fn replicated(
        n: usize,
        selection: Selection,
        tweak: impl FnOnce(&mut Settings),
    ) -> Cluster {
        let all: &[usize] = &[0, 1, 2, 3];
        Cluster::new(&vec![all; n], KeyMode::Replicated, selection, tweak)
    }

    /// Device 0 hosts Org1's peers, device 1 Org2's.
    pub fn partitioned(tweak: impl FnOnce(&mut Settings)) -> Cluster {
        Cluster::new(
            &[&[0, 1], &[2, 3]],
            KeyMode::Partitioned,
            Selection::Load,
            tweak,
        )
    }

    /// Spawns the ordering loop.
    pub fn start(&mut self) {
        let run = self.run.take().expect("started once");
        tokio::spawn(run);
    }

    /// Endorses and orders `tx`, and waits for its receipt.
    pub async fn commit(&self, tx: SignedTx) -> TxReceipt {
        let rx = self.mgmt.execute(tx).await.unwrap();
        receipt(rx).await
    }

    /// Like [`Cluster::commit`], and the receipt must be VALID.
    pub async fn commit_valid(&self, tx: SignedTx) -> TxReceipt {
        let r = self.commit(tx).await;
        assert_eq!(r.status, TxStatus::Valid, "receipt {r:?}");
        r
    }

    /// The error `execute` answers with, before anything is ordered.
    pub async fn refused(&self, tx: SignedTx) -> ErrorCode {
        match self.mgmt.execute(tx).await {
            Ok(_) => panic!("transaction was accepted"),
            Err(e) => e.code,
        }
    }

    pub fn set_fault(&self, device: usize, fault: Fault, times: Option<u32>) {
        *self.transport.devices[device].fault.lock() = Some((fault, times));
    }

    pub fn open_gate(&self, device: usize) {
        self.transport.devices[device].gate.send_replace(true);
    }

    /// The item count of each batch sent to `device`.
    pub fn batches(&self, device: usize) -> Vec<usize> {
        self.transport.devices[device].batches.lock().clone()
    }

    /// The peers each item sent to `device` asked for.
    pub fn calls(&self, device: usize) -> Vec<Vec<IdentityId>> {
        self.transport.devices[device].calls.lock().clone()
    }

    pub fn call_counts(&self) -> Vec<usize> {
        self.transport
            .devices
            .iter()
            .map(|d| d.calls.lock().len())
            .collect()
    }

    pub fn total_calls(&self) -> usize {
        *self.transport.total.borrow()
    }

    pub fn reset_calls(&self) {
        for d in &self.transport.devices {
            d.calls.lock().clear();
            d.batches.lock().clear();
        }
    }

    /// Waits until the transport has been sent at least `n` items in all.
    pub async fn wait_calls(&self, n: usize) {
        self.transport
            .total
            .subscribe()
            .wait_for(|c| *c >= n)
            .await
            .unwrap();
    }

    /// Brings every replica to the management device's height.
    pub fn sync_replicas(&self) {
        let (height, _) = self.mgmt.ledger().tip().unwrap();
        for d in &self.transport.devices {
            self.transport.catch_up(d.endorser.ledger(), height);
        }
    }

    /// The management ledger's block at `height`, decoded.
    pub fn block(&self, height: u64) -> arcanum_types::Block {
        let bytes = self.mgmt.ledger().store().block(height).unwrap().unwrap();
        decode(&bytes, limits::MAX_BLOCK_BYTES).unwrap()
    }

    /// The management ledger's current value of a contract key.
    pub fn state(&self, contract: &str, key: &[u8]) -> Option<Vec<u8>> {
        let full = arcanum_ledger::contract_key(contract, key);
        self.mgmt
            .ledger()
            .store()
            .get(&full)
            .unwrap()
            .map(|v| v.value)
    }
}

/// Waits for a receipt from the ordering loop.
pub async fn receipt(rx: oneshot::Receiver<Result<TxReceipt, ApiError>>) -> TxReceipt {
    rx.await
        .expect("ordering loop answered")
        .expect("block committed")
}

/// The summaries of committed blocks, as a subscriber sees them.
pub fn drain(
    rx: &mut tokio::sync::broadcast::Receiver<Arc<CommitSummary>>,
) -> Vec<Arc<CommitSummary>> {
    let mut out = Vec::new();
    while let Ok(s) = rx.try_recv() {
        out.push(s);
    }
    out
}

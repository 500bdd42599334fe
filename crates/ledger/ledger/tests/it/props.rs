//! Property tests: random mixes of valid and invalid transactions over several blocks, applied to
//! two ledgers, give identical receipts and state roots, and match a model of the validation
//! rules (replay, admission, vote, endorsements, namespace, policy, MVCC, in that order).

use std::collections::{BTreeMap, BTreeSet};

use arcanum_crypto::{Hash, domain};
use arcanum_types::ErrorCode::{
    BadClientSignature, BadEndorsement, ClientNotAllowed, DuplicateTx, EndorsementRejected,
    InvalidTx, MvccReadConflict, PolicyNotSatisfied, WrongChannel,
};
use arcanum_types::{EndorsedTx, KvWrite, TxAction, TxStatus, Version, Vote};
use proptest::prelude::*;

use crate::harness::{BOTH_ORGS, Net, ORG1_ORG2, rwset, statuses};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    BadClientSig,
    WrongChannel,
    Unlisted,
    Reject,
    ForgedEndorsement,
    OutsideNamespace,
    MissingEndorsement,
    StaleRead,
    /// Re-submit an earlier transaction (of this or an earlier block), picked by `key`.
    Replay,
}

#[derive(Clone, Debug)]
struct Spec {
    key: u8,
    read: bool,
    /// `None`: no write; `Some(None)`: delete; `Some(Some(v))`: write `v`.
    write: Option<Option<u8>>,
    fault: Fault,
}

fn spec() -> impl Strategy<Value = Spec> {
    let fault = prop_oneof![
        10 => Just(Fault::None),
        1 => Just(Fault::BadClientSig),
        1 => Just(Fault::WrongChannel),
        1 => Just(Fault::Unlisted),
        1 => Just(Fault::Reject),
        1 => Just(Fault::ForgedEndorsement),
        1 => Just(Fault::OutsideNamespace),
        1 => Just(Fault::MissingEndorsement),
        1 => Just(Fault::StaleRead),
        2 => Just(Fault::Replay),
    ];
    (
        0u8..4,
        any::<bool>(),
        proptest::option::of(proptest::option::of(0u8..8)),
        fault,
    )
        .prop_map(|(key, read, write, fault)| Spec {
            key,
            read,
            write,
            fault,
        })
}

/// Committed state of the model: key → (value, version).
type State = BTreeMap<u8, (Vec<u8>, Version)>;

struct Model {
    state: State,
    ids: BTreeSet<Hash>,
    history: Vec<EndorsedTx>,
}

/// Builds the transaction `spec` describes, simulated (as an endorser would) against `state`.
fn build(net: &Net, state: &State, spec: &Spec) -> EndorsedTx {
    let key = [spec.key];
    let creator = if spec.fault == Fault::Unlisted {
        &net.unlisted
    } else {
        &net.client
    };
    let mut payload = net.payload(
        creator,
        TxAction::Invoke {
            contract: "kv".into(),
            function: "put".into(),
            args: vec![],
        },
    );
    if spec.fault == Fault::WrongChannel {
        payload.channel = "elsewhere".into();
    }
    let tx = Net::sign(payload, creator);
    let read_version = match spec.fault {
        Fault::StaleRead => Some(Some(Version {
            block: 1_000,
            tx: 0,
        })),
        _ if spec.read => Some(state.get(&spec.key).map(|(_, v)| *v)),
        _ => None,
    };
    let reads: Vec<(&[u8], Option<Version>)> = read_version
        .map(|v| (key.as_slice(), v))
        .into_iter()
        .collect();
    let value = spec.write.map(|w| w.map(|v| vec![v; 3]));
    let writes: Vec<(&[u8], Option<&[u8]>)> = value
        .as_ref()
        .map(|v| (key.as_slice(), v.as_deref()))
        .into_iter()
        .collect();
    let mut set = rwset("kv", &reads, &writes);
    if spec.fault == Fault::OutsideNamespace {
        set.writes.push(KvWrite {
            key: b"zz\0k".to_vec(),
            value: Some(b"x".to_vec()),
        });
    }
    let mut response = Net::response(&tx, set);
    if spec.fault == Fault::Reject {
        response.vote = Vote::Reject;
    }
    let peers: &[usize] = if spec.fault == Fault::MissingEndorsement {
        &[0]
    } else {
        ORG1_ORG2
    };
    let mut etx = net.endorse(tx, response, peers);
    if spec.fault == Fault::BadClientSig {
        etx.tx.signature = net.stranger.key.sign(domain::TX_SIGNATURE, &etx.id().0);
    }
    if spec.fault == Fault::ForgedEndorsement {
        etx.endorsements[1].signature = net.peers[3]
            .key
            .sign(domain::ENDORSEMENT, &etx.endorsement_message());
    }
    etx
}

/// The status the rules give `spec`'s transaction `etx` at `index` of block `height`, applying
/// its writes to `overlay` if valid.
fn judge(
    model: &Model,
    block_ids: &mut BTreeSet<Hash>,
    overlay: &mut BTreeMap<u8, Option<(Vec<u8>, Version)>>,
    etx: &EndorsedTx,
    spec: &Spec,
    version: Version,
) -> TxStatus {
    let fresh = block_ids.insert(etx.id()) && !model.ids.contains(&etx.id());
    let code = match spec.fault {
        _ if !fresh => Some(DuplicateTx),
        Fault::WrongChannel => Some(WrongChannel),
        Fault::Unlisted => Some(ClientNotAllowed),
        Fault::BadClientSig => Some(BadClientSignature),
        Fault::Reject => Some(EndorsementRejected),
        Fault::ForgedEndorsement => Some(BadEndorsement),
        Fault::OutsideNamespace => Some(InvalidTx),
        Fault::MissingEndorsement => Some(PolicyNotSatisfied),
        Fault::None | Fault::StaleRead | Fault::Replay => None,
    };
    if let Some(code) = code {
        return TxStatus::Invalid(code);
    }
    let current = |k: u8| match overlay.get(&k) {
        Some(v) => v.as_ref().map(|(_, ver)| *ver),
        None => model.state.get(&k).map(|(_, ver)| *ver),
    };
    if etx
        .response
        .rwset
        .reads
        .iter()
        .any(|r| r.version != current(spec.key))
    {
        return TxStatus::Invalid(MvccReadConflict);
    }
    if let Some(w) = spec.write {
        overlay.insert(spec.key, w.map(|v| (vec![v; 3], version)));
    }
    TxStatus::Valid
}

fn run(blocks: &[Vec<Spec>]) -> Result<(), TestCaseError> {
    let net = Net::with_ledgers(2);
    net.setup_contract("kv", BOTH_ORGS);
    let mut model = Model {
        state: State::new(),
        ids: BTreeSet::new(),
        history: Vec::new(),
    };
    for specs in blocks {
        let height = net.fingerprint().0 + 1;
        let mut txs = Vec::new();
        let mut block_ids = BTreeSet::new();
        let mut overlay = BTreeMap::new();
        let mut expected = Vec::new();
        for (index, spec) in specs.iter().enumerate() {
            let etx = match spec.fault {
                Fault::Replay if !model.history.is_empty() || !txs.is_empty() => {
                    let pool: Vec<&EndorsedTx> = model.history.iter().chain(&txs).collect();
                    pool[spec.key as usize % pool.len()].clone()
                }
                _ => build(&net, &model.state, spec),
            };
            let version = Version {
                block: height,
                tx: index as u32,
            };
            expected.push(judge(
                &model,
                &mut block_ids,
                &mut overlay,
                &etx,
                spec,
                version,
            ));
            txs.push(etx);
        }
        let summary = net
            .deliver(&net.next_block(txs.clone()))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(statuses(&summary), expected);
        for (k, v) in overlay {
            match v {
                Some(v) => model.state.insert(k, v),
                None => model.state.remove(&k),
            };
        }
        model.ids.extend(block_ids);
        model.history.extend(txs);
        for k in 0u8..4 {
            let stored = net.value("kv", &[k]).map(|v| (v.value, v.version));
            prop_assert_eq!(stored.as_ref(), model.state.get(&k), "key {}", k);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_transaction_mixes_agree_across_ledgers_and_with_the_model(
        blocks in proptest::collection::vec(proptest::collection::vec(spec(), 0..7), 1..5)
    ) {
        run(&blocks)?;
    }
}

//! Identifiers bind what they name: a transaction id every payload field (and nothing else), an
//! endorsement message the id, the whole response and the vote, a block hash every header field.

use arcanum_crypto::{domain, tagged_hash};
use arcanum_types::{
    BlockHeader, EndorsementPayload, ProposalResponse, Signature, TxAction, TxPayload, Vote, encode,
};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::strategies::{bytes, endorsed_tx, header, payload, response, signature};

/// One change to one field of a payload; the result always differs from the input.
#[derive(Clone, Debug)]
enum PayloadEdit {
    Channel(char),
    Creator(Index, u8),
    Nonce(u64),
    SwapVariant,
    Contract(char),
    FunctionOrWasm(u8),
    ArgsOrPolicy(Vec<u8>),
}

fn payload_edit() -> impl Strategy<Value = PayloadEdit> {
    prop_oneof![
        any::<char>().prop_map(PayloadEdit::Channel),
        (any::<Index>(), 1u8..).prop_map(|(i, x)| PayloadEdit::Creator(i, x)),
        (1u64..).prop_map(PayloadEdit::Nonce),
        Just(PayloadEdit::SwapVariant),
        any::<char>().prop_map(PayloadEdit::Contract),
        any::<u8>().prop_map(PayloadEdit::FunctionOrWasm),
        bytes(4).prop_map(PayloadEdit::ArgsOrPolicy),
    ]
}

fn apply(p: &TxPayload, edit: &PayloadEdit) -> TxPayload {
    let mut p = p.clone();
    match edit {
        PayloadEdit::Channel(c) => p.channel.push(*c),
        PayloadEdit::Creator(i, x) => p.creator.0.0[i.index(32)] ^= x,
        PayloadEdit::Nonce(d) => p.nonce = p.nonce.wrapping_add(*d),
        PayloadEdit::SwapVariant => {
            p.action = match p.action {
                TxAction::Invoke {
                    contract, function, ..
                } => TxAction::Deploy {
                    contract,
                    wasm: function.into_bytes(),
                    policy: String::new(),
                },
                TxAction::Deploy {
                    contract, policy, ..
                } => TxAction::Invoke {
                    contract,
                    function: policy,
                    args: vec![],
                },
                TxAction::RotateKey { peer, public_key } => TxAction::Deploy {
                    contract: peer.to_string(),
                    wasm: public_key.bytes,
                    policy: String::new(),
                },
                other @ (TxAction::RegisterCluster { .. }
                | TxAction::OffchainDeploy { .. }
                | TxAction::OffchainCallback { .. }) => TxAction::Deploy {
                    contract: other.contract().to_owned(),
                    wasm: vec![],
                    policy: String::new(),
                },
            }
        }
        PayloadEdit::Contract(c) => match &mut p.action {
            TxAction::Invoke { contract, .. } | TxAction::Deploy { contract, .. } => {
                contract.push(*c)
            }
            TxAction::RotateKey { peer, .. } => peer.0.0[(u32::from(*c) % 32) as usize] ^= 0x80,
            TxAction::OffchainDeploy { deployment } => {
                deployment.statement.contract_id.0[(u32::from(*c) % 32) as usize] ^= 0x80
            }
            TxAction::RegisterCluster { registration } => registration.registration.epoch ^= 1,
            TxAction::OffchainCallback { callback } => callback.contract.push(*c),
        },
        PayloadEdit::FunctionOrWasm(b) => match &mut p.action {
            TxAction::Invoke { function, .. } => function.push(char::from(b'a' + b % 26)),
            TxAction::Deploy { wasm, .. } => wasm.push(*b),
            TxAction::RotateKey { public_key, .. } => public_key.bytes.push(*b),
            TxAction::OffchainDeploy { deployment } => {
                deployment.statement.key_version = deployment.statement.key_version.wrapping_add(1)
            }
            TxAction::RegisterCluster { registration } => registration.signature.0.push(*b),
            TxAction::OffchainCallback { callback } => callback.result.result.output.push(*b),
        },
        PayloadEdit::ArgsOrPolicy(extra) => match &mut p.action {
            TxAction::Invoke { args, .. } => args.push(extra.clone()),
            TxAction::Deploy { policy, .. } => policy.push_str(&format!("{extra:?}")),
            TxAction::RotateKey { public_key, .. } => {
                public_key.algorithm = match public_key.algorithm {
                    arcanum_crypto::Algorithm::Ed25519 => arcanum_crypto::Algorithm::P256,
                    _ => arcanum_crypto::Algorithm::Ed25519,
                }
            }
            TxAction::OffchainDeploy { deployment } => {
                deployment.signature.0.push(extra.len() as u8)
            }
            TxAction::RegisterCluster { registration } => {
                registration.signature.0.push(extra.len() as u8)
            }
            TxAction::OffchainCallback { callback } => {
                callback.request.input.push(extra.len() as u8)
            }
        },
    }
    p
}

/// One change to one field of a response.
fn edit_response(r: &ProposalResponse, which: u8, x: u8) -> ProposalResponse {
    let mut r = r.clone();
    match which % 7 {
        0 => r.tx_id.0[usize::from(x % 32)] ^= 1,
        1 => r.rwset.writes.push(arcanum_types::KvWrite {
            key: vec![x],
            value: None,
        }),
        2 => r.rwset.reads.push(arcanum_types::KvRead {
            key: vec![x],
            version: None,
        }),
        3 => r.result.push(x),
        4 => r.events.push(arcanum_types::Event {
            contract: String::new(),
            name: String::new(),
            data: vec![x],
        }),
        _ => {
            r.vote = if r.vote == Vote::Approve {
                Vote::Reject
            } else {
                Vote::Approve
            }
        }
    }
    r
}

fn edit_header(h: &BlockHeader, which: u8, x: u8) -> BlockHeader {
    let mut h = h.clone();
    let x = x.max(1);
    match which % 7 {
        0 => h.height = h.height.wrapping_add(u64::from(x)),
        1 => h.prev_hash.0[usize::from(x % 32)] ^= x,
        2 => h.tx_root.0[usize::from(x % 32)] ^= x,
        3 => h.tx_count = h.tx_count.wrapping_add(u32::from(x)),
        4 => h.timestamp_ms = h.timestamp_ms.wrapping_add(u64::from(x)),
        5 => h.state_root.0[usize::from(x % 32)] ^= x,
        _ => h.orderer.0.0[usize::from(x % 32)] ^= x,
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn tx_id_is_the_tagged_hash_of_the_payload(p in payload()) {
        prop_assert_eq!(p.id(), tagged_hash(domain::TX_ID, &[&encode(&p)]));
        prop_assert_eq!(p.id(), p.clone().id());
    }

    #[test]
    fn tx_id_changes_when_any_payload_field_changes(p in payload(), edit in payload_edit()) {
        let q = apply(&p, &edit);
        prop_assert_ne!(&q, &p);
        prop_assert_ne!(q.id(), p.id());
    }

    #[test]
    fn distinct_payloads_have_distinct_ids(p in payload(), q in payload()) {
        prop_assert_eq!(p == q, p.id() == q.id());
    }

    #[test]
    fn the_id_does_not_depend_on_signature_or_endorsements(etx in endorsed_tx(), sig in signature()) {
        let mut other = etx.clone();
        other.tx.signature = sig;
        other.endorsements.clear();
        prop_assert_eq!(other.id(), etx.id());
        prop_assert_eq!(etx.id(), etx.tx.payload.id());
        prop_assert_eq!(other.endorsement_message(), etx.endorsement_message());
    }

    #[test]
    fn endorsement_message_binds_id_response_and_vote(etx in endorsed_tx(), which: u8, x: u8, edit in payload_edit()) {
        let expected = encode(&EndorsementPayload {
            tx_id: etx.id(),
            response_hash: tagged_hash(domain::RESPONSE_HASH, &[&encode(&etx.response)]),
            vote: etx.response.vote,
        });
        prop_assert_eq!(etx.endorsement_message(), expected);
        let mut changed = etx.clone();
        changed.response = edit_response(&etx.response, which, x);
        prop_assert_ne!(changed.response.hash(), etx.response.hash());
        prop_assert_ne!(changed.endorsement_message(), etx.endorsement_message());
        let mut changed = etx.clone();
        changed.tx.payload = apply(&etx.tx.payload, &edit);
        prop_assert_ne!(changed.endorsement_message(), etx.endorsement_message());
    }

    #[test]
    fn block_hash_changes_when_any_header_field_changes(h in header(), which: u8, x: u8) {
        prop_assert_eq!(h.hash(), tagged_hash(domain::BLOCK_HASH, &[&encode(&h)]));
        prop_assert_ne!(edit_header(&h, which, x).hash(), h.hash());
    }

    #[test]
    fn response_hash_is_domain_separated(r in response()) {
        let enc = encode(&r);
        prop_assert_eq!(r.hash(), tagged_hash(domain::RESPONSE_HASH, &[&enc]));
        prop_assert_ne!(r.hash(), tagged_hash(domain::TX_ID, &[&enc]));
    }
}

#[test]
fn signatures_are_not_part_of_ids() {
    // A reminder of the design: the id names the request, the signature only authenticates it;
    // replay detection is by id, so two copies with different signatures are one transaction.
    let p = TxPayload {
        channel: "c".into(),
        creator: arcanum_types::IdentityId(arcanum_types::Hash([1; 32])),
        nonce: 7,
        action: TxAction::Invoke {
            contract: "kv".into(),
            function: "f".into(),
            args: vec![],
        },
    };
    let a = arcanum_types::SignedTx {
        payload: p.clone(),
        signature: Signature(vec![1]),
    };
    let b = arcanum_types::SignedTx {
        payload: p,
        signature: Signature(vec![2]),
    };
    assert_ne!(encode(&a), encode(&b));
    assert_eq!(a.payload.id(), b.payload.id());
}

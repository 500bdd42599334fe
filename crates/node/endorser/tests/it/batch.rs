//! Batched endorsement: one result per item, in item order; a bad item never spoils the others.

use arcanum_endorser::{EndorseBatch, EndorseItem};
use arcanum_ledger::verify_endorsements;
use arcanum_types::{EndorsedTx, ErrorCode, SignedTx};

use crate::endorse::asset_world;
use crate::support::{invoke, other_id};

#[test]
fn a_batch_gets_precise_per_item_codes_and_signs_the_rest() {
    let (net, dev) = asset_world();
    let transfer = |nonce: u64| {
        net.tx(
            &net.client,
            nonce,
            invoke("asset", "transfer", &[b"alice", b"bob", b"1"]),
        )
    };
    let mut forged = transfer(11);
    forged.signature.0[0] ^= 1;
    let mut unknown_peer = net.peer_ids(&[0]);
    unknown_peer.push(other_id("not a peer"));
    let query = net.tx(&net.client, 14, invoke("asset", "balance", &[b"alice"]));
    let mut forged_query = query.clone();
    forged_query.signature.0[1] ^= 1;
    let items: Vec<(SignedTx, Vec<_>)> = vec![
        (transfer(10), net.peer_ids(&[0, 2])),
        (forged, net.peer_ids(&[0, 2])),
        (transfer(12), unknown_peer),
        (transfer(13), net.peer_ids(&[1, 3])),
        (query.clone(), Vec::new()),
        (forged_query, Vec::new()),
        (
            net.tx(&net.client, 15, invoke("nosuch", "get", &[b"k"])),
            net.peer_ids(&[0]),
        ),
    ];
    let batch = EndorseBatch {
        min_height: 0,
        items: items
            .iter()
            .map(|(tx, peers)| EndorseItem {
                tx: tx.clone(),
                peers: peers.clone(),
            })
            .collect(),
    };
    let results = dev.endorse_batch(&batch);
    assert_eq!(results.len(), items.len());
    let codes: Vec<Option<ErrorCode>> = results
        .iter()
        .map(|r| r.as_ref().err().map(|e| e.code))
        .collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some(ErrorCode::BadClientSignature),
            Some(ErrorCode::EndorserUnavailable),
            None,
            None,
            Some(ErrorCode::BadClientSignature),
            Some(ErrorCode::ContractNotFound),
        ]
    );
    // The signed items verify, each for exactly its own peers and its own transaction.
    for i in [0, 3] {
        let resp = results[i].clone().unwrap();
        assert_eq!(resp.response.tx_id, items[i].0.payload.id());
        assert_eq!(
            resp.endorsements
                .iter()
                .map(|e| e.endorser)
                .collect::<Vec<_>>(),
            items[i].1
        );
        let etx = EndorsedTx {
            tx: items[i].0.clone(),
            response: resp.response,
            endorsements: resp.endorsements,
        };
        assert_eq!(verify_endorsements(&net.config, &etx).unwrap().len(), 2);
    }
    // The query is simulated only.
    let q = results[4].clone().unwrap();
    assert!(q.endorsements.is_empty());
    assert_eq!(q.response.result, b"100");
    assert_eq!(dev.load(), 0, "the load figure returns to zero");
}

#[test]
fn a_single_item_batch_is_the_single_path() {
    let (net, dev) = asset_world();
    let tx = net.tx(&net.client, 20, invoke("asset", "balance", &[b"bob"]));
    let results = dev.endorse_batch(&EndorseBatch::single(tx.clone(), net.peer_ids(&[2]), 0));
    assert_eq!(results.len(), 1);
    let resp = results[0].clone().unwrap();
    assert_eq!(resp.endorsements.len(), 1);
    assert_eq!(resp.response, dev.simulate(&tx).unwrap());
    // An empty batch has no items to answer, and the API bound refuses it.
    assert!(
        dev.endorse_batch(&EndorseBatch {
            min_height: 0,
            items: vec![]
        })
        .is_empty()
    );
    assert_eq!(
        EndorseBatch {
            min_height: 0,
            items: vec![]
        }
        .check()
        .unwrap_err()
        .code,
        ErrorCode::BadRequest
    );
}

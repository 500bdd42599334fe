//! Block-level rejections: nothing of a rejected block is committed, on any ledger.

use arcanum_crypto::{Hash, domain};
use arcanum_types::ErrorCode::{
    self, BlockBadPrevHash, BlockBadSignature, BlockConflict, BlockHeightGap,
    BlockStateRootMismatch, BlockTxRootMismatch, MalformedEncoding,
};
use arcanum_types::{Block, Signature, TxStatus, encode, limits};

use crate::harness::{BOTH_ORGS, Net, ORG1_ORG2, fingerprint};

/// A network with `kv` deployed at height 1 and a valid put committed at height 2.
fn net() -> Net {
    let net = Net::new();
    net.setup_contract("kv", BOTH_ORGS);
    assert_eq!(
        net.commit_one(net.put("kv", b"a", b"1", ORG1_ORG2)),
        TxStatus::Valid
    );
    net
}

/// The next block carrying one fresh valid put of `key`.
fn candidate(net: &Net, key: &[u8]) -> Block {
    net.next_block(vec![net.put("kv", key, b"v", ORG1_ORG2)])
}

/// Delivers `block` to every ledger, expects `code` everywhere, and checks nothing changed.
fn assert_block_rejected(net: &Net, block: &Block, code: ErrorCode) {
    let before = net.fingerprint();
    let stored: Vec<_> = net
        .ledgers
        .iter()
        .map(|l| l.store().block(block.header.height).expect("reads"))
        .collect();
    let err = net.deliver(block).expect_err("block must be rejected");
    assert_eq!(err.code, code, "{err}");
    assert_eq!(
        net.fingerprint(),
        before,
        "a rejected block changed the ledger"
    );
    for (l, stored) in net.ledgers.iter().zip(stored) {
        assert_eq!(l.store().block(block.header.height).expect("reads"), stored);
        for etx in &block.txs {
            if block.header.height > before.0 {
                assert!(
                    !l.contains_tx(&etx.id()).expect("reads"),
                    "a rejected block's tx was recorded"
                );
            }
        }
    }
    // The bytes path judges it the same way.
    let err = net.ledgers[0]
        .commit_bytes(&encode(block))
        .expect_err("rejected as bytes too");
    assert_eq!(err.code, code);
    assert_eq!(fingerprint(&net.ledgers[0]), before);
}

#[test]
fn block_signed_with_the_wrong_key() {
    let net = net();
    let mut block = candidate(&net, b"k");
    block.signature = net.peers[0]
        .key
        .sign(domain::BLOCK_SIGNATURE, &block.header.hash().0);
    assert_block_rejected(&net, &block, BlockBadSignature);
    // The orderer's key under another domain.
    block.signature = net
        .orderer
        .key
        .sign(domain::ENDORSEMENT, &block.header.hash().0);
    assert_block_rejected(&net, &block, BlockBadSignature);
    block.signature = Signature(Vec::new());
    assert_block_rejected(&net, &block, BlockBadSignature);
    // Claimed and signed by a peer: only the configured management device may sign blocks.
    let mut block = candidate(&net, b"k");
    block.header.orderer = net.peers[0].id;
    block.signature = net.peers[0]
        .key
        .sign(domain::BLOCK_SIGNATURE, &block.header.hash().0);
    assert_block_rejected(&net, &block, BlockBadSignature);
    // Claimed by an unknown identity.
    block.header.orderer = net.stranger.id;
    block.signature = net
        .stranger
        .key
        .sign(domain::BLOCK_SIGNATURE, &block.header.hash().0);
    assert_block_rejected(&net, &block, BlockBadSignature);
}

#[test]
fn block_with_a_tampered_header() {
    let net = net();
    let good = candidate(&net, b"k");
    let tampers: [fn(&mut Block); 5] = [
        |b| b.header.timestamp_ms += 1,
        |b| b.header.tx_count += 1,
        |b| b.header.tx_root.0[0] ^= 1,
        |b| b.header.height += 1,
        |b| b.header.state_root.0[0] ^= 1,
    ];
    for tamper in tampers {
        let mut block = good.clone();
        tamper(&mut block);
        assert_block_rejected(&net, &block, BlockBadSignature);
    }
    // The untampered block still commits.
    assert!(!net.deliver(&good).expect("commits").already_committed);
}

#[test]
fn a_signed_block_with_a_wrong_state_root_is_refused_whole() {
    let net = net();
    let good = candidate(&net, b"k");
    // The orderer signed a root that is not the one its transactions produce: every peer
    // recomputes the root and refuses the block.
    let mut wrong = good.clone();
    wrong.header.state_root = Hash([7; 32]);
    wrong.signature = net.sign_header(&wrong.header);
    assert_block_rejected(&net, &wrong, BlockStateRootMismatch);
    // The root of an empty block is the previous block's.
    let root = net.ledgers[0].store().state_root().expect("root");
    let empty = net.next_block(vec![]);
    assert_eq!(empty.header.state_root, root);
    assert!(!net.deliver(&good).expect("commits").already_committed);
    for l in &net.ledgers {
        assert_eq!(
            l.store().state_root().expect("root"),
            good.header.state_root
        );
    }
}

#[test]
fn block_whose_transactions_do_not_match_the_root() {
    let net = net();
    let good = candidate(&net, b"k");
    // A tampered transaction under the original, correctly signed header.
    let mut block = good.clone();
    block.txs[0].response.rwset.writes[0].value = Some(b"evil".to_vec());
    assert_block_rejected(&net, &block, BlockTxRootMismatch);
    // An added transaction; a removed one; reordered ones.
    let mut block = good.clone();
    block.txs.push(net.put("kv", b"x", b"v", ORG1_ORG2));
    assert_block_rejected(&net, &block, BlockTxRootMismatch);
    let mut block = good.clone();
    block.txs.clear();
    assert_block_rejected(&net, &block, BlockTxRootMismatch);
    let mut two = net.next_block(vec![
        net.put("kv", b"x", b"v", ORG1_ORG2),
        net.put("kv", b"y", b"v", ORG1_ORG2),
    ]);
    two.txs.swap(0, 1);
    assert_block_rejected(&net, &two, BlockTxRootMismatch);
    // The orderer signs a header whose count disagrees with the transactions.
    let mut block = good.clone();
    block.header.tx_count = 2;
    block.signature = net.sign_header(&block.header);
    assert_block_rejected(&net, &block, BlockTxRootMismatch);
    assert!(!net.deliver(&good).expect("commits").already_committed);
}

#[test]
fn block_ahead_of_the_chain() {
    let net = net();
    let (height, hash, _) = net.fingerprint();
    let block = net.block_at(height + 2, hash, vec![net.put("kv", b"k", b"v", ORG1_ORG2)]);
    assert_block_rejected(&net, &block, BlockHeightGap);
}

#[test]
fn block_with_a_wrong_previous_hash() {
    let net = net();
    let (height, hash, _) = net.fingerprint();
    let mut prev = hash;
    prev.0[31] ^= 0x80;
    assert_block_rejected(
        &net,
        &net.block_at(height + 1, prev, vec![]),
        BlockBadPrevHash,
    );
    assert_block_rejected(
        &net,
        &net.block_at(height + 1, Hash::ZERO, vec![]),
        BlockBadPrevHash,
    );
    let parent = net.ledgers[0]
        .store()
        .block_hash(height - 1)
        .expect("reads")
        .expect("stored");
    assert_block_rejected(
        &net,
        &net.block_at(height + 1, parent, vec![]),
        BlockBadPrevHash,
    );
    // Height 0 is not a block.
    assert_block_rejected(&net, &net.block_at(0, Hash::ZERO, vec![]), BlockBadPrevHash);
}

#[test]
fn different_block_at_a_committed_height() {
    let net = net();
    let first = net.ledgers[0]
        .store()
        .block_hash(1)
        .expect("reads")
        .expect("stored");
    // Correctly signed by the orderer, at height 1 and 2, with other contents.
    let fork1 = net.block_at(1, Hash::ZERO, vec![]);
    assert_ne!(fork1.header.hash(), first);
    assert_block_rejected(&net, &fork1, BlockConflict);
    let fork2 = net.block_at(2, first, vec![net.put("kv", b"z", b"v", ORG1_ORG2)]);
    assert_block_rejected(&net, &fork2, BlockConflict);
}

#[test]
fn redelivery_of_a_committed_block_is_idempotent() {
    let net = net();
    let block = candidate(&net, b"k");
    let first = net.deliver(&block).expect("commits");
    assert_eq!(first.receipts.len(), 1);
    let after = net.fingerprint();
    for _ in 0..2 {
        let again = net.deliver(&block).expect("re-delivery is accepted");
        assert!(again.already_committed);
        assert!(again.receipts.is_empty() && again.events.is_empty());
        assert_eq!(
            (again.height, again.block_hash),
            (first.height, first.block_hash)
        );
        assert_eq!(net.fingerprint(), after);
        let again = net.ledgers[1]
            .commit_bytes(&encode(&block))
            .expect("bytes re-delivery is accepted");
        assert!(again.already_committed);
    }
    // An older block too.
    let one = net.ledgers[0]
        .store()
        .block(1)
        .expect("reads")
        .expect("stored");
    for l in &net.ledgers {
        assert!(l.commit_bytes(&one).expect("accepted").already_committed);
    }
    assert_eq!(net.fingerprint(), after);
    // Its transaction was not recorded twice: a later copy is still just a replay.
    let (_, st) = net.commit(block.txs.clone());
    assert_eq!(st, [TxStatus::Invalid(ErrorCode::DuplicateTx)]);
}

#[test]
fn malformed_bytes_are_rejected_without_panic() {
    let net = net();
    let before = net.fingerprint();
    let l = &net.ledgers[0];
    let bytes = encode(&candidate(&net, b"k"));
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0],
        vec![0xff; 7],
        b"not a block at all".to_vec(),
        vec![0xff; 300],
    ];
    // Every truncation, and trailing bytes.
    inputs.extend((0..bytes.len()).map(|n| bytes[..n].to_vec()));
    let mut trailing = bytes.clone();
    trailing.push(0);
    inputs.push(trailing);
    // Lengths that claim far more data than there is.
    let mut huge = bytes.clone();
    let txs_len_at = 8 + 32 + 32 + 4 + 32 + 8 + 32;
    huge[txs_len_at..txs_len_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    inputs.push(huge);
    for input in &inputs {
        let err = l
            .commit_bytes(input)
            .expect_err("malformed input is rejected");
        assert_eq!(
            err.code,
            MalformedEncoding,
            "input of {} bytes: {err}",
            input.len()
        );
    }
    assert_eq!(fingerprint(l), before);
    // The intact bytes commit.
    assert!(!l.commit_bytes(&bytes).expect("commits").already_committed);
}

#[test]
fn oversize_block_bytes_are_rejected_before_decoding() {
    let net = Net::with_ledgers(1);
    let before = net.fingerprint();
    let err = net.ledgers[0]
        .commit_bytes(&vec![0u8; limits::MAX_BLOCK_BYTES + 1])
        .expect_err("oversize is rejected");
    assert_eq!(err.code, MalformedEncoding);
    assert!(err.message.contains("exceeds"), "{err}");
    assert_eq!(net.fingerprint(), before);
}

#[test]
fn any_single_byte_change_of_an_encoded_block_is_rejected() {
    use proptest::test_runner::{Config, TestRunner};
    let net = Net::with_ledgers(1);
    net.setup_contract("kv", BOTH_ORGS);
    let bytes = encode(&candidate(&net, b"k"));
    let before = net.fingerprint();
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (0..bytes.len(), 1u8..=255);
    let outcome = runner.run(&strategy, |(pos, flip)| {
        let mut mutated = bytes.clone();
        mutated[pos] ^= flip;
        let result = net.ledgers[0].commit_bytes(&mutated);
        proptest::prop_assert!(
            result.is_err(),
            "mutation at {pos} was accepted: {result:?}"
        );
        proptest::prop_assert_eq!(net.fingerprint(), before);
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    assert!(
        !net.ledgers[0]
            .commit_bytes(&bytes)
            .expect("the original commits")
            .already_committed
    );
}

#[test]
fn a_peer_that_missed_a_block_catches_up_to_the_same_state() {
    let net = Net::new();
    net.setup_contract("kv", BOTH_ORGS);
    let b2 = net.next_block(vec![net.put("kv", b"a", b"1", ORG1_ORG2)]);
    let bytes2 = encode(&b2);
    for l in &net.ledgers[..3] {
        l.commit(&b2, bytes2.clone()).expect("commits");
    }
    let lagging = &net.ledgers[3];
    let b3 = net.block_at(
        3,
        b2.header.hash(),
        vec![net.put("kv", b"b", b"1", ORG1_ORG2)],
    );
    for l in &net.ledgers[..3] {
        assert_eq!(
            l.commit(&b3, encode(&b3)).expect("commits").receipts[0].status,
            TxStatus::Valid
        );
    }
    assert_eq!(
        lagging.commit(&b3, encode(&b3)).map_err(|e| e.code).err(),
        Some(BlockHeightGap)
    );
    assert_eq!(lagging.tip().expect("tip").0, 1);
    // Catch up from another peer's stored bytes.
    for h in 2..=3 {
        let bytes = net.ledgers[0]
            .store()
            .block(h)
            .expect("reads")
            .expect("stored");
        assert!(
            !lagging
                .commit_bytes(&bytes)
                .expect("catch-up commits")
                .already_committed
        );
    }
    let (height, _, _) = net.fingerprint();
    assert_eq!(height, 3);
}

//! Blocks from the network: strict decoding, then `Ledger::commit_bytes` on an in-memory ledger
//! whose management key the fuzzer cannot sign with (so it must refuse everything), then the decoded block resealed with
//! the fixture's keys and committed on two fresh ledgers, which must accept it and agree on
//! every receipt and on the state root; a re-delivery must be an idempotent no-op.

#![no_main]

use std::sync::LazyLock;

use arcanum_fuzz::{fresh_ledger, reseal_as_first_block, sealed_ledger};
use arcanum_ledger::Ledger;
use arcanum_types::{Block, ErrorCode, decode, encode, limits};
use libfuzzer_sys::fuzz_target;

/// Stays empty: no input can carry a signature by its management device's key.
static EMPTY: LazyLock<Ledger> = LazyLock::new(sealed_ledger);

fuzz_target!(|data: &[u8]| {
    let decoded = decode::<Block>(data, limits::MAX_BLOCK_BYTES);
    match EMPTY.commit_bytes(data) {
        Ok(summary) => panic!("an unsigned input committed: {summary:?}"),
        Err(e) if decoded.is_err() => assert_eq!(e.code, ErrorCode::MalformedEncoding),
        Err(e) => assert_ne!(
            e.code,
            ErrorCode::MalformedEncoding,
            "decoded but refused as malformed"
        ),
    }
    assert_eq!(EMPTY.tip().map(|t| t.0).ok(), Some(0));
    let Ok(mut block) = decoded else { return };
    assert_eq!(encode(&block), data, "non-canonical Block accepted");

    reseal_as_first_block(&mut block);
    let bytes = encode(&block);
    let (a, b) = (fresh_ledger(), fresh_ledger());
    let sa = a
        .commit(&block, bytes.clone())
        .unwrap_or_else(|e| panic!("resealed block refused: {e}"));
    let sb = b
        .commit_bytes(&bytes)
        .unwrap_or_else(|e| panic!("resealed block refused as bytes: {e}"));
    assert_eq!(sa.receipts.len(), block.txs.len());
    assert_eq!(sa.receipts, sb.receipts);
    assert_eq!(sa.events, sb.events);
    let root = |l: &Ledger| {
        l.store()
            .state_root()
            .unwrap_or_else(|e| panic!("state root: {e}"))
    };
    assert_eq!(root(&a), root(&b));
    let again = a
        .commit_bytes(&bytes)
        .unwrap_or_else(|e| panic!("re-delivery refused: {e}"));
    assert!(again.already_committed);
    assert_eq!(root(&a), root(&b));
});

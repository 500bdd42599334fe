//! The canonical encoding: round trips, size limits, no trailing bytes, no truncation, and every
//! accepted input is the one canonical encoding of what it decodes to (so a value has exactly one
//! encoding and hashing or signing its bytes is unambiguous).

use std::fmt::Debug;

use arcanum_types::{
    Block, DecodeError, EndorsedTx, ErrorCode, SignedTx, TxAction, TxPayload, TxReceipt, TxStatus,
    Vote, decode, encode, limits,
};
use borsh::{BorshDeserialize, BorshSerialize};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::strategies::{block, endorsed_tx, identity, receipt, response, signed_tx};

trait Codec: BorshSerialize + BorshDeserialize + PartialEq + Debug {}
impl<T: BorshSerialize + BorshDeserialize + PartialEq + Debug> Codec for T {}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Round trip, determinism, exact size limit, a random truncation and trailing bytes.
fn check_round_trip<T: Codec>(value: &T, cut: Index, trailer: &[u8]) -> Result<(), TestCaseError> {
    let bytes = encode(value);
    prop_assert_eq!(&encode(value), &bytes, "encoding is deterministic");
    let back: T = decode(&bytes, bytes.len()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, value);
    prop_assert_eq!(encode(&back), bytes.clone());
    if !bytes.is_empty() {
        prop_assert_eq!(
            decode::<T>(&bytes, bytes.len() - 1),
            Err(DecodeError::TooLarge {
                len: bytes.len(),
                max: bytes.len() - 1
            })
        );
        let n = cut.index(bytes.len());
        prop_assert!(
            matches!(
                decode::<T>(&bytes[..n], usize::MAX),
                Err(DecodeError::Malformed(_))
            ),
            "prefix {n}"
        );
    }
    if !trailer.is_empty() {
        let mut longer = bytes.clone();
        longer.extend_from_slice(trailer);
        prop_assert!(
            matches!(
                decode::<T>(&longer, usize::MAX),
                Err(DecodeError::Malformed(_))
            ),
            "trailing bytes accepted"
        );
    }
    Ok(())
}

/// Whatever `bytes` decode to, if anything, re-encodes to exactly `bytes`. Never panics.
fn check_canonical<T: Codec>(bytes: &[u8], max: usize) -> Result<(), TestCaseError> {
    if let Ok(value) = decode::<T>(bytes, max) {
        prop_assert_eq!(
            encode(&value),
            bytes.to_vec(),
            "accepted a non-canonical encoding of {:?}",
            value
        );
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), 1u8..).prop_map(|(i, x)| Mutation::Flip(i, x)),
        2 => (any::<Index>(), prop_oneof![Just(0u8), Just(1), Just(2), Just(0xff), any::<u8>()])
            .prop_map(|(i, x)| Mutation::Set(i, x)),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, x)| Mutation::Insert(i, x)),
        1 => any::<Index>().prop_map(Mutation::Delete),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            bytes.push(0);
            continue;
        }
        match m {
            Mutation::Flip(i, x) => {
                let at = i.index(bytes.len());
                bytes[at] ^= x;
            }
            Mutation::Set(i, x) => {
                let at = i.index(bytes.len());
                bytes[at] = *x;
            }
            Mutation::Insert(i, x) => bytes.insert(i.index(bytes.len() + 1), *x),
            Mutation::Delete(i) => {
                bytes.remove(i.index(bytes.len()));
            }
            Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn signed_tx_round_trips(tx in signed_tx(), cut: Index, trailer in proptest::collection::vec(any::<u8>(), 0..4)) {
        check_round_trip(&tx, cut, &trailer)?;
    }

    #[test]
    fn endorsed_tx_round_trips(etx in endorsed_tx(), cut: Index, trailer in proptest::collection::vec(any::<u8>(), 0..4)) {
        check_round_trip(&etx, cut, &trailer)?;
    }

    #[test]
    fn block_round_trips(b in block(), cut: Index, trailer in proptest::collection::vec(any::<u8>(), 0..4)) {
        check_round_trip(&b, cut, &trailer)?;
    }

    #[test]
    fn response_and_receipt_round_trip(r in response(), rc in receipt(), cut: Index) {
        check_round_trip(&r, cut, &[0])?;
        check_round_trip(&rc, cut, &[0])?;
    }

    #[test]
    fn random_bytes_never_panic_and_only_canonical_bytes_decode(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_canonical::<SignedTx>(&bytes, limits::MAX_TX_BYTES)?;
        check_canonical::<EndorsedTx>(&bytes, limits::MAX_ENDORSED_TX_BYTES)?;
        check_canonical::<Block>(&bytes, limits::MAX_BLOCK_BYTES)?;
        check_canonical::<TxReceipt>(&bytes, 1024)?;
        check_canonical::<TxStatus>(&bytes, 1024)?;
    }

    #[test]
    fn mutated_signed_tx_is_rejected_or_canonical(tx in signed_tx(), ms in proptest::collection::vec(mutation(), 1..4)) {
        check_canonical::<SignedTx>(&mutate(encode(&tx), &ms), limits::MAX_TX_BYTES)?;
    }

    #[test]
    fn mutated_endorsed_tx_is_rejected_or_canonical(etx in endorsed_tx(), ms in proptest::collection::vec(mutation(), 1..4)) {
        check_canonical::<EndorsedTx>(&mutate(encode(&etx), &ms), limits::MAX_ENDORSED_TX_BYTES)?;
    }

    #[test]
    fn mutated_block_is_rejected_or_canonical(b in block(), ms in proptest::collection::vec(mutation(), 1..4)) {
        check_canonical::<Block>(&mutate(encode(&b), &ms), limits::MAX_BLOCK_BYTES)?;
    }
}

fn payload_with_channel(channel: &str) -> TxPayload {
    TxPayload {
        channel: channel.to_owned(),
        creator: arcanum_types::IdentityId(arcanum_types::Hash([9; 32])),
        nonce: 1,
        action: TxAction::Invoke {
            contract: "kv".into(),
            function: "get".into(),
            args: vec![],
        },
    }
}

#[test]
fn strict_decoding_refuses_invalid_utf8_tags_and_discriminants() {
    // Invalid UTF-8 in a string: the channel "ab" sits right after its 4-byte length.
    let mut bytes = encode(&payload_with_channel("ab"));
    assert_eq!(&bytes[..6], &[2, 0, 0, 0, b'a', b'b']);
    bytes[4] = 0xff;
    assert!(matches!(
        decode::<TxPayload>(&bytes, 1024),
        Err(DecodeError::Malformed(_))
    ));

    // An unknown TxAction variant (0 = Invoke, 1 = Deploy).
    let mut bytes = encode(&payload_with_channel("ab"));
    let action_at = 6 + 32 + 8;
    assert_eq!(bytes[action_at], 0);
    bytes[action_at] = 2;
    assert!(decode::<TxPayload>(&bytes, 1024).is_err());

    // Votes, statuses and error codes outside the registry.
    assert_eq!(decode::<Vote>(&[1], 1), Ok(Vote::Reject));
    assert!(decode::<Vote>(&[2], 1).is_err());
    assert!(decode::<TxStatus>(&[2, 0], 2).is_err());
    let unassigned: Vec<u8> = (0..=255u8)
        .filter(|n| ErrorCode::ALL.iter().all(|c| *c as u8 != *n))
        .collect();
    assert!(!unassigned.is_empty());
    for n in unassigned {
        assert!(
            decode::<ErrorCode>(&[n], 1).is_err(),
            "discriminant {n} decoded"
        );
    }
    for c in ErrorCode::ALL {
        assert_eq!(
            decode::<TxStatus>(&[1, *c as u8], 2),
            Ok(TxStatus::Invalid(*c))
        );
    }

    // An Option tag other than 0 or 1 (a read's version).
    let read = arcanum_types::KvRead {
        key: vec![],
        version: None,
    };
    let mut bytes = encode(&read);
    assert_eq!(bytes, [0, 0, 0, 0, 0]);
    bytes[4] = 2;
    assert!(decode::<arcanum_types::KvRead>(&bytes, 64).is_err());
}

#[test]
fn huge_length_prefixes_fail_without_allocating_them() {
    // A block whose transaction count claims u32::MAX entries, and a tx whose channel claims 4 GiB.
    let mut bytes = vec![0u8; 116];
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        decode::<Block>(&bytes, limits::MAX_BLOCK_BYTES),
        Err(DecodeError::Malformed(_))
    ));
    let tx = SignedTx {
        payload: payload_with_channel(""),
        signature: arcanum_types::Signature(vec![]),
    };
    let mut bytes = encode(&tx);
    bytes[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        decode::<SignedTx>(&bytes, limits::MAX_TX_BYTES),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn response_vote_and_endorser_ids_are_encoded_where_documented() {
    // Sanity of the strategies' reach: distinct values encode differently.
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let outcome = runner.run(&(response(), identity()), |(r, id)| {
        let mut other = r.clone();
        other.vote = match r.vote {
            Vote::Approve => Vote::Reject,
            Vote::Reject => Vote::Approve,
        };
        prop_assert_ne!(encode(&r), encode(&other));
        prop_assert_eq!(encode(&id), id.0.0.to_vec());
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

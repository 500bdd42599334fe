//! The transaction Merkle root against a straightforward recursive reference of the documented
//! construction: domain-separated leaves and nodes, odd nodes promoted, empty tree = zero.

use arcanum_crypto::{domain, tagged_hash};
use arcanum_types::{Block, Hash, encode, merkle_root};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::strategies::{block, bytes};

/// Reference: build each level bottom-up exactly as documented.
fn reference(leaves: &[Vec<u8>]) -> Hash {
    fn up(level: Vec<Hash>) -> Hash {
        if level.len() == 1 {
            return level[0];
        }
        let mut next = Vec::new();
        let mut i = 0;
        while i < level.len() {
            if i + 1 < level.len() {
                next.push(tagged_hash(
                    domain::MERKLE_NODE,
                    &[&level[i].0, &level[i + 1].0],
                ));
            } else {
                next.push(level[i]);
            }
            i += 2;
        }
        up(next)
    }
    if leaves.is_empty() {
        return Hash::ZERO;
    }
    up(leaves
        .iter()
        .map(|l| tagged_hash(domain::MERKLE_LEAF, &[l]))
        .collect())
}

fn root(leaves: &[Vec<u8>]) -> Hash {
    merkle_root(leaves.iter().map(Vec::as_slice))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn matches_the_reference(leaves in vec(bytes(24), 0..40)) {
        prop_assert_eq!(root(&leaves), reference(&leaves));
    }

    #[test]
    fn changing_any_leaf_changes_the_root(leaves in vec(bytes(24), 1..24), i: Index, x in 1u8..) {
        let mut changed = leaves.clone();
        let leaf = &mut changed[i.index(leaves.len())];
        match leaf.first_mut() {
            Some(b) => *b ^= x,
            None => leaf.push(x),
        }
        prop_assert_ne!(root(&changed), root(&leaves));
    }

    #[test]
    fn adding_or_removing_a_leaf_changes_the_root(leaves in vec(bytes(8), 0..24), extra in bytes(8)) {
        let mut longer = leaves.clone();
        longer.push(extra);
        prop_assert_ne!(root(&longer), root(&leaves));
    }

    #[test]
    fn order_matters(leaves in vec(bytes(8), 2..16), i: Index, j: Index) {
        let (i, j) = (i.index(leaves.len()), j.index(leaves.len()));
        let mut swapped = leaves.clone();
        swapped.swap(i, j);
        prop_assert_eq!(root(&swapped) == root(&leaves), leaves[i] == leaves[j]);
    }

    #[test]
    fn an_interior_node_is_not_a_leaf(a in bytes(16), b in bytes(16)) {
        // The two-leaf root is H_node(L(a) || L(b)); a single leaf holding those 64 bytes hashes
        // under the leaf domain and must differ (no second preimage from a shorter tree).
        let la = tagged_hash(domain::MERKLE_LEAF, &[&a]);
        let lb = tagged_hash(domain::MERKLE_LEAF, &[&b]);
        let two = root(&[a, b]);
        prop_assert_eq!(two, tagged_hash(domain::MERKLE_NODE, &[&la.0, &lb.0]));
        let mut joined = la.0.to_vec();
        joined.extend_from_slice(&lb.0);
        prop_assert_ne!(root(&[joined]), two);
    }

    #[test]
    fn block_tx_root_is_the_root_of_the_encoded_transactions(b in block()) {
        let leaves: Vec<Vec<u8>> = b.txs.iter().map(encode).collect();
        prop_assert_eq!(b.compute_tx_root(), reference(&leaves));
    }
}

#[test]
fn fixed_shapes() {
    assert_eq!(root(&[]), Hash::ZERO);
    let leaf = |s: &[u8]| tagged_hash(domain::MERKLE_LEAF, &[s]);
    let node = |a: Hash, b: Hash| tagged_hash(domain::MERKLE_NODE, &[&a.0, &b.0]);
    assert_eq!(root(&[b"a".to_vec()]), leaf(b"a"));
    // Three leaves: the third is promoted unchanged to the second level.
    let three = [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()];
    assert_eq!(root(&three), node(node(leaf(b"a"), leaf(b"b")), leaf(b"c")));
    // Duplicating the last leaf is not the same tree (no Bitcoin-style CVE-2012-2459 ambiguity).
    let four = [b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"c".to_vec()];
    assert_ne!(root(&four), root(&three));
    let empty = Block {
        header: arcanum_types::BlockHeader {
            height: 1,
            prev_hash: Hash::ZERO,
            tx_root: Hash::ZERO,
            tx_count: 0,
            state_root: Hash::ZERO,
            timestamp_ms: 0,
            orderer: arcanum_types::IdentityId(Hash::ZERO),
        },
        txs: vec![],
        signature: arcanum_types::Signature(vec![]),
    };
    assert_eq!(empty.compute_tx_root(), Hash::ZERO);
}

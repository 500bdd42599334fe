use arcanum_crypto::{Hash, domain, tagged_hash};

/// Merkle root over leaf byte strings: leaves and interior nodes are hashed under distinct domains
/// (no second-preimage confusion), and an odd node is promoted unchanged. The empty tree's root is
/// [`Hash::ZERO`].
pub fn merkle_root<'a>(leaves: impl IntoIterator<Item = &'a [u8]>) -> Hash {
    let mut level: Vec<Hash> = leaves.into_iter().map(leaf_hash).collect();
    if level.is_empty() {
        return Hash::ZERO;
    }
    while level.len() > 1 {
        level = next_level(&level);
    }
    level[0]
}

/// The inclusion proof of leaf `index` in the tree [`merkle_root`] builds over `leaves`: the
/// sibling of the leaf's node at every level where it has one, bottom-up. A node promoted
/// unchanged (the last of an odd level) contributes nothing, so the path of a tree of `n` leaves
/// has at most `ceil(log2 n)` entries. `None` if `index` is out of range.
pub fn merkle_proof<'a>(
    leaves: impl IntoIterator<Item = &'a [u8]>,
    index: usize,
) -> Option<Vec<Hash>> {
    let mut level: Vec<Hash> = leaves.into_iter().map(leaf_hash).collect();
    if index >= level.len() {
        return None;
    }
    let mut i = index;
    let mut path = Vec::new();
    while level.len() > 1 {
        if let Some(sibling) = level.get(i ^ 1) {
            path.push(*sibling);
        }
        level = next_level(&level);
        i /= 2;
    }
    Some(path)
}

/// Whether `path` proves that `leaf` is leaf `index` of a tree of `count` leaves with root
/// `root`, as built by [`merkle_root`]. The shape of the tree (hence which side each sibling sits
/// on and which levels promote the node unchanged) follows from `index` and `count` alone, so a
/// verifier must take `count` from a trusted source (a signed block header). The path must be
/// used exactly: a missing or extra entry fails.
pub fn verify_merkle_proof(
    leaf: &[u8],
    index: usize,
    count: usize,
    path: &[Hash],
    root: &Hash,
) -> bool {
    if index >= count {
        return false;
    }
    let mut node = leaf_hash(leaf);
    let (mut i, mut len) = (index, count);
    let mut siblings = path.iter();
    while len > 1 {
        if (i ^ 1) < len {
            let Some(sibling) = siblings.next() else {
                return false;
            };
            node = if i % 2 == 0 {
                node_hash(&node, sibling)
            } else {
                node_hash(sibling, &node)
            };
        }
        i /= 2;
        len = len.div_ceil(2);
    }
    siblings.next().is_none() && node == *root
}

fn leaf_hash(leaf: &[u8]) -> Hash {
    tagged_hash(domain::MERKLE_LEAF, &[leaf])
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    tagged_hash(domain::MERKLE_NODE, &[&left.0, &right.0])
}

/// One level up: pairs hashed, an odd last node promoted unchanged.
fn next_level(level: &[Hash]) -> Vec<Hash> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [a, b] => node_hash(a, b),
            [a] => *a,
            _ => unreachable!("chunks(2) yields one or two"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::Index;

    fn root(leaves: &[Vec<u8>]) -> Hash {
        merkle_root(leaves.iter().map(Vec::as_slice))
    }

    fn proof(leaves: &[Vec<u8>], index: usize) -> Option<Vec<Hash>> {
        merkle_proof(leaves.iter().map(Vec::as_slice), index)
    }

    #[test]
    fn root_depends_on_every_leaf_and_order() {
        let a: &[u8] = b"a";
        let b: &[u8] = b"b";
        let c: &[u8] = b"c";
        let r = merkle_root([a, b, c]);
        assert_ne!(r, merkle_root([b, a, c]));
        assert_ne!(r, merkle_root([a, b]));
        assert_ne!(r, merkle_root([a, b, c, c]));
        assert_eq!(r, merkle_root([a, b, c]));
        assert_eq!(merkle_root(std::iter::empty()), Hash::ZERO);
        assert_ne!(merkle_root([a]), Hash::ZERO);
    }

    #[test]
    fn fixed_shapes() {
        let leaves: Vec<Vec<u8>> = [b"a", b"b", b"c"].iter().map(|l| l.to_vec()).collect();
        let r = root(&leaves);
        // Leaf c is promoted at the first level: its path is just the (a, b) node.
        let ab = node_hash(&leaf_hash(b"a"), &leaf_hash(b"b"));
        assert_eq!(proof(&leaves, 2), Some(vec![ab]));
        assert!(verify_merkle_proof(b"c", 2, 3, &[ab], &r));
        assert_eq!(
            proof(&leaves, 0),
            Some(vec![leaf_hash(b"b"), leaf_hash(b"c")])
        );
        // A single leaf is its own root, with an empty path.
        assert_eq!(proof(&leaves[..1], 0), Some(vec![]));
        assert!(verify_merkle_proof(b"a", 0, 1, &[], &leaf_hash(b"a")));
        // Out of range, and the empty tree, prove nothing.
        assert_eq!(proof(&leaves, 3), None);
        assert_eq!(proof(&[], 0), None);
        assert!(!verify_merkle_proof(b"a", 0, 0, &[], &Hash::ZERO));
        assert!(!verify_merkle_proof(b"c", 3, 3, &[ab], &r));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Every leaf's proof verifies against `merkle_root`, and has at most ceil(log2 n) entries.
        #[test]
        fn every_proof_verifies_against_the_root(leaves in vec(vec(any::<u8>(), 0..12), 1..40)) {
            let r = root(&leaves);
            let n = leaves.len();
            let depth = usize::BITS - (n - 1).leading_zeros();
            for (i, leaf) in leaves.iter().enumerate() {
                let path = proof(&leaves, i).expect("index in range");
                prop_assert!(path.len() <= depth as usize);
                prop_assert!(verify_merkle_proof(leaf, i, n, &path, &r));
            }
        }

        /// A proof fails for another leaf, another index, another root, or a path with an entry
        /// changed, dropped or added. (Leaves are made distinct: equal leaves legitimately share
        /// proofs.)
        #[test]
        fn tampering_breaks_the_proof(
            raw in vec(vec(any::<u8>(), 0..12), 2..40),
            i: Index,
            j: Index,
            flip in 1u8..,
        ) {
            let leaves: Vec<Vec<u8>> = raw
                .into_iter()
                .enumerate()
                .map(|(k, mut l)| { l.push(k as u8); l })
                .collect();
            let n = leaves.len();
            let (i, j) = (i.index(n), j.index(n));
            let r = root(&leaves);
            let path = proof(&leaves, i).expect("index in range");
            let leaf = &leaves[i];

            let mut other = leaf.clone();
            other[0] ^= flip;
            prop_assert!(!verify_merkle_proof(&other, i, n, &path, &r));
            if j != i {
                prop_assert!(!verify_merkle_proof(&leaves[j], i, n, &path, &r));
                prop_assert!(!verify_merkle_proof(leaf, j, n, &path, &r));
            }
            let mut other_root = r;
            other_root.0[0] ^= flip;
            prop_assert!(!verify_merkle_proof(leaf, i, n, &path, &other_root));
            let first = path[0];
            let mut changed = path.clone();
            changed[0].0[0] ^= flip;
            prop_assert!(!verify_merkle_proof(leaf, i, n, &changed, &r));
            prop_assert!(!verify_merkle_proof(leaf, i, n, &path[1..], &r));
            let mut longer = path.clone();
            longer.push(first);
            prop_assert!(!verify_merkle_proof(leaf, i, n, &longer, &r));
        }
    }
}

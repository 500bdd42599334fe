use arcanum_crypto::{Hash, domain, tagged_hash};

/// Merkle root over leaf byte strings: leaves and interior nodes are hashed under distinct domains
/// (no second-preimage confusion), and an odd node is promoted unchanged. The empty tree's root is
/// [`Hash::ZERO`].
pub fn merkle_root<'a>(leaves: impl IntoIterator<Item = &'a [u8]>) -> Hash {
    let mut level: Vec<Hash> = leaves
        .into_iter()
        .map(|l| tagged_hash(domain::MERKLE_LEAF, &[l]))
        .collect();
    if level.is_empty() {
        return Hash::ZERO;
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => tagged_hash(domain::MERKLE_NODE, &[&a.0, &b.0]),
                [a] => *a,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

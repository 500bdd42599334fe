//! A small bounded map that forgets its oldest entries.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A map of at most `capacity` entries; inserting past it drops the oldest.
#[derive(Debug)]
pub struct Fifo<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V> Fifo<K, V> {
    pub fn new(capacity: usize) -> Fifo<K, V> {
        Fifo {
            map: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn insert(&mut self, key: K, value: V) {
        if self.map.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    pub fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let v = self.map.remove(key)?;
        if let Some(pos) = self.order.iter().position(|k| k == key) {
            self.order.remove(pos);
        }
        Some(v)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_past_capacity() {
        let mut f = Fifo::new(2);
        f.insert(1, "a");
        f.insert(2, "b");
        f.insert(1, "a2");
        assert_eq!(f.len(), 2);
        f.insert(3, "c");
        assert!(!f.contains(&1));
        assert_eq!(f.get(&3), Some(&"c"));
        assert_eq!(f.remove(&2), Some("b"));
        assert_eq!(f.remove(&2), None);
        assert_eq!(f.len(), 1);
    }
}

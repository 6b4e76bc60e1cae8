//! The id table: socket ids are small non-negative integers, the lowest free one handed out
//! first, as on the firmware. Each insertion also gets a generation number so that a reused
//! id never matches a stale poll token, timer or resolver answer.
//!
//! Concurrency: the table itself is plain single-threaded code; `sockets.rs` keeps it behind
//! one `RwLock` (lookups read, insert/remove write) and hands out `Arc` clones, so a socket
//! outlives its removal for whoever still holds it, and its own `destroyed` flag (checked
//! under the socket's lock) turns every late call into `EBADID`. There is no lock-free state
//! here to model-check; `tests/concurrency.rs` exercises it with destroys racing sends.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

pub(crate) struct Table<T> {
    slots: Vec<Option<(u32, Arc<T>)>>,
    /// Free ids below `slots.len()`, smallest first.
    free: BinaryHeap<Reverse<u32>>,
    next_generation: u32,
    count: usize,
    limit: usize,
}

impl<T> Table<T> {
    pub(crate) fn new(limit: usize) -> Self {
        Table {
            slots: Vec::new(),
            free: BinaryHeap::new(),
            next_generation: 1,
            count: 0,
            limit,
        }
    }

    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Stores the value `make(id, generation)` under the lowest free id, or `None` when the
    /// limit is reached.
    pub(crate) fn insert(&mut self, make: impl FnOnce(i32, u32) -> T) -> Option<(i32, Arc<T>)> {
        if self.count >= self.limit {
            return None;
        }
        let id = match self.free.peek().copied() {
            Some(Reverse(id)) if (id as usize) < self.limit => {
                self.free.pop();
                id
            }
            _ if self.slots.len() < self.limit => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
            _ => return None,
        };
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1).max(1);
        let value = Arc::new(make(id as i32, generation));
        self.slots[id as usize] = Some((generation, value.clone()));
        self.count += 1;
        Some((id as i32, value))
    }

    pub(crate) fn get(&self, id: i32) -> Option<&Arc<T>> {
        let index = usize::try_from(id).ok()?;
        self.slots.get(index)?.as_ref().map(|(_, v)| v)
    }

    /// The value under `id` only if it is still the one inserted with `generation`.
    pub(crate) fn get_current(&self, id: i32, generation: u32) -> Option<&Arc<T>> {
        let index = usize::try_from(id).ok()?;
        match self.slots.get(index)? {
            Some((g, v)) if *g == generation => Some(v),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, id: i32) -> Option<Arc<T>> {
        let index = usize::try_from(id).ok()?;
        let (_, value) = self.slots.get_mut(index)?.take()?;
        self.count -= 1;
        // Trailing free slots are dropped so that the table shrinks back after a burst.
        if index + 1 == self.slots.len() {
            self.slots.pop();
            while matches!(self.slots.last(), Some(None)) {
                self.slots.pop();
            }
            let len = self.slots.len() as u32;
            self.free.retain(|Reverse(id)| *id < len);
        } else {
            self.free.push(Reverse(index as u32));
        }
        Some(value)
    }

    /// Removes and returns every value (for `sock_shutdown`).
    pub(crate) fn drain(&mut self) -> Vec<Arc<T>> {
        self.free.clear();
        self.count = 0;
        self.slots.drain(..).flatten().map(|(_, v)| v).collect()
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Arc<T>> {
        self.slots.iter().flatten().map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_id_is_reused_with_a_new_generation() {
        let mut t = Table::new(8);
        let ids: Vec<i32> = (0..4).map(|_| t.insert(|id, _| id).unwrap().0).collect();
        assert_eq!(ids, vec![0, 1, 2, 3]);
        let gen1 = 2u32;
        assert!(t.get_current(1, gen1).is_some());
        t.remove(1).unwrap();
        t.remove(2).unwrap();
        assert!(t.get(1).is_none());
        let (id, v) = t.insert(|id, g| id * 100 + g as i32).unwrap();
        assert_eq!(id, 1);
        assert!(
            t.get_current(1, gen1).is_none(),
            "old generation must not match"
        );
        assert_eq!(*v, 100 + 5);
        assert_eq!(t.insert(|id, _| id).unwrap().0, 2);
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn limit_is_enforced_and_can_change() {
        let mut t = Table::new(2);
        assert!(t.insert(|_, _| ()).is_some());
        assert!(t.insert(|_, _| ()).is_some());
        assert!(t.insert(|_, _| ()).is_none());
        t.set_limit(3);
        assert_eq!(t.insert(|_, _| ()).unwrap().0, 2);
        t.set_limit(1);
        t.remove(0);
        t.remove(1);
        t.remove(2);
        assert_eq!(t.insert(|_, _| ()).unwrap().0, 0);
        assert!(t.insert(|_, _| ()).is_none());
    }

    #[test]
    fn bad_ids_are_none() {
        let mut t: Table<()> = Table::new(4);
        assert!(t.get(-1).is_none());
        assert!(t.get(0).is_none());
        assert!(t.get(i32::MAX).is_none());
        assert!(t.remove(-5).is_none());
        assert!(t.remove(3).is_none());
    }

    #[test]
    fn table_shrinks_and_drain_empties() {
        let mut t = Table::new(100);
        for _ in 0..50 {
            t.insert(|_, _| ()).unwrap();
        }
        for id in (10..50).rev() {
            t.remove(id).unwrap();
        }
        assert_eq!(t.slots.len(), 10);
        assert_eq!(t.insert(|_, _| ()).unwrap().0, 10);
        assert_eq!(t.drain().len(), 11);
        assert_eq!(t.len(), 0);
        assert_eq!(t.insert(|_, _| ()).unwrap().0, 0);
    }
}

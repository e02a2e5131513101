//! Context storage keyed by context id (or callout token).
//!
//! [`Table`] is a non-generic open-addressing hash map `u32 → u64`
//! (Fibonacci hashing, linear probing, backward-shift deletion), so its code
//! exists once per plugin whatever the context types. It never panics: every
//! index goes through `get`. It only allocates when it grows, so a steady
//! request rate reaches a fixed memory size after warm-up.
//!
//! [`Store`] keeps values in a slab indexed through a `Table`, with a one-entry
//! "hot slot" in front: the context most recently created lives outside the
//! table, so the common run of callbacks on one stream costs a compare
//! instead of a probe.
//!
//! Values are *taken out* while user code runs and put back afterwards
//! ([`Store::take`]/[`Store::put_back`]); no borrow is held across user code. A
//! re-entrant callback for the same id finds it busy; one for another id
//! works; a context deleted while busy is dropped on put-back.

use core::cell::{Cell, RefCell};

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup<T> {
    /// The value, now taken out of the store.
    Found(T),
    /// The id is live but its value is out (a callback for it is running).
    Busy,
    /// No such id.
    Missing,
}

/// `u32 → u64`, open addressing. Key and value live in one slot; an empty
/// slot is `None`.
pub(crate) struct Table {
    slots: Vec<Option<(u32, u64)>>,
    len: usize,
    bits: u32,
}

const MIN_BITS: u32 = 4;

impl Default for Table {
    fn default() -> Table {
        Table::new()
    }
}

impl Table {
    pub(crate) const fn new() -> Table {
        Table {
            slots: Vec::new(),
            len: 0,
            bits: 0,
        }
    }

    #[inline]
    fn home(&self, key: u32) -> usize {
        // Fibonacci hashing: sequential ids and tokens spread evenly.
        (key.wrapping_mul(0x9E37_79B9) >> (32 - self.bits)) as usize
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    #[inline(never)]
    fn find(&self, key: u32) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = self.home(key);
        // The load factor stays <= 1/2, so an empty slot ends every probe.
        for _ in 0..self.slots.len() {
            match self.slots.get(i)? {
                None => return None,
                Some((k, _)) if *k == key => return Some(i),
                Some(_) => i = (i + 1) & mask,
            }
        }
        None
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, key: u32) -> Option<u64> {
        let i = self.find(key)?;
        self.slots.get(i).copied().flatten().map(|(_, v)| v)
    }

    /// Inserts or replaces the value for `key`.
    #[inline(never)]
    pub(crate) fn insert(&mut self, key: u32, value: u64) {
        if let Some(i) = self.find(key) {
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = Some((key, value));
            }
            return;
        }
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.place(key, value);
    }

    /// Doubles the capacity (at least 16 slots) and rehashes.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let bits = (self.bits + 1).max(MIN_BITS);
        let old = core::mem::replace(&mut self.slots, vec![None; 1usize << bits]);
        self.bits = bits;
        self.len = 0;
        for (k, v) in old.into_iter().flatten() {
            self.place(k, v);
        }
    }

    #[inline(never)]
    fn place(&mut self, key: u32, value: u64) {
        let mask = self.mask();
        let mut i = self.home(key);
        for _ in 0..self.slots.len() {
            match self.slots.get_mut(i) {
                Some(slot @ None) => {
                    *slot = Some((key, value));
                    self.len += 1;
                    return;
                }
                Some(Some(_)) => i = (i + 1) & mask,
                None => return,
            }
        }
    }

    /// Removes `key`, returning its value.
    #[inline(never)]
    pub(crate) fn remove(&mut self, key: u32) -> Option<u64> {
        let mut hole = self.find(key)?;
        let removed = self.slots.get_mut(hole).and_then(Option::take);
        self.len -= 1;
        let mask = self.mask();
        let mut j = hole;
        for _ in 0..self.slots.len() {
            j = (j + 1) & mask;
            let home = match self.slots.get(j) {
                Some(Some((k, _))) => self.home(*k),
                _ => break,
            };
            if (hole.wrapping_sub(home) & mask) < (j.wrapping_sub(home) & mask) {
                let moved = self.slots.get_mut(j).and_then(Option::take);
                if let Some(slot) = self.slots.get_mut(hole) {
                    *slot = moved;
                }
                hole = j;
            }
        }
        removed.map(|(_, v)| v)
    }
}

/// The cold part of a [`Store`]: an id → slab-index table and the slab.
struct Cold<T> {
    index: Table,
    slab: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Cold<T> {
    const fn new() -> Cold<T> {
        Cold {
            index: Table::new(),
            slab: Vec::new(),
            free: Vec::new(),
        }
    }
}

/// Values by id: a hot slot in front of a table-indexed slab. Interior
/// mutability only; no borrow outlives a method call.
pub(crate) struct Store<T> {
    hot_id: Cell<u32>,
    hot: Cell<Option<T>>,
    cold: RefCell<Cold<T>>,
}

impl<T> Default for Store<T> {
    fn default() -> Store<T> {
        Store::new()
    }
}

impl<T> Store<T> {
    pub(crate) const fn new() -> Store<T> {
        Store {
            hot_id: Cell::new(0),
            hot: Cell::new(None),
            cold: RefCell::new(Cold::new()),
        }
    }

    /// Inserts a new value. Id 0 is never stored (it is the VM's id).
    pub(crate) fn insert(&self, id: u32, value: T) {
        if id == 0 {
            return;
        }
        if self.hot_id.get() == 0 || self.hot_id.get() == id {
            self.hot_id.set(id);
            self.hot.set(Some(value));
            return;
        }
        let Ok(mut cold) = self.cold.try_borrow_mut() else {
            return;
        };
        let cold = &mut *cold;
        let slot = match cold.free.pop() {
            Some(slot) => slot,
            None => {
                cold.slab.push(None);
                (cold.slab.len() - 1) as u32
            }
        };
        if let Some(place) = cold.slab.get_mut(slot as usize) {
            *place = Some(value);
            cold.index.insert(id, u64::from(slot));
        }
    }

    /// Whether `id` is the hot slot's id. (An empty hot slot has id 0 and
    /// holds `None`, so a caller asking for id 0 finds nothing to take.)
    #[inline(always)]
    pub(crate) fn is_hot(&self, id: u32) -> bool {
        self.hot_id.get() == id
    }

    /// Takes the hot slot's value (the caller checked [`Store::is_hot`]).
    #[inline(always)]
    pub(crate) fn take_hot(&self) -> Option<T> {
        self.hot.take()
    }

    /// Whether the hot slot is free for a new value.
    #[inline(always)]
    pub(crate) fn hot_is_free(&self) -> bool {
        self.hot_id.get() == 0
    }

    /// Puts a value in the hot slot, which the caller checked is free.
    #[inline(always)]
    pub(crate) fn fill_hot(&self, id: u32, value: T) {
        self.hot_id.set(id);
        self.hot.set(Some(value));
    }

    /// Empties the hot slot, returning its value (`None` if it was busy: the
    /// busy value is then dropped on put-back).
    #[inline(always)]
    pub(crate) fn clear_hot(&self) -> Option<T> {
        self.hot_id.set(0);
        self.hot.take()
    }

    /// Undoes [`Store::take_hot`] when the caller does not want the value.
    #[inline(always)]
    pub(crate) fn restore_hot(&self, value: Option<T>) {
        self.hot.set(value);
    }

    #[inline]
    pub(crate) fn take(&self, id: u32) -> Lookup<T> {
        if id != 0 && self.hot_id.get() == id {
            return match self.hot.take() {
                Some(v) => Lookup::Found(v),
                None => Lookup::Busy,
            };
        }
        self.take_cold(id)
    }

    fn take_cold(&self, id: u32) -> Lookup<T> {
        let Ok(mut cold) = self.cold.try_borrow_mut() else {
            return Lookup::Missing;
        };
        if cold.index.len() == 0 {
            return Lookup::Missing;
        }
        let Some(slot) = cold.index.get(id) else {
            return Lookup::Missing;
        };
        match cold.slab.get_mut(slot as usize).and_then(Option::take) {
            Some(v) => Lookup::Found(v),
            None => Lookup::Busy,
        }
    }

    /// Puts back a value taken with [`Store::take`]. If the id was removed
    /// while the value was out, the value is dropped here.
    #[inline(always)]
    pub(crate) fn put_back(&self, id: u32, value: T) {
        if self.hot_id.get() == id {
            self.hot.set(Some(value));
            return;
        }
        self.put_back_cold(id, value);
    }

    #[inline(never)]
    fn put_back_cold(&self, id: u32, value: T) {
        let leftover = match self.cold.try_borrow_mut() {
            Ok(mut cold) => match cold.index.get(id) {
                Some(slot) => match cold.slab.get_mut(slot as usize) {
                    Some(place) => {
                        *place = Some(value);
                        None
                    }
                    None => Some(value),
                },
                None => Some(value),
            },
            Err(_) => Some(value),
        };
        drop(leftover);
    }

    /// Removes an id (even a busy one, whose value is then dropped on put-back).
    pub(crate) fn remove(&self, id: u32) -> Lookup<T> {
        if id != 0 && self.hot_id.get() == id {
            self.hot_id.set(0);
            return match self.hot.take() {
                Some(v) => Lookup::Found(v),
                None => Lookup::Busy,
            };
        }
        let Ok(mut cold) = self.cold.try_borrow_mut() else {
            return Lookup::Missing;
        };
        let cold = &mut *cold;
        let Some(slot) = cold.index.remove(id) else {
            return Lookup::Missing;
        };
        cold.free.push(slot as u32);
        match cold.slab.get_mut(slot as usize).and_then(Option::take) {
            Some(v) => Lookup::Found(v),
            None => Lookup::Busy,
        }
    }

    pub(crate) fn contains(&self, id: u32) -> bool {
        (id != 0 && self.hot_id.get() == id)
            || self
                .cold
                .try_borrow()
                .is_ok_and(|c| c.index.get(id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_inserts_finds_and_removes_many_keys() {
        let mut t = Table::default();
        for k in 1..=1000u32 {
            t.insert(k, u64::from(k) * 10);
        }
        assert_eq!(t.len(), 1000);
        for k in (1..=1000u32).step_by(3) {
            assert_eq!(t.remove(k), Some(u64::from(k) * 10));
        }
        for k in 1..=1000u32 {
            let present = (k - 1) % 3 != 0;
            assert_eq!(t.get(k).is_some(), present, "key {k}");
        }
        t.insert(2, 21);
        assert_eq!(t.get(2), Some(21));
    }

    #[test]
    fn table_handles_colliding_token_patterns() {
        let mut t = Table::default();
        let keys: Vec<u32> = (1..500)
            .map(|i| i * 4)
            .chain((0..100).map(|i| i * 1024 + 1))
            .collect();
        for &k in &keys {
            t.insert(k, u64::from(k));
        }
        for &k in keys.iter().rev().step_by(2) {
            assert_eq!(t.remove(k), Some(u64::from(k)));
        }
        for (i, &k) in keys.iter().rev().enumerate() {
            assert_eq!(t.get(k).is_some(), i % 2 == 1);
        }
    }

    #[test]
    fn memory_stays_flat_for_a_steady_population() {
        let store = Store::default();
        for id in 1..=8u32 {
            store.insert(id, id);
        }
        let capacity = |s: &Store<u32>| {
            let cold = s.cold.borrow();
            (cold.index.slots.len(), cold.slab.len())
        };
        let mut before = capacity(&store);
        for id in 9..20_000u32 {
            if id == 100 {
                before = capacity(&store); // after warm-up
            }
            store.insert(id, id);
            assert!(
                matches!(store.remove(id - 8), Lookup::Found(v) if v == id - 8),
                "id {id}"
            );
        }
        assert_eq!(capacity(&store), before);
    }

    #[test]
    fn store_hot_slot_falls_back_to_table() {
        let s = Store::default();
        s.insert(2, "a");
        s.insert(3, "b");
        assert!(matches!(s.take(2), Lookup::Found("a")));
        assert!(matches!(s.take(2), Lookup::Busy));
        s.put_back(2, "a");
        assert!(matches!(s.take(3), Lookup::Found("b")));
        // Removed while busy: the value is dropped on put-back.
        assert!(matches!(s.remove(3), Lookup::Busy));
        s.put_back(3, "b");
        assert!(!s.contains(3));
        assert!(matches!(s.remove(2), Lookup::Found("a")));
        assert!(matches!(s.take(0), Lookup::Missing));
        assert!(matches!(s.take(9), Lookup::Missing));
    }
}

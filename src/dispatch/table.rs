//! Context storage keyed by context id (or callout token).
//!
//! [`Table`] is a non-generic map `u32 → u64` kept as an array of entries
//! sorted by key and searched by binary search (`O(log n)`), so its code
//! exists once per plugin whatever the context types. Envoy's context ids and
//! callout tokens increase, so an insertion is an append in the common case;
//! an out-of-order key (a test, the mock host) shifts the entries above it up
//! by one, and a removal shifts the entries above it down by one (one
//! `memory.copy`).
//!
//! Storage is allocated at its exact size and never pushed to: growing
//! allocates a zeroed slice twice as large, copies the entries over and frees
//! the old one. No `Vec` growth path (`push`, `reserve`, `realloc`) is linked,
//! and a steady population reaches a fixed memory size after warm-up. Nothing
//! here panics: every index goes through `get`/`get_mut`.
//!
//! Each entry also carries a slot number, which makes the table its own slot
//! allocator, with no free list: the slots of the first `used` entries are a
//! permutation of `0..used`, the live entries (the first `len`) holding the
//! slots in use and the spare ones above them the freed ones. An insertion
//! takes the slot of the first spare entry (or, when there is none, the next
//! fresh slot, `used`); a removal leaves the removed entry's slot in the spare
//! entry that the last live one turns into.
//!
//! [`Store`] keeps values in a slab indexed by those slots: a `Vec` that is
//! only ever replaced by one of the table's capacity, the values moved over.
//! Its growth and the slab accesses are the only code generic over the value
//! type. In front sit two slots: the "hot" one holds the stream most recently
//! created, so the common run of callbacks on one stream costs a compare
//! instead of a search, and the "pinned" one the first plugin context, which
//! creates every stream.
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

impl<T> Lookup<T> {
    /// What a live id's place holds: its value, or nothing while a callback
    /// has the value out.
    #[inline(always)]
    fn of_live(value: Option<T>) -> Lookup<T> {
        match value {
            Some(v) => Lookup::Found(v),
            None => Lookup::Busy,
        }
    }
}

/// One entry of a [`Table`]: a key, its value, and a slot number (see the
/// module docs). Spare entries only keep a slot.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u32,
    slot: u32,
    value: u64,
}

/// A fresh entry (its slot is given when it is first used). All zeros, so a
/// grown table's storage is one zeroed allocation.
const BLANK: Entry = Entry {
    key: 0,
    slot: 0,
    value: 0,
};

/// `u32 → u64`: entries sorted by key, binary search.
pub(crate) struct Table {
    /// All entries: `len` live ones (sorted by key), then `used - len` spare
    /// ones holding the freed slots, then fresh ones. Its length is the
    /// capacity; it is never pushed to.
    entries: Vec<Entry>,
    /// How many entries are live.
    len: usize,
    /// How many slots were ever handed out: `0..used`, each held by one live
    /// or spare entry.
    used: usize,
}

/// The first capacity.
const MIN_CAPACITY: usize = 8;

impl Default for Table {
    fn default() -> Table {
        Table::new()
    }
}

impl Table {
    pub(crate) const fn new() -> Table {
        Table {
            entries: Vec::new(),
            len: 0,
            used: 0,
        }
    }

    /// How many keys are live.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The capacity: how many slots a table of this size can hand out.
    #[inline]
    fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// The position of the first live entry whose key is not below `key`
    /// (`len` if none is): where `key` is, or would be inserted.
    #[inline(never)]
    fn find(&self, key: u32) -> usize {
        let (mut low, mut high) = (0, self.len);
        while low < high {
            let mid = low + (high - low) / 2;
            match self.entries.get(mid) {
                Some(e) if e.key < key => low = mid + 1,
                _ => high = mid,
            }
        }
        low
    }

    /// The live entry for `key`.
    #[inline(never)]
    fn entry(&self, key: u32) -> Option<&Entry> {
        let live = self.entries.get(..self.len)?;
        live.get(self.find(key)).filter(|e| e.key == key)
    }

    pub(crate) fn get(&self, key: u32) -> Option<u64> {
        self.entry(key).map(|e| e.value)
    }

    /// Inserts or replaces the value for `key`.
    pub(crate) fn insert(&mut self, key: u32, value: u64) {
        let _ = self.upsert(key, value);
    }

    /// Inserts or replaces the value for `key`, returning the entry's slot
    /// (`None` only if the table is inconsistent, which it never is).
    #[inline(never)]
    fn upsert(&mut self, key: u32, value: u64) -> Option<usize> {
        let len = self.len;
        let at = self.find(key).min(len);
        if let Some(e) = self.entries.get_mut(..len)?.get_mut(at) {
            if e.key == key {
                e.value = value;
                return Some(e.slot as usize);
            }
        }
        if len == self.capacity() {
            self.grow();
        }
        // The first spare entry gives its slot (a fresh one, the next slot);
        // the live entries from `at` on shift up by one over it.
        let spare = self.entries.get(len)?;
        let slot = if len < self.used {
            spare.slot
        } else {
            self.used = len + 1;
            len as u32
        };
        let moved = self.entries.get_mut(at..=len)?;
        let count = moved.len().checked_sub(1)?;
        moved.copy_within(..count, 1);
        *moved.first_mut()? = Entry { key, slot, value };
        self.len = len + 1;
        Some(slot as usize)
    }

    /// Doubles the capacity (at least [`MIN_CAPACITY`]).
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let old = core::mem::take(&mut self.entries);
        let capacity = (old.len() * 2).max(MIN_CAPACITY);
        self.entries = (0..capacity).map(|_| BLANK).collect();
        if let Some(kept) = self.entries.get_mut(..old.len()) {
            kept.copy_from_slice(&old);
        }
    }

    /// Removes `key`, returning its value.
    pub(crate) fn remove(&mut self, key: u32) -> Option<u64> {
        self.remove_entry(key).map(|e| e.value)
    }

    /// Removes `key`, returning its entry (whose slot is now free).
    #[inline(never)]
    fn remove_entry(&mut self, key: u32) -> Option<Entry> {
        let at = self.find(key);
        let moved = self.entries.get_mut(at..self.len)?;
        let removed = *moved.first().filter(|e| e.key == key)?;
        // The live entries above shift down by one; the last one becomes
        // spare, with the removed entry's slot.
        moved.copy_within(1.., 0);
        moved.last_mut()?.slot = removed.slot;
        self.len -= 1;
        Some(removed)
    }
}

/// The cold part of a [`Store`]: an id → slot table and the slab of values.
struct Cold<T> {
    index: Table,
    /// Values by slot; at most as long as `index`'s capacity, and never
    /// pushed to.
    slab: Vec<Option<T>>,
}

impl<T> Cold<T> {
    const fn new() -> Cold<T> {
        Cold {
            index: Table::new(),
            slab: Vec::new(),
        }
    }

    /// The value place of a live id.
    #[inline]
    fn place(&mut self, id: u32) -> Option<&mut Option<T>> {
        let slot = self.index.entry(id)?.slot;
        self.slab.get_mut(slot as usize)
    }

    /// Grows the slab to the table's capacity, moving the values over.
    #[cold]
    #[inline(never)]
    fn grow_slab(&mut self) {
        let old = core::mem::take(&mut self.slab);
        let capacity = self.index.capacity();
        self.slab = old
            .into_iter()
            .chain(core::iter::repeat_with(|| None))
            .take(capacity)
            .collect();
    }
}

/// One value outside the table, with its id (0 when empty).
pub(crate) struct Slot<T> {
    id: Cell<u32>,
    value: Cell<Option<T>>,
}

impl<T> Slot<T> {
    const fn new() -> Slot<T> {
        Slot {
            id: Cell::new(0),
            value: Cell::new(None),
        }
    }

    /// Whether this slot holds `id`. (An empty slot has id 0 and holds
    /// `None`, so a caller asking for id 0 finds nothing to take.)
    #[inline(always)]
    pub(crate) fn holds(&self, id: u32) -> bool {
        self.id.get() == id
    }

    /// Whether the slot is free for a new value.
    #[inline(always)]
    pub(crate) fn is_free(&self) -> bool {
        self.id.get() == 0
    }

    /// Takes the value (the caller checked [`Slot::holds`]); `None` while a
    /// callback has it out.
    #[inline(always)]
    pub(crate) fn take(&self) -> Option<T> {
        self.value.take()
    }

    /// Puts a value in (the caller checked the slot holds its id or is free).
    #[inline(always)]
    pub(crate) fn fill(&self, id: u32, value: T) {
        self.id.set(id);
        self.value.set(Some(value));
    }

    /// Undoes [`Slot::take`] when the caller does not want the value.
    #[inline(always)]
    pub(crate) fn restore(&self, value: Option<T>) {
        self.value.set(value);
    }

    /// Empties the slot, returning its value (`None` if it was out: the value
    /// is then dropped on put-back).
    #[inline(always)]
    pub(crate) fn clear(&self) -> Option<T> {
        self.id.set(0);
        self.value.take()
    }
}

/// Values by id: two slots in front of a table-indexed slab. Interior
/// mutability only; no borrow outlives a method call.
///
/// The *hot* slot holds the stream created most recently, so the common run
/// of callbacks on one stream costs a compare instead of a search. The
/// *pinned* slot holds the first plugin context, which creates every stream.
/// Everything else lives in the table.
pub(crate) struct Store<T> {
    slots: [Slot<T>; 2],
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
            slots: [Slot::new(), Slot::new()],
            cold: RefCell::new(Cold::new()),
        }
    }

    /// The slot of the stream created most recently.
    #[inline(always)]
    pub(crate) fn hot(&self) -> &Slot<T> {
        let [hot, _] = &self.slots;
        hot
    }

    /// The slot of the first plugin context.
    #[inline(always)]
    pub(crate) fn pinned(&self) -> &Slot<T> {
        let [_, pinned] = &self.slots;
        pinned
    }

    /// The slot holding `id`, if one does.
    #[inline]
    fn slot_of(&self, id: u32) -> Option<&Slot<T>> {
        let [hot, pinned] = &self.slots;
        if id == 0 {
            None
        } else if hot.holds(id) {
            Some(hot)
        } else if pinned.holds(id) {
            Some(pinned)
        } else {
            None
        }
    }

    /// Inserts a stream's value (replacing any for the same id): into the hot
    /// slot when that is free, else the table. Id 0 is never stored (it is the
    /// VM's id).
    pub(crate) fn insert(&self, id: u32, value: T) {
        self.insert_into(self.hot(), id, value);
    }

    /// Inserts a plugin's value: into the pinned slot when that is free, else
    /// the table.
    pub(crate) fn insert_pinned(&self, id: u32, value: T) {
        self.insert_into(self.pinned(), id, value);
    }

    #[inline(never)]
    fn insert_into(&self, preferred: &Slot<T>, id: u32, value: T) {
        if id == 0 {
            return;
        }
        if let Some(slot) = self.slot_of(id) {
            drop(slot.value.replace(Some(value)));
            return;
        }
        if preferred.is_free() {
            preferred.fill(id, value);
            return;
        }
        let Ok(mut cold) = self.cold.try_borrow_mut() else {
            return;
        };
        let Some(slot) = cold.index.upsert(id, 0) else {
            return;
        };
        if slot >= cold.slab.len() {
            cold.grow_slab();
        }
        let replaced = cold
            .slab
            .get_mut(slot)
            .and_then(|place| place.replace(value));
        // A replaced value is dropped after the borrow ends.
        drop(cold);
        drop(replaced);
    }

    /// Takes the value of `id` out while a callback runs.
    #[inline(never)]
    pub(crate) fn take(&self, id: u32) -> Lookup<T> {
        if let Some(slot) = self.slot_of(id) {
            return Lookup::of_live(slot.take());
        }
        let Ok(mut cold) = self.cold.try_borrow_mut() else {
            return Lookup::Missing;
        };
        cold.place(id)
            .map_or(Lookup::Missing, |place| Lookup::of_live(place.take()))
    }

    /// Puts back a value taken with [`Store::take`]. If the id was removed
    /// while the value was out, the value is dropped here.
    #[inline(always)]
    pub(crate) fn put_back(&self, id: u32, value: T) {
        if self.hot().holds(id) {
            self.hot().restore(Some(value));
            return;
        }
        self.put_back_cold(id, value);
    }

    #[inline(never)]
    fn put_back_cold(&self, id: u32, value: T) {
        // (`put_back` checked the hot slot.)
        if id != 0 && self.pinned().holds(id) {
            self.pinned().restore(Some(value));
        } else if let Ok(mut cold) = self.cold.try_borrow_mut() {
            if let Some(place) = cold.place(id) {
                *place = Some(value);
            }
        }
    }

    /// Removes an id (even a busy one, whose value is then dropped on put-back).
    #[inline(never)]
    pub(crate) fn remove(&self, id: u32) -> Lookup<T> {
        let found = self.take(id);
        if let Some(slot) = self.slot_of(id) {
            slot.id.set(0);
        } else if let Ok(mut cold) = self.cold.try_borrow_mut() {
            // The freed slot's place was emptied by `take`.
            let _ = cold.index.remove_entry(id);
        }
        found
    }

    pub(crate) fn contains(&self, id: u32) -> bool {
        self.slot_of(id).is_some()
            || self
                .cold
                .try_borrow()
                .is_ok_and(|c| c.index.entry(id).is_some())
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
            (cold.index.entries.len(), cold.slab.len())
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

    /// A small deterministic generator (xorshift) for the model tests.
    struct Rng(u32);

    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            self.0
        }
    }

    /// Checks a table's invariants: live keys strictly increasing, and the
    /// slots of the live and spare entries a permutation of `0..used`.
    fn check_invariants(t: &Table) {
        assert!(t.len <= t.used && t.used <= t.entries.len());
        let live = &t.entries[..t.len];
        assert!(live.windows(2).all(|w| w[0].key < w[1].key), "unsorted");
        let mut slots: Vec<u32> = t.entries[..t.used].iter().map(|e| e.slot).collect();
        slots.sort_unstable();
        assert!(
            slots.iter().copied().eq(0..t.used as u32),
            "slots {slots:?}"
        );
    }

    #[test]
    fn table_matches_a_model_under_random_operations() {
        use std::collections::BTreeMap;
        let mut rng = Rng(0x2545_f491);
        let mut t = Table::default();
        let mut model = BTreeMap::new();
        // Miri runs every operation about a thousand times slower; 2,000
        // rounds still cover growth, shifts and slot reuse there.
        let rounds = if cfg!(miri) { 2_000 } else { 20_000u32 };
        for round in 0..rounds {
            // Small key space: many hits, replacements and out-of-order keys.
            let key = rng.next() % 600;
            match rng.next() % 8 {
                0..=3 => {
                    t.insert(key, u64::from(round));
                    model.insert(key, u64::from(round));
                }
                4..=6 => assert_eq!(t.remove(key), model.remove(&key), "remove {key}"),
                _ => assert_eq!(t.get(key), model.get(&key).copied(), "get {key}"),
            }
            assert_eq!(t.len(), model.len());
            if round % 97 == 0 {
                check_invariants(&t);
            }
        }
        check_invariants(&t);
        for key in 0..600 {
            assert_eq!(t.get(key), model.get(&key).copied());
        }
    }

    #[test]
    fn table_shifts_on_out_of_order_inserts_and_middle_removals() {
        let mut t = Table::default();
        // Descending: every insertion goes to the front and shifts the rest.
        for k in (1..=100u32).rev() {
            t.insert(k, u64::from(k));
            check_invariants(&t);
        }
        // Remove from the middle, then the ends.
        for k in [50, 51, 49, 1, 100, 2, 99] {
            assert_eq!(t.remove(k), Some(u64::from(k)));
            assert_eq!(t.remove(k), None);
            check_invariants(&t);
        }
        assert_eq!(t.len(), 93);
        // Refill the holes: the freed slots are reused, no growth.
        let capacity = t.entries.len();
        for k in [50, 51, 49, 1, 100, 2, 99] {
            t.insert(k, u64::from(k) + 1000);
        }
        check_invariants(&t);
        assert_eq!(t.entries.len(), capacity);
        assert_eq!(t.get(50), Some(1050));
        assert_eq!(t.get(3), Some(3));
        assert_eq!(t.get(0), None);
        assert_eq!(t.get(101), None);
        assert_eq!(t.remove(0), None);
    }

    #[test]
    fn table_grows_again_after_removals() {
        let mut t = Table::default();
        for k in 1..=20u32 {
            t.insert(k, 1);
        }
        for k in 1..=20u32 {
            assert_eq!(t.remove(k), Some(1));
        }
        assert_eq!(t.len(), 0);
        check_invariants(&t);
        for k in (100..400u32).rev() {
            t.insert(k, u64::from(k));
        }
        check_invariants(&t);
        assert!((1..=20).all(|k| t.get(k).is_none()));
        assert!((100..400).all(|k| t.get(k) == Some(u64::from(k))));
        assert!((100..400).all(|k| t.remove(k) == Some(u64::from(k))));
        assert_eq!(t.len(), 0);
        check_invariants(&t);
    }

    #[test]
    fn store_keeps_thousands_of_concurrent_ids() {
        let s = Store::default();
        // Out of order: a permutation of 1..=5000.
        let ids: Vec<u32> = (0..5000u32).map(|i| (i * 3163) % 5000 + 1).collect();
        for &id in &ids {
            s.insert(id, id * 3);
        }
        for &id in &ids {
            assert!(s.contains(id));
            let Lookup::Found(v) = s.take(id) else {
                panic!("id {id}");
            };
            assert_eq!(v, id * 3);
            assert!(matches!(s.take(id), Lookup::Busy));
            s.put_back(id, v);
        }
        // Remove every other id (the hot one among them), busy or not.
        for &id in ids.iter().step_by(2) {
            if id % 4 == 1 {
                let Lookup::Found(v) = s.take(id) else {
                    panic!("id {id}");
                };
                assert!(matches!(s.remove(id), Lookup::Busy));
                s.put_back(id, v); // dropped: the id is gone
            } else {
                assert!(matches!(s.remove(id), Lookup::Found(v) if v == id * 3));
            }
            assert!(!s.contains(id));
            assert!(matches!(s.take(id), Lookup::Missing));
        }
        for (i, &id) in ids.iter().enumerate() {
            assert_eq!(s.contains(id), i % 2 == 1, "id {id}");
        }
        // New ids reuse the freed slots, then the store grows again.
        for id in 10_001..=20_000u32 {
            s.insert(id, id);
        }
        for id in 10_001..=20_000u32 {
            assert!(matches!(s.take(id), Lookup::Found(v) if v == id));
            s.put_back(id, id);
        }
        for &id in ids.iter().skip(1).step_by(2) {
            assert!(matches!(s.remove(id), Lookup::Found(v) if v == id * 3));
        }
        check_invariants(&s.cold.borrow().index);
    }

    #[test]
    fn store_reinsert_replaces_the_value() {
        let s = Store::default();
        s.insert(1, String::from("hot"));
        s.insert(2, String::from("a"));
        s.insert(2, String::from("b"));
        assert!(matches!(s.take(2), Lookup::Found(v) if v == "b"));
        s.put_back(2, String::from("c"));
        assert!(matches!(s.remove(2), Lookup::Found(v) if v == "c"));
        assert!(matches!(s.remove(2), Lookup::Missing));
        // Id 0 is never stored.
        s.insert(0, String::from("vm"));
        assert!(!s.contains(0));
        assert!(matches!(s.remove(0), Lookup::Missing));
        assert!(matches!(s.remove(1), Lookup::Found(v) if v == "hot"));
    }

    #[test]
    fn store_drops_every_value() {
        use std::rc::Rc;
        let counter = Rc::new(());
        {
            let s = Store::default();
            for id in 1..=100u32 {
                s.insert(id, Rc::clone(&counter));
            }
            for id in (1..=100u32).step_by(3) {
                assert!(matches!(s.remove(id), Lookup::Found(_)));
            }
            let Lookup::Found(v) = s.take(50) else {
                panic!("id 50");
            };
            assert!(matches!(s.remove(50), Lookup::Busy));
            s.put_back(50, v);
            assert_eq!(Rc::strong_count(&counter), 1 + 100 - 34 - 1);
        }
        assert_eq!(Rc::strong_count(&counter), 1);
    }
}

//! The contexts, by id.
//!
//! Hosts number contexts upward (Envoy: 1, 2, 3, … per VM), so the live ones
//! are mostly a band of recent ids. The store keeps each context in place
//! `id % NEAR` of a small array when that place is free, where finding it is
//! a compare; a context whose place is taken by another goes in a hash map
//! (`hashbrown`). Streams created together, and served interleaved, so cost
//! the same as one stream at a time.
//!
//! Values are *taken out* while user code runs and put back afterwards
//! ([`Store::take`], [`Store::put_back`]); no borrow is held across user code.
//! A lookup for a taken value finds it [`Lookup::Busy`]; a context removed
//! while taken is dropped when it is put back.

use crate::runtime::{IdHash, IdMap};
use core::cell::{Cell, RefCell};

/// How many contexts the array holds (then the map takes the rest).
const NEAR: usize = 32;

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
    /// What a live id's place holds: its value, or nothing while taken.
    fn of(value: Option<T>) -> Lookup<T> {
        match value {
            Some(value) => Lookup::Found(value),
            None => Lookup::Busy,
        }
    }
}

/// A place of the array: an id (0 when free) and its value (`None` while
/// taken).
struct Place<T> {
    id: Cell<u32>,
    value: Cell<Option<T>>,
}

impl<T> Place<T> {
    const fn free() -> Place<T> {
        Place {
            id: Cell::new(0),
            value: Cell::new(None),
        }
    }
}

/// Values by id; interior mutability only, no borrow outlives a method.
pub(crate) struct Store<T> {
    near: [Place<T>; NEAR],
    far: RefCell<IdMap<Option<T>>>,
}

impl<T> Store<T> {
    pub(crate) const fn new() -> Store<T> {
        Store {
            near: [const { Place::free() }; NEAR],
            far: RefCell::new(IdMap::with_hasher(IdHash)),
        }
    }

    /// The place of the array for `id` (which may hold another id).
    #[inline(always)]
    fn place(&self, id: u32) -> &Place<T> {
        let [first, ..] = &self.near;
        self.near.get(id as usize % NEAR).unwrap_or(first)
    }

    /// Inserts the value of a new context (replacing any for the same id).
    /// Id 0 (the VM's) is never stored.
    pub(crate) fn insert(&self, id: u32, value: T) {
        let place = self.place(id);
        if id == 0 {
            return;
        }
        let free = place.id.get() == 0 && !self.in_far(id);
        if place.id.get() == id || free {
            place.id.set(id);
            drop(place.value.replace(Some(value)));
        } else {
            self.insert_far(id, value);
        }
    }

    /// Whether the map holds `id` (a compare while it is empty).
    fn in_far(&self, id: u32) -> bool {
        self.far
            .try_borrow()
            .is_ok_and(|far| !far.is_empty() && far.contains_key(&id))
    }

    #[inline(never)]
    fn insert_far(&self, id: u32, value: T) {
        let replaced = match self.far.try_borrow_mut() {
            Ok(mut far) => far.insert(id, Some(value)),
            Err(_) => None,
        };
        drop(replaced); // after the borrow: a value's drop may run user code
    }

    /// Takes the value of `id` out while its callback runs.
    #[inline(always)]
    pub(crate) fn take(&self, id: u32) -> Lookup<T> {
        let place = self.place(id);
        if place.id.get() == id && id != 0 {
            return Lookup::of(place.value.take());
        }
        self.take_far(id)
    }

    #[inline(never)]
    fn take_far(&self, id: u32) -> Lookup<T> {
        let Ok(mut far) = self.far.try_borrow_mut() else {
            return Lookup::Missing;
        };
        far.get_mut(&id)
            .map_or(Lookup::Missing, |value| Lookup::of(value.take()))
    }

    /// Puts back a value taken with [`Store::take`]. If the id was removed
    /// meanwhile, the value is dropped here.
    #[inline(always)]
    pub(crate) fn put_back(&self, id: u32, value: T) {
        let place = self.place(id);
        if place.id.get() == id {
            place.value.set(Some(value));
        } else {
            self.put_back_far(id, value);
        }
    }

    #[inline(never)]
    fn put_back_far(&self, id: u32, value: T) {
        let unplaced = match self.far.try_borrow_mut() {
            Ok(mut far) => match far.get_mut(&id) {
                Some(place) => place.replace(value),
                None => Some(value),
            },
            Err(_) => Some(value),
        };
        drop(unplaced);
    }

    /// Removes an id: its value, or [`Lookup::Busy`] when a callback has it
    /// out (it is then dropped on put-back).
    pub(crate) fn remove(&self, id: u32) -> Lookup<T> {
        let place = self.place(id);
        if place.id.get() == id && id != 0 {
            place.id.set(0);
            return Lookup::of(place.value.take());
        }
        self.remove_far(id)
    }

    #[inline(never)]
    fn remove_far(&self, id: u32) -> Lookup<T> {
        let removed = match self.far.try_borrow_mut() {
            Ok(mut far) => far.remove(&id),
            Err(_) => None,
        };
        removed.map_or(Lookup::Missing, Lookup::of)
    }

    /// Whether `id` is live.
    pub(crate) fn contains(&self, id: u32) -> bool {
        let place = self.place(id);
        (place.id.get() == id && id != 0) || self.in_far(id)
    }

    /// How many contexts are live.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let near = self.near.iter().filter(|p| p.id.get() != 0).count();
        near + self.far.borrow().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_puts_back_and_removes_near_and_far_ids() {
        let s = Store::new();
        // 2 and 34 share a place of the array: 34 goes to the map.
        s.insert(2, "a");
        s.insert(34, "b");
        assert!(matches!(s.take(2), Lookup::Found("a")));
        assert!(matches!(s.take(2), Lookup::Busy));
        s.put_back(2, "a");
        assert!(matches!(s.take(34), Lookup::Found("b")));
        assert!(matches!(s.take(34), Lookup::Busy));
        // Removed while busy: the value is dropped on put-back.
        assert!(matches!(s.remove(34), Lookup::Busy));
        s.put_back(34, "b");
        assert!(!s.contains(34));
        assert!(matches!(s.remove(2), Lookup::Found("a")));
        assert!(matches!(s.take(0), Lookup::Missing));
        assert!(matches!(s.take(9), Lookup::Missing));
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn a_far_id_stays_reachable_after_its_place_frees() {
        let s = Store::new();
        s.insert(1, 10);
        s.insert(33, 330);
        assert!(matches!(s.remove(1), Lookup::Found(10)));
        assert!(s.contains(33));
        assert!(matches!(s.take(33), Lookup::Found(330)));
        s.put_back(33, 331);
        // A new id for the freed place goes there; 33 is still in the map.
        s.insert(65, 650);
        assert!(matches!(s.remove(33), Lookup::Found(331)));
        assert!(matches!(s.remove(65), Lookup::Found(650)));
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn keeps_thousands_of_concurrent_ids() {
        let s = Store::new();
        // Out of order: a permutation of 1..=5000.
        let ids: Vec<u32> = (0..5000u32).map(|i| (i * 3163) % 5000 + 1).collect();
        for &id in &ids {
            s.insert(id, id * 3);
        }
        assert_eq!(s.len(), 5000);
        for &id in &ids {
            assert!(s.contains(id));
            let Lookup::Found(v) = s.take(id) else {
                panic!("id {id}");
            };
            assert_eq!(v, id * 3);
            assert!(matches!(s.take(id), Lookup::Busy));
            s.put_back(id, v);
        }
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
        assert_eq!(s.len(), 2500);
    }

    #[test]
    fn reinsert_replaces_the_value_and_id_0_is_never_stored() {
        let s = Store::new();
        s.insert(1, String::from("near"));
        s.insert(2, String::from("a"));
        s.insert(2, String::from("b"));
        assert!(matches!(s.take(2), Lookup::Found(v) if v == "b"));
        s.put_back(2, String::from("c"));
        assert!(matches!(s.remove(2), Lookup::Found(v) if v == "c"));
        assert!(matches!(s.remove(2), Lookup::Missing));
        s.insert(0, String::from("vm"));
        assert!(!s.contains(0));
        assert!(matches!(s.remove(0), Lookup::Missing));
        assert!(matches!(s.remove(1), Lookup::Found(v) if v == "near"));
    }

    #[test]
    fn drops_every_value() {
        use std::rc::Rc;
        let counter = Rc::new(());
        {
            let s = Store::new();
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

    #[test]
    fn memory_stays_flat_for_a_steady_population() {
        let s = Store::new();
        let capacity = |s: &Store<u32>| s.far.borrow().capacity();
        let mut before = 0;
        // 100 live streams, ids moving upward: most share places, so the map
        // is in use, and it must not grow once warmed up.
        for id in 1..=100u32 {
            s.insert(id, id);
        }
        for id in 101..20_000u32 {
            if id == 1_000 {
                before = capacity(&s);
            }
            s.insert(id, id);
            assert!(
                matches!(s.remove(id - 100), Lookup::Found(v) if v == id - 100),
                "id {id}"
            );
        }
        assert!(before > 0);
        assert_eq!(capacity(&s), before);
        assert_eq!(s.len(), 100);
    }
}

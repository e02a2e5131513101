//! The contexts, by id.
//!
//! Hosts number contexts upward (Envoy: 1, 2, 3, … per VM), so the live ones
//! are mostly a band of recent ids. Each context belongs in place `id % NEAR`
//! of a small array, where finding it is a compare. When two live ids share
//! a place, the one used last is there and the other waits in a list sorted
//! by id ([`Far`]), from which a lookup brings it back. Streams created
//! together, and served interleaved, so cost the same as one stream at a
//! time, and no lookup returns a value through memory.
//!
//! The list is a `Vec` searched by bisection rather than a hash map: every
//! plugin links the store, and `hashbrown`'s insert and rehash cost about
//! 2 KB of `.wasm`, more than the rest of the store. Moving an entry in or
//! out shifts the ones above it (one `memory.copy`), which stays cheap
//! for the thousands of concurrent streams a worker may hold.
//!
//! Values are *taken out* while user code runs and put back afterwards
//! ([`Store::take`], [`Store::put_back`]); no borrow is held across user code.
//! A lookup for a taken value finds it [`Lookup::Busy`]; a context removed
//! while taken is dropped when it is put back. A taken value can be marked
//! ([`Store::mark_deferred`]) so that putting it back says events wait for it:
//! the common case, nothing deferred, then costs nothing extra.

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

/// What the store holds for a live id (`Free` only in a free place).
enum Slot<T> {
    Free,
    Ready(T),
    /// Taken out: a callback of the id is running.
    Busy,
    /// Taken out, and events wait for the value to come back.
    BusyDeferred,
}

impl<T> Slot<T> {
    /// The lookup of a live id's slot, taking its value out.
    fn take(slot: &Cell<Slot<T>>) -> Lookup<T> {
        match slot.replace(Slot::Busy) {
            Slot::Ready(value) => Lookup::Found(value),
            other => {
                slot.set(other);
                Lookup::Busy
            }
        }
    }
}

/// A place of the array: an id (0 when free) and its slot.
struct Place<T> {
    id: Cell<u32>,
    slot: Cell<Slot<T>>,
}

impl<T> Place<T> {
    const fn free() -> Place<T> {
        Place {
            id: Cell::new(0),
            slot: Cell::new(Slot::Free),
        }
    }
}

/// The slots of the live ids that are not in their place of the array,
/// sorted by id.
struct Far<T>(Vec<(u32, Slot<T>)>);

impl<T> Far<T> {
    /// Takes out the slot of `id`, if it is here.
    fn remove(&mut self, id: u32) -> Option<Slot<T>> {
        let at = self.0.binary_search_by_key(&id, |(key, _)| *key).ok()?;
        Some(self.0.remove(at).1)
    }

    /// Keeps the slot of `id` (replacing one it had here). (Out of line:
    /// both ways an id moves away from its place call it.)
    #[inline(never)]
    fn insert(&mut self, id: u32, slot: Slot<T>) {
        match self.0.binary_search_by_key(&id, |(key, _)| *key) {
            Ok(at) => {
                if let Some(entry) = self.0.get_mut(at) {
                    entry.1 = slot;
                }
            }
            Err(at) => self.0.insert(at, (id, slot)),
        }
    }
}

/// Values by id; interior mutability only, no borrow outlives a method.
pub(crate) struct Store<T> {
    near: [Place<T>; NEAR],
    far: RefCell<Far<T>>,
}

impl<T> Store<T> {
    pub(crate) const fn new() -> Store<T> {
        Store {
            near: [const { Place::free() }; NEAR],
            far: RefCell::new(Far(Vec::new())),
        }
    }

    /// The place of the array for `id` (which may hold another id).
    #[inline(always)]
    fn place(&self, id: u32) -> &Place<T> {
        let [first, ..] = &self.near;
        self.near.get(id as usize % NEAR).unwrap_or(first)
    }

    /// The place holding live `id`: its own place of the array, where `id`
    /// is brought from the map if another id held it. `None` for an id
    /// that is not live (and for 0, the VM's, which is never stored).
    #[inline(always)]
    fn find(&self, id: u32) -> Option<&Place<T>> {
        let place = self.place(id);
        if (place.id.get() == id || self.bring_near(id)) && id != 0 {
            Some(place)
        } else {
            None
        }
    }

    /// Moves `id` from the map to its place, and the place's id (if any) to
    /// the map. Returns whether `id` was in the map.
    #[inline(never)]
    fn bring_near(&self, id: u32) -> bool {
        let Ok(mut far) = self.far.try_borrow_mut() else {
            return false;
        };
        let Some(slot) = far.remove(id) else {
            return false;
        };
        let place = self.place(id);
        let (other, other_slot) = (place.id.replace(id), place.slot.replace(slot));
        if other != 0 {
            far.insert(other, other_slot);
        }
        true
    }

    /// Inserts the value of a new context in its place, moving the id that
    /// held it (if any) to the map. A live id's value is replaced. Id 0 (the
    /// VM's) is never stored.
    pub(crate) fn insert(&self, id: u32, value: T) {
        if id == 0 {
            return;
        }
        let place = self.place(id);
        // (A free place, the common case, is the first test.)
        if place.id.get() != 0 && place.id.get() != id && !self.bring_near(id) {
            self.move_far(place);
        }
        place.id.set(id);
        drop(place.slot.replace(Slot::Ready(value)));
    }

    /// Moves the id of `place` to the map, freeing the place.
    #[inline(never)]
    fn move_far(&self, place: &Place<T>) {
        if let Ok(mut far) = self.far.try_borrow_mut() {
            far.insert(place.id.replace(0), place.slot.replace(Slot::Free));
        }
    }

    /// Runs `f` on the value of `id` when it sits in its place, no callback
    /// has it out and it is `wanted`: the value is taken out meanwhile, and
    /// put back after. `None` when it is elsewhere, unwanted, or when `f`
    /// declines it; else
    /// `f`'s answer and whether events were deferred for `id` meanwhile.
    #[inline(always)]
    pub(crate) fn with_near<R>(
        &self,
        id: u32,
        wanted: impl Fn(&T) -> bool,
        f: impl FnOnce(&mut T) -> Option<R>,
    ) -> Option<(R, bool)> {
        let place = self.place(id);
        if place.id.get() != id {
            return None;
        }
        let mut value = match place.slot.replace(Slot::Busy) {
            Slot::Ready(value) if wanted(&value) => value,
            other => {
                place.slot.set(other);
                return None;
            }
        };
        let result = f(&mut value);
        // Put back where it was taken from, unless user code moved it.
        let deferred = if place.id.get() == id {
            matches!(place.slot.replace(Slot::Ready(value)), Slot::BusyDeferred)
        } else {
            self.put_back_moved(id, value)
        };
        result.map(|r| (r, deferred))
    }

    /// Runs `f` on the value of `id` wherever it is, taken out meanwhile:
    /// `f`'s answer and whether events were deferred for `id` meanwhile.
    #[inline(always)]
    pub(crate) fn with<R>(&self, id: u32, f: impl FnOnce(&mut T) -> R) -> Lookup<(R, bool)> {
        let mut f = Some(f);
        if let Some(found) = self.with_near(id, |_| true, |value| f.take().map(|f| f(value))) {
            return Lookup::Found(found);
        }
        let Some(f) = f else {
            return Lookup::Missing;
        };
        match self.take(id) {
            Lookup::Found(mut value) => {
                let answer = f(&mut value);
                Lookup::Found((answer, self.put_back(id, value)))
            }
            Lookup::Busy => Lookup::Busy,
            Lookup::Missing => Lookup::Missing,
        }
    }

    /// Takes the value of `id` out while its callback runs.
    #[inline(always)]
    pub(crate) fn take(&self, id: u32) -> Lookup<T> {
        match self.find(id) {
            Some(place) => Slot::take(&place.slot),
            None => Lookup::Missing,
        }
    }

    /// Puts back a value taken with [`Store::take`], returning whether events
    /// were deferred for it meanwhile. If the id was removed meanwhile, the
    /// value is dropped here.
    #[inline(always)]
    pub(crate) fn put_back(&self, id: u32, value: T) -> bool {
        match self.find(id) {
            Some(place) => matches!(place.slot.replace(Slot::Ready(value)), Slot::BusyDeferred),
            None => {
                drop(value);
                false
            }
        }
    }

    /// [`Store::with_near`]'s put-back when user code moved `id` out of its
    /// place (or removed it).
    #[cold]
    #[inline(never)]
    fn put_back_moved(&self, id: u32, value: T) -> bool {
        self.put_back(id, value)
    }

    /// Marks the taken value of `id` so that putting it back reports
    /// deferred events.
    pub(crate) fn mark_deferred(&self, id: u32) {
        if let Some(place) = self.find(id) {
            match place.slot.replace(Slot::BusyDeferred) {
                Slot::Busy | Slot::BusyDeferred => {}
                other => place.slot.set(other),
            }
        }
    }

    /// Removes an id: its value, or [`Lookup::Busy`] when a callback has it
    /// out (it is then dropped on put-back).
    pub(crate) fn remove(&self, id: u32) -> Lookup<T> {
        match self.find(id) {
            Some(place) => {
                place.id.set(0);
                match place.slot.replace(Slot::Free) {
                    Slot::Ready(value) => Lookup::Found(value),
                    _ => Lookup::Busy,
                }
            }
            None => Lookup::Missing,
        }
    }

    /// Whether `id` is live.
    pub(crate) fn contains(&self, id: u32) -> bool {
        self.find(id).is_some()
    }

    /// How many contexts are live.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let near = self.near.iter().filter(|p| p.id.get() != 0).count();
        near + self.far.borrow().0.len()
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
        // Out of order: a permutation of 1..=N. (Fewer under Miri, which
        // checks the same code path and copies the shifted list slowly.)
        let n: u32 = if cfg!(miri) { 500 } else { 5000 };
        let ids: Vec<u32> = (0..n).map(|i| (i * 3163) % n + 1).collect();
        for &id in &ids {
            s.insert(id, id * 3);
        }
        assert_eq!(s.len(), n as usize);
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
        assert_eq!(s.len(), n as usize / 2);
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
        let capacity = |s: &Store<u32>| s.far.borrow().0.capacity();
        let mut before = 0;
        // 100 live streams, ids moving upward: most share places, so the map
        // is in use, and it must not grow once warmed up.
        for id in 1..=100u32 {
            s.insert(id, id);
        }
        let end: u32 = if cfg!(miri) { 3_000 } else { 20_000 };
        for id in 101..end {
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

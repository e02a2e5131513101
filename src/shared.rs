//! Shared data (a key-value store) and shared queues, both scoped to the
//! `vm_id`: shared by every worker, VM and plugin with that `vm_id`.

use crate::abi::calls;
use crate::abi::memory::HostBytes;
use crate::error::{check, optional};
use crate::{Error, Result, Status};

/// The id of a shared queue, from [`register_queue`] or [`resolve_queue`].
///
/// ```
/// assert_eq!(proxywasm::QueueId(1).0, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QueueId(pub u32);

/// A compare-and-swap version of a shared-data entry.
///
/// ```
/// assert_eq!(proxywasm::shared::Cas(3).0, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cas(pub u32);

/// The value and CAS of `key`, or `None` if absent.
///
/// # Errors
/// The hostcall's status.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// use proxywasm::shared;
/// shared::set("hits", b"1", None)?;
/// let (value, cas) = shared::get("hits")?.unwrap();
/// assert_eq!(value, "1");
/// shared::set("hits", b"2", Some(cas))?;
/// # Ok(()) });
/// ```
pub fn get(key: &str) -> Result<Option<(HostBytes, Cas)>> {
    Ok(optional(
        "proxy_get_shared_data",
        calls::get_shared_data(key.as_bytes()),
    )?
    .map(|(v, cas)| (v, Cas(cas))))
}

/// Writes `key`. With `Some(cas)`, only if the entry is still at that version.
///
/// A missing key is created whatever `cas` is, and `None` (CAS 0)
/// overwrites whatever another worker wrote since your [`get`]: for a
/// read-modify-write, [`update`] or [`Counter`] handle both.
///
/// # Errors
/// A [`Status::CasMismatch`] error when another writer won; see
/// [`is_cas_mismatch`].
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// use proxywasm::shared::{self, Cas};
/// shared::set("k", b"a", None)?;
/// let stale = Cas(999_999);
/// let err = shared::set("k", b"b", Some(stale)).unwrap_err();
/// assert!(shared::is_cas_mismatch(&err));
/// # Ok(()) });
/// ```
pub fn set(key: &str, value: &[u8], cas: Option<Cas>) -> Result<()> {
    check(
        "proxy_set_shared_data",
        calls::set_shared_data(key.as_bytes(), value, cas.map_or(0, |c| c.0)),
    )
}

/// Whether `error` is a lost compare-and-swap (retry with a fresh [`get`]).
///
/// ```
/// use proxywasm::{Error, Status};
/// assert!(proxywasm::shared::is_cas_mismatch(&Error::host("proxy_set_shared_data", Status::CasMismatch)));
/// ```
pub fn is_cas_mismatch(error: &crate::Error) -> bool {
    error.status() == Some(Status::CasMismatch)
}

/// How many times [`update`] reads, computes and tries to write before it
/// gives up: each failed attempt means another worker wrote the key in
/// between, so a bound this size is reached only under pathological
/// contention. [`update_with_attempts`] takes another bound.
///
/// ```
/// assert_eq!(proxywasm::shared::DEFAULT_MAX_ATTEMPTS, 32);
/// ```
pub const DEFAULT_MAX_ATTEMPTS: u32 = 32;

/// The CAS a creating write carries. The ABI has no "create only if absent":
/// a missing key is created whatever CAS a write carries, and a write with
/// CAS 0 overwrites anything. A write carrying this CAS creates the key when
/// it is still missing; when another worker created it meanwhile, the entry
/// carries a CAS from the host's counter, which starts at 1 and reaches
/// `u32::MAX` only after about four billion writes in the process, so the
/// write fails with `CAS_MISMATCH` and [`update`] reads again (book:
/// reference/hostcalls.md#shared-data).
const CREATE_CAS: Cas = Cas(u32::MAX);

/// Reads `key`, computes its new value with `f` and writes it only if nobody
/// wrote `key` in between; on a lost race, reads again and retries, at most
/// [`DEFAULT_MAX_ATTEMPTS`] times. A missing key is created the same way: two
/// workers that both see it missing cannot both create it, one of them
/// retries on the other's value.
///
/// `f` receives the current value (`None` when the key does not exist) and
/// returns the value to write, or `None` to leave the key as it is. It may
/// run several times (once per attempt), so keep side effects out of it and
/// return what you decided through the value. An error from `f` stops the
/// update and is returned as is.
///
/// Returns the value written, or `None` when `f` chose not to write.
///
/// # Errors
/// An error from `f`; a hostcall's status; or, after
/// [`DEFAULT_MAX_ATTEMPTS`] attempts lost to other writers, an error naming
/// `key` and the number of attempts.
///
/// # Limits
/// The ABI cannot create a key only if it is absent, so a creating write
/// carries the CAS `u32::MAX`, which a fresh entry does not hold (book:
/// reference/hostcalls.md#shared-data). The host's CAS counter, one for the
/// whole process, reaches `u32::MAX` once in about four billion writes; only
/// if that write created this key at the very moment this worker was
/// creating it too is one update lost.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// use proxywasm::shared;
///
/// // A comma-separated list of the paths seen, shared by every worker.
/// let written = shared::update("paths", |old| {
///     let mut list = old.unwrap_or_default().to_vec();
///     if !list.is_empty() {
///         list.push(b',');
///     }
///     list.extend_from_slice(b"/a");
///     Ok(Some(list))
/// })?;
/// assert_eq!(written.as_deref(), Some(&b"/a"[..]));
///
/// // Returning `None` writes nothing: here, "/b" only if the key is missing.
/// let refused = shared::update("paths", |old| {
///     Ok(old.is_none().then(|| b"/b".to_vec()))
/// })?;
/// assert_eq!(refused, None);
/// assert_eq!(shared::get("paths")?.unwrap().0, "/a");
/// # Ok(()) });
/// ```
pub fn update<V, F>(key: &str, f: F) -> Result<Option<V>>
where
    V: AsRef<[u8]>,
    F: FnMut(Option<&[u8]>) -> Result<Option<V>>,
{
    update_with_attempts(key, DEFAULT_MAX_ATTEMPTS, f)
}

/// [`update`] with at most `max_attempts` attempts (at least one is made,
/// whatever `max_attempts` says).
///
/// # Errors
/// As [`update`], after `max_attempts` lost attempts.
///
/// ```
/// use proxywasm::mock::{MockHost, MockWorld};
/// use proxywasm::shared;
/// use std::rc::Rc;
/// # struct Noop; impl proxywasm::HttpContext for Noop {}
///
/// // Two workers of one Envoy: `other` writes "hits" right after each of
/// // `worker`'s reads, so every attempt of `worker` loses the race.
/// let world = MockWorld::new();
/// let worker = MockHost::builder().world(&world).http(|_| Noop);
/// let other = Rc::new(MockHost::builder().world(&world).http(|_| Noop));
/// for _ in 0..2 {
///     let other = other.clone();
///     worker.interleave_on("proxy_get_shared_data", move || {
///         other.run(|| shared::set("hits", b"x", None)).unwrap();
///     });
/// }
/// let error = worker
///     .run(|| shared::update_with_attempts("hits", 2, |_| Ok(Some(b"y"))))
///     .unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "shared data `hits`: not updated after 2 attempts, each lost to another writer (CAS_MISMATCH)"
/// );
/// ```
pub fn update_with_attempts<V, F>(key: &str, max_attempts: u32, mut f: F) -> Result<Option<V>>
where
    V: AsRef<[u8]>,
    F: FnMut(Option<&[u8]>) -> Result<Option<V>>,
{
    let attempts = max_attempts.max(1);
    for _ in 0..attempts {
        let current = get(key)?;
        let (old, cas) = match &current {
            Some((value, cas)) => (Some(value.as_bytes()), *cas),
            None => (None, CREATE_CAS),
        };
        let Some(new) = f(old)? else {
            return Ok(None);
        };
        match set(key, new.as_ref(), Some(cas)) {
            Ok(()) => return Ok(Some(new)),
            Err(e) if is_cas_mismatch(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Err(Error::other(format_args!(
        "shared data `{key}`: not updated after {attempts} attempts, each lost to another writer (CAS_MISMATCH)"
    )))
}

/// A `u64` counter in shared data, added to by every worker without lost
/// updates ([`update`] underneath). Stored as 8 bytes, little-endian; a
/// missing key counts as 0.
///
/// Make it where you need it (it is a key and a bound, nothing else) or keep
/// it in a `const`.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// use proxywasm::shared::Counter;
///
/// const REQUESTS: Counter<'static> = Counter::new("requests");
/// assert_eq!(REQUESTS.get()?, 0);
/// assert_eq!(REQUESTS.add(1)?, 1);
/// assert_eq!(REQUESTS.add(2)?, 3);
/// assert_eq!(proxywasm::shared::get("requests")?.unwrap().0.as_bytes(), 3u64.to_le_bytes());
///
/// // A key built at run time: one counter per client.
/// let client = "10.0.0.7";
/// let key = format!("requests:{client}");
/// assert_eq!(Counter::new(&key).add(1)?, 1);
/// # Ok(()) });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Counter<'k> {
    key: &'k str,
    max_attempts: u32,
}

impl<'k> Counter<'k> {
    /// The counter stored under `key`, updated with at most
    /// [`DEFAULT_MAX_ATTEMPTS`] attempts.
    ///
    /// ```
    /// let counter = proxywasm::shared::Counter::new("hits");
    /// assert_eq!(counter.key(), "hits");
    /// ```
    pub const fn new(key: &'k str) -> Counter<'k> {
        Counter {
            key,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// The same counter with another bound on [`add`](Counter::add)'s attempts
    /// (see [`update_with_attempts`]).
    ///
    /// ```
    /// let counter = proxywasm::shared::Counter::new("hits").with_max_attempts(4);
    /// assert_eq!(counter.max_attempts(), 4);
    /// ```
    pub const fn with_max_attempts(self, max_attempts: u32) -> Counter<'k> {
        Counter {
            key: self.key,
            max_attempts,
        }
    }

    /// The shared-data key.
    ///
    /// ```
    /// assert_eq!(proxywasm::shared::Counter::new("hits").key(), "hits");
    /// ```
    pub const fn key(&self) -> &'k str {
        self.key
    }

    /// The bound on [`add`](Counter::add)'s attempts.
    ///
    /// ```
    /// use proxywasm::shared::{Counter, DEFAULT_MAX_ATTEMPTS};
    /// assert_eq!(Counter::new("hits").max_attempts(), DEFAULT_MAX_ATTEMPTS);
    /// ```
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The current value; 0 when the key does not exist.
    ///
    /// # Errors
    /// The hostcall's status, or an error naming the key when the stored
    /// value is not 8 bytes.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// use proxywasm::shared::{self, Counter};
    ///
    /// shared::set("hits", &7u64.to_le_bytes(), None)?;
    /// assert_eq!(Counter::new("hits").get()?, 7);
    ///
    /// shared::set("text", b"7", None)?;
    /// let error = Counter::new("text").get().unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "shared data `text`: a counter is 8 bytes (u64, little-endian), found 1"
    /// );
    /// # Ok(()) });
    /// ```
    pub fn get(&self) -> Result<u64> {
        match get(self.key)? {
            Some((value, _)) => self.decode(Some(value.as_bytes())),
            None => Ok(0),
        }
    }

    /// Adds `n` and returns the new value. Concurrent adds from other
    /// workers are never lost: each retries on the other's value.
    ///
    /// # Errors
    /// As [`get`](Counter::get); an error naming the key when the sum would
    /// overflow `u64` (nothing is written); as [`update_with_attempts`]
    /// when every attempt lost to another writer.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// use proxywasm::shared::Counter;
    ///
    /// let bytes = Counter::new("bytes");
    /// assert_eq!(bytes.add(1500)?, 1500);
    /// assert_eq!(bytes.add(500)?, 2000);
    /// assert!(bytes.add(u64::MAX).is_err(), "overflow: nothing written");
    /// assert_eq!(bytes.get()?, 2000);
    /// # Ok(()) });
    /// ```
    pub fn add(&self, n: u64) -> Result<u64> {
        let written = update_with_attempts(self.key, self.max_attempts, |old| {
            let current = self.decode(old)?;
            let sum = current.checked_add(n).ok_or_else(|| {
                Error::other(format_args!(
                    "shared data `{}`: adding {n} to {current} overflows u64",
                    self.key
                ))
            })?;
            Ok(Some(sum.to_le_bytes()))
        })?;
        // `f` always asks for a write, so `None` cannot come back; 0 keeps
        // the function total.
        Ok(written.map_or(0, u64::from_le_bytes))
    }

    /// The stored bytes as a count (`None`: a missing key, 0).
    fn decode(&self, value: Option<&[u8]>) -> Result<u64> {
        let Some(value) = value else {
            return Ok(0);
        };
        <[u8; 8]>::try_from(value)
            .map(u64::from_le_bytes)
            .map_err(|_| {
                Error::other(format_args!(
                    "shared data `{}`: a counter is 8 bytes (u64, little-endian), found {}",
                    self.key,
                    value.len()
                ))
            })
    }
}

/// Registers (or re-registers) a queue of this `vm_id`; this plugin context
/// receives its `on_queue_ready` notifications (last registrant wins).
///
/// # Errors
/// The hostcall's status.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let queue = proxywasm::shared::register_queue("events")?;
/// proxywasm::shared::enqueue(queue, b"hello")?;
/// assert_eq!(proxywasm::shared::dequeue(queue)?.unwrap(), "hello");
/// assert!(proxywasm::shared::dequeue(queue)?.is_none());
/// # Ok(()) });
/// ```
pub fn register_queue(name: &str) -> Result<QueueId> {
    check(
        "proxy_register_shared_queue",
        calls::register_shared_queue(name.as_bytes()),
    )
    .map(QueueId)
}

/// Finds a queue registered by the VM `vm_id` (empty = this VM's `vm_id`);
/// `None` if nobody registered it.
///
/// # Errors
/// The hostcall's status.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// assert!(proxywasm::shared::resolve_queue("", "nobody")?.is_none());
/// # Ok(()) });
/// ```
pub fn resolve_queue(vm_id: &str, name: &str) -> Result<Option<QueueId>> {
    Ok(optional(
        "proxy_resolve_shared_queue",
        calls::resolve_shared_queue(vm_id.as_bytes(), name.as_bytes()),
    )?
    .map(QueueId))
}

/// Appends an item; the registrant is notified asynchronously.
///
/// # Errors
/// `NOT_FOUND` for an unknown queue.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let queue = proxywasm::shared::register_queue("q")?;
/// proxywasm::shared::enqueue(queue, b"item")?;
/// # Ok(()) });
/// ```
pub fn enqueue(queue: QueueId, item: &[u8]) -> Result<()> {
    check(
        "proxy_enqueue_shared_queue",
        calls::enqueue_shared_queue(queue.0, item),
    )
}

/// Takes the oldest item, or `None` when the queue is empty.
///
/// # Errors
/// `NOT_FOUND` for an unknown queue.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let queue = proxywasm::shared::register_queue("q")?;
/// assert!(proxywasm::shared::dequeue(queue)?.is_none());
/// # Ok(()) });
/// ```
pub fn dequeue(queue: QueueId) -> Result<Option<HostBytes>> {
    match calls::dequeue_shared_queue(queue.0) {
        Err(7) => Ok(None),
        raw => check("proxy_dequeue_shared_queue", raw).map(Some),
    }
}

//! Shared data (a key-value store) and shared queues, both scoped to the
//! `vm_id`: shared by every worker, VM and plugin with that `vm_id`.

use crate::abi::calls;
use crate::abi::memory::HostBytes;
use crate::error::{check, optional};
use crate::{Result, Status};

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

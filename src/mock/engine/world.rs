//! State shared between the VMs of one test: shared data and shared queues
//! (keyed by `vm_id`, as Envoy scopes them process-wide), metrics (global by
//! name), the CAS counter, and each VM's mailbox of queue notifications.

use super::vm::Vm;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::{Rc, Weak};

/// A notification waiting for its VM's event loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// `proxy_on_queue_ready(root, token)`.
    QueueReady { root: u32, token: u32 },
}

#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) vm_id: String,
    pub(crate) name: String,
    pub(crate) items: VecDeque<Vec<u8>>,
    /// (VM index, root context) notified on enqueue: the last registrant.
    pub(crate) registrant: (usize, u32),
}

/// Metric kinds (book: reference/enumerations.md#metric-types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

impl MetricKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Metric {
    /// A counter's or gauge's value: unsigned 64 bits, wrapping, as Envoy's.
    pub(crate) value: u64,
    pub(crate) samples: Vec<u64>,
}

/// One `vm_id`'s shared data: key → (value, CAS).
pub(crate) type SharedData = BTreeMap<Vec<u8>, (Vec<u8>, u32)>;

#[derive(Default)]
pub(crate) struct WorldData {
    /// vm_id → its shared data.
    pub(crate) shared: BTreeMap<String, SharedData>,
    pub(crate) next_cas: u32,
    /// token → queue.
    pub(crate) queues: BTreeMap<u32, Queue>,
    pub(crate) next_queue: u32,
    /// (kind, name) → metric. Envoy's stats are process-global by name.
    pub(crate) metrics: BTreeMap<(MetricKind, String), Metric>,
    pub(crate) vms: Vec<Weak<Vm>>,
    pub(crate) mailboxes: Vec<VecDeque<Event>>,
}

/// The world several [`MockHost`](crate::mock::MockHost)s share: shared data
/// and shared queues (per `vm_id`), and metrics (per name), like one Envoy
/// process. Each host gets a world of its own unless given one with
/// [`MockHostBuilder::world`](crate::mock::MockHostBuilder::world). Cloning
/// gives another handle to the same world.
///
/// # Examples
///
/// ```
/// use proxywasm::mock::{MockHost, MockWorld};
///
/// let world = MockWorld::new();
/// world.set_shared_data("vm_a", "greeting", b"hi");
/// let host = MockHost::builder().world(&world).vm_id("vm_a").http(|_| proxywasm::mock::Noop);
/// let seen = host.run(|| proxywasm::shared::get("greeting")).unwrap();
/// assert_eq!(seen.unwrap().0, "hi");
/// assert_eq!(world.shared_data("vm_b", "greeting"), None); // other vm_id, other data
/// ```
#[derive(Clone, Default)]
pub struct MockWorld {
    pub(crate) data: Rc<RefCell<WorldData>>,
}

impl core::fmt::Debug for MockWorld {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.data.try_borrow() {
            Ok(data) => f
                .debug_struct("MockWorld")
                .field("vm_ids", &data.shared.keys().collect::<Vec<_>>())
                .field("queues", &data.queues.len())
                .field("metrics", &data.metrics.len())
                .field("vms", &data.vms.len())
                .finish(),
            Err(_) => f.write_str("MockWorld { <busy> }"),
        }
    }
}

impl MockWorld {
    /// An empty world.
    ///
    /// ```
    /// let world = proxywasm::mock::MockWorld::new();
    /// assert_eq!(world.shared_data("", "k"), None);
    /// ```
    pub fn new() -> MockWorld {
        MockWorld::default()
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut WorldData) -> R) -> R {
        f(&mut self.data.borrow_mut())
    }

    /// Seeds (or overwrites) shared data `key` of `vm_id`, with a fresh CAS.
    ///
    /// ```
    /// let world = proxywasm::mock::MockWorld::new();
    /// world.set_shared_data("", "k", b"v");
    /// assert_eq!(world.shared_data("", "k").unwrap().0, b"v");
    /// ```
    pub fn set_shared_data(&self, vm_id: &str, key: &str, value: &[u8]) {
        self.with(|w| {
            let cas = w.fresh_cas();
            w.shared
                .entry(vm_id.to_owned())
                .or_default()
                .insert(key.as_bytes().to_vec(), (value.to_vec(), cas));
        });
    }

    /// Shared data `key` of `vm_id`: the value and its CAS.
    ///
    /// ```
    /// let world = proxywasm::mock::MockWorld::new();
    /// world.set_shared_data("vm", "k", b"1");
    /// let (value, cas) = world.shared_data("vm", "k").unwrap();
    /// assert_eq!(value, b"1");
    /// assert_ne!(cas, 0);
    /// ```
    pub fn shared_data(&self, vm_id: &str, key: &str) -> Option<(Vec<u8>, u32)> {
        self.with(|w| {
            w.shared
                .get(vm_id)
                .and_then(|m| m.get(key.as_bytes()))
                .cloned()
        })
    }

    /// Every shared-data key of `vm_id`, sorted.
    ///
    /// ```
    /// let world = proxywasm::mock::MockWorld::new();
    /// world.set_shared_data("", "b", b"");
    /// world.set_shared_data("", "a", b"");
    /// assert_eq!(world.shared_data_keys(""), vec!["a".to_string(), "b".to_string()]);
    /// ```
    pub fn shared_data_keys(&self, vm_id: &str) -> Vec<String> {
        self.with(|w| {
            w.shared
                .get(vm_id)
                .map(|m| {
                    m.keys()
                        .map(|k| String::from_utf8_lossy(k).into_owned())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// The number of items waiting in queue `name` of `vm_id`, or `None` if no
    /// plugin registered it.
    ///
    /// ```
    /// let world = proxywasm::mock::MockWorld::new();
    /// assert_eq!(world.queue_len("receiver", "events"), None);
    /// ```
    pub fn queue_len(&self, vm_id: &str, name: &str) -> Option<usize> {
        self.with(|w| {
            w.queues
                .values()
                .find(|q| q.vm_id == vm_id && q.name == name)
                .map(|q| q.items.len())
        })
    }

    pub(crate) fn register_vm(&self, vm: Weak<Vm>) -> usize {
        self.with(|w| {
            w.vms.push(vm);
            w.mailboxes.push(VecDeque::new());
            w.vms.len() - 1
        })
    }

    pub(crate) fn post(&self, vm: usize, event: Event) {
        self.with(|w| {
            if let Some(mailbox) = w.mailboxes.get_mut(vm) {
                mailbox.push_back(event);
            }
        });
    }

    pub(crate) fn take_mail(&self, vm: usize) -> Vec<Event> {
        self.with(|w| {
            w.mailboxes
                .get_mut(vm)
                .map(|m| m.drain(..).collect())
                .unwrap_or_default()
        })
    }

    /// Other live VMs with mail waiting.
    pub(crate) fn others_with_mail(&self, me: usize) -> Vec<Rc<Vm>> {
        self.with(|w| {
            w.mailboxes
                .iter()
                .enumerate()
                .filter(|(i, m)| *i != me && !m.is_empty())
                .filter_map(|(i, _)| w.vms.get(i).and_then(Weak::upgrade))
                .collect()
        })
    }
}

impl WorldData {
    /// A new CAS value: process-global, never 0 (book: reference/hostcalls.md#shared-data).
    pub(crate) fn fresh_cas(&mut self) -> u32 {
        self.next_cas = self.next_cas.wrapping_add(1);
        if self.next_cas == 0 {
            self.next_cas = 1;
        }
        self.next_cas
    }
}

//! `shared_queue`: one plugin in three roles, passing messages through a
//! shared queue from filters on Envoy's workers to a Wasm Service.
//!
//! The configuration picks the role:
//!
//! * `{"receiver": {"queue": "events"}}`: the **receiver**, run as a
//!   singleton Wasm Service (`bootstrap_extensions`, `envoy.bootstrap.wasm`).
//!   It registers the queue when configured, and on every `on_queue_ready`
//!   dequeues all waiting items and logs each
//!   (`shared_queue: dequeued <item>`).
//! * `{"sender": {"vm_id": "receiver", "queue": "events"}}`: a **sender**. As
//!   an HTTP filter it enqueues `http <method> <path>` per request; as a
//!   network filter it enqueues `tcp <n> bytes` per chunk of downstream
//!   data. It finds the queue by the receiver's `vm_id` and the queue name
//!   ([`shared::resolve_queue`]), for every item: the receiver may register
//!   it after the sender starts. Senders never block the traffic: an item
//!   that cannot be sent is logged at warn level and dropped.
//!
//! A queue belongs to the `vm_id` of the VM that registered it, so the
//! senders, in VMs of their own `vm_id`, name the receiver's.

use proxywasm::log::{info, warn};
use proxywasm::{
    Action, Configuration, ContextId, HttpContext, PluginContext, QueueId, Result, TcpContext,
    http, shared,
};
use std::rc::Rc;

/// The plugin configuration: one role.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Config {
    /// Registers `queue` and logs what arrives.
    Receiver {
        /// The queue's name.
        queue: String,
    },
    /// Sends to `queue` of the VM `vm_id`.
    Sender(Target),
}

/// Where a sender's items go.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The receiver's `vm_id`.
    pub vm_id: String,
    /// The queue's name.
    pub queue: String,
}

impl Target {
    /// Enqueues `item`, or logs why not; never fails the traffic.
    fn send(&self, item: &str) {
        match shared::resolve_queue(&self.vm_id, &self.queue) {
            Ok(Some(queue)) => match shared::enqueue(queue, item.as_bytes()) {
                Ok(()) => info!("shared_queue: enqueued {item}"),
                Err(e) => warn!("shared_queue: {item} not enqueued: {e}"),
            },
            Ok(None) => warn!(
                "shared_queue: {item} dropped: no queue {} in vm {}",
                self.queue, self.vm_id
            ),
            Err(e) => warn!("shared_queue: {item} dropped: {e}"),
        }
    }
}

/// The plugin context of either role.
#[derive(Debug, Default)]
pub struct Plugin {
    /// The sender's target; `None` for the receiver.
    target: Option<Rc<Target>>,
}

impl PluginContext for Plugin {
    type Http = HttpSender;
    type Tcp = TcpSender;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        match configuration.json()? {
            Config::Receiver { queue } => {
                shared::register_queue(&queue)?;
                info!("shared_queue: receiver registered queue {queue}");
            }
            Config::Sender(target) => {
                info!(
                    "shared_queue: sender to queue {} of vm {}",
                    target.queue, target.vm_id
                );
                self.target = Some(Rc::new(target));
            }
        }
        Ok(())
    }

    fn on_queue_ready(&mut self, queue: QueueId) -> Result<()> {
        while let Some(item) = shared::dequeue(queue)? {
            info!("shared_queue: dequeued {item}");
        }
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<HttpSender> {
        Some(HttpSender {
            target: self.target.clone()?,
        })
    }

    fn new_tcp_context(&mut self, _id: ContextId) -> Option<TcpSender> {
        Some(TcpSender {
            target: self.target.clone()?,
        })
    }
}

/// A sender's HTTP stream.
#[derive(Debug)]
pub struct HttpSender {
    target: Rc<Target>,
}

impl HttpContext for HttpSender {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let headers = http::request_headers();
        let method = headers.get(":method")?.map(|m| m.to_string());
        let path = headers.get(":path")?.map(|p| p.to_string());
        let (method, path) = (method.unwrap_or_default(), path.unwrap_or_default());
        self.target.send(&format!("http {method} {path}"));
        Ok(Action::Continue)
    }
}

/// A sender's TCP connection.
#[derive(Debug)]
pub struct TcpSender {
    target: Rc<Target>,
}

impl TcpContext for TcpSender {
    fn on_downstream_data(&mut self, data_size: usize, _end_of_stream: bool) -> Result<Action> {
        if data_size > 0 {
            self.target.send(&format!("tcp {data_size} bytes"));
        }
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

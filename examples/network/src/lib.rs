//! `network`: a network (TCP) filter that logs each connection's events —
//! the new connection, the data each way, the closes — and, once the
//! upstream answers, where it went: the upstream address and the
//! upstream cluster's metadata, read as typed attributes
//! ([`proxywasm::attribute`]).
//!
//! * `on_new_connection` counts the connection (counter
//!   [`CONNECTIONS`]) and logs the client's address (`source.address`).
//! * `on_downstream_data` logs the bytes the client sent, escaped.
//! * The first `on_upstream_data` logs `upstream.address`,
//!   `xds.cluster_name` and every field of the cluster's metadata namespace
//!   [`NAMESPACE`] (`xds.cluster_metadata`): `tcp_proxy` picks the cluster
//!   after this filter saw the connection, so the upstream attributes exist
//!   only once data comes back.
//! * The closes and `on_done` are logged with the peer that closed.

use proxywasm::attribute::{Value, source, upstream, xds};
use proxywasm::log::info;
use proxywasm::metrics::Counter;
use proxywasm::{
    Action, Configuration, ContextId, NoContext, PeerType, PluginContext, Result, TcpContext, tcp,
};

/// The counter of connections seen.
pub const CONNECTIONS: &str = "network.connections_total";

/// The cluster metadata namespace whose fields are logged.
pub const NAMESPACE: &str = "location";

/// The plugin context: owns the connection counter.
#[derive(Debug, Default)]
pub struct Plugin {
    connections: Option<Counter>,
}

#[proxywasm::callbacks]
impl PluginContext for Plugin {
    type Http = NoContext;
    type Tcp = Connection;

    fn on_configure(&mut self, _configuration: Configuration) -> Result<()> {
        self.connections = Some(Counter::define(CONNECTIONS)?);
        Ok(())
    }

    fn new_tcp_context(&mut self, id: ContextId) -> Option<Connection> {
        Some(Connection {
            id,
            connections: self.connections,
            upstream_seen: false,
        })
    }
}

/// One connection.
#[derive(Debug)]
pub struct Connection {
    id: ContextId,
    connections: Option<Counter>,
    upstream_seen: bool,
}

impl Connection {
    /// Logs where the upstream is: its address, cluster and cluster metadata.
    fn log_upstream(&self) -> Result<()> {
        let address = upstream::ADDRESS.get()?;
        let cluster = xds::CLUSTER_NAME.get()?;
        info!(
            "network: remote address: {}, cluster {}",
            address.map_or_else(|| "unknown".to_owned(), |a| a.to_string()),
            cluster.as_deref().unwrap_or("unknown"),
        );
        let metadata = xds::CLUSTER_METADATA.get()?.unwrap_or_default();
        for (key, value) in metadata.filter(NAMESPACE).into_iter().flatten() {
            let value = match value {
                Value::String(text) => text.clone(),
                other => format!("{other:?}"),
            };
            info!("network: upstream cluster metadata {NAMESPACE}[{key}]={value}");
        }
        Ok(())
    }
}

#[proxywasm::callbacks]
impl TcpContext for Connection {
    fn on_new_connection(&mut self) -> Result<Action> {
        if let Some(counter) = self.connections {
            counter.increment(1)?;
        }
        let client = source::ADDRESS.get()?;
        info!(
            "network: new connection {} from {}",
            self.id,
            client.map_or_else(|| "unknown".to_owned(), |a| a.to_string())
        );
        Ok(Action::Continue)
    }

    fn on_downstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Result<Action> {
        let data = tcp::downstream_data().read_all()?;
        info!(
            "network: downstream data received ({data_size} bytes, end_of_stream={end_of_stream}): {}",
            String::from_utf8_lossy(&data).escape_debug()
        );
        Ok(Action::Continue)
    }

    fn on_upstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Result<Action> {
        if !self.upstream_seen {
            self.upstream_seen = true;
            self.log_upstream()?;
        }
        info!("network: upstream data received ({data_size} bytes, end_of_stream={end_of_stream})");
        Ok(Action::Continue)
    }

    fn on_downstream_close(&mut self, peer: PeerType) -> Result<()> {
        info!("network: downstream connection close, peer={}", peer.name());
        Ok(())
    }

    fn on_upstream_close(&mut self, peer: PeerType) -> Result<()> {
        info!("network: upstream connection close, peer={}", peer.name());
        Ok(())
    }

    fn on_done(&mut self) -> Result<()> {
        info!("network: connection complete: {}", self.id);
        Ok(())
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

//! `envoy_tcp_routing`: a network filter that chooses each TCP connection's
//! upstream cluster (the official Rust SDK's scenario, which routes by the
//! client's address; here by the local address the client connected to,
//! which a local client can exercise both ways).
//!
//! The configuration ([`Config`], JSON, read with `Configuration::json`)
//! maps local ports to clusters. In `on_new_connection` the plugin reads
//! `destination.address` as a `SocketAddr` and writes the port's cluster to
//! the connection's filter state under [`CLUSTER_KEY`], the key Envoy's
//! `tcp_proxy` takes its cluster from, with the typed foreign-function
//! helper [`set_envoy_filter_state`]. `tcp_proxy` picks its cluster right
//! after this callback (measured: in Envoy 1.40 it does so even when it
//! delays connecting until the first data, so the choice must be made here).
//! A port the configuration does not name keeps `tcp_proxy`'s own cluster.
//!
//! When the connection ends, `on_log` logs the cluster Envoy used
//! (`xds.cluster_name`). A cluster Envoy refuses is an error: it is logged
//! and the connection closed.

use proxywasm::attribute::{destination, source, xds};
use proxywasm::foreign::{LifeSpan, set_envoy_filter_state};
use proxywasm::log::info;
use proxywasm::{Action, Configuration, ContextId, NoContext, PluginContext, Result, TcpContext};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The filter-state key `tcp_proxy` takes its cluster from.
pub const CLUSTER_KEY: &str = "envoy.tcp_proxy.cluster";

/// The plugin configuration, e.g.
/// `{"clusters_by_local_port": {"18770": "egress-router1"}}`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Local port (as text, JSON keys are strings) → cluster name.
    pub clusters_by_local_port: BTreeMap<String, String>,
}

/// The plugin context: the configuration, shared with every connection.
#[derive(Debug, Default)]
pub struct Plugin {
    config: Rc<Config>,
}

impl PluginContext for Plugin {
    type Http = NoContext;
    type Tcp = Router;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        self.config = Rc::new(configuration.json()?);
        Ok(())
    }

    fn new_tcp_context(&mut self, _id: ContextId) -> Option<Router> {
        Some(Router {
            config: Rc::clone(&self.config),
        })
    }
}

/// One connection.
#[derive(Debug)]
pub struct Router {
    config: Rc<Config>,
}

impl TcpContext for Router {
    fn on_new_connection(&mut self) -> Result<Action> {
        let client = source::ADDRESS.get()?;
        let client = client.map_or_else(|| "unknown".to_owned(), |a| a.to_string());
        let Some(local) = destination::ADDRESS.get()? else {
            info!("envoy_tcp_routing: {client}: no local address, tcp_proxy's cluster");
            return Ok(Action::Continue);
        };
        let port = local.port().to_string();
        let Some(cluster) = self.config.clusters_by_local_port.get(&port) else {
            info!("envoy_tcp_routing: {client} to port {port}: tcp_proxy's cluster");
            return Ok(Action::Continue);
        };
        set_envoy_filter_state(CLUSTER_KEY, cluster, LifeSpan::FilterChain)?;
        info!("envoy_tcp_routing: {client} to port {port} goes to {cluster}");
        Ok(Action::Continue)
    }

    /// At the end, the cluster Envoy used (`xds.cluster_name`), as an
    /// access log would show it.
    fn on_log(&mut self) -> Result<()> {
        let cluster = xds::CLUSTER_NAME.get()?;
        info!(
            "envoy_tcp_routing: served by {}",
            cluster.as_deref().unwrap_or("no cluster")
        );
        Ok(())
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

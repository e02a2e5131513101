//! `envoy_tcp_routing`: a network filter that chooses the upstream cluster
//! of each TCP connection from the client's address.
//!
//! Clients whose IP ends in an even byte go to [`EVEN`], the others to
//! [`ODD`] (the official Rust SDK's scenario). The choice is written to the
//! connection's filter state under [`CLUSTER_KEY`], the key Envoy's
//! `tcp_proxy` reads the cluster from, with the typed foreign-function
//! helper [`set_envoy_filter_state`]. It is done in `on_new_connection`, the
//! only moment before `tcp_proxy` connects upstream.
//!
//! When the connection ends, `on_log` logs the cluster Envoy used
//! (`xds.cluster_name`).
//!
//! A connection whose address Envoy does not give, or whose cluster Envoy
//! refuses, fails: the error is logged and the connection closed.

use proxywasm::attribute::{source, xds};
use proxywasm::foreign::{LifeSpan, set_envoy_filter_state};
use proxywasm::log::info;
use proxywasm::{Action, ContextId, Error, Result, TcpContext};
use std::net::IpAddr;

/// The filter-state key `tcp_proxy` takes its cluster from.
pub const CLUSTER_KEY: &str = "envoy.tcp_proxy.cluster";

/// The cluster of clients whose IP's last byte is even.
pub const EVEN: &str = "egress-router2";

/// The cluster of clients whose IP's last byte is odd.
pub const ODD: &str = "egress-router1";

/// The cluster for a client at `ip`: by the parity of its last byte.
///
/// ```
/// use envoy_tcp_routing::{cluster_for, EVEN, ODD};
/// assert_eq!(cluster_for("127.0.0.1".parse().unwrap()), ODD);
/// assert_eq!(cluster_for("::2".parse().unwrap()), EVEN);
/// ```
pub fn cluster_for(ip: IpAddr) -> &'static str {
    let last = match ip {
        IpAddr::V4(v4) => v4.octets()[3],
        IpAddr::V6(v6) => v6.octets()[15],
    };
    if last % 2 == 0 { EVEN } else { ODD }
}

/// One connection.
#[derive(Debug, Default)]
pub struct Router {
    client: Option<std::net::SocketAddr>,
}

impl TcpContext for Router {
    fn on_new_connection(&mut self) -> Result<Action> {
        let Some(client) = source::ADDRESS.get()? else {
            return Err(Error::other("envoy_tcp_routing: no source.address"));
        };
        let cluster = cluster_for(client.ip());
        set_envoy_filter_state(CLUSTER_KEY, cluster, LifeSpan::FilterChain)?;
        info!("envoy_tcp_routing: {client} goes to {cluster}");
        self.client = Some(client);
        Ok(Action::Continue)
    }

    /// At the end, the cluster Envoy used (`xds.cluster_name`), as an
    /// access log would show it.
    fn on_log(&mut self) -> Result<()> {
        let cluster = xds::CLUSTER_NAME.get()?;
        if let Some(client) = self.client {
            info!(
                "envoy_tcp_routing: {client} was served by {}",
                cluster.as_deref().unwrap_or("no cluster")
            );
        }
        Ok(())
    }
}

/// The entry point: one `Router` per connection.
#[proxywasm::main(tcp)]
pub fn connection(_id: ContextId) -> Router {
    Router::default()
}

//! `attributes`: Envoy's attributes, typed, with [`proxywasm::attribute`]:
//! each constant reads one attribute and decodes it (a `SocketAddr`, a
//! `SystemTime`, a `StatusCode`, a `String`), `Ok(None)` when Envoy has none
//! in this callback.
//!
//! * `on_configure` logs the plugin's name, root id and VM id
//!   (`plugin_name`, `plugin_root_id`, `plugin_vm_id`).
//! * `on_request_headers` reads the request (`request.method`, `path`,
//!   `protocol`), the client and the local address (`source.address`,
//!   `destination.address`, as [`SocketAddr`]s), the route's name
//!   (`xds.route_name`) and the plugin's identity, and keeps them as
//!   response headers.
//! * `on_response_headers` adds those headers and the upstream host
//!   (`upstream.address`, known once the router picked one).
//! * `on_log` logs the status (`response.code`), the upstream and how long
//!   after the request's first byte (`request.time`) the stream ended.

use proxywasm::attribute::{destination, plugin, request, response, source, upstream, xds};
use proxywasm::http;
use proxywasm::log::info;
use proxywasm::{Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result};
use std::fmt::Display;
use std::net::SocketAddr;
use std::time::SystemTime;

/// The plugin context: logs who it is, makes one [`Filter`] per stream.
#[derive(Debug, Default)]
pub struct Plugin;

/// `value`, or `-` when Envoy had none.
fn or_dash(value: Option<impl Display>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// The plugin's identity: `name/root_id/vm_id`.
fn identity() -> Result<String> {
    Ok(format!(
        "{}/{}/{}",
        or_dash(plugin::NAME.get()?),
        or_dash(plugin::ROOT_ID.get()?),
        or_dash(plugin::VM_ID.get()?)
    ))
}

impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn on_configure(&mut self, _configuration: Configuration) -> Result<()> {
        info!("attributes: configured as {}", identity()?);
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        Some(Filter::default())
    }
}

/// One HTTP stream: the headers it will add to the response.
#[derive(Debug, Default)]
pub struct Filter {
    headers: Vec<(&'static str, String)>,
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let client: Option<SocketAddr> = source::ADDRESS.get()?;
        let local: Option<SocketAddr> = destination::ADDRESS.get()?;
        self.headers = vec![
            (
                "x-request",
                format!(
                    "{} {} {}",
                    or_dash(request::METHOD.get()?),
                    or_dash(request::PATH.get()?),
                    or_dash(request::PROTOCOL.get()?)
                ),
            ),
            ("x-client-ip", or_dash(client.map(|a| a.ip()))),
            ("x-client-port", or_dash(client.map(|a| a.port()))),
            ("x-local-address", or_dash(local)),
            ("x-route-name", or_dash(xds::ROUTE_NAME.get()?)),
            ("x-plugin", identity()?),
        ];
        Ok(Action::Continue)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let headers = http::response_headers();
        for (name, value) in &self.headers {
            headers.replace(name, value)?;
        }
        headers.replace("x-upstream-address", or_dash(upstream::ADDRESS.get()?))?;
        Ok(Action::Continue)
    }

    fn on_log(&mut self) -> Result<()> {
        let now = proxywasm::time::now()?;
        let took = request::TIME
            .get()?
            .and_then(|start: SystemTime| now.duration_since(start).ok());
        info!(
            "attributes: done: status {}, upstream {}, {} ms after the first byte",
            or_dash(response::CODE.get()?.map(|code| code.as_u16())),
            or_dash(upstream::ADDRESS.get()?),
            or_dash(took.map(|t| t.as_millis())),
        );
        Ok(())
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin
}

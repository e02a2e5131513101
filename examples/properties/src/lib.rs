//! `properties`: read Envoy's attributes, typed, with
//! [`proxywasm::attribute`].
//!
//! * The route's metadata (`xds.route_metadata`, a typed [`Metadata`])
//!   names the header a route requires, under the namespace
//!   [`NAMESPACE`], key `auth`. A request without that header gets a 401;
//!   a route without the key lets everything through.
//! * The route's name (`xds.route_name`) is copied to the response header
//!   `x-route-name`. It is read while the request headers are there and kept
//!   in the context for the response.
//! * When the stream completes, `on_log` logs the method, path, client
//!   address and status (`request.*`, `source.address`, `response.code`).
//!
//! [`Metadata`]: proxywasm::attribute::Metadata

use proxywasm::attribute::{Value, request, response, source, xds};
use proxywasm::http::{self, LocalResponse};
use proxywasm::log::info;
use proxywasm::{Action, ContextId, HttpContext, NoContext, PluginContext, Result};
use std::fmt::Display;

/// The route metadata namespace this plugin reads.
pub const NAMESPACE: &str = "envoy.filters.http.wasm";

/// The plugin context: only makes stream contexts.
#[derive(Debug, Default)]
pub struct Plugin;

impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        Some(Filter::default())
    }
}

/// The HTTP stream context: the route's name, for the response.
#[derive(Debug, Default)]
pub struct Filter {
    route_name: Option<String>,
}

/// `value`, or `-` when Envoy had none.
fn or_dash(value: Option<impl Display>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        self.route_name = xds::ROUTE_NAME.get()?;
        let metadata = xds::ROUTE_METADATA.get()?.unwrap_or_default();
        let route = or_dash(self.route_name.as_deref());
        let Some(auth) = metadata.get(NAMESPACE, "auth").and_then(Value::as_str) else {
            info!("properties: no auth header for route {route}");
            return Ok(Action::Continue);
        };
        info!("properties: auth header is {auth:?} for route {route}");
        if http::request_headers().get(auth)?.is_some() {
            return Ok(Action::Continue);
        }
        LocalResponse::new(401)
            .header("content-type", "text/plain")
            .body(&format!("missing header {auth}\n"))
            .send()?;
        Ok(Action::Pause)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if let Some(name) = &self.route_name {
            http::response_headers().replace("x-route-name", name)?;
        }
        Ok(Action::Continue)
    }

    fn on_log(&mut self) -> Result<()> {
        info!(
            "properties: {} {} from {} -> {}",
            or_dash(request::METHOD.get()?),
            or_dash(request::PATH.get()?),
            or_dash(source::ADDRESS.get()?.map(|address| address.ip())),
            or_dash(response::CODE.get()?.map(|code| code.as_u16())),
        );
        Ok(())
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin
}

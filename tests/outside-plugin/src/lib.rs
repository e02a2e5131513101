//! `outside-plugin`: a small HTTP filter, built and tested the way a crate
//! outside proxywasm's workspace is. Its JSON configuration names a header;
//! every response gets that header with the request's path as its value, and
//! each request's path is logged.

use proxywasm::log::{info, warn};
use proxywasm::{
    Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result, http,
};
use std::rc::Rc;

/// The plugin configuration: `{"header": "x-outside"}`.
#[derive(Debug, serde::Deserialize)]
pub struct Config {
    /// The response header that carries the request path.
    pub header: String,
}

/// The plugin context: holds the configured header name.
#[derive(Debug, Default)]
pub struct Plugin {
    header: Rc<str>,
}

impl PluginContext for Plugin {
    type Http = Stamp;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let config: Config = configuration.json()?;
        self.header = config.header.into();
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Stamp> {
        Some(Stamp {
            header: Rc::clone(&self.header),
            path: String::new(),
        })
    }
}

/// One per HTTP stream: remembers the request path for the response.
#[derive(Debug)]
pub struct Stamp {
    header: Rc<str>,
    path: String,
}

impl HttpContext for Stamp {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if let Ok(Some(path)) = http::request_headers().get(":path") {
            self.path = path.to_string_lossy().into_owned();
        }
        info!("outside-plugin: request for {}", self.path);
        Ok(Action::Continue)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if let Err(e) = http::response_headers().add(&*self.header, &self.path) {
            warn!("outside-plugin: cannot add {}: {e}", self.header);
        }
        Ok(Action::Continue)
    }
}

/// The entry point: one `Plugin` per plugin configuration.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

//! `http_headers`: an HTTP filter configured with JSON.
//!
//! * The configuration `{"header": "...", "value": "..."}` names a header that
//!   is added to every response.
//! * Every request header is logged, and every response header (after the
//!   configured one was added).
//! * `/hello` is answered by the plugin itself with a local reply (which also
//!   passes through this filter's response path, so it carries the header).
//! * When the stream completes, its status is logged.
//!
//! Every hostcall error goes up with `?`: the SDK logs it and answers the
//! stream with a 500 (the default [`proxywasm::ErrorPolicy`]).

use proxywasm::http::{self, LocalResponse};
use proxywasm::log::info;
use proxywasm::{Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result};
use std::rc::Rc;

/// The plugin configuration.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name of the header added to responses.
    pub header: String,
    /// Its value.
    pub value: String,
}

/// The plugin context: holds the parsed configuration.
#[derive(Debug, Default)]
pub struct Plugin {
    config: Option<Rc<Config>>,
}

#[proxywasm::callbacks]
impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let config: Config = configuration.json()?;
        info!(
            "http_headers: configured to add {}: {}",
            config.header, config.value
        );
        self.config = Some(Rc::new(config));
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        Some(Filter {
            config: self.config.clone()?,
        })
    }
}

/// The HTTP stream context.
#[derive(Debug)]
pub struct Filter {
    config: Rc<Config>,
}

#[proxywasm::callbacks]
impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let headers = http::request_headers().pairs()?;
        for (name, value) in &headers {
            info!(
                "http_headers: request header {}: {}",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(value)
            );
        }
        if headers.get(":path") == Some(b"/hello") {
            LocalResponse::new(200)
                .header("content-type", "text/plain")
                .body("Hello from proxywasm!\n")
                .send()?;
            return Ok(Action::Pause);
        }
        Ok(Action::Continue)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let headers = http::response_headers();
        headers.add(&self.config.header, &self.config.value)?;
        for (name, value) in &headers.pairs()? {
            info!(
                "http_headers: response header {}: {}",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(value)
            );
        }
        Ok(Action::Continue)
    }

    fn on_log(&mut self) -> Result<()> {
        let status = http::response_headers().get(":status")?;
        let status = status.map_or("none".into(), |s| s.to_string_lossy().into_owned());
        info!("http_headers: stream complete, status {status}");
        Ok(())
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

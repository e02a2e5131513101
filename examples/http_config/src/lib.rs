//! `http_config`: an HTTP filter driven by a typed configuration.
//!
//! The configuration is read once, in `on_configure`, with
//! `Configuration::json` into [`Config`] (serde); each HTTP context gets a
//! shared reference to it. It says:
//!
//! * `response_headers`: headers added to every response;
//! * `replies`: paths the plugin answers itself, with a status and a body.
//!
//! ```json
//! {"response_headers": {"custom-header": "The secret to life is enjoying the passage of time"},
//!  "replies": {"/teapot": {"status": 418, "body": "I'm a teapot\n"}}}
//! ```
//!
//! Envoy may hand it over as JSON text (`google.protobuf.StringValue`) or as
//! a `google.protobuf.Struct`, which arrives as binary protobuf;
//! `Configuration::json` reads both. An unknown field, a wrong type or a
//! status outside 200–599 refuses to start, naming the problem.

use proxywasm::http::{self, LocalResponse};
use proxywasm::log::info;
use proxywasm::{
    Action, Configuration, ContextId, Error, HttpContext, NoContext, PluginContext, Result,
};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The plugin configuration.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Headers added to every response (upstream or local).
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    /// Local replies, by exact `:path`.
    #[serde(default)]
    pub replies: BTreeMap<String, Reply>,
}

/// A reply the plugin sends itself.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The status code (default 200).
    #[serde(default = "ok")]
    pub status: u16,
    /// The body.
    #[serde(default)]
    pub body: String,
}

fn ok() -> u16 {
    200
}

/// The plugin context: holds the parsed configuration.
#[derive(Debug, Default)]
pub struct Plugin {
    config: Option<Rc<Config>>,
}

impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let config: Config = configuration.json()?;
        if let Some((path, reply)) = config
            .replies
            .iter()
            .find(|(_, reply)| !(200..=599).contains(&reply.status))
        {
            return Err(Error::config(format_args!(
                "reply for {path}: status {} is not from 200 to 599",
                reply.status
            )));
        }
        info!(
            "http_config: {} response headers, replies for [{}]",
            config.response_headers.len(),
            config
                .replies
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
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

/// The HTTP stream context: a reference to the configuration.
#[derive(Debug)]
pub struct Filter {
    config: Rc<Config>,
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let path = http::request_headers().get(":path")?;
        let reply = path
            .as_ref()
            .and_then(|path| path.to_str().ok())
            .and_then(|path| self.config.replies.get(path));
        let Some(reply) = reply else {
            return Ok(Action::Continue);
        };
        LocalResponse::new(reply.status)
            .header("content-type", "text/plain")
            .body(&reply.body)
            .send()?;
        Ok(Action::Pause)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let headers = http::response_headers();
        for (name, value) in &self.config.response_headers {
            headers.replace(name, value)?;
        }
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

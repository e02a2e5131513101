//! `json_validation`: let a request through only if its body is a JSON
//! object with the keys the configuration requires.
//!
//! * The configuration, `{"required_keys": ["id", "token"]}`, is read with
//!   `Configuration::json`; a wrong one (or an empty list) refuses to start.
//! * A request whose `content-type` is not `application/json` gets a local
//!   403 at once.
//! * Otherwise the plugin holds the request headers (`Action::Pause`) and
//!   buffers the body. Envoy's filter option `allow_on_headers_stop_iteration:
//!   true` keeps the body callbacks coming meanwhile; nothing reaches the
//!   route until the body is judged. A body that is not a JSON object gets a
//!   400, one missing a key a 403; a valid one continues, headers and body
//!   together.

use proxywasm::http::{self, LocalResponse};
use proxywasm::log::info;
use proxywasm::{
    Action, Configuration, ContextId, Error, HttpContext, NoContext, PluginContext, Result,
};
use serde::de::IgnoredAny;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The plugin configuration.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Keys every payload must have.
    pub required_keys: Vec<String>,
}

/// The plugin context: holds the parsed configuration.
#[derive(Debug, Default)]
pub struct Plugin {
    config: Option<Rc<Config>>,
}

impl PluginContext for Plugin {
    type Http = Validator;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let config: Config = configuration.json()?;
        if config.required_keys.is_empty() {
            return Err(Error::config(
                "`required_keys` is empty: name at least one key",
            ));
        }
        info!(
            "json_validation: required keys {}",
            config.required_keys.join(", ")
        );
        self.config = Some(Rc::new(config));
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Validator> {
        Some(Validator {
            config: self.config.clone()?,
        })
    }
}

/// The HTTP stream context.
#[derive(Debug)]
pub struct Validator {
    config: Rc<Config>,
}

/// Sends a plain-text local reply; the stream waits for it.
fn reject(status: u16, message: &str) -> Result<Action> {
    info!("json_validation: rejected with {status}: {message}");
    LocalResponse::new(status)
        .header("content-type", "text/plain")
        .body(&format!("{message}\n"))
        .send()?;
    Ok(Action::Pause)
}

impl Validator {
    /// Why `body` is refused, with the status to answer: `None` if valid.
    fn judge(&self, body: &[u8]) -> Option<(u16, String)> {
        let object: BTreeMap<String, IgnoredAny> = match serde_json::from_slice(body) {
            Ok(object) => object,
            Err(e) => return Some((400, format!("invalid JSON object: {e}"))),
        };
        let missing = self
            .config
            .required_keys
            .iter()
            .find(|key| !object.contains_key(*key))?;
        Some((403, format!("invalid payload: missing key `{missing}`")))
    }
}

impl HttpContext for Validator {
    fn on_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Result<Action> {
        let content_type = http::request_headers().get("content-type")?;
        let is_json = content_type.is_some_and(|value| {
            let media_type = value.split(|b| *b == b';').next().unwrap_or_default();
            media_type
                .trim_ascii()
                .eq_ignore_ascii_case(b"application/json")
        });
        if !is_json {
            return reject(403, "content-type must be application/json");
        }
        if end_of_stream {
            return reject(400, "invalid JSON object: the body is empty");
        }
        // Hold the headers until the body is judged.
        Ok(Action::Pause)
    }

    fn on_request_body(&mut self, _body_size: usize, end_of_stream: bool) -> Result<Action> {
        if !end_of_stream {
            return Ok(Action::Pause); // buffer until the whole body is in
        }
        let body = http::request_body().read_all()?;
        match self.judge(&body) {
            Some((status, message)) => reject(status, &message),
            None => Ok(Action::Continue), // headers and body go on together
        }
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

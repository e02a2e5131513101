//! `http_body`: buffer a whole request or response body and change it.
//!
//! The plugin configuration is one word, the mode:
//!
//! * `rewrite`: the request headers choose an edit. `buffer-replace-at:
//!   request` or `response` names the body; `buffer-operation: append`,
//!   `prepend` or `replace` (anything else: `replace`) says what to do with
//!   it. The plugin pauses each chunk until the body is complete
//!   (`Action::Pause` until `end_of_stream`), logs the original, edits it
//!   in place and lets it go. As the length changes, it drops
//!   `content-length` from the headers first.
//! * `echo`: the plugin reads the whole request body in `on_request_body`
//!   and answers with it as a local 200: a body-reading upstream in a few
//!   lines. It holds the request headers meanwhile (`Action::Pause`), so
//!   nothing behind it answers first; with Envoy's filter option
//!   `allow_on_headers_stop_iteration: true` the body still reaches it.
//!
//! * `redact`: a response body that mentions `secret` is replaced, whole,
//!   by `Original message body (N bytes) redacted.`; others pass unchanged.
//!   The decision needs the whole body, so it is buffered like the edits.
//!
//! `envoy.yaml` chains the first two: the `rewrite` listener forwards to the
//! `echo` listener, so each edit shows in the response.

use proxywasm::http::{self, Buffer, HeaderMap, LocalResponse};
use proxywasm::log::info;
use proxywasm::{
    Action, Configuration, ContextId, Error, HttpContext, NoContext, PluginContext, Result,
};

/// What the plugin does, from its configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Edit the body the request headers name.
    #[default]
    Rewrite,
    /// Answer with the request body.
    Echo,
    /// Replace response bodies that mention `secret`.
    Redact,
}

/// An edit of a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Add [`APPENDED`] at the end.
    Append,
    /// Add [`PREPENDED`] at the front.
    Prepend,
    /// Replace everything with [`REPLACED`].
    Replace,
}

/// What `append` adds.
pub const APPENDED: &str = "[this is appended body]";
/// What `prepend` adds.
pub const PREPENDED: &str = "[this is prepended body]";
/// What `replace` leaves.
pub const REPLACED: &str = "[this is replaced body]";

impl Operation {
    /// The operation a `buffer-operation` value names; an unknown or
    /// missing one replaces.
    pub fn parse(value: Option<&[u8]>) -> Operation {
        match value {
            Some(b"append") => Operation::Append,
            Some(b"prepend") => Operation::Prepend,
            _ => Operation::Replace,
        }
    }

    fn apply(self, body: &Buffer) -> Result<()> {
        match self {
            Operation::Append => body.append(APPENDED),
            Operation::Prepend => body.prepend(PREPENDED),
            Operation::Replace => body.replace(REPLACED),
        }
    }
}

/// The plugin context: the mode.
#[derive(Debug, Default)]
pub struct Plugin {
    mode: Mode,
}

impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let text = configuration.to_string_lossy()?;
        self.mode = match text.trim() {
            "rewrite" => Mode::Rewrite,
            "echo" => Mode::Echo,
            "redact" => Mode::Redact,
            other => {
                return Err(Error::config(format_args!(
                    "mode {other:?}: expected \"rewrite\", \"echo\" or \"redact\""
                )));
            }
        };
        info!("http_body: mode {:?}", self.mode);
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        Some(Filter {
            mode: self.mode,
            edit: None,
        })
    }
}

/// Which body a stream edits, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Edit {
    at_response: bool,
    operation: Operation,
}

/// The HTTP stream context.
#[derive(Debug)]
pub struct Filter {
    mode: Mode,
    edit: Option<Edit>,
}

impl Filter {
    /// Pauses until the body is complete, then logs it and edits it.
    fn edit_body(&self, body: Buffer, which: &str, end_of_stream: bool) -> Result<Action> {
        if !end_of_stream {
            return Ok(Action::Pause); // Envoy buffers; the next call sees it all
        }
        if let Some(edit) = self.edit {
            let original = body.read_all()?;
            info!(
                "http_body: original {which} body: {}",
                original.to_string_lossy()
            );
            edit.operation.apply(&body)?;
        }
        Ok(Action::Continue)
    }

    /// The edited body's length differs: its `content-length` must go.
    fn drop_length(headers: HeaderMap) -> Result<Action> {
        headers.remove("content-length")?;
        Ok(Action::Continue)
    }
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Result<Action> {
        if self.mode == Mode::Echo {
            if end_of_stream {
                LocalResponse::new(200).send()?; // no body to echo
            }
            // Hold the headers: the route must not answer before the body is in.
            return Ok(Action::Pause);
        }
        let headers = http::request_headers();
        let at = headers.get("buffer-replace-at")?;
        let at_response = match at.as_deref() {
            Some(b"request") => false,
            Some(b"response") => true,
            _ => return Ok(Action::Continue), // nothing to edit
        };
        let operation = headers.get("buffer-operation")?;
        self.edit = Some(Edit {
            at_response,
            operation: Operation::parse(operation.as_deref()),
        });
        if at_response {
            return Ok(Action::Continue);
        }
        Self::drop_length(headers)
    }

    fn on_request_body(&mut self, _body_size: usize, end_of_stream: bool) -> Result<Action> {
        match self.mode {
            Mode::Echo => {
                if !end_of_stream {
                    return Ok(Action::Pause);
                }
                let body = http::request_body().read_all()?;
                LocalResponse::new(200).body(&body).send()?;
                Ok(Action::Pause)
            }
            Mode::Rewrite if self.edit.is_some_and(|e| !e.at_response) => {
                self.edit_body(http::request_body(), "request", end_of_stream)
            }
            Mode::Rewrite | Mode::Redact => Ok(Action::Continue),
        }
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if self.mode == Mode::Redact || self.edit.is_some_and(|e| e.at_response) {
            return Self::drop_length(http::response_headers());
        }
        Ok(Action::Continue)
    }

    fn on_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Result<Action> {
        if self.mode == Mode::Redact {
            if !end_of_stream {
                return Ok(Action::Pause);
            }
            let body = http::response_body();
            if body.read_all()?.windows(6).any(|w| w == b"secret") {
                info!("http_body: redacted a response body of {body_size} bytes");
                body.replace(format!(
                    "Original message body ({body_size} bytes) redacted.\n"
                ))?;
            }
            return Ok(Action::Continue);
        }
        if self.edit.is_some_and(|e| e.at_response) {
            return self.edit_body(http::response_body(), "response", end_of_stream);
        }
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

//! `http_auth_random`: ask an auth service about every request, with an
//! HTTP callout whose answer arrives in a closure.
//!
//! * On the request headers the plugin sends `GET /check` to the auth
//!   cluster (the plugin configuration names it; `auth` by default),
//!   forwarding the request's `x-auth-key` header, and pauses the request.
//! * The closure given to `HttpCall::send_then` gets the answer. It logs
//!   every response header (`response header from auth: name: value`), then
//!   resumes the request on a 200 (`access granted`) or answers 403
//!   `Access forbidden.` itself (`access forbidden`).
//! * Anything but a 200 denies: a down auth service, to which Envoy answers
//!   its own 503, fails closed. So does a call Envoy refuses to send.
//!
//! The Go SDK's example of this name asks httpbin.org and lets a random half
//! through; here the auth service's answer depends on the forwarded header,
//! so the result is deterministic and no internet is needed.

use proxywasm::callout::HttpCall;
use proxywasm::http::{self, LocalResponse, StaticPairs};
use proxywasm::log::{info, warn};
use proxywasm::{Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result};
use std::rc::Rc;
use std::time::Duration;

/// The request header forwarded to the auth service.
pub const KEY: &str = "x-auth-key";

/// The fixed headers of the check, serialized at compile time.
const CHECK: StaticPairs = proxywasm::pairs![
    (":method", "GET"),
    (":path", "/check"),
    (":authority", "auth"),
];

/// The plugin context: holds the auth cluster's name.
#[derive(Debug)]
pub struct Plugin {
    cluster: Rc<str>,
}

impl PluginContext for Plugin {
    type Http = Auth;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let name = configuration.to_string_lossy()?;
        if !name.trim().is_empty() {
            self.cluster = name.trim().into();
        }
        info!("http_auth_random: auth cluster {}", self.cluster);
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Auth> {
        Some(Auth {
            cluster: self.cluster.clone(),
        })
    }
}

/// The HTTP stream context.
#[derive(Debug)]
pub struct Auth {
    cluster: Rc<str>,
}

/// Answers the request with 403 `Access forbidden.`.
fn deny() -> Result<()> {
    info!("access forbidden");
    LocalResponse::new(403)
        .header("content-type", "text/plain")
        .body("Access forbidden.\n")
        .send()
}

impl HttpContext for Auth {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let key = http::request_headers().get(KEY)?.unwrap_or_default();
        let sent = HttpCall::new(&self.cluster)
            .static_headers(CHECK)
            .header(KEY, &*key)
            .timeout(Duration::from_secs(1))
            .send_then(|_: &mut Auth, response| {
                for (name, value) in response.headers().pairs()?.to_lossy_vec() {
                    info!("response header from auth: {name}: {value}");
                }
                if response.status()? == Some(200) {
                    info!("access granted");
                    http::resume_request()
                } else {
                    deny()
                }
            });
        if let Err(e) = sent {
            // No answer will come: decide now, and deny.
            warn!("auth callout not sent: {e}");
            deny()?;
        }
        Ok(Action::Pause)
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin {
        cluster: "auth".into(),
    }
}

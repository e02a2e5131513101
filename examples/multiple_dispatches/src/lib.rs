//! `multiple_dispatches`: hold a response until several callouts have all
//! answered.
//!
//! * On the response headers the stream sends [`CALLS`] HTTP callouts to
//!   the cluster `web_service` at once, each with a closure
//!   (`HttpCall::send_then`), and pauses the response.
//! * Each closure counts its answer on the stream context and logs
//!   `callout 3 answered 200; pending dispatched requests: 6`.
//! * The last one adds `x-dispatches-answered: 10` to the held response,
//!   logs `response resumed after 10 responses` and resumes it.

use proxywasm::callout::HttpCall;
use proxywasm::http::{self, StaticPairs};
use proxywasm::log::info;
use proxywasm::{Action, ContextId, HttpContext, NoContext, PluginContext, Result};
use std::time::Duration;

/// How many callouts each response waits for.
pub const CALLS: u32 = 10;

/// The callouts' headers, serialized at compile time.
const CALL: StaticPairs = proxywasm::pairs![
    (":method", "GET"),
    (":path", "/ok"),
    (":authority", "web_service"),
];

/// The plugin context.
#[derive(Debug, Default)]
pub struct Plugin;

impl PluginContext for Plugin {
    type Http = Dispatcher;
    type Tcp = NoContext;

    fn new_http_context(&mut self, _id: ContextId) -> Option<Dispatcher> {
        Some(Dispatcher::default())
    }
}

/// The HTTP stream context: its callouts not answered yet.
#[derive(Debug, Default)]
pub struct Dispatcher {
    pending: u32,
}

impl Dispatcher {
    /// One callout's answer: the last one resumes the response.
    fn answered(&mut self, call: u32, status: Option<u16>) -> Result<()> {
        self.pending = self.pending.saturating_sub(1);
        let status = status.map_or_else(|| "-".to_string(), |s| s.to_string());
        info!(
            "callout {call} answered {status}; pending dispatched requests: {}",
            self.pending
        );
        if self.pending == 0 {
            http::response_headers().replace("x-dispatches-answered", CALLS.to_string())?;
            info!("response resumed after {CALLS} responses");
            http::resume_response()?;
        }
        Ok(())
    }
}

impl HttpContext for Dispatcher {
    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        for call in 0..CALLS {
            HttpCall::new("web_service")
                .static_headers(CALL)
                .timeout(Duration::from_secs(2))
                .send_then(move |this: &mut Dispatcher, response| {
                    this.answered(call, response.status()?)
                })?;
            self.pending += 1;
        }
        info!("dispatched {CALLS} callouts; response paused");
        Ok(Action::Pause)
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin
}

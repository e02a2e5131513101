//! `postpone_requests`: hold every request until the plugin's next tick.
//!
//! * A stream pauses its request headers and puts its context id on a list
//!   it shares with the plugin context (`postpone request with context id 2`).
//! * On each tick (every 500 ms) the plugin context takes the list and, for
//!   each id, makes that stream the effective context
//!   (`plugin::set_effective_context`), then resumes its request
//!   (`resume request with context id 2`). A stream that ended meanwhile
//!   cannot be made effective: it is skipped.
//!
//! This is how a plugin acts on a stream from outside that stream's own
//! callbacks: batching, rate limiting, waiting for a shared resource.

use proxywasm::log::{debug, info};
use proxywasm::{
    Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result, http, plugin,
    time,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// The tick period: the longest a request waits.
pub const TICK: Duration = Duration::from_millis(500);

/// Streams waiting for the next tick, shared by the plugin and its streams.
type Waiting = Rc<RefCell<Vec<ContextId>>>;

/// The plugin context: resumes the waiting streams on each tick.
#[derive(Debug, Default)]
pub struct Plugin {
    waiting: Waiting,
}

impl PluginContext for Plugin {
    type Http = Postponed;
    type Tcp = NoContext;

    fn on_configure(&mut self, _configuration: Configuration) -> Result<()> {
        time::set_tick_period(TICK)
    }

    fn new_http_context(&mut self, id: ContextId) -> Option<Postponed> {
        Some(Postponed {
            id,
            waiting: self.waiting.clone(),
        })
    }

    fn on_tick(&mut self) -> Result<()> {
        let waiting = self.waiting.take();
        for id in waiting {
            // Fails if the stream has ended meanwhile: nothing to resume then.
            if plugin::set_effective_context(id).is_ok() {
                info!("resume request with context id {}", id.0);
                http::resume_request()?;
            } else {
                debug!("request with context id {} ended while postponed", id.0);
            }
        }
        Ok(())
    }
}

/// The HTTP stream context.
#[derive(Debug)]
pub struct Postponed {
    id: ContextId,
    waiting: Waiting,
}

impl HttpContext for Postponed {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        info!("postpone request with context id {}", self.id.0);
        self.waiting.borrow_mut().push(self.id);
        Ok(Action::Pause)
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

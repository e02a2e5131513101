//! `http_routing`: send a share of the users to a canary upstream by
//! rewriting the request's `:authority`.
//!
//! The plugin configuration is the canary's share in percent (`0` to
//! `100`). Each request's `x-user-id` is hashed into a bucket from 0 to 99;
//! a user whose bucket is below the share gets `-canary` appended to
//! `:authority`, and Envoy's route table (a virtual host for `*-canary`)
//! sends the request to the canary cluster. The choice is deterministic: a
//! user stays on the same side for as long as the share does. A request
//! without `x-user-id` goes to the primary.
//!
//! Envoy re-selects the route when a filter changes `:authority` in
//! `on_request_headers`; nothing else is needed.

use proxywasm::http;
use proxywasm::log::info;
use proxywasm::{
    Action, Configuration, ContextId, Error, HttpContext, NoContext, PluginContext, Result,
};

/// What the plugin appends to `:authority` to choose the canary.
pub const CANARY_SUFFIX: &str = "-canary";

/// The bucket, 0 to 99, of a user id: FNV-1a (32 bits) modulo 100.
pub fn bucket(user: &[u8]) -> u8 {
    let hash = user.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    });
    // Below 100: fits.
    u8::try_from(hash % 100).unwrap_or(0)
}

/// The plugin context: the canary's share, in percent.
#[derive(Debug, Default)]
pub struct Plugin {
    canary_percent: u8,
}

impl PluginContext for Plugin {
    type Http = Router;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let text = configuration.to_string_lossy()?;
        self.canary_percent = text
            .trim()
            .parse()
            .ok()
            .filter(|percent| *percent <= 100)
            .ok_or_else(|| {
                Error::config(format_args!(
                    "canary share {text:?}: expected a percentage from 0 to 100"
                ))
            })?;
        info!(
            "http_routing: {}% of users go to the canary",
            self.canary_percent
        );
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Router> {
        Some(Router {
            canary_percent: self.canary_percent,
        })
    }
}

/// The HTTP stream context.
#[derive(Debug)]
pub struct Router {
    canary_percent: u8,
}

impl HttpContext for Router {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let headers = http::request_headers();
        let Some(user) = headers.get("x-user-id")? else {
            return Ok(Action::Continue);
        };
        let bucket = bucket(&user);
        if bucket >= self.canary_percent {
            info!(
                "http_routing: user {} (bucket {bucket}) -> primary",
                user.to_string_lossy()
            );
            return Ok(Action::Continue);
        }
        let authority = headers.get(":authority")?.unwrap_or_default();
        let mut canary = authority.to_vec();
        canary.extend_from_slice(CANARY_SUFFIX.as_bytes());
        headers.replace(":authority", &canary)?;
        info!(
            "http_routing: user {} (bucket {bucket}) -> canary",
            user.to_string_lossy()
        );
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

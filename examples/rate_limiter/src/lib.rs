//! `rate_limiter`: a request budget shared by every Envoy worker, exact under
//! concurrency.
//!
//! * The configuration `{"budget": 30}` says how many requests get through
//!   in the life of the process, across all workers.
//! * Each request takes one unit from the shared-data entry [`USED_KEY`]
//!   with [`shared::update`], the SDK's compare-and-swap retry helper: when
//!   two workers read the same count, only one write wins and the other
//!   reads again, so no unit is handed out twice and none is lost.
//! * A request that finds the budget used up is answered `429` by the plugin
//!   itself; the others continue to the route.
//!
//! A hostcall error goes up with `?`: the SDK logs it and answers the stream
//! with a 500 (the default [`proxywasm::ErrorPolicy`]).

use proxywasm::http::LocalResponse;
use proxywasm::log::info;
use proxywasm::{
    Action, Configuration, ContextId, Error, HttpContext, NoContext, PluginContext, Result, shared,
};

/// The shared-data key holding the units used so far (`u64`, little-endian).
pub const USED_KEY: &str = "rate_limiter.used";

/// The plugin configuration.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Requests let through in the life of the process, across all workers.
    pub budget: u64,
}

/// The plugin context: holds the budget.
#[derive(Debug, Default)]
pub struct Plugin {
    config: Option<Config>,
}

impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let config: Config = configuration.json()?;
        info!("rate_limiter: budget of {} requests", config.budget);
        self.config = Some(config);
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        Some(Filter {
            budget: self.config?.budget,
        })
    }
}

/// The HTTP stream context.
#[derive(Debug)]
pub struct Filter {
    budget: u64,
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        match take_unit(self.budget)? {
            Some(used) => {
                info!("rate_limiter: granted {used} of {}", self.budget);
                Ok(Action::Continue)
            }
            None => {
                info!("rate_limiter: refused, budget of {} used up", self.budget);
                LocalResponse::new(429)
                    .header("content-type", "text/plain")
                    .body("rate limited\n")
                    .send()?;
                Ok(Action::Pause)
            }
        }
    }
}

/// Takes one unit of the shared budget: the number used after taking it, or
/// `None` when all `budget` units are gone (nothing is written then).
///
/// The closure may run more than once (once per lost race), so it only
/// computes; the decision comes back through the written value.
fn take_unit(budget: u64) -> Result<Option<u64>> {
    let written = shared::update(USED_KEY, |old| {
        let used = match old {
            None => 0,
            Some(bytes) => <[u8; 8]>::try_from(bytes)
                .map(u64::from_le_bytes)
                .map_err(|_| Error::other(format_args!("`{USED_KEY}` is not a u64")))?,
        };
        Ok((used < budget).then(|| (used + 1).to_le_bytes()))
    })?;
    Ok(written.map(u64::from_le_bytes))
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

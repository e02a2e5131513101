//! `metrics`: an HTTP filter that counts requests by the value of a request
//! header, in a counter with tags that Envoy shows as Prometheus labels.
//!
//! * Each request carrying [`HEADER`] adds 1 to the counter
//!   `custom_header_value_counts` tagged `value=<the header's value>` and
//!   `reporter=proxywasm`, through a [`Family`]: the stat's name is
//!   `custom_header_value_counts.value=<v>.reporter=proxywasm`, and the
//!   bootstrap's `stats_config.stats_tags` (one regex per key,
//!   [`proxywasm::metrics::tag_regex`]) turns the two segments back into tags.
//! * At most [`VALUE_LIMIT`] values are counted: a header value comes from
//!   the client, and every value is a stat Envoy keeps until it exits.
//! * A request without the header, or one beyond the limit, is not counted;
//!   it passes either way.
//!
//! A hostcall error goes up with `?`: the SDK logs it and answers the stream
//! with a 500 (the default [`proxywasm::ErrorPolicy`]).

use proxywasm::log::warn;
use proxywasm::metrics::{Counter, Family};
use proxywasm::{
    Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result, http,
};
use std::rc::Rc;

/// The request header whose values are counted.
pub const HEADER: &str = "my-custom-header";

/// The counter's base name; the tags follow as `.key=value` segments.
pub const BASE: &str = "custom_header_value_counts";

/// The `reporter` tag of every count.
pub const REPORTER: &str = "proxywasm";

/// How many header values get a stat of their own.
pub const VALUE_LIMIT: usize = 16;

/// The counters, one per header value: tags `value` and `reporter`.
type Counts = Family<Counter, 2>;

/// The plugin context: makes the family, shares it with the streams.
#[derive(Debug, Default)]
pub struct Plugin {
    counts: Option<Rc<Counts>>,
}

impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn on_configure(&mut self, _configuration: Configuration) -> Result<()> {
        let family = Family::new(BASE, ["value", "reporter"])?.with_limit(VALUE_LIMIT);
        self.counts = Some(Rc::new(family));
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        Some(Filter {
            counts: self.counts.clone()?,
        })
    }
}

/// The HTTP stream context.
#[derive(Debug)]
pub struct Filter {
    counts: Rc<Counts>,
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let Some(value) = http::request_headers().get(HEADER)? else {
            return Ok(Action::Continue);
        };
        let value = value.to_string_lossy();
        // Only a new value beyond the limit fails here: log it, let the
        // request pass.
        match self.counts.get([&value, REPORTER]) {
            Ok(counter) => counter.increment(1)?,
            Err(e) => warn!("metrics: not counted: {e}"),
        }
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

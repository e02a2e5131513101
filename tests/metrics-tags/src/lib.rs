//! `proxywasm-metrics-tags`: an HTTP filter that keeps its metrics in
//! [`Family`]s, so the tests can read tagged counters, gauges and histograms
//! back and count the definitions (natively and on the `.wasm`).
//!
//! Per stream:
//! - `requests{method, code}` (counter): one per response, by request
//!   method and response status;
//! - `active{route}` (gauge): streams between their request headers and
//!   their log, by route (the first segment of `:path`); a stream whose
//!   path starts with `/drain/` subtracts without having added;
//! - `request_bytes{method}` (histogram): the request body's size, in
//!   `on_log`;
//! - `users{user}` (counter, at most [`USER_LIMIT`] label sets): one per
//!   request with an `x-user` header.
//!
//! A metric that cannot be counted is logged at warn level (`not counted:
//! <error>`) and the request passes.

use proxywasm::metrics::{Counter, Family, Gauge, Histogram};
use proxywasm::{
    Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result, http,
};
use std::rc::Rc;

/// How many users the `users` family remembers.
pub const USER_LIMIT: usize = 2;

/// The families, made in `on_configure` and shared with every stream.
#[derive(Debug)]
pub struct Metrics {
    requests: Family<Counter, 2>,
    active: Family<Gauge, 1>,
    request_bytes: Family<Histogram, 1>,
    users: Family<Counter, 1>,
}

impl Metrics {
    fn new() -> Result<Metrics> {
        Ok(Metrics {
            requests: Family::new("requests", ["method", "code"])?,
            active: Family::new("active", ["route"])?,
            request_bytes: Family::new("request_bytes", ["method"])?,
            users: Family::new("users", ["user"])?.with_limit(USER_LIMIT),
        })
    }
}

/// Logs a metric that could not be counted.
fn counted(result: Result<()>) {
    if let Err(e) = result {
        proxywasm::log::warn!("not counted: {e}");
    }
}

/// The plugin context.
#[derive(Debug, Default)]
pub struct Plugin {
    metrics: Option<Rc<Metrics>>,
}

impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn on_configure(&mut self, _configuration: Configuration) -> Result<()> {
        self.metrics = Some(Rc::new(Metrics::new()?));
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        Some(Filter {
            metrics: self.metrics.clone()?,
            method: String::new(),
            route: None,
            bytes: 0,
        })
    }
}

/// One stream.
#[derive(Debug)]
pub struct Filter {
    metrics: Rc<Metrics>,
    method: String,
    /// The route whose `active` gauge this stream added to.
    route: Option<String>,
    bytes: usize,
}

/// A request header as text (lossy), or `""`.
fn header(name: &str) -> String {
    match http::request_headers().get(name) {
        Ok(Some(value)) => value.to_string_lossy().into_owned(),
        _ => String::new(),
    }
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        self.method = header(":method");
        let path = header(":path");
        let mut segments = path.trim_start_matches('/').split('/');
        let first = segments.next().unwrap_or_default().to_owned();
        if first == "drain" {
            let route = segments.next().unwrap_or_default();
            counted(self.metrics.active.get([route]).and_then(|g| g.add(-1)));
        } else {
            counted(self.metrics.active.get([&first]).and_then(|g| g.add(1)));
            self.route = Some(first);
        }
        let user = header("x-user");
        if !user.is_empty() {
            counted(self.metrics.users.get([&user]).and_then(|c| c.increment(1)));
        }
        Ok(Action::Continue)
    }

    fn on_request_body(&mut self, body_size: usize, _end_of_stream: bool) -> Result<Action> {
        self.bytes = body_size;
        Ok(Action::Continue)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let code = match http::response_headers().get(":status") {
            Ok(Some(value)) => value.to_string_lossy().into_owned(),
            _ => "none".to_owned(),
        };
        let requests = self.metrics.requests.get([&self.method, &code]);
        counted(requests.and_then(|c| c.increment(1)));
        Ok(Action::Continue)
    }

    fn on_log(&mut self) -> Result<()> {
        let bytes = u64::try_from(self.bytes).unwrap_or(u64::MAX);
        let histogram = self.metrics.request_bytes.get([&self.method]);
        counted(histogram.and_then(|h| h.record(bytes)));
        if let Some(route) = self.route.take() {
            counted(self.metrics.active.get([&route]).and_then(|g| g.add(-1)));
        }
        Ok(())
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

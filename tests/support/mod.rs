//! Helpers the SDK's integration tests share (each `tests/*.rs` is its own crate).
#![allow(dead_code, reason = "each test crate uses some of them")]
#![allow(clippy::expect_used, reason = "a helper fails its test by panicking")]

use proxywasm::callout::{self, HttpCall, HttpCallToken};
use proxywasm::mock::MockHost;
use proxywasm::{
    Action, Configuration, ContextId, HttpCallResponse, HttpContext, NoContext, PluginContext,
    Result, http,
};
use std::marker::PhantomData;
use std::time::Duration;

/// A filter that does nothing.
pub(crate) struct Noop;
impl HttpContext for Noop {}

/// A GET of `path` from `upstream` with the headers Envoy requires
/// (authority `authority`), not sent yet.
pub(crate) fn get<'a>(upstream: &'a str, path: &'a str, authority: &'a str) -> HttpCall<'a> {
    HttpCall::new(upstream)
        .header(":method", "GET")
        .header(":path", path)
        .header(":authority", authority)
}

/// A GET callout of `/` to `upstream` (authority `authority`), with a timeout
/// if one is given.
pub(crate) fn call(
    upstream: &str,
    authority: &str,
    timeout: Option<Duration>,
) -> Result<HttpCallToken> {
    let call = get(upstream, "/", authority);
    match timeout {
        Some(timeout) => call.timeout(timeout),
        None => call,
    }
    .send()
}

/// Inside `on_http_call_response`: the response's `:status` ("" without one)
/// and its body.
pub(crate) fn status_and_body() -> (String, String) {
    let status = callout::response_headers()
        .get(":status")
        .ok()
        .flatten()
        .map(|s| s.to_string());
    let body = callout::response_body()
        .read_all()
        .map(|b| b.to_string())
        .unwrap_or_default();
    (status.unwrap_or_default(), body)
}

/// A plugin that hands each callout response to its closure.
pub(crate) struct OnCalloutResponse<F>(pub(crate) F);

impl<F: FnMut(HttpCallResponse) + 'static> PluginContext for OnCalloutResponse<F> {
    type Http = NoContext;
    type Tcp = NoContext;
    fn on_http_call_response(
        &mut self,
        _token: HttpCallToken,
        response: HttpCallResponse,
    ) -> Result<()> {
        (self.0)(response);
        Ok(())
    }
}

/// A plugin that hands its configuration to its closure in `on_configure`.
pub(crate) struct OnConfigure<F>(pub(crate) F);

impl<F: FnMut(Configuration) -> Result<()> + 'static> PluginContext for OnConfigure<F> {
    type Http = NoContext;
    type Tcp = NoContext;
    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        (self.0)(configuration)
    }
}

/// A plugin that runs its closure on each tick; the test sets the period
/// with [`tick_every`].
pub(crate) struct OnTick<F>(pub(crate) F);

impl<F: FnMut() + 'static> PluginContext for OnTick<F> {
    type Http = NoContext;
    type Tcp = NoContext;
    fn on_tick(&mut self) -> Result<()> {
        (self.0)();
        Ok(())
    }
}

/// Sets the tick period of `host`'s plugin (starting it first).
pub(crate) fn tick_every(host: &MockHost, period: Duration) {
    host.run(|| proxywasm::time::set_tick_period(period))
        .expect("the tick period is set");
}

/// A plugin whose streams are `H`s and whose ticks resume the request of
/// context 2, the first stream (Go's `postpone_requests`).
pub(crate) struct ResumeOnTick<H>(PhantomData<H>);

impl<H> ResumeOnTick<H> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<H: HttpContext + Default> PluginContext for ResumeOnTick<H> {
    type Http = H;
    type Tcp = NoContext;
    fn on_tick(&mut self) -> Result<()> {
        if proxywasm::plugin::set_effective_context(ContextId(2)).is_ok() {
            let _ = http::resume_request();
        }
        Ok(())
    }
    fn new_http_context(&mut self, _id: ContextId) -> Option<H> {
        Some(H::default())
    }
}

/// A stream on `host` that received a GET's request headers (`:path /`,
/// end of stream), and the plugin's answer.
pub(crate) fn get_stream(host: &MockHost) -> (proxywasm::mock::HttpStream, Action) {
    let mut stream = host.http_stream();
    let action = stream.request_headers(&[(":path", "/")], true);
    (stream, action)
}

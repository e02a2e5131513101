//! Helpers the emulator's tests (`tests/mock_*.rs`) share.
#![allow(dead_code, reason = "each test crate uses some of them")]

use proxywasm::callout::{self, HttpCall, HttpCallToken};
use proxywasm::{HttpCallResponse, HttpContext, NoContext, PluginContext, Result};
use std::time::Duration;

/// A filter that does nothing.
pub(crate) struct Noop;
impl HttpContext for Noop {}

/// A GET callout to `upstream` with the headers Envoy requires (authority
/// `authority`), and a timeout if one is given.
pub(crate) fn call(
    upstream: &str,
    authority: &str,
    timeout: Option<Duration>,
) -> Result<HttpCallToken> {
    let call = HttpCall::new(upstream)
        .header(":method", "GET")
        .header(":path", "/")
        .header(":authority", authority);
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
    fn on_http_call_response(&mut self, _token: HttpCallToken, response: HttpCallResponse) {
        (self.0)(response);
    }
}

//! Strict mode (opt-in): a hostcall the test did not expect, or a lifecycle
//! violation, fails the test with a message naming the call.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::mock::{Export, MockHost};
use proxywasm::{Action, HttpContext, Result, http};
use std::time::Duration;

struct Peek;
impl HttpContext for Peek {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let _ = http::request_headers().get("host");
        proxywasm::log::info!("peeked"); // proxy_log is always allowed
        Ok(Action::Continue)
    }
}

#[test]
#[should_panic(
    expected = "proxy_get_header_map_value in proxy_on_request_headers (context 2): strict mode: the test did not expect this hostcall"
)]
fn an_unexpected_hostcall_fails_the_test() {
    let host = MockHost::builder().strict().http(|_| Peek);
    host.http_stream().request_headers(&[("host", "a")], true);
}

#[test]
fn expected_hostcalls_pass() {
    let host = MockHost::builder()
        .strict()
        .expect_hostcalls(["proxy_get_header_map_value"])
        .http(|_| Peek);
    host.http_stream().request_headers(&[("host", "a")], true);
    assert!(host.violations().is_empty());
    assert!(host.logs().contain("peeked"));
}

#[test]
#[should_panic(
    expected = "proxy_set_tick_period_milliseconds in _initialize (context 0): a hostcall during start-up"
)]
fn a_hostcall_during_start_up_fails_the_test() {
    let host = MockHost::builder()
        .strict()
        .expect_hostcalls(["proxy_set_tick_period_milliseconds"])
        .on_initialize(|| {
            let _ = proxywasm::time::set_tick_period(Duration::from_secs(1));
        })
        .http(|_| Peek);
    host.start();
}

#[test]
#[should_panic(expected = "proxy_on_request_headers on context 2, which was already deleted")]
fn a_callback_on_a_deleted_context_fails_the_test() {
    let host = MockHost::builder()
        .strict()
        .expect_hostcalls(["proxy_get_header_map_value"])
        .http(|_| Peek);
    let mut stream = host.http_stream();
    stream.request_headers(&[("host", "a")], true);
    stream.complete();
    host.call_export(Export::RequestHeaders {
        context_id: 2,
        num_headers: 0,
        end_of_stream: true,
    });
}

#[test]
fn without_strict_mode_violations_are_only_recorded() {
    let host = MockHost::builder().http(|_| Peek);
    let stream = host.http_stream();
    stream.complete();
    host.call_export(Export::RequestHeaders {
        context_id: 2,
        num_headers: 0,
        end_of_stream: true,
    });
    let violations = host.violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].callback, "proxy_on_request_headers");
    // The SDK answers a callback for a context it no longer has with the default.
    assert!(host.logs().contain("unknown context 2"));
}

//! Misusing the emulator's API panics in the test with a message naming
//! what was expected.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::callout::{GrpcCall, GrpcToken, HttpCallToken};
use proxywasm::mock::MockHost;
use proxywasm::{Action, ContextId, HttpContext, PeerType, QueueId, Result, TcpContext, http};

struct Noop;
impl HttpContext for Noop {}

fn host() -> MockHost {
    MockHost::builder().http(|_| Noop)
}

mod support;

/// Makes a callout to cluster `c` from the plugin; its token.
fn call(host: &MockHost) -> HttpCallToken {
    host.run(|| support::call("c", "a", None)).unwrap()
}

#[test]
#[should_panic(
    expected = "no pending HTTP callout has token 8; expected one of [4 (to \"c\", from context 1)]"
)]
fn answering_a_callout_that_was_never_made() {
    let host = host();
    call(&host);
    host.callouts()
        .respond_http(HttpCallToken(8), &[(":status", "200")], b"", &[]);
}

#[test]
#[should_panic(expected = "no pending HTTP callout has token 4; expected one of []")]
fn answering_a_callout_twice() {
    let host = host();
    let token = call(&host);
    host.callouts()
        .respond_http(token, &[(":status", "200")], b"", &[]);
    host.callouts().reset_http(token);
}

#[test]
#[should_panic(expected = "send the request headers before the request body")]
fn a_body_before_the_headers() {
    host().http_stream().request_body(b"x", true);
}

#[test]
#[should_panic(expected = "send the request headers before the response headers")]
fn a_response_before_the_request() {
    host()
        .http_stream()
        .response_headers(&[(":status", "200")], true);
}

#[test]
#[should_panic(expected = "the request headers of stream 2 were already sent")]
fn request_headers_twice() {
    let host = host();
    let mut stream = host.http_stream();
    let none: &[(&str, &str)] = &[];
    stream.request_headers(none, false);
    stream.request_headers(none, false);
}

#[test]
#[should_panic(
    expected = "the request already ended (end_of_stream was true, or trailers were sent)"
)]
fn a_body_after_the_end_of_the_request() {
    let host = host();
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    stream.request_body(b"late", true);
}

#[test]
#[should_panic(expected = "the plugin sent a local response (403) from proxy_on_request_headers")]
fn upstream_data_after_a_local_reply() {
    struct Deny;
    impl HttpContext for Deny {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            let _ = http::LocalResponse::new(403).send();
            Ok(Action::Pause)
        }
    }
    let host = MockHost::builder().http(|_| Deny);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    stream.response_headers(&[(":status", "200")], true);
}

#[test]
#[should_panic(expected = "tick(): no plugin context set a tick period")]
fn ticking_a_plugin_without_a_tick_period() {
    host().time().tick();
}

#[test]
#[should_panic(expected = "no shared queue has id 42")]
fn the_size_of_an_unknown_queue() {
    host().shared_data().queue_size(QueueId(42));
}

#[test]
#[should_panic(expected = "no shared queue has id 7; a plugin must register it first")]
fn enqueueing_into_an_unknown_queue() {
    host().shared_data().enqueue(QueueId(7), b"x");
}

#[test]
#[should_panic(expected = "metric \"g\" is a gauge, not a counter")]
fn reading_a_gauge_as_a_counter() {
    let host = host();
    host.run(|| proxywasm::metrics::Gauge::define("g")).unwrap();
    host.metrics().counter("g");
}

#[test]
#[should_panic(
    expected = "gRPC token 5 is a unary call; metadata and stream messages only exist on streams"
)]
fn metadata_on_a_unary_grpc_call() {
    let host = host();
    let token = host.run(|| GrpcCall::new("c", "s", "m").send(b"")).unwrap();
    host.callouts().grpc_initial_metadata(token, &[("a", "b")]);
}

#[test]
#[should_panic(expected = "no open gRPC call or stream has token 9")]
fn an_unknown_grpc_token() {
    host().callouts().close_grpc(GrpcToken(9), 14, "");
}

#[test]
#[should_panic(expected = "no pending DNS lookup has token 3")]
fn an_unknown_dns_token() {
    host().callouts().respond_dns(3, &[]);
}

#[test]
#[should_panic(
    expected = "the plugin failed to start (on_vm_start or on_configure returned false)"
)]
fn a_stream_on_a_plugin_that_failed_to_start() {
    let broken = |_| support::OnConfigure(|_| Err(proxywasm::Error::config("bad configuration")));
    let host = MockHost::builder().plugin(broken);
    host.http_stream();
}

#[test]
#[should_panic(expected = "context 9 is not a live plugin context; the plugin contexts are [1]")]
fn a_stream_on_an_unknown_plugin_context() {
    let host = host();
    host.start();
    host.http_stream_for(ContextId(9));
}

#[test]
#[should_panic(expected = "connection 2: the downstream side was already closed")]
fn data_after_the_downstream_closed() {
    struct Conn;
    impl TcpContext for Conn {}
    let host = MockHost::builder().tcp(|_| Conn);
    let mut conn = host.tcp_connection();
    conn.downstream_close(PeerType::Remote);
    conn.downstream_data(b"x", false);
}

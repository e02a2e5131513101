//! An auth filter written from the book must not let requests through while
//! its auth service is down. In Envoy 1.40 (the probe measures it) an
//! unreachable upstream arrives as Envoy's own 503 response, a timeout as
//! its 504, and only a reset after the response headers as a response
//! without headers; the emulator delivers each the same way, so a filter
//! that checked only "has headers" would fail these tests as it fails in
//! Envoy.
//!
//! Every test runs natively on the mock host, then on the release `.wasm`
//! under wasmtime.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::Action;
use proxywasm::mock::{HttpStream, MockHost};
use proxywasm_wasmtime::Dual;
use std::time::Duration;

/// The plugin, quiet, natively and on the release `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(proxywasm_fidelity::plugin)
})
.configure(|| MockHost::builder().echo_logs(false));

/// A request for `/api` that is waiting for its auth callout.
fn waiting(host: &MockHost) -> (HttpStream, proxywasm::callout::HttpCallToken) {
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/api"), (":method", "GET")], true),
        Action::Pause
    );
    let call = host
        .callouts()
        .http_from(stream.id())
        .pop()
        .expect("the auth callout");
    assert_eq!(call.upstream, proxywasm_fidelity::AUTH_CLUSTER);
    (stream, call.token)
}

fn denied_with(stream: &HttpStream, status: u32) {
    let reply = stream.local_response().expect("a local reply");
    assert_eq!(reply.status_code, status, "{reply:?}");
    assert_eq!(stream.action(), Action::Pause, "never resumed");
}

#[test]
fn an_unreachable_auth_service_is_envoys_503_and_the_request_is_denied() {
    DUAL.run(|host| {
        let (stream, token) = waiting(host);
        host.callouts().connect_failure_http(token);
        denied_with(&stream, 503);
        assert!(host.logs().contain("auth service down: 503"));
    });
}

#[test]
fn a_silent_auth_service_times_out_as_envoys_504_and_the_request_is_denied() {
    DUAL.run(|host| {
        let (stream, _token) = waiting(host);
        host.time().advance(proxywasm_fidelity::AUTH_TIMEOUT);
        assert!(host.callouts().http().is_empty());
        denied_with(&stream, 503);
        assert!(host.logs().contain("auth service down: 504"));
    });
}

#[test]
fn a_reset_after_the_answers_headers_arrives_without_headers_and_is_denied() {
    DUAL.run(|host| {
        let (stream, token) = waiting(host);
        host.callouts().reset_http(token);
        denied_with(&stream, 503);
        assert!(host.logs().contain("auth service down: reset"));
    });
}

#[test]
fn the_auth_services_verdict_decides_when_it_answers() {
    DUAL.run(|host| {
        let (mut stream, token) = waiting(host);
        host.callouts()
            .respond_http(token, &[(":status", "200")], b"", &[]);
        assert_eq!(stream.action(), Action::Continue);
        assert_eq!(stream.local_response(), None);
        stream.response_headers(&[(":status", "200")], true);
        stream.complete();

        let (stream, token) = waiting(host);
        host.callouts()
            .respond_http(token, &[(":status", "401")], b"no", &[]);
        denied_with(&stream, 403);
    });
}

#[test]
fn time_advancing_short_of_the_timeout_keeps_the_request_waiting() {
    DUAL.run(|host| {
        let (stream, _token) = waiting(host);
        host.time()
            .advance(proxywasm_fidelity::AUTH_TIMEOUT - Duration::from_millis(1));
        assert_eq!(host.callouts().http().len(), 1);
        assert_eq!(stream.local_response(), None);
    });
}

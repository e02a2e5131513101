//! `async_auth` runs each request's auth check as a task: it awaits the
//! callout, retries once after a 503, then resumes the request or answers
//! 403.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `async_auth.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::{HttpCallout, HttpStream, MockHost};
use proxywasm_wasmtime::Dual;
use std::time::Duration;

/// The plugin natively and as its release `.wasm`, configured by each test.
const PLUGIN: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(async_auth::plugin));
/// [`PLUGIN`] with no configuration (the cluster `auth`), started.
const DUAL: Dual = PLUGIN.started();

/// A `GET /` with `x-auth-key: key`; the stream, paused.
fn request(host: &MockHost, key: &str) -> HttpStream {
    let mut stream = host.http_stream();
    let action = stream.request_headers(&[(":path", "/"), ("x-auth-key", key)], true);
    assert_eq!(action, Action::Pause, "the request waits for the task");
    stream
}

/// The calls of `stream` waiting for an answer.
fn calls(host: &MockHost, stream: &HttpStream) -> Vec<HttpCallout> {
    host.callouts().http_from(stream.id())
}

/// Answers the last call of `stream` with `status`.
fn answer(host: &MockHost, stream: &HttpStream, status: &str) {
    let calls = calls(host, stream);
    let last = calls.last().map(|c| c.token);
    assert!(last.is_some(), "a call to answer");
    if let Some(token) = last {
        host.callouts()
            .respond_http(token, &[(":status", status)], b"", &[]);
    }
}

fn is_forbidden(stream: &HttpStream) -> bool {
    stream.local_response().map(|r| (r.status_code, r.body))
        == Some((403, b"Access forbidden.\n".to_vec()))
}

#[test]
fn the_check_forwards_the_key_and_the_attempt() {
    DUAL.run(|host| {
        let stream = request(host, "good");
        let calls = calls(host, &stream);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].upstream, "auth");
        assert_eq!(calls[0].header(":path"), Some("/check"));
        assert_eq!(calls[0].header("x-auth-key"), Some("good"));
        assert_eq!(calls[0].header("x-auth-attempt"), Some("1"));
    });
}

#[test]
fn a_200_resumes_the_request() {
    DUAL.run(|host| {
        let stream = request(host, "good");
        answer(host, &stream, "200");
        assert_eq!(stream.action(), Action::Continue);
        assert!(stream.local_response().is_none());
        assert!(
            host.logs()
                .contain("auth for key \"good\": Some(200) on attempt 1")
        );
        assert!(host.logs().contain("access granted"));
    });
}

#[test]
fn a_403_answers_access_forbidden_without_a_retry() {
    DUAL.run(|host| {
        let stream = request(host, "bad");
        answer(host, &stream, "403");
        assert!(is_forbidden(&stream));
        host.time().advance(Duration::from_secs(1));
        assert!(calls(host, &stream).is_empty(), "no retry");
    });
}

#[test]
fn a_503_is_retried_once_after_the_pause_then_a_200_resumes() {
    DUAL.run(|host| {
        let stream = request(host, "flaky");
        answer(host, &stream, "503");
        assert!(
            host.logs()
                .contain("auth for key \"flaky\": 503 on attempt 1, retrying in 200 ms")
        );
        host.time().advance(Duration::from_millis(150));
        assert!(calls(host, &stream).is_empty(), "still sleeping");
        host.time().advance(Duration::from_millis(100));
        let calls = calls(host, &stream);
        assert_eq!(calls.len(), 1, "the retry");
        assert_eq!(calls[0].header("x-auth-attempt"), Some("2"));
        assert!(stream.is_request_paused());
        answer(host, &stream, "200");
        assert_eq!(stream.action(), Action::Continue);
        assert!(
            host.logs()
                .contain("auth for key \"flaky\": Some(200) on attempt 2")
        );
    });
}

#[test]
fn a_down_auth_service_fails_closed_after_the_retry() {
    DUAL.run(|host| {
        let stream = request(host, "good");
        let first = calls(host, &stream)[0].token;
        // Envoy answers a call to an unreachable cluster with its own 503.
        host.callouts().connect_failure_http(first);
        host.time().advance(Duration::from_millis(250));
        let second = calls(host, &stream)[0].token;
        host.callouts().connect_failure_http(second);
        assert!(is_forbidden(&stream));
        assert!(
            host.logs()
                .contain("auth for key \"good\": Some(503) on attempt 2")
        );
        assert!(host.logs().contain("access forbidden"));
    });
}

#[test]
fn a_stream_that_ends_while_its_task_sleeps_drops_the_task() {
    DUAL.run(|host| {
        let stream = request(host, "flaky");
        answer(host, &stream, "503");
        let id = stream.id();
        stream.complete();
        host.time().advance(Duration::from_secs(1));
        assert!(
            host.callouts().http_from(id).is_empty(),
            "no retry for a gone stream"
        );
        assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
    });
}

#[test]
fn the_configuration_names_the_cluster() {
    PLUGIN.run_with(
        || MockHost::builder().plugin_configuration("auth_down"),
        |host| {
            assert!(host.start());
            assert!(host.logs().contain("async_auth: auth cluster auth_down"));
            let stream = request(host, "good");
            assert_eq!(calls(host, &stream)[0].upstream, "auth_down");
        },
    );
}

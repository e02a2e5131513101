//! `http_auth_random` asks the auth cluster about each request and lets it
//! through only on a 200; otherwise it answers 403 itself.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `http_auth_random.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::{HttpStream, MockHost};
use proxywasm_wasmtime::Dual;

/// The plugin natively and as its release `.wasm`, configured by each test.
const PLUGIN: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(http_auth_random::plugin)
});
/// [`PLUGIN`] with no configuration (the cluster `auth`), started.
const DUAL: Dual = PLUGIN.started();

/// A `GET /` with `x-auth-key: key`: the stream and the one auth call it made.
fn request(host: &MockHost, key: &str) -> (HttpStream, proxywasm::mock::HttpCallout) {
    let mut stream = host.http_stream();
    let action = stream.request_headers(&[(":path", "/"), ("x-auth-key", key)], true);
    assert_eq!(
        action,
        Action::Pause,
        "the request waits for the auth service"
    );
    let mut calls = host.callouts().http_from(stream.id());
    assert_eq!(calls.len(), 1);
    let call = calls.remove(0);
    (stream, call)
}

fn assert_forbidden(stream: &HttpStream) {
    let reply = stream.local_response().map(|r| (r.status_code, r.body));
    assert_eq!(reply, Some((403, b"Access forbidden.\n".to_vec())));
}

#[test]
fn the_check_goes_to_the_auth_cluster_with_the_key() {
    DUAL.run(|host| {
        let (_stream, call) = request(host, "good");
        assert_eq!(call.upstream, "auth");
        assert_eq!(call.header(":method"), Some("GET"));
        assert_eq!(call.header(":path"), Some("/check"));
        assert_eq!(call.header("x-auth-key"), Some("good"));
    });
}

#[test]
fn a_200_lets_the_request_through_and_logs_the_answer_headers() {
    DUAL.run(|host| {
        let (stream, call) = request(host, "good");
        host.callouts().respond_http(
            call.token,
            &[(":status", "200"), ("x-auth-verdict", "allow")],
            b"",
            &[],
        );
        assert_eq!(stream.action(), Action::Continue);
        assert!(stream.local_response().is_none());
        assert!(
            host.logs()
                .contain("response header from auth: :status: 200")
        );
        assert!(
            host.logs()
                .contain("response header from auth: x-auth-verdict: allow")
        );
        assert!(host.logs().contain("access granted"));
    });
}

#[test]
fn any_other_answer_is_a_403_access_forbidden() {
    DUAL.run(|host| {
        let (stream, call) = request(host, "bad");
        host.callouts()
            .respond_http(call.token, &[(":status", "403")], b"no", &[]);
        assert_forbidden(&stream);
        assert!(host.logs().contain("access forbidden"));
    });
}

#[test]
fn a_down_auth_service_fails_closed() {
    DUAL.run(|host| {
        let (stream, call) = request(host, "good");
        // Envoy answers a call to an unreachable cluster with its own 503.
        host.callouts().connect_failure_http(call.token);
        assert_forbidden(&stream);
        assert!(
            host.logs()
                .contain("response header from auth: :status: 503")
        );
    });
}

#[test]
fn the_configuration_names_the_cluster() {
    PLUGIN.run_with(
        || proxywasm::mock::MockHost::builder().plugin_configuration("auth_down"),
        |host| {
            assert!(host.start());
            assert!(
                host.logs()
                    .contain("http_auth_random: auth cluster auth_down")
            );
            let (_stream, call) = request(host, "good");
            assert_eq!(call.upstream, "auth_down");
        },
    );
}

//! `grpc_auth_random` holds each gRPC request while a gRPC authorization
//! service decides; it resumes it or answers with `PERMISSION_DENIED`.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `grpc_auth_random.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::callout::GrpcStatus;
use proxywasm::mock::{GrpcCallout, GrpcKind, HttpStream, MockHost};
use proxywasm_wasmtime::Dual;

/// The filter natively and as its release `.wasm` on a default host, started.
const DUAL: Dual =
    Dual::new(env!("CARGO_PKG_NAME"), |b| b.http(grpc_auth_random::plugin)).started();

/// A gRPC request for `method` (a `:path`): the stream, and the plugin's
/// call to the authorization service, which must have been made.
fn grpc_request(host: &MockHost, method: &str) -> (HttpStream, GrpcCallout) {
    let mut stream = host.http_stream();
    let headers = [
        (":method", "POST"),
        (":path", method),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ];
    assert_eq!(stream.request_headers(&headers, false), Action::Pause);
    assert!(stream.is_request_paused(), "held while the service decides");
    let mut calls = host.callouts().grpc();
    assert_eq!(calls.len(), 1, "one call to the authorization service");
    let call = calls.remove(0);
    (stream, call)
}

#[test]
fn a_grpc_request_asks_the_auth_service_with_its_method() {
    DUAL.run(|host| {
        let (_, call) = grpc_request(host, "/grpc.health.v1.Health/Check");
        assert_eq!(call.kind, GrpcKind::Call);
        assert_eq!(call.service, b"auth");
        assert_eq!(call.service_name, "demo.auth.v1.Auth");
        assert_eq!(call.method, "Check");
        assert_eq!(call.timeout, Some(std::time::Duration::from_secs(1)));
        // Field 1 (tag 0x0a), length 28, then the method.
        let mut expected = vec![0x0a, 28];
        expected.extend_from_slice(b"/grpc.health.v1.Health/Check");
        assert_eq!(call.messages, [expected]);
        assert!(
            host.logs()
                .contain("grpc_auth_random: checking /grpc.health.v1.Health/Check")
        );
    });
}

#[test]
fn a_reply_from_the_service_lets_the_request_through() {
    DUAL.run(|host| {
        let (mut stream, call) = grpc_request(host, "/grpc.health.v1.Health/Check");
        host.callouts().respond_grpc(call.token, b"");
        assert!(!stream.is_request_paused(), "resumed");
        assert!(stream.local_response().is_none());
        assert!(host.logs().contain("grpc_auth_random: allowed"));
        // The backend's answer passes, marked.
        let response = [(":status", "200"), ("content-type", "application/grpc")];
        assert_eq!(stream.response_headers(&response, false), Action::Continue);
        assert_eq!(
            stream.current_response_header("powered-by").as_deref(),
            Some("proxy-wasm")
        );
    });
}

#[test]
fn a_failure_from_the_service_answers_permission_denied() {
    DUAL.run(|host| {
        let (stream, call) = grpc_request(host, "/demo.admin.v1.Admin/Reset");
        host.callouts().close_grpc(
            call.token,
            GrpcStatus::PERMISSION_DENIED.code(),
            "method /demo.admin.v1.Admin/Reset is not allowed",
        );
        let reply = stream.local_response().expect("a local reply");
        assert_eq!(reply.status_code, 403);
        assert_eq!(reply.grpc_status, Some(7));
        assert_eq!(reply.body, b"denied by proxy-wasm (auth status 7)");
        // What the client gets is Envoy's gRPC shape, as the e2e check sees it:
        // a trailers-only 200 with the status, the body as `grpc-message`.
        assert_eq!(
            stream.current_response_header(":status").as_deref(),
            Some("200")
        );
        assert_eq!(
            stream.current_response_header("content-type").as_deref(),
            Some("application/grpc")
        );
        assert_eq!(
            stream.current_response_header("grpc-status").as_deref(),
            Some("7")
        );
        assert_eq!(
            stream.current_response_header("grpc-message").as_deref(),
            Some("denied by proxy-wasm (auth status 7)")
        );
        assert!(stream.current_response_body().is_empty());
        assert_eq!(
            stream.current_response_header("powered-by").as_deref(),
            Some("proxy-wasm"),
            "the local reply passes through the response callbacks"
        );
        assert!(host.logs().contain(
            "grpc_auth_random: denied: gRPC call failed with status 7: \
             method /demo.admin.v1.Admin/Reset is not allowed"
        ));
    });
}

#[test]
fn an_unreachable_service_denies_too() {
    DUAL.run(|host| {
        let (stream, call) = grpc_request(host, "/grpc.health.v1.Health/Check");
        // What Envoy delivers when the cluster has no healthy endpoint.
        host.callouts()
            .close_grpc(call.token, 14, "no healthy upstream");
        let reply = stream.local_response().expect("a local reply");
        assert_eq!(reply.grpc_status, Some(7));
        assert_eq!(reply.body, b"denied by proxy-wasm (auth status 14)");
    });
}

#[test]
fn a_request_that_is_not_grpc_gets_503_without_a_call() {
    DUAL.run(|host| {
        for content_type in [None, Some("application/json"), Some("application/grpcx")] {
            let mut stream = host.http_stream();
            let mut headers = vec![(":method", "GET"), (":path", "/")];
            headers.extend(content_type.map(|v| ("content-type", v)));
            assert_eq!(stream.request_headers(&headers, true), Action::Pause);
            let reply = stream.local_response().expect("a local reply");
            assert_eq!(reply.status_code, 503, "{content_type:?}");
            assert_eq!(reply.body, b"this service answers gRPC only\n");
            assert_eq!(reply.grpc_status, None);
        }
        assert!(host.callouts().grpc().is_empty());
    });
}

#[test]
fn grpc_subtypes_are_grpc() {
    DUAL.run(|host| {
        for content_type in ["application/grpc+proto", "Application/gRPC"] {
            let mut stream = host.http_stream();
            let headers = [(":path", "/x.Y/Z"), ("content-type", content_type)];
            assert_eq!(stream.request_headers(&headers, false), Action::Pause);
            assert!(stream.local_response().is_none(), "{content_type}");
        }
        assert_eq!(host.callouts().grpc().len(), 2);
    });
}

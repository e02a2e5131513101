//! `grpc_stream` opens a bidirectional gRPC stream for a request with
//! `x-messages`, sends each word, half-closes, logs every event that comes
//! back, and answers the request when the stream closes.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `grpc_stream.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::{GrpcCallout, GrpcKind, HttpStream, MockHost};
use proxywasm_wasmtime::Dual;

/// The filter natively and as its release `.wasm` on a default host, started.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.http(grpc_stream::plugin)).started();

/// A request with `x-messages: messages`: the stream, and the gRPC stream
/// the plugin opened.
fn chat(host: &MockHost, messages: &str) -> (HttpStream, GrpcCallout) {
    let mut stream = host.http_stream();
    let headers = [(":path", "/"), ("x-messages", messages)];
    assert_eq!(stream.request_headers(&headers, true), Action::Pause);
    let mut calls = host.callouts().grpc();
    assert_eq!(calls.len(), 1, "one gRPC stream open");
    (stream, calls.remove(0))
}

#[test]
fn a_request_with_x_messages_opens_a_stream_sends_each_and_half_closes() {
    DUAL.run(|host| {
        let (stream, grpc) = chat(host, "hello,grpc,,stream");
        assert_eq!(grpc.kind, GrpcKind::Stream);
        assert_eq!(grpc.service, b"echo");
        assert_eq!(grpc.service_name, "demo.echo.v1.Echo");
        assert_eq!(grpc.method, "Chat");
        assert_eq!(grpc.messages, [&b"hello"[..], b"grpc", b"stream"]);
        assert!(grpc.local_closed, "the plugin half-closed its side");
        assert!(stream.is_request_paused(), "held until the stream closes");
        let logs = host.logs();
        assert!(logs.contain("grpc_stream: opened stream"));
        assert!(logs.contain("grpc_stream: sent 3 messages and half-closed stream"));
    });
}

#[test]
fn every_event_is_logged_and_the_close_answers_with_the_echoes() {
    DUAL.run(|host| {
        let (stream, grpc) = chat(host, "hello,grpc,stream");
        let callouts = host.callouts();
        callouts.grpc_initial_metadata(grpc.token, &[("x-echo-server", "python")]);
        for echo in ["HELLO", "GRPC", "STREAM"] {
            callouts.grpc_message(grpc.token, echo.as_bytes());
        }
        callouts.grpc_trailing_metadata(grpc.token, &[("grpc-status", "0"), ("x-echoed", "3")]);
        assert!(
            stream.local_response().is_none(),
            "no answer before the close"
        );
        callouts.close_grpc(grpc.token, 0, "");
        let reply = stream.local_response().expect("answered on close");
        assert_eq!(reply.status_code, 200);
        assert_eq!(reply.body, b"HELLO\nGRPC\nSTREAM\n");
        let logs = host.logs();
        for line in [
            "1 initial metadata, x-echo-server=python",
            "received HELLO (5 bytes)",
            "received GRPC (4 bytes)",
            "received STREAM (6 bytes)",
            "2 trailing metadata, x-echoed=3",
            "closed with status 0: ",
        ] {
            assert!(logs.contain(line), "{line}: {:?}", logs.records());
        }
        assert!(host.callouts().grpc().is_empty(), "the stream is gone");
    });
}

#[test]
fn a_failed_stream_answers_502_with_its_status_and_message() {
    DUAL.run(|host| {
        let (stream, grpc) = chat(host, "one,fail,two");
        host.callouts().grpc_message(grpc.token, b"ONE");
        host.callouts().close_grpc(grpc.token, 9, "told to fail");
        let reply = stream.local_response().expect("answered on close");
        assert_eq!(reply.status_code, 502);
        assert_eq!(reply.body, b"stream failed with status 9: told to fail\n");
        assert!(host.logs().contain("received ONE (3 bytes)"));
        assert!(host.logs().contain("closed with status 9: told to fail"));
    });
}

#[test]
fn a_request_without_x_messages_opens_no_stream() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        assert_eq!(
            stream.request_headers(&[(":path", "/")], true),
            Action::Continue
        );
        assert!(host.callouts().grpc().is_empty());
        assert!(stream.local_response().is_none());
    });
}

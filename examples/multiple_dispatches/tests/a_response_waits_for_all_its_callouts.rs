//! `multiple_dispatches` holds each response until its ten callouts have
//! all answered, in whatever order.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `multiple_dispatches.wasm` under
//! wasmtime.

use proxywasm::Action;
use proxywasm::mock::{HttpStream, MockHost};
use proxywasm_wasmtime::Dual;

/// The plugin natively and as its release `.wasm`, no configuration, started.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(multiple_dispatches::plugin)
})
.started();

/// A request passed upstream and its response headers arrived: the stream.
fn respond(host: &MockHost) -> HttpStream {
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Action::Continue
    );
    let action = stream.response_headers(&[(":status", "200")], true);
    assert_eq!(action, Action::Pause, "the response waits for the callouts");
    stream
}

#[test]
fn the_response_headers_send_ten_callouts_at_once() {
    DUAL.run(|host| {
        let stream = respond(host);
        let calls = host.callouts().http_from(stream.id());
        assert_eq!(calls.len(), 10);
        assert!(calls.iter().all(|c| c.upstream == "web_service"));
        assert!(calls.iter().all(|c| c.header(":path") == Some("/ok")));
        assert!(
            host.logs()
                .contain("dispatched 10 callouts; response paused")
        );
    });
}

#[test]
fn the_response_resumes_after_the_last_answer_only() {
    DUAL.run(|host| {
        let stream = respond(host);
        let calls = host.callouts().http_from(stream.id());
        // Answered last to first; a failure counts as an answer too.
        for (answered, call) in calls.iter().rev().enumerate() {
            assert_eq!(stream.action(), Action::Pause, "after {answered} answers");
            if answered == 4 {
                host.callouts().connect_failure_http(call.token);
            } else {
                host.callouts()
                    .respond_http(call.token, &[(":status", "200")], b"", &[]);
            }
        }
        assert_eq!(stream.action(), Action::Continue);
        assert_eq!(
            stream.current_response_header("x-dispatches-answered"),
            Some("10".to_string())
        );
        let info = host.logs().info();
        for pending in (0..10).rev() {
            let line = format!("pending dispatched requests: {pending}");
            assert!(
                info.iter().any(|l| l.ends_with(&line)),
                "{line} in {info:?}"
            );
        }
        assert!(
            info.contains(&"callout 9 answered 200; pending dispatched requests: 9".to_string())
        );
        assert!(
            info.contains(&"callout 5 answered 503; pending dispatched requests: 5".to_string())
        );
        assert!(info.contains(&"response resumed after 10 responses".to_string()));
    });
}

#[test]
fn each_stream_waits_for_its_own_callouts() {
    DUAL.run(|host| {
        let first = respond(host);
        let second = respond(host);
        for call in host.callouts().http_from(first.id()) {
            host.callouts()
                .respond_http(call.token, &[(":status", "200")], b"", &[]);
        }
        assert_eq!(first.action(), Action::Continue);
        assert!(second.is_response_paused());
        assert_eq!(host.callouts().http_from(second.id()).len(), 10);
    });
}

//! `http_body` buffers a whole body, then edits it as the request headers
//! say (`rewrite` mode), answers with it (`echo` mode), or redacts it when
//! it mentions a secret (`redact` mode).
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `http_body.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::{HttpStream, MockHost};
use proxywasm_wasmtime::Dual;

/// The plugin natively and as its release `.wasm`, configured by each test.
const PLUGIN: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(http_body::plugin));

/// [`PLUGIN`] with the plugin configuration `mode`, started, with the filter
/// option `allow_on_headers_stop_iteration: true` as in `envoy.yaml`'s echo
/// listener.
fn dual_mode(mode: &'static str, body: impl Fn(&MockHost)) {
    PLUGIN.started().run_with(
        || {
            MockHost::builder()
                .plugin_configuration(mode)
                .allow_on_headers_stop_iteration(true)
        },
        body,
    );
}

const ORIGINAL: &[u8] = b"[original body]";

/// A `PUT` with the edit headers and a `content-length`, body not sent yet.
fn put(host: &MockHost, at: &str, operation: &str) -> HttpStream {
    let mut stream = host.http_stream();
    let action = stream.request_headers(
        &[
            (":method", "PUT"),
            (":path", "/anything"),
            ("content-length", "15"),
            ("buffer-replace-at", at),
            ("buffer-operation", operation),
        ],
        false,
    );
    assert_eq!(action, Action::Continue);
    stream
}

/// Sends [`ORIGINAL`] as the request body in two chunks.
fn send_request_body(stream: &mut HttpStream) -> Action {
    assert_eq!(stream.request_body(&ORIGINAL[..5], false), Action::Pause);
    stream.request_body(&ORIGINAL[5..], true)
}

/// Answers with [`ORIGINAL`] in two chunks; the actions of both.
fn send_response_body(stream: &mut HttpStream) -> [Action; 2] {
    stream.response_headers(&[(":status", "200"), ("content-length", "15")], false);
    let first = stream.response_body(&ORIGINAL[..5], false);
    [first, stream.response_body(&ORIGINAL[5..], true)]
}

#[test]
fn each_operation_edits_the_request_body() {
    let cases = [
        ("append", "[original body][this is appended body]"),
        ("prepend", "[this is prepended body][original body]"),
        ("replace", "[this is replaced body]"),
        ("invalid", "[this is replaced body]"),
    ];
    dual_mode("rewrite", |host| {
        for (operation, expected) in cases {
            let mut stream = put(host, "request", operation);
            assert_eq!(
                stream.current_request_header("content-length"),
                None,
                "the length changes: the header goes"
            );
            assert_eq!(send_request_body(&mut stream), Action::Continue);
            assert_eq!(
                String::from_utf8_lossy(&stream.current_request_body()),
                expected,
                "{operation}"
            );
            assert!(
                host.logs()
                    .contain("http_body: original request body: [original body]")
            );
            // The response passes untouched, chunk by chunk.
            assert_eq!(send_response_body(&mut stream), [Action::Continue; 2]);
            assert_eq!(
                stream.current_response_header("content-length").as_deref(),
                Some("15")
            );
            assert_eq!(stream.current_response_body(), ORIGINAL);
        }
    });
}

#[test]
fn each_operation_edits_the_response_body() {
    let cases = [
        ("append", "[original body][this is appended body]"),
        ("prepend", "[this is prepended body][original body]"),
        ("replace", "[this is replaced body]"),
        ("invalid", "[this is replaced body]"),
    ];
    dual_mode("rewrite", |host| {
        for (operation, expected) in cases {
            let mut stream = put(host, "response", operation);
            assert_eq!(
                stream.current_request_header("content-length").as_deref(),
                Some("15")
            );
            stream.request_body(ORIGINAL, true);
            assert_eq!(stream.current_request_body(), ORIGINAL);
            assert_eq!(
                send_response_body(&mut stream),
                [Action::Pause, Action::Continue],
                "held until the end"
            );
            assert_eq!(stream.current_response_header("content-length"), None);
            assert_eq!(
                String::from_utf8_lossy(&stream.current_response_body()),
                expected,
                "{operation}"
            );
            assert!(
                host.logs()
                    .contain("http_body: original response body: [original body]")
            );
        }
    });
}

#[test]
fn without_the_headers_bodies_pass_untouched() {
    dual_mode("rewrite", |host| {
        host.logs().clear();
        let mut stream = host.http_stream();
        stream.request_headers(&[(":method", "PUT"), ("content-length", "15")], false);
        assert_eq!(stream.request_body(ORIGINAL, false), Action::Continue);
        assert_eq!(stream.request_body(b"", true), Action::Continue);
        assert_eq!(
            stream.current_request_header("content-length").as_deref(),
            Some("15")
        );
        stream.response_headers(&[(":status", "200")], false);
        assert_eq!(stream.response_body(b"ok", true), Action::Continue);
        assert_eq!(stream.current_response_body(), b"ok");
        assert!(host.logs().info().is_empty(), "{:?}", host.logs().info());
    });
}

#[test]
fn echo_answers_with_the_whole_request_body() {
    dual_mode("echo", |host| {
        let mut stream = host.http_stream();
        // The route would answer from the headers: they are held.
        stream.direct_response(200, "the route answered\n");
        assert_eq!(
            stream.request_headers(&[(":method", "PUT"), (":path", "/")], false),
            Action::Pause
        );
        assert_eq!(stream.request_body(b"[original", false), Action::Pause);
        assert!(stream.local_response().is_none(), "not before the end");
        assert_eq!(stream.request_body(b" body]", true), Action::Pause);
        let Some(reply) = stream.local_response() else {
            unreachable!("no reply: {:?}", host.logs().records());
        };
        assert_eq!(reply.status_code, 200);
        assert_eq!(reply.body, ORIGINAL);
        assert_eq!(stream.current_response_body(), ORIGINAL);
    });
}

#[test]
fn echo_answers_a_request_without_body_with_an_empty_200() {
    dual_mode("echo", |host| {
        let mut stream = host.http_stream();
        stream.direct_response(200, "the route answered\n");
        stream.request_headers(&[(":method", "GET"), (":path", "/")], true);
        let reply = stream.local_response();
        assert_eq!(reply.map(|r| (r.status_code, r.body)), Some((200, vec![])));
    });
}

#[test]
fn start_logs_the_mode() {
    for (mode, line) in [
        ("rewrite", "http_body: mode Rewrite"),
        ("echo\n", "http_body: mode Echo"),
        ("redact", "http_body: mode Redact"),
    ] {
        PLUGIN.run_with(
            || MockHost::builder().plugin_configuration(mode),
            |host| {
                assert!(host.start());
                assert_eq!(host.logs().info(), [line]);
            },
        );
    }
}

#[test]
fn an_unknown_mode_refuses_to_start() {
    PLUGIN.run_with(
        || MockHost::builder().plugin_configuration("body-set"),
        |host| {
            assert!(!host.start());
            assert!(
                host.logs().contain(
                    "invalid configuration: mode \"body-set\": expected \"rewrite\", \"echo\" or \"redact\""
                ),
                "{:?}",
                host.logs().records()
            );
        },
    );
}

#[test]
fn redact_replaces_a_response_body_that_mentions_secret() {
    dual_mode("redact", |host| {
        let mut stream = host.http_stream();
        stream.request_headers(&[(":path", "/secret")], true);
        stream.response_headers(&[(":status", "200"), ("content-length", "17")], false);
        assert_eq!(stream.current_response_header("content-length"), None);
        assert_eq!(stream.response_body(b"the sec", false), Action::Pause);
        assert_eq!(stream.response_body(b"ret is 42\n", true), Action::Continue);
        assert_eq!(
            String::from_utf8_lossy(&stream.current_response_body()),
            "Original message body (17 bytes) redacted.\n"
        );
        assert!(
            host.logs()
                .contain("http_body: redacted a response body of 17 bytes")
        );
    });
}

#[test]
fn redact_leaves_other_bodies_alone() {
    dual_mode("redact", |host| {
        let mut stream = host.http_stream();
        stream.request_headers(&[(":path", "/")], true);
        stream.response_headers(&[(":status", "200")], false);
        assert_eq!(
            stream.response_body(b"nothing to hide\n", true),
            Action::Continue
        );
        assert_eq!(stream.current_response_body(), b"nothing to hide\n");
    });
}

//! `http_headers` answers `GET /hello` itself: a local 200 with a plain-text
//! body, which passes through the filter's own response path and so carries
//! the configured header too. Other paths go upstream.
//!
//! Every test runs twice with `DUAL` (see `common/mod.rs`): natively on the mock host, then
//! on the release `http_headers.wasm` under wasmtime.

use proxywasm::Action;

mod common;
use common::{DUAL, assert_logged, request};

#[test]
fn hello_gets_a_local_200_with_the_body_and_content_type() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        assert_eq!(
            stream.request_headers(&[(":path", "/hello"), (":method", "GET")], true),
            Action::Pause
        );
        let Some(reply) = stream.local_response() else {
            unreachable!("no local reply: {:?}", host.logs().records());
        };
        assert_eq!(reply.status_code, 200);
        assert_eq!(reply.body, b"Hello from proxywasm!\n");
        assert_eq!(
            reply.headers,
            [("content-type".to_owned(), "text/plain".to_owned())]
        );
        assert_eq!(
            stream.current_response_header("content-type").as_deref(),
            Some("text/plain")
        );
        assert_eq!(stream.current_response_body(), b"Hello from proxywasm!\n");
    });
}

#[test]
fn the_local_reply_carries_the_configured_header() {
    DUAL.run(|host| {
        let stream = request(host, "/hello");
        assert_eq!(
            stream.current_response_header(":status").as_deref(),
            Some("200")
        );
        assert_eq!(
            stream.current_response_header("x-proxywasm").as_deref(),
            Some("it works")
        );
    });
}

#[test]
fn the_local_reply_is_logged_as_complete_with_status_200() {
    DUAL.run(|host| {
        request(host, "/hello").complete();
        assert_logged(host, "http_headers: stream complete, status 200");
    });
}

#[test]
fn other_paths_go_upstream() {
    DUAL.run(|host| {
        for path in ["/", "/hello/world", "/hello?name=x", "/HELLO"] {
            let mut stream = host.http_stream();
            assert_eq!(
                stream.request_headers(&[(":path", path)], true),
                Action::Continue,
                "{path}"
            );
            assert!(stream.local_response().is_none(), "{path}");
        }
    });
}

//! `http_headers` adds the header named in its JSON configuration to every
//! response, whatever the status, keeping the headers already there.
//!
//! Every test runs twice with `DUAL` (see `common/mod.rs`): natively on the mock host, then
//! on the release `http_headers.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::MockHost;

mod common;
use common::{DUAL, STARTED, request, respond_200};

#[test]
fn start_logs_the_header_it_will_add() {
    DUAL.run(|host| {
        assert!(host.start(), "{:?}", host.logs().records());
        assert_eq!(
            host.logs().info(),
            ["http_headers: configured to add x-proxywasm: it works"]
        );
    });
}

#[test]
fn every_response_gets_the_configured_header() {
    DUAL.run(|host| {
        for status in ["200", "404", "503"] {
            let mut stream = host.http_stream();
            stream.request_headers(&[(":path", "/"), (":method", "GET")], true);
            assert_eq!(
                stream.response_headers(&[(":status", status)], true),
                Action::Continue
            );
            assert_eq!(
                stream.current_response_header("x-proxywasm").as_deref(),
                Some("it works"),
                "status {status}"
            );
            stream.complete();
        }
    });
}

#[test]
fn the_upstream_headers_are_kept() {
    DUAL.run(|host| {
        let mut stream = request(host, "/");
        stream.response_headers(
            &[
                (":status", "200"),
                ("content-type", "text/plain"),
                ("x-proxywasm", "upstream"),
            ],
            true,
        );
        let headers = stream.current_response_headers();
        let has = |name: &str, value: &str| headers.iter().any(|(n, v)| n == name && v == value);
        assert!(has(":status", "200"), "{headers:?}");
        assert!(has("content-type", "text/plain"), "{headers:?}");
        // `add`, not `replace`: the upstream's value stays, ours joins it.
        assert!(has("x-proxywasm", "upstream"), "{headers:?}");
        assert!(has("x-proxywasm", "it works"), "{headers:?}");
    });
}

#[test]
fn another_configuration_adds_another_header() {
    DUAL.run_with(
        || MockHost::builder().plugin_configuration(r#"{"header": "x-team", "value": "edge"}"#),
        |host| {
            let mut stream = request(host, "/");
            let added = respond_200(&mut stream, "x-team");
            assert_eq!(added.as_deref(), Some("edge"));
            assert_eq!(stream.current_response_header("x-proxywasm"), None);
        },
    );
}

#[test]
fn request_and_bodies_pass_through_untouched() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        let request = [
            (":path", "/upload"),
            (":method", "POST"),
            ("content-length", "4"),
        ];
        assert_eq!(stream.request_headers(&request, false), Action::Continue);
        assert_eq!(stream.request_body(b"ping", true), Action::Continue);
        assert_eq!(stream.current_request_body(), b"ping");
        stream.response_headers(&[(":status", "200")], false);
        assert_eq!(stream.response_body(b"pong", true), Action::Continue);
        assert_eq!(stream.current_response_body(), b"pong");
        assert!(stream.local_response().is_none());
    });
}

#[test]
fn response_headers_are_logged_with_the_added_one() {
    STARTED.run(|host| {
        let mut stream = request(host, "/");
        host.logs().clear();
        stream.response_headers(&[(":status", "200"), ("content-type", "text/plain")], true);
        assert_eq!(
            host.logs().info(),
            [
                "http_headers: response header :status: 200",
                "http_headers: response header content-type: text/plain",
                "http_headers: response header x-proxywasm: it works",
            ]
        );
    });
}

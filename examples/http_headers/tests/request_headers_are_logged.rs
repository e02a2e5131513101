//! `http_headers` logs every request header, pseudo-headers included, in the
//! order Envoy gives them, and lets the request continue.
//!
//! Every test runs twice with `DUAL` (see `common/mod.rs`): natively on the mock host, then
//! on the release `http_headers.wasm` under wasmtime.

use proxywasm::Action;

mod common;
use common::{DUAL, STARTED, respond_200};

#[test]
fn each_request_header_is_logged_in_order() {
    STARTED.run(|host| {
        let mut stream = host.http_stream();
        let action = stream.request_headers(
            &[
                (":authority", "example.com"),
                (":path", "/"),
                (":method", "GET"),
                ("user-agent", "curl/8"),
                ("x-e2e-probe", "42"),
            ],
            true,
        );
        assert_eq!(action, Action::Continue);
        assert_eq!(
            host.logs().info(),
            [
                "http_headers: request header :authority: example.com",
                "http_headers: request header :path: /",
                "http_headers: request header :method: GET",
                "http_headers: request header user-agent: curl/8",
                "http_headers: request header x-e2e-probe: 42",
            ]
        );
    });
}

#[test]
fn a_non_ascii_value_is_logged_without_panicking() {
    STARTED.run(|host| {
        let mut stream = host.http_stream();
        let action = stream.request_headers(
            &[(":path", "/"), ("x-drink", "caf\u{e9}"), ("x-empty", "")],
            true,
        );
        assert_eq!(action, Action::Continue);
        assert!(!stream.is_reset());
        assert_eq!(
            host.logs().info(),
            [
                "http_headers: request header :path: /",
                "http_headers: request header x-drink: caf\u{e9}",
                "http_headers: request header x-empty: ",
            ]
        );
        assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
        // The stream is still usable afterwards.
        let added = respond_200(&mut stream, "x-proxywasm");
        assert_eq!(added.as_deref(), Some("it works"));
    });
}

#[test]
fn logging_leaves_the_request_headers_untouched() {
    DUAL.run(|host| {
        let request = [(":path", "/"), (":method", "GET"), ("cookie", "a=1")];
        let mut stream = host.http_stream();
        stream.request_headers(&request, true);
        let expected: Vec<(String, String)> = request
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(stream.current_request_headers(), expected);
    });
}

#[test]
fn each_stream_logs_its_own_headers() {
    DUAL.run(|host| {
        let mut first = host.http_stream();
        let mut second = host.http_stream();
        first.request_headers(&[("x-which", "first")], true);
        second.request_headers(&[("x-which", "second")], true);
        let records = host.logs().records();
        let context_of = |message: &str| {
            records
                .iter()
                .find(|record| record.message == message)
                .map(|record| record.context_id)
        };
        assert_eq!(
            context_of("http_headers: request header x-which: first"),
            Some(first.id())
        );
        assert_eq!(
            context_of("http_headers: request header x-which: second"),
            Some(second.id())
        );
    });
}

#[test]
fn more_than_1024_headers_are_all_logged() {
    // Envoy sends this many once `max_headers_count` is raised (envoy.yaml
    // does, and the e2e check sends the same request through Envoy).
    STARTED.run(|host| {
        let names: Vec<String> = (0..1100).map(|i| format!("x-many-{i:04}")).collect();
        let mut request = vec![(":path", "/"), (":method", "GET")];
        request.extend(names.iter().map(|name| (name.as_str(), "1")));
        let mut stream = host.http_stream();
        assert_eq!(stream.request_headers(&request, true), Action::Continue);
        let logged = host.logs().info();
        assert_eq!(logged.len(), 1102);
        assert_eq!(
            logged.last().map(String::as_str),
            Some("http_headers: request header x-many-1099: 1")
        );
        assert!(host.logs().warn().is_empty(), "{:?}", host.logs().warn());
    });
}

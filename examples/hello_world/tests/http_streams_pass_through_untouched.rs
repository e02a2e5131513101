//! `hello_world` creates no HTTP context: Envoy gets the default answer for
//! every HTTP callback (`Continue`), and headers and bodies pass unchanged.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on the mock host, then
//! on the release `hello_world.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::logging::LogLevel;
use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;

/// The plugin natively and as its release `.wasm`, with a configuration of
/// its own.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(hello_world::plugin))
    .configure(|| MockHost::builder().plugin_configuration("Hello from the test"));

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

#[test]
fn every_http_callback_continues() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        assert_eq!(
            stream.request_headers(&[(":path", "/"), (":method", "POST")], false),
            Action::Continue
        );
        assert_eq!(stream.request_body(b"ping", false), Action::Continue);
        assert_eq!(
            stream.request_trailers(&[("x-checksum", "1")]),
            Action::Continue
        );
        assert_eq!(
            stream.response_headers(&[(":status", "200")], false),
            Action::Continue
        );
        assert_eq!(stream.response_body(b"pong", true), Action::Continue);
        assert!(stream.local_response().is_none());
        assert!(!stream.is_reset());
        stream.complete();
    });
}

#[test]
fn headers_and_bodies_are_left_as_they_came() {
    DUAL.run(|host| {
        let request = [(":path", "/"), (":method", "GET"), ("user-agent", "curl/8")];
        let response = [(":status", "200"), ("content-type", "text/plain")];
        let mut stream = host.http_stream();
        stream.request_headers(&request, false);
        stream.request_body(b"request body", true);
        assert_eq!(stream.current_request_body(), b"request body");
        stream.response_headers(&response, false);
        assert_eq!(stream.current_response_headers(), owned(&response));
        stream.response_body(b"response body", true);
        assert_eq!(stream.current_response_body(), b"response body");
        stream.complete();
    });
}

#[test]
fn streams_log_nothing_at_info_or_above() {
    DUAL.run(|host| {
        assert!(host.start());
        host.logs().clear();
        let mut stream = host.http_stream();
        stream.request_headers(&[(":path", "/")], true);
        stream.response_headers(&[(":status", "200")], true);
        stream.complete();
        // The SDK's own debug line ("creates no context") is allowed.
        let loud: Vec<_> = host
            .logs()
            .records()
            .into_iter()
            .filter(|record| record.level > LogLevel::Debug)
            .collect();
        assert!(loud.is_empty(), "{loud:?}");
    });
}

//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{HttpStream, MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// The configuration of `envoy.yaml`.
pub(crate) const CONFIG: &str = r#"{"header": "x-proxywasm", "value": "it works"}"#;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "http_headers",
        configure,
        |builder| builder.plugin(http_headers::plugin),
        body,
    );
}

/// [`dual_with`] the configuration of `envoy.yaml`.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_with(|| MockHost::builder().plugin_configuration(CONFIG), body);
}

/// [`dual`] with the plugin started and its start-up line cleared from the
/// log: the info lines `body` reads are its own requests'.
pub(crate) fn dual_started(body: impl Fn(&MockHost)) {
    dual(|host| {
        assert!(host.start(), "{:?}", host.logs().records());
        host.logs().clear();
        body(host);
    });
}

/// A new stream that received request headers for `path`, ending the request.
pub(crate) fn request(host: &MockHost, path: &str) -> HttpStream {
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", path)], true);
    stream
}

/// Answers `stream` with a 200 that ends it; the response's `name` header as
/// the filter left it.
pub(crate) fn respond_200(stream: &mut HttpStream, name: &str) -> Option<String> {
    stream.response_headers(&[(":status", "200")], true);
    stream.current_response_header(name)
}

/// Asserts that some log message contains `text`, showing the log if not.
pub(crate) fn assert_logged(host: &MockHost, text: &str) {
    assert!(host.logs().contain(text), "{:?}", host.logs().records());
}

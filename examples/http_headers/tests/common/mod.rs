//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{HttpStream, MockHost};
use proxywasm_wasmtime::Dual;

/// The configuration of `envoy.yaml`.
pub(crate) const CONFIG: &str = r#"{"header": "x-proxywasm", "value": "it works"}"#;

/// The plugin natively and as its release `.wasm`, with the configuration of
/// `envoy.yaml` (`DUAL.run_with` another).
pub(crate) const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(http_headers::plugin))
    .configure(|| MockHost::builder().plugin_configuration(CONFIG));

/// [`DUAL`] with the plugin started and its start-up line cleared from the
/// log: the info lines a body reads are its own requests'.
pub(crate) const STARTED: Dual = DUAL.started().log_cleared();

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

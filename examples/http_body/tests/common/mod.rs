//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "http_body",
        configure,
        |builder| builder.plugin(http_body::plugin),
        body,
    );
}

/// [`dual_with`] the plugin configuration `mode`, started, with the filter
/// option `allow_on_headers_stop_iteration: true` as in `envoy.yaml`'s echo
/// listener.
pub(crate) fn dual_mode(mode: &'static str, body: impl Fn(&MockHost)) {
    dual_with(
        || {
            MockHost::builder()
                .plugin_configuration(mode)
                .allow_on_headers_stop_iteration(true)
        },
        |host| {
            assert!(host.start(), "{:?}", host.logs().records());
            body(host);
        },
    );
}

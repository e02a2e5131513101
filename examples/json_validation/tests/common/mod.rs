//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// The configuration of `envoy.yaml`.
pub(crate) const CONFIG: &str = r#"{"required_keys": ["id", "token"]}"#;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "json_validation",
        configure,
        |builder| builder.plugin(json_validation::plugin),
        body,
    );
}

/// [`dual_with`] the configuration and filter option of `envoy.yaml`
/// (`allow_on_headers_stop_iteration: true`), started.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_with(
        || {
            MockHost::builder()
                .plugin_configuration(CONFIG)
                .allow_on_headers_stop_iteration(true)
        },
        |host| {
            assert!(host.start(), "{:?}", host.logs().records());
            body(host);
        },
    );
}

//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// The configuration of `envoy.yaml`.
pub(crate) const CONFIG: &str =
    r#"{"clusters_by_local_port": {"18770": "egress-router1", "18772": "egress-router2"}}"#;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "envoy_tcp_routing",
        configure,
        |builder| builder.plugin(envoy_tcp_routing::plugin),
        body,
    );
}

/// A host configured as in `envoy.yaml` whose connections come from
/// 127.0.0.1:40000 to `local`, with Envoy's `set_envoy_filter_state`
/// accepting everything (the emulator has no filter-state factories: a test
/// registers the function).
pub(crate) fn connecting_to(local: &'static str) -> impl Fn() -> MockHostBuilder {
    move || {
        MockHost::builder()
            .plugin_configuration(CONFIG)
            .property(&["source", "address"], "127.0.0.1:40000")
            .property(&["destination", "address"], local)
            .foreign_function("set_envoy_filter_state", |_: &[u8]| Ok(Vec::new()))
    }
}

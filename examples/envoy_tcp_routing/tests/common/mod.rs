//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "envoy_tcp_routing",
        configure,
        |builder| builder.tcp(envoy_tcp_routing::connection),
        body,
    );
}

/// A host with a client at `source` and Envoy's `set_envoy_filter_state`
/// accepting everything (the emulator has no filter-state factories).
pub(crate) fn client_at(source: &'static str) -> impl Fn() -> MockHostBuilder {
    move || {
        MockHost::builder()
            .property(&["source", "address"], source)
            .foreign_function("set_envoy_filter_state", |_: &[u8]| Ok(Vec::new()))
    }
}

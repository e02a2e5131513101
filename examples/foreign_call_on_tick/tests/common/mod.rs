//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`, started, its log cleared.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "foreign_call_on_tick",
        configure,
        |builder| builder.plugin(foreign_call_on_tick::plugin),
        |host| {
            assert!(host.start(), "{:?}", host.logs().records());
            host.logs().clear();
            body(host);
        },
    );
}

/// [`dual_with`] a plain host (it has Envoy's `compress` and `uncompress`).
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_with(MockHost::builder, body);
}

//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "hello_world",
        configure,
        |builder| builder.plugin(hello_world::plugin),
        body,
    );
}

/// [`dual_with`] a plugin configuration of its own.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_with(
        || MockHost::builder().plugin_configuration("Hello from the test"),
        body,
    );
}

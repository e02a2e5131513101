//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "tcp_logger",
        configure,
        |builder| builder.tcp(tcp_logger::connection),
        body,
    );
}

/// [`dual_with`] the `source.address` Envoy sets for a local client.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_with(
        || MockHost::builder().property(&["source", "address"], "127.0.0.1:40000"),
        body,
    );
}

//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "grpc_auth_random",
        configure,
        |builder| builder.http(grpc_auth_random::plugin),
        body,
    );
}

/// [`dual_with`] a default host, started.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_with(MockHost::builder, |host| {
        assert!(host.start(), "{:?}", host.logs().records());
        body(host);
    });
}

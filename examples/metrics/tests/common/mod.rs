//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::MockHost;
use proxywasm_wasmtime::dual_run;

/// Runs `body` on a host: natively on the mock host, then on the release
/// `.wasm`.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_run(
        "metrics",
        MockHost::builder,
        |builder| builder.plugin(metrics::plugin),
        body,
    );
}

//! Shared by this example's test files (each file is its own test binary).

use proxywasm::mock::MockHost;
use proxywasm_wasmtime::dual_run;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_run(
        "hello_world",
        || MockHost::builder().plugin_configuration("Hello from the test"),
        |builder| builder.plugin(hello_world::plugin),
        body,
    );
}

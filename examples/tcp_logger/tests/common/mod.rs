//! Shared by this example's test files (each file is its own test binary).

use proxywasm::mock::MockHost;
use proxywasm_wasmtime::dual_run;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_run(
        "tcp_logger",
        || MockHost::builder().property(&["source", "address"], "127.0.0.1:40000"),
        |builder| builder.tcp(tcp_logger::connection),
        body,
    );
}

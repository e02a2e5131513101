//! Shared by this example's test files (each file is its own test binary).

use proxywasm::mock::MockHost;
use proxywasm_wasmtime::dual_run;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_run(
        "http_headers",
        || {
            MockHost::builder()
                .plugin_configuration(r#"{"header": "x-proxywasm", "value": "it works"}"#)
        },
        |builder| builder.plugin(http_headers::plugin),
        body,
    );
}

//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// The VM configuration of `envoy.yaml`.
pub(crate) const VM_CONFIG: &str = r#"{"name": "vm configuration"}"#;
/// The plugin configuration of `envoy.yaml`.
pub(crate) const PLUGIN_CONFIG: &str = r#"{"name": "plugin configuration"}"#;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "vm_plugin_configuration",
        configure,
        |builder| builder.vm(vm_plugin_configuration::vm),
        body,
    );
}

/// [`dual_with`] the configurations of `envoy.yaml`.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_with(
        || {
            MockHost::builder()
                .vm_configuration(VM_CONFIG)
                .plugin_configuration(PLUGIN_CONFIG)
        },
        body,
    );
}

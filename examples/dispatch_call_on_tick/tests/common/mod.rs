//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "dispatch_call_on_tick",
        configure,
        |builder| builder.plugin(dispatch_call_on_tick::plugin),
        body,
    );
}

/// [`dual_with`] two plugins in one VM, as in `envoy.yaml`: the first named
/// by its root id `plugin1`, the second by its configuration `plugin2`;
/// started.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_with(
        || MockHost::builder().root_id("plugin1").add_plugin("plugin2"),
        |host| {
            assert!(host.start(), "{:?}", host.logs().records());
            body(host);
        },
    );
}

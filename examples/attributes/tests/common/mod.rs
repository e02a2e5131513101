//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;
use std::time::{Duration, SystemTime};

/// When the emulated clock starts.
pub(crate) fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// A host named as in `envoy.yaml`, whose streams come from
/// 127.0.0.1:40000 to 127.0.0.1:18800 on route `to_backend` over HTTP/1.1.
pub(crate) fn envoy_like() -> MockHostBuilder {
    MockHost::builder()
        .plugin_name("attributes_plugin")
        .root_id("attributes_root")
        .vm_id("attributes_vm")
        .start_time(start())
        .property(&["source", "address"], "127.0.0.1:40000")
        .property(&["destination", "address"], "127.0.0.1:18800")
        .property(&["xds", "route_name"], "to_backend")
        .property(&["request", "protocol"], "HTTP/1.1")
}

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`, started.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "attributes",
        configure,
        |builder| builder.plugin(attributes::plugin),
        |host| {
            assert!(host.start(), "{:?}", host.logs().records());
            body(host);
        },
    );
}

/// [`dual_with`] an [`envoy_like`] host.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_with(envoy_like, body);
}

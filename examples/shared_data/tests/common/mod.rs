//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{EnvoyVms, MockHost, MockHostBuilder};
use proxywasm_wasmtime::{WasmHost, dual_run, plugin_wasm};
use std::borrow::Borrow;

/// Runs `body` on one host: natively on the
/// mock host, then on the release `.wasm`.
pub(crate) fn dual(body: impl Fn(&MockHost)) {
    dual_run(
        "shared_data",
        MockHost::builder,
        |builder| builder.http(shared_data::filter),
        body,
    );
}

/// One VM of [`dual_envoy`]: a native host or an engine host.
pub(crate) struct Vm(Box<dyn Borrow<MockHost>>);

impl Borrow<MockHost> for Vm {
    fn borrow(&self) -> &MockHost {
        (*self.0).borrow()
    }
}

/// Runs `body` on the VMs Envoy starts with `--concurrency workers` (the
/// canary, the main thread's VM and the workers, one shared-data store),
/// natively, then on the release `.wasm`.
pub(crate) fn dual_envoy(workers: usize, body: impl Fn(&EnvoyVms<Vm>)) {
    let quiet = |b: MockHostBuilder| b.echo_logs(false);
    eprintln!("EnvoyVms: native (mock host)");
    let native = EnvoyVms::new(workers, |b| {
        Vm(Box::new(quiet(b).http(shared_data::filter)))
    });
    body(&native);
    let plugin = plugin_wasm("shared_data");
    eprintln!("EnvoyVms: engine ({} under wasmtime)", plugin.name());
    let engine = EnvoyVms::new(workers, |b| Vm(Box::new(quiet(b).wasm(&plugin))));
    body(&engine);
}

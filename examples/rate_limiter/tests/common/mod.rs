//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{EnvoyVms, MockHost, MockHostBuilder, MockWorld};
use proxywasm_wasmtime::{WasmHost, dual_run, plugin_wasm};
use std::borrow::Borrow;
use std::ops::Deref;
use std::rc::Rc;

/// Runs `body` on one host with the configuration `config`: natively on the
/// mock host, then on the release `.wasm`.
pub(crate) fn dual_with(config: &'static str, body: impl Fn(&MockHost)) {
    dual_run(
        "rate_limiter",
        || MockHost::builder().plugin_configuration(config),
        |builder| builder.plugin(rate_limiter::plugin),
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
/// configured with `config`: natively, then on the release `.wasm`.
pub(crate) fn dual_envoy(workers: usize, config: &'static str, body: impl Fn(&EnvoyVms<Vm>)) {
    let quiet = |b: MockHostBuilder| b.echo_logs(false).plugin_configuration(config);
    eprintln!("EnvoyVms: native (mock host)");
    let native = EnvoyVms::new(workers, |b| {
        Vm(Box::new(quiet(b).plugin(rate_limiter::plugin)))
    });
    body(&native);
    let plugin = plugin_wasm("rate_limiter");
    eprintln!("EnvoyVms: engine ({} under wasmtime)", plugin.name());
    let engine = EnvoyVms::new(workers, |b| Vm(Box::new(quiet(b).wasm(&plugin))));
    body(&engine);
}

/// A worker of [`dual_workers`]: a native host or an engine host, both a
/// `MockHost` underneath; shared so that one worker's hostcall can run
/// another's request.
pub(crate) type Worker = Rc<dyn Deref<Target = MockHost>>;

/// Runs `body` with `count` started workers sharing one world (one Envoy's
/// shared data), configured with `config`: natively, then on the `.wasm`.
pub(crate) fn dual_workers(count: usize, config: &'static str, body: impl Fn(&[Worker])) {
    let builder = |world: &MockWorld| {
        MockHost::builder()
            .world(world)
            .echo_logs(false)
            .plugin_configuration(config)
    };
    eprintln!("workers: native (mock host)");
    let world = MockWorld::new();
    let workers: Vec<Worker> = (0..count)
        .map(|_| Rc::new(Box::new(builder(&world).plugin(rate_limiter::plugin))) as Worker)
        .collect();
    run_started(&workers, &body);
    let plugin = plugin_wasm("rate_limiter");
    eprintln!("workers: engine ({} under wasmtime)", plugin.name());
    let world = MockWorld::new();
    let workers: Vec<Worker> = (0..count)
        .map(|_| Rc::new(builder(&world).wasm(&plugin)) as Worker)
        .collect();
    run_started(&workers, &body);
}

fn run_started(workers: &[Worker], body: &impl Fn(&[Worker])) {
    for worker in workers {
        assert!(worker.start(), "{:?}", worker.logs().records());
    }
    body(workers);
}

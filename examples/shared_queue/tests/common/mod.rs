//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder, MockWorld};
use proxywasm_wasmtime::{WasmHost, plugin_wasm};
use std::ops::Deref;

/// The receiver's configuration in `envoy.yaml`.
pub(crate) const RECEIVER: &str = r#"{"receiver": {"queue": "events"}}"#;
/// The senders' configuration in `envoy.yaml`.
pub(crate) const SENDER: &str = r#"{"sender": {"vm_id": "receiver", "queue": "events"}}"#;

/// A VM: a native host or an engine host, both a `MockHost` underneath.
pub(crate) type Vm = Box<dyn Deref<Target = MockHost>>;

/// One Envoy process's VMs in one world: the receiver (`vm_id: receiver`)
/// and a sender (`vm_id: sender`, which serves HTTP streams and TCP
/// connections).
pub(crate) struct Envoy {
    pub(crate) receiver: Vm,
    pub(crate) sender: Vm,
    pub(crate) world: MockWorld,
}

/// Runs `body` with an unstarted [`Envoy`] whose VMs are made by `make`:
/// natively, then on the release `.wasm`.
fn dual_vms(body: &impl Fn(&Envoy), make: impl Fn(MockHostBuilder) -> Vm) {
    let world = MockWorld::new();
    let builder = |vm_id: &str, config: &str| {
        MockHost::builder()
            .world(&world)
            .vm_id(vm_id)
            .root_id(vm_id)
            .echo_logs(false)
            .plugin_configuration(config)
    };
    let envoy = Envoy {
        receiver: make(builder("receiver", RECEIVER)),
        sender: make(builder("sender", SENDER)),
        world: world.clone(),
    };
    body(&envoy);
}

/// Runs `body` natively on the mock host, then on the release `.wasm`.
pub(crate) fn dual(body: impl Fn(&Envoy)) {
    eprintln!("shared_queue: native (mock host)");
    dual_vms(&body, |b| {
        Box::new(Box::new(b.plugin(shared_queue::plugin)))
    });
    let plugin = plugin_wasm("shared_queue");
    eprintln!("shared_queue: engine ({} under wasmtime)", plugin.name());
    dual_vms(&body, |b| Box::new(b.wasm(&plugin)));
}

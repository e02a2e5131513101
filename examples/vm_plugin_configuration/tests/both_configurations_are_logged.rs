//! `vm_plugin_configuration` logs the VM configuration from `on_vm_start`
//! and the plugin configuration from `on_configure`, on the plugin's root
//! context, VM first.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `vm_plugin_configuration.wasm` under
//! wasmtime.

use proxywasm::Action;
use proxywasm::mock::{Export, MockHost};
use proxywasm_wasmtime::Dual;

/// The VM natively and as its release `.wasm`, with the configurations of
/// `envoy.yaml`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.vm(vm_plugin_configuration::vm)
})
.configure(|| {
    MockHost::builder()
        .vm_configuration(VM_CONFIG)
        .plugin_configuration(PLUGIN_CONFIG)
});

/// The VM configuration of `envoy.yaml`.
const VM_CONFIG: &str = r#"{"name": "vm configuration"}"#;
/// The plugin configuration of `envoy.yaml`.
const PLUGIN_CONFIG: &str = r#"{"name": "plugin configuration"}"#;

#[test]
fn the_vm_configuration_then_the_plugin_configuration_are_logged() {
    DUAL.run(|host| {
        assert!(host.start(), "{:?}", host.logs().records());
        assert_eq!(
            host.logs().info(),
            [
                r#"vm_plugin_configuration: vm configuration: {"name": "vm configuration"}"#,
                r#"vm_plugin_configuration: plugin configuration: {"name": "plugin configuration"}"#,
            ]
        );
        let root = host.root_context_id();
        assert!(
            host.logs().records().iter().all(|r| r.context_id == root),
            "{:?}",
            host.logs().records()
        );
    });
}

#[test]
fn on_vm_start_comes_before_on_configure() {
    DUAL.run(|host| {
        assert!(host.start());
        let starts: Vec<_> = host
            .callbacks()
            .into_iter()
            .filter(|c| matches!(c, Export::VmStart { .. } | Export::Configure { .. }))
            .collect();
        assert!(
            matches!(
                starts.as_slice(),
                [Export::VmStart { .. }, Export::Configure { .. }]
            ),
            "{starts:?}"
        );
    });
}

#[test]
fn absent_configurations_are_logged_empty() {
    DUAL.run_with(MockHost::builder, |host| {
        assert!(host.start());
        assert_eq!(
            host.logs().info(),
            [
                "vm_plugin_configuration: vm configuration: ",
                "vm_plugin_configuration: plugin configuration: ",
            ]
        );
    });
}

#[test]
fn each_plugin_context_logs_its_own_configuration() {
    // Two filters sharing one VM: Envoy starts the VM context's
    // `on_vm_start` once per plugin context.
    DUAL.run_with(
        || {
            MockHost::builder()
                .vm_configuration("shared")
                .plugin_configuration("first")
                .add_plugin("second")
        },
        |host| {
            assert!(host.start(), "{:?}", host.logs().records());
            let logs = host.logs().info();
            for line in [
                "vm_plugin_configuration: plugin configuration: first",
                "vm_plugin_configuration: plugin configuration: second",
            ] {
                assert!(logs.iter().any(|l| l == line), "{logs:?}");
            }
            assert!(
                logs.iter()
                    .any(|l| l == "vm_plugin_configuration: vm configuration: shared"),
                "{logs:?}"
            );
        },
    );
}

#[test]
fn http_streams_pass_through() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        assert_eq!(
            stream.request_headers(&[(":path", "/")], true),
            Action::Continue
        );
        assert_eq!(
            stream.response_headers(&[(":status", "200")], true),
            Action::Continue
        );
    });
}

//! `hello_world` starts with any configuration and logs it: the line Envoy's
//! log shows when the filter is loaded.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on the mock host, then
//! on the release `hello_world.wasm` under wasmtime.

use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;

/// The plugin natively and as its release `.wasm`, with a configuration of
/// its own.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(hello_world::plugin))
    .configure(|| MockHost::builder().plugin_configuration("Hello from the test"));

#[test]
fn start_logs_the_configuration_from_envoy_yaml() {
    DUAL.run_with(
        || MockHost::builder().plugin_configuration("Hello from envoy.yaml"),
        |host| {
            assert!(host.start(), "{:?}", host.logs().records());
            assert_eq!(
                host.logs().info(),
                ["hello_world: started, configuration: Hello from envoy.yaml"]
            );
            assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
        },
    );
}

#[test]
fn an_empty_configuration_still_starts() {
    DUAL.run_with(MockHost::builder, |host| {
        assert!(host.start(), "{:?}", host.logs().records());
        assert_eq!(
            host.logs().info(),
            ["hello_world: started, configuration: "]
        );
    });
}

#[test]
fn a_configuration_that_is_not_utf8_starts_with_replacement_characters() {
    DUAL.run_with(
        || MockHost::builder().plugin_configuration(b"caf\xe9".to_vec()),
        |host| {
            assert!(host.start(), "{:?}", host.logs().records());
            assert_eq!(
                host.logs().info(),
                ["hello_world: started, configuration: caf\u{fffd}"]
            );
        },
    );
}

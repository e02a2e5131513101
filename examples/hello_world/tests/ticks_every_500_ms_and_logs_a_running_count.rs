//! `hello_world` sets a 500 ms tick period when it is configured, and every
//! tick logs a running count.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on the mock host, then
//! on the release `hello_world.wasm` under wasmtime.

use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;
use std::time::Duration;

/// The plugin natively and as its release `.wasm`, with a configuration of
/// its own.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(hello_world::plugin))
    .configure(|| MockHost::builder().plugin_configuration("Hello from the test"));

#[test]
fn the_tick_period_is_500_ms() {
    DUAL.run(|host| {
        assert_eq!(
            host.time().tick_period(),
            None,
            "no period before configuration"
        );
        assert!(host.start());
        assert_eq!(host.time().tick_period(), Some(Duration::from_millis(500)));
        assert_eq!(hello_world::TICK_PERIOD, Duration::from_millis(500));
    });
}

#[test]
fn advancing_the_clock_fires_one_tick_per_period_with_a_running_count() {
    DUAL.run(|host| {
        assert!(host.start());
        host.logs().clear(); // the start-up line: from here on, every info line is a tick's
        host.time().advance(Duration::from_millis(499));
        assert!(host.logs().info().is_empty(), "{:?}", host.logs().records());
        host.time().advance(Duration::from_millis(1));
        assert_eq!(host.logs().info(), ["hello_world: tick 1"]);
        host.time().advance(Duration::from_millis(500));
        assert_eq!(
            host.logs().info(),
            ["hello_world: tick 1", "hello_world: tick 2"]
        );
        host.time().advance(Duration::from_millis(1_500));
        assert_eq!(host.logs().info().len(), 5, "{:?}", host.logs().records());
        assert_eq!(
            host.logs().info().last().map(String::as_str),
            Some("hello_world: tick 5")
        );
    });
}

#[test]
fn a_tick_on_demand_counts_too() {
    DUAL.run(|host| {
        assert!(host.start());
        host.logs().clear(); // the start-up line: from here on, every info line is a tick's
        host.time().tick();
        host.time().tick();
        assert_eq!(
            host.logs().info(),
            ["hello_world: tick 1", "hello_world: tick 2"]
        );
    });
}

#[test]
fn ticks_are_logged_on_the_plugin_context() {
    DUAL.run(|host| {
        let root = host.root_context_id();
        host.time().advance(Duration::from_millis(500));
        let tick = host
            .logs()
            .records()
            .into_iter()
            .find(|record| record.message == "hello_world: tick 1")
            .unwrap_or_else(|| unreachable!("no tick logged: {:?}", host.logs().records()));
        assert_eq!(tick.context_id, root);
    });
}

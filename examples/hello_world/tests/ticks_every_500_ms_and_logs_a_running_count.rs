//! `hello_world` sets a 500 ms tick period when it is configured, and every
//! tick logs a running count.
//!
//! Every test runs twice with `dual_run` (see `common/mod.rs`): natively on the mock host, then
//! on the release `hello_world.wasm` under wasmtime.

use std::time::Duration;

mod common;
use common::dual;

#[test]
fn the_tick_period_is_500_ms() {
    dual(|host| {
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
    dual(|host| {
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
    dual(|host| {
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
    dual(|host| {
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

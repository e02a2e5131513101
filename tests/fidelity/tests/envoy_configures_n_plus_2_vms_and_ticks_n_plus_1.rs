//! Envoy 1.40 with `--concurrency N` configures a plugin N + 2 times (the
//! canary, the main thread's VM, N workers) and ticks N + 1 VMs (never the
//! canary); the probe counts both. `EnvoyVms` builds that set of VMs, so a
//! plugin that counts, calls out or writes shared data from `on_configure`
//! or `on_tick` is tested against the numbers Envoy produces.
//!
//! Every test runs natively on the mock host, then on the release `.wasm`
//! under wasmtime.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::mock::{EnvoyVms, MockHost, MockWorld};
use proxywasm_fidelity::{CONFIGURED, TICK_PERIOD, TICKS};
use proxywasm_wasmtime::{EngineHost, WasmHost, plugin_wasm};
use std::borrow::Borrow;

fn count(world: &MockWorld, key: &str) -> u64 {
    world.shared_data("", key).map_or(0, |(bytes, _)| {
        u64::from_le_bytes(bytes.try_into().expect("an 8-byte counter"))
    })
}

fn native(concurrency: usize) -> EnvoyVms {
    eprintln!("EnvoyVms: native");
    EnvoyVms::new(concurrency, |b| {
        b.echo_logs(false).plugin(proxywasm_fidelity::plugin)
    })
}

fn engine(concurrency: usize) -> EnvoyVms<EngineHost> {
    let plugin = plugin_wasm(env!("CARGO_PKG_NAME"));
    eprintln!("EnvoyVms: engine ({})", plugin.name());
    EnvoyVms::new(concurrency, |b| b.echo_logs(false).wasm(&plugin))
}

#[test]
fn four_workers_configure_six_times_and_five_vms_tick_each_period() {
    four_workers(&native(4));
    four_workers(&engine(4));
}

fn four_workers<H: Borrow<MockHost>>(envoy: &EnvoyVms<H>) {
    {
        assert!(envoy.start());
        assert_eq!(count(envoy.world(), CONFIGURED), 6);
        assert_eq!(count(envoy.world(), TICKS), 0);
        envoy.advance(TICK_PERIOD);
        assert_eq!(count(envoy.world(), TICKS), 5);
        envoy.advance(TICK_PERIOD * 2);
        assert_eq!(count(envoy.world(), TICKS), 15);
        envoy.tick();
        assert_eq!(count(envoy.world(), TICKS), 20);
        let canary_ticks = envoy
            .canary()
            .callbacks()
            .iter()
            .filter(|e| e.name() == "proxy_on_tick")
            .count();
        assert_eq!(canary_ticks, 0, "the canary never ticks");
    }
}

#[test]
fn one_worker_is_envoys_probe_setting_three_configures_and_two_ticking_vms() {
    one_worker(&native(1));
    one_worker(&engine(1));
}

fn one_worker<H: Borrow<MockHost>>(envoy: &EnvoyVms<H>) {
    {
        assert!(envoy.start());
        envoy.advance(TICK_PERIOD);
        assert_eq!(count(envoy.world(), CONFIGURED), 3);
        assert_eq!(count(envoy.world(), TICKS), 2);
        // Streams run on the workers; the main thread's VM serves none.
        let mut stream = envoy.worker(0).http_stream();
        stream.request_headers(&[(":path", "/")], true);
        stream.complete();
    }
}

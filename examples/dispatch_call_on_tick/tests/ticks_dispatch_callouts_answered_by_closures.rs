//! `dispatch_call_on_tick`: two plugins in one VM each send several HTTP
//! callouts on every tick; each answer reaches the closure of its own call,
//! on the plugin context that made it.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `dispatch_call_on_tick.wasm` under
//! wasmtime.

use proxywasm::mock::{MockHost, PluginConfig};
use proxywasm_wasmtime::Dual;
use std::time::Duration;

/// The plugin natively and as its release `.wasm`: two plugins in one VM, as
/// in `envoy.yaml` (no configuration, named by their root ids `plugin1` and
/// `plugin2`), started.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(dispatch_call_on_tick::plugin)
})
.configure(|| {
    MockHost::builder()
        .root_id("plugin1")
        .add_plugin_with(PluginConfig {
            root_id: "plugin2".into(),
            ..PluginConfig::default()
        })
})
.started();

/// One tick of both plugins.
fn tick(host: &MockHost) {
    host.time().advance(Duration::from_millis(500));
}

#[test]
fn each_plugin_is_named_and_ticks() {
    DUAL.run(|host| {
        assert!(host.logs().contain("plugin1 ticks every 500 ms"));
        assert!(host.logs().contain("plugin2 ticks every 500 ms"));
        assert!(host.callouts().http().is_empty(), "no call before a tick");
    });
}

#[test]
fn a_tick_sends_three_calls_from_each_plugin_all_in_flight() {
    DUAL.run(|host| {
        tick(host);
        let roots = host.root_context_ids();
        assert_eq!(roots.len(), 2);
        for root in roots {
            let calls = host.callouts().http_from(root);
            let paths: Vec<_> = calls.iter().map(|c| c.header(":path")).collect();
            assert_eq!(paths, [Some("/ok"), Some("/fail"), Some("/ok")]);
            assert!(calls.iter().all(|c| c.upstream == "web_service"));
        }
        assert!(host.logs().contain("plugin1 tick 1: 3 calls in flight"));
        assert!(host.logs().contain("plugin2 tick 1: 3 calls in flight"));
    });
}

#[test]
fn answers_in_any_order_reach_their_own_closure_and_plugin() {
    DUAL.run(|host| {
        tick(host);
        let roots = host.root_context_ids();
        let second = host.callouts().http_from(roots[1]);
        let first = host.callouts().http_from(roots[0]);
        // The second plugin's last call first, then the first plugin's middle one.
        host.callouts()
            .respond_http(second[2].token, &[(":status", "200")], b"", &[]);
        host.callouts()
            .respond_http(first[1].token, &[(":status", "503")], b"", &[]);
        host.callouts()
            .respond_http(second[0].token, &[(":status", "200")], b"", &[]);
        let info = host.logs().info();
        for line in [
            "plugin2 tick 1 call 2 /ok: status 200, 2 in flight",
            "plugin1 tick 1 call 1 /fail: status 503, 2 in flight",
            "plugin2 tick 1 call 0 /ok: status 200, 1 in flight",
        ] {
            assert!(info.iter().any(|l| l == line), "{line} in {info:?}");
        }
    });
}

#[test]
fn calls_of_later_ticks_add_to_those_in_flight() {
    DUAL.run(|host| {
        tick(host);
        tick(host);
        assert!(host.logs().contain("plugin1 tick 2: 6 calls in flight"));
        let roots = host.root_context_ids();
        let calls = host.callouts().http_from(roots[0]);
        assert_eq!(calls.len(), 6);
        // Envoy answers a call to a down upstream with its own 503.
        host.callouts().connect_failure_http(calls[3].token);
        assert!(
            host.logs()
                .contain("plugin1 tick 2 call 0 /ok: status 503, 5 in flight")
        );
        assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
    });
}

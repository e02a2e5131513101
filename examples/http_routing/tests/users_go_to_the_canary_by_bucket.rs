//! `http_routing` hashes `x-user-id` into a bucket and, for users below the
//! configured share, appends `-canary` to `:authority` so Envoy routes them
//! to the canary.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `http_routing.wasm` under wasmtime.

use http_routing::bucket;
use proxywasm::Action;
use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;

/// The plugin natively and as its release `.wasm`, configured by each test.
const PLUGIN: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(http_routing::plugin));

/// [`PLUGIN`] with a canary share of `percent`, started.
fn dual_share(percent: &'static str, body: impl Fn(&MockHost)) {
    PLUGIN
        .started()
        .run_with(|| MockHost::builder().plugin_configuration(percent), body);
}

/// The `:authority` a request from `user` (if any) leaves the plugin with.
fn routed(host: &MockHost, user: Option<&str>) -> Option<String> {
    let mut stream = host.http_stream();
    let mut headers = vec![(":authority", "shop.example"), (":path", "/")];
    headers.extend(user.map(|user| ("x-user-id", user)));
    assert_eq!(stream.request_headers(&headers, true), Action::Continue);
    stream.current_request_header(":authority")
}

#[test]
fn buckets_are_fnv1a_modulo_100_and_stable() {
    // The users the Envoy checks send (e2e.toml).
    let expected = [("alice", 79), ("carol", 62), ("bob", 44), ("erin", 25)];
    for (user, b) in expected {
        assert_eq!(bucket(user.as_bytes()), b, "{user}");
    }
    assert_eq!(bucket(b""), 61); // FNV-1a's offset basis, 2166136261 % 100
}

#[test]
fn users_below_the_share_go_to_the_canary() {
    dual_share("50", |host| {
        for user in ["bob", "erin"] {
            assert_eq!(
                routed(host, Some(user)).as_deref(),
                Some("shop.example-canary"),
                "{user}"
            );
        }
        assert!(
            host.logs()
                .contain("http_routing: user bob (bucket 44) -> canary")
        );
    });
}

#[test]
fn the_others_stay_on_the_primary() {
    dual_share("50", |host| {
        for user in ["alice", "carol"] {
            assert_eq!(
                routed(host, Some(user)).as_deref(),
                Some("shop.example"),
                "{user}"
            );
        }
        assert!(
            host.logs()
                .contain("http_routing: user alice (bucket 79) -> primary")
        );
    });
}

#[test]
fn a_request_without_a_user_goes_to_the_primary_silently() {
    dual_share("100", |host| {
        host.logs().clear();
        assert_eq!(routed(host, None).as_deref(), Some("shop.example"));
        assert!(host.logs().info().is_empty(), "{:?}", host.logs().info());
    });
}

#[test]
fn the_share_decides_at_the_edges() {
    dual_share("0", |host| {
        assert_eq!(routed(host, Some("erin")).as_deref(), Some("shop.example"));
    });
    dual_share("100", |host| {
        assert_eq!(
            routed(host, Some("alice")).as_deref(),
            Some("shop.example-canary")
        );
    });
}

#[test]
fn start_logs_the_share() {
    dual_share(" 50\n", |host| {
        assert_eq!(
            host.logs().info(),
            ["http_routing: 50% of users go to the canary"]
        );
    });
}

#[test]
fn a_share_that_is_not_a_percentage_refuses_to_start() {
    for share in ["101", "-1", "half", ""] {
        PLUGIN.run_with(
            || MockHost::builder().plugin_configuration(share),
            |host| {
                assert!(!host.start(), "{share:?}");
                assert!(
                    host.logs().contain("expected a percentage from 0 to 100"),
                    "{:?}",
                    host.logs().records()
                );
            },
        );
    }
}

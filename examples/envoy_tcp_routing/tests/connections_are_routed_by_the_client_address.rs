//! `envoy_tcp_routing` sets `tcp_proxy`'s cluster (filter state
//! `envoy.tcp_proxy.cluster`) from the parity of the client IP's last byte,
//! on the new connection, and closes connections it cannot route.
//!
//! Every test runs twice with `dual_run` (see `common/mod.rs`): natively on
//! the mock host, then on the release `envoy_tcp_routing.wasm` under wasmtime.

use envoy_tcp_routing::{CLUSTER_KEY, EVEN, ODD};
use proxywasm::mock::MockHost;
use proxywasm::{Action, Status};

mod common;
use common::{client_at, dual_with};

/// The one `set_envoy_filter_state` call: its key and value, as Envoy
/// receives them (protobuf fields 1 and 2).
fn filter_state_set(host: &MockHost) -> (String, String) {
    let calls = host.foreign_functions().calls();
    let [(name, arguments)] = calls.as_slice() else {
        unreachable!("not one foreign call: {calls:?}");
    };
    assert_eq!(name, "set_envoy_filter_state");
    let field = |at: usize| {
        let len = usize::from(arguments[at + 1]);
        String::from_utf8_lossy(&arguments[at + 2..at + 2 + len]).into_owned()
    };
    assert_eq!(arguments[0], 0x0a, "field 1 first");
    let key = field(0);
    assert_eq!(arguments[2 + key.len()], 0x12, "field 2 next");
    (key.clone(), field(2 + key.len()))
}

#[test]
fn an_odd_client_goes_to_router1() {
    dual_with(client_at("127.0.0.1:40000"), |host| {
        let connection = host.tcp_connection();
        assert_eq!(connection.action(), Action::Continue);
        assert_eq!(
            filter_state_set(host),
            (CLUSTER_KEY.to_owned(), ODD.to_owned())
        );
        assert_eq!(
            host.logs().info(),
            ["envoy_tcp_routing: 127.0.0.1:40000 goes to egress-router1"]
        );
    });
}

#[test]
fn an_even_client_goes_to_router2() {
    dual_with(client_at("127.0.0.2:40000"), |host| {
        host.tcp_connection();
        assert_eq!(
            filter_state_set(host),
            (CLUSTER_KEY.to_owned(), EVEN.to_owned())
        );
        assert_eq!(
            host.logs().info(),
            ["envoy_tcp_routing: 127.0.0.2:40000 goes to egress-router2"]
        );
    });
}

#[test]
fn ipv6_clients_are_routed_by_their_last_byte_too() {
    dual_with(client_at("[2001:db8::a]:443"), |host| {
        host.tcp_connection();
        assert_eq!(filter_state_set(host).1, EVEN);
    });
}

#[test]
fn a_connection_without_a_client_address_is_closed() {
    dual_with(
        || {
            MockHost::builder()
                .foreign_function("set_envoy_filter_state", |_: &[u8]| Ok(Vec::new()))
        },
        |host| {
            let connection = host.tcp_connection();
            assert!(connection.is_downstream_closed());
            assert!(host.foreign_functions().calls().is_empty());
            assert!(
                host.logs().contain("envoy_tcp_routing: no source.address"),
                "{:?}",
                host.logs().records()
            );
        },
    );
}

#[test]
fn a_cluster_envoy_refuses_closes_the_connection() {
    dual_with(
        || {
            MockHost::builder()
                .property(&["source", "address"], "127.0.0.1:40000")
                .foreign_function("set_envoy_filter_state", |_: &[u8]| Err(Status::NotFound))
        },
        |host| {
            let connection = host.tcp_connection();
            assert!(connection.is_downstream_closed());
            assert!(
                host.logs()
                    .contain("proxy_call_foreign_function(set_envoy_filter_state) failed"),
                "{:?}",
                host.logs().records()
            );
            assert!(!host.logs().contain("goes to"));
        },
    );
}

#[test]
fn the_cluster_envoy_used_is_logged_when_the_connection_ends() {
    dual_with(client_at("127.0.0.2:40000"), |host| {
        let connection = host.tcp_connection();
        host.set_property(&["xds", "cluster_name"], EVEN);
        connection.complete();
        assert_eq!(
            host.logs().info(),
            [
                "envoy_tcp_routing: 127.0.0.2:40000 goes to egress-router2",
                "envoy_tcp_routing: 127.0.0.2:40000 was served by egress-router2",
            ]
        );
    });
}

//! `envoy_tcp_routing` sets `tcp_proxy`'s cluster (filter state
//! `envoy.tcp_proxy.cluster`) on each new connection from the local port
//! the client connected to, as its configuration maps them; other ports
//! keep `tcp_proxy`'s cluster; a cluster Envoy refuses closes the
//! connection; a bad configuration refuses to start.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `envoy_tcp_routing.wasm` under wasmtime.

use envoy_tcp_routing::CLUSTER_KEY;
use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm::{Action, Status};
use proxywasm_wasmtime::Dual;

/// The plugin natively and as its release `.wasm`, configured by each test.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(envoy_tcp_routing::plugin)
});

/// The configuration of `envoy.yaml`.
const CONFIG: &str =
    r#"{"clusters_by_local_port": {"18770": "egress-router1", "18772": "egress-router2"}}"#;

/// A host configured as in `envoy.yaml` whose connections come from
/// 127.0.0.1:40000 to `local`, with Envoy's `set_envoy_filter_state`
/// accepting everything (the emulator has no filter-state factories: a test
/// registers the function).
fn connecting_to(local: &'static str) -> impl Fn() -> MockHostBuilder {
    move || {
        MockHost::builder()
            .plugin_configuration(CONFIG)
            .property(&["source", "address"], "127.0.0.1:40000")
            .property(&["destination", "address"], local)
            .foreign_function("set_envoy_filter_state", |_: &[u8]| Ok(Vec::new()))
    }
}

/// The `set_envoy_filter_state` calls: key and value of each, as Envoy
/// receives them (protobuf fields 1 and 2).
fn filter_states_set(host: &MockHost) -> Vec<(String, String)> {
    host.foreign_functions()
        .calls()
        .into_iter()
        .map(|(name, arguments)| {
            assert_eq!(name, "set_envoy_filter_state");
            let field = |at: usize| {
                let len = usize::from(arguments[at + 1]);
                String::from_utf8_lossy(&arguments[at + 2..at + 2 + len]).into_owned()
            };
            assert_eq!(arguments[0], 0x0a, "field 1 first");
            let key = field(0);
            assert_eq!(arguments[2 + key.len()], 0x12, "field 2 next");
            let value = field(2 + key.len());
            (key, value)
        })
        .collect()
}

fn set(cluster: &str) -> Vec<(String, String)> {
    vec![(CLUSTER_KEY.to_owned(), cluster.to_owned())]
}

/// One connection to `local` sets `cluster` and logs `line`.
fn routes(local: &'static str, cluster: &'static str, line: &'static str) {
    DUAL.run_with(connecting_to(local), move |host| {
        assert!(host.start(), "{:?}", host.logs().records());
        let connection = host.tcp_connection();
        assert_eq!(connection.action(), Action::Continue);
        assert_eq!(filter_states_set(host), set(cluster));
        assert_eq!(host.logs().info(), [line]);
    });
}

#[test]
fn port_18770_goes_to_router1() {
    routes(
        "127.0.0.1:18770",
        "egress-router1",
        "envoy_tcp_routing: 127.0.0.1:40000 to port 18770 goes to egress-router1",
    );
}

#[test]
fn port_18772_goes_to_router2() {
    routes(
        "127.0.0.1:18772",
        "egress-router2",
        "envoy_tcp_routing: 127.0.0.1:40000 to port 18772 goes to egress-router2",
    );
}

#[test]
fn another_port_keeps_tcp_proxys_cluster() {
    DUAL.run_with(connecting_to("127.0.0.1:18775"), |host| {
        assert!(host.start());
        host.tcp_connection();
        assert!(host.foreign_functions().calls().is_empty());
        assert_eq!(
            host.logs().info(),
            ["envoy_tcp_routing: 127.0.0.1:40000 to port 18775: tcp_proxy's cluster"]
        );
    });
}

#[test]
fn the_cluster_envoy_used_is_logged_when_the_connection_ends() {
    DUAL.run_with(connecting_to("127.0.0.1:18772"), |host| {
        assert!(host.start());
        let connection = host.tcp_connection();
        host.set_property(&["xds", "cluster_name"], "egress-router2");
        host.logs().clear();
        connection.complete();
        assert_eq!(
            host.logs().info(),
            ["envoy_tcp_routing: served by egress-router2"]
        );
    });
}

#[test]
fn a_cluster_envoy_refuses_closes_the_connection() {
    DUAL.run_with(
        || {
            connecting_to("127.0.0.1:18770")()
                .foreign_function("set_envoy_filter_state", |_: &[u8]| Err(Status::NotFound))
        },
        |host| {
            assert!(host.start());
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
fn a_configuration_with_an_unknown_field_refuses_to_start() {
    DUAL.run_with(
        || {
            MockHost::builder()
                .plugin_configuration(CONFIG.replace("clusters_by_local_port", "clusters"))
        },
        |host| {
            assert!(!host.start());
        },
    );
}

//! `network` logs each connection's events, the bytes the client sends,
//! and, when the upstream first answers, the upstream's address, cluster and
//! cluster metadata; it counts connections.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `network.wasm` under wasmtime.

use network::{CONNECTIONS, NAMESPACE};
use proxywasm::mock::{MockHost, MockHostBuilder, proto};
use proxywasm::{Action, PeerType};
use proxywasm_wasmtime::Dual;
use serde_json::json;

/// The plugin natively and as its release `.wasm`, configured by each test,
/// started, its log cleared.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(network::plugin))
    .started()
    .log_cleared();

/// A host whose connections come from a local client and go to cluster
/// `echo`, whose metadata has a region and a cloud provider.
fn envoy_like() -> MockHostBuilder {
    MockHost::builder()
        .property(&["source", "address"], "127.0.0.1:40000")
        .property(&["upstream", "address"], "127.0.0.1:18762")
        .property(&["xds", "cluster_name"], "echo")
        .property(
            &["xds", "cluster_metadata"],
            proto::metadata(&[(
                NAMESPACE,
                json!({"region": "ap-northeast-1", "cloud_provider": "aws"}),
            )]),
        )
}

#[test]
fn a_new_connection_is_logged_with_the_client_address_and_counted() {
    DUAL.run_with(envoy_like, |host| {
        let connection = host.tcp_connection();
        assert_eq!(connection.action(), Action::Continue);
        assert_eq!(
            host.logs().info(),
            [format!(
                "network: new connection {} from 127.0.0.1:40000",
                connection.id()
            )]
        );
        host.tcp_connection();
        assert_eq!(host.metrics().counter(CONNECTIONS), Some(2));
    });
}

#[test]
fn downstream_bytes_are_logged_escaped_and_pass_unchanged() {
    DUAL.run_with(envoy_like, |host| {
        let mut connection = host.tcp_connection();
        host.logs().clear();
        let request = b"GET / HTTP/1.1\r\nThis-Is-Key: this-is-value\r\n\r\n";
        assert_eq!(connection.downstream_data(request, false), Action::Continue);
        assert_eq!(connection.current_downstream_data(), request);
        assert_eq!(
            host.logs().info(),
            [
                r"network: downstream data received (46 bytes, end_of_stream=false): GET / HTTP/1.1\r\nThis-Is-Key: this-is-value\r\n\r\n"
            ]
        );
    });
}

#[test]
fn the_first_upstream_data_logs_the_upstream_and_its_cluster_metadata() {
    DUAL.run_with(envoy_like, |host| {
        let mut connection = host.tcp_connection();
        host.logs().clear();
        connection.upstream_data(b"hello", false);
        connection.upstream_data(b" again", false);
        assert_eq!(
            host.logs().info(),
            [
                "network: remote address: 127.0.0.1:18762, cluster echo",
                // The namespace's fields, in key order.
                "network: upstream cluster metadata location[cloud_provider]=aws",
                "network: upstream cluster metadata location[region]=ap-northeast-1",
                "network: upstream data received (5 bytes, end_of_stream=false)",
                "network: upstream data received (6 bytes, end_of_stream=false)",
            ]
        );
    });
}

#[test]
fn without_upstream_attributes_the_upstream_is_unknown() {
    DUAL.run_with(MockHost::builder, |host| {
        let mut connection = host.tcp_connection();
        connection.upstream_data(b"x", false);
        assert_eq!(
            host.logs().info(),
            [
                format!("network: new connection {} from unknown", connection.id()),
                "network: remote address: unknown, cluster unknown".to_owned(),
                "network: upstream data received (1 bytes, end_of_stream=false)".to_owned(),
            ]
        );
    });
}

#[test]
fn closes_and_the_end_are_logged() {
    DUAL.run_with(envoy_like, |host| {
        let mut connection = host.tcp_connection();
        let id = connection.id();
        host.logs().clear();
        connection.downstream_close(PeerType::Remote);
        connection.upstream_close(PeerType::Local);
        connection.complete();
        assert_eq!(
            host.logs().info(),
            [
                "network: downstream connection close, peer=remote".to_owned(),
                "network: upstream connection close, peer=local".to_owned(),
                format!("network: connection complete: {id}"),
            ]
        );
    });
}

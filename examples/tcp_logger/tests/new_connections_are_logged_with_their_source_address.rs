//! `tcp_logger` logs each new connection with its context id and the
//! `source.address` property Envoy sets, or `unknown` when there is none,
//! and lets the connection through.
//!
//! Every test runs twice with [`dual_run`]: natively on the mock host, then
//! on the release `tcp_logger.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

fn dual(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "tcp_logger",
        configure,
        |builder| builder.tcp(tcp_logger::connection),
        body,
    );
}

#[test]
fn the_source_address_is_logged_when_envoy_sets_it() {
    dual(
        || MockHost::builder().property(&["source", "address"], "10.0.0.1:1234"),
        |host| {
            let connection = host.tcp_connection();
            assert_eq!(connection.action(), Action::Continue);
            let line = format!(
                "tcp_logger: new connection {} from 10.0.0.1:1234",
                connection.id()
            );
            assert_eq!(host.logs().info(), [line]);
        },
    );
}

#[test]
fn an_unknown_source_is_logged_as_unknown() {
    dual(MockHost::builder, |host| {
        let connection = host.tcp_connection();
        assert_eq!(connection.action(), Action::Continue);
        let line = format!(
            "tcp_logger: new connection {} from unknown",
            connection.id()
        );
        assert_eq!(host.logs().info(), [line]);
    });
}

#[test]
fn each_connection_is_logged_with_its_own_id() {
    dual(
        || MockHost::builder().property(&["source", "address"], "[::1]:40000"),
        |host| {
            let first = host.tcp_connection();
            let second = host.tcp_connection();
            assert_ne!(first.id(), second.id());
            assert_eq!(
                host.logs().info(),
                [
                    format!("tcp_logger: new connection {} from [::1]:40000", first.id()),
                    format!(
                        "tcp_logger: new connection {} from [::1]:40000",
                        second.id()
                    ),
                ]
            );
        },
    );
}

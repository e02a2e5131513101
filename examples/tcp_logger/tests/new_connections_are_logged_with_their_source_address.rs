//! `tcp_logger` logs each new connection with its context id and the
//! `source.address` property Envoy sets, or `unknown` when there is none,
//! and lets the connection through.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on the mock host, then
//! on the release `tcp_logger.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;

/// The filter natively and as its release `.wasm`, with the `source.address`
/// Envoy sets for a local client.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.tcp(tcp_logger::connection))
    .configure(|| MockHost::builder().property(&["source", "address"], "127.0.0.1:40000"));

/// One connection: it continues, and its only log line names `source`.
fn one_connection_is_logged_from(source: &'static str) -> impl Fn(&MockHost) {
    move |host| {
        let connection = host.tcp_connection();
        assert_eq!(connection.action(), Action::Continue);
        let id = connection.id();
        let line = format!("tcp_logger: new connection {id} from {source}");
        assert_eq!(host.logs().info(), [line]);
    }
}

#[test]
fn the_source_address_is_logged_when_envoy_sets_it() {
    DUAL.run_with(
        || MockHost::builder().property(&["source", "address"], "10.0.0.1:1234"),
        one_connection_is_logged_from("10.0.0.1:1234"),
    );
}

#[test]
fn an_unknown_source_is_logged_as_unknown() {
    DUAL.run_with(MockHost::builder, one_connection_is_logged_from("unknown"));
}

#[test]
fn each_connection_is_logged_with_its_own_id() {
    DUAL.run_with(
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

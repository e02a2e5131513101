//! When a `tcp_logger` connection ends, `on_done` reports how many bytes
//! came from each side over the whole connection; Envoy ends TCP
//! connections with `on_done`, then `on_log`, then `on_delete`.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on the mock host, then
//! on the release `tcp_logger.wasm` under wasmtime.

use proxywasm::PeerType;
use proxywasm::mock::{Export, MockHost};
use proxywasm_wasmtime::Dual;

/// The filter natively and as its release `.wasm`, with the `source.address`
/// Envoy sets for a local client.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.tcp(tcp_logger::connection))
    .configure(|| MockHost::builder().property(&["source", "address"], "127.0.0.1:40000"));

fn done_lines(host: &MockHost) -> Vec<String> {
    host.logs()
        .info()
        .into_iter()
        .filter(|line| line.starts_with("tcp_logger: connection done"))
        .collect()
}

#[test]
fn the_totals_add_up_every_chunk_of_each_direction() {
    DUAL.run(|host| {
        let mut connection = host.tcp_connection();
        connection.downstream_data(b"hello", false);
        connection.upstream_data(b"hi", false);
        connection.downstream_data(b" world", false);
        connection.upstream_data(b"there", false);
        connection.downstream_data(b"", true);
        connection.downstream_close(PeerType::Remote);
        assert!(
            done_lines(host).is_empty(),
            "done before the connection ended"
        );
        connection.complete();
        assert_eq!(
            done_lines(host),
            ["tcp_logger: connection done, 11 bytes from downstream, 7 bytes from upstream"]
        );
    });
}

#[test]
fn a_connection_that_carried_nothing_reports_zero() {
    DUAL.run(|host| {
        host.tcp_connection().complete();
        assert_eq!(
            done_lines(host),
            ["tcp_logger: connection done, 0 bytes from downstream, 0 bytes from upstream"]
        );
    });
}

#[test]
fn each_connection_counts_its_own_bytes() {
    DUAL.run(|host| {
        let mut first = host.tcp_connection();
        let mut second = host.tcp_connection();
        first.downstream_data(b"aaaa", false);
        second.downstream_data(b"b", false);
        second.upstream_data(b"bb", false);
        second.complete();
        first.complete();
        assert_eq!(
            done_lines(host),
            [
                "tcp_logger: connection done, 1 bytes from downstream, 2 bytes from upstream",
                "tcp_logger: connection done, 4 bytes from downstream, 0 bytes from upstream",
            ]
        );
    });
}

#[test]
fn done_comes_before_log_and_delete() {
    DUAL.run(|host| {
        let mut connection = host.tcp_connection();
        let id = connection.id().0;
        connection.downstream_data(b"ping", true);
        connection.complete();
        // The connection's last three callbacks, and the last of all.
        assert!(
            host.callbacks().ends_with(&[
                Export::Done { context_id: id },
                Export::Log { context_id: id },
                Export::Delete { context_id: id },
            ]),
            "{:?}",
            host.callbacks()
        );
        // The totals line is written by on_done, on the connection's context,
        // and is the last thing the plugin logs.
        let last = host.logs().records().pop();
        assert_eq!(
            last.map(|record| (record.context_id.0, record.message)),
            Some((
                id,
                "tcp_logger: connection done, 4 bytes from downstream, 0 bytes from upstream"
                    .to_owned()
            ))
        );
    });
}

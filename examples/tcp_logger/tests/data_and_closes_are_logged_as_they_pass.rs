//! `tcp_logger` logs every chunk of data with its size and end-of-stream
//! flag, in both directions, and every close with the peer that closed,
//! while the bytes pass through unchanged.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on the mock host, then
//! on the release `tcp_logger.wasm` under wasmtime.

use proxywasm::mock::MockHost;
use proxywasm::{Action, PeerType};
use proxywasm_wasmtime::Dual;

/// The filter natively and as its release `.wasm`, with the `source.address`
/// Envoy sets for a local client.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.tcp(tcp_logger::connection))
    .configure(|| MockHost::builder().property(&["source", "address"], "127.0.0.1:40000"));

/// Asserts the info lines logged after the new-connection line.
fn assert_logged_after_connect(host: &MockHost, expected: &[&str]) {
    let mut lines = host.logs().info();
    lines.retain(|line| !line.starts_with("tcp_logger: new connection"));
    assert_eq!(lines, expected);
}

#[test]
fn downstream_and_upstream_chunks_are_logged_with_size_and_end_of_stream() {
    DUAL.run(|host| {
        let mut connection = host.tcp_connection();
        assert_eq!(
            connection.downstream_data(b"hello", false),
            Action::Continue
        );
        assert_eq!(connection.upstream_data(b"hi", false), Action::Continue);
        assert_eq!(connection.downstream_data(b"!", true), Action::Continue);
        assert_eq!(connection.upstream_data(b"", true), Action::Continue);
        assert_logged_after_connect(
            host,
            &[
                "tcp_logger: downstream data 5 bytes, end_of_stream=false",
                "tcp_logger: upstream data 2 bytes, end_of_stream=false",
                "tcp_logger: downstream data 1 bytes, end_of_stream=true",
                "tcp_logger: upstream data 0 bytes, end_of_stream=true",
                // Envoy reports the upstream's end of stream as a close of
                // unknown origin, right after the data callback.
                "tcp_logger: upstream close, peer=unknown",
            ],
        );
    });
}

#[test]
fn the_bytes_pass_through_unchanged() {
    DUAL.run(|host| {
        let mut connection = host.tcp_connection();
        connection.downstream_data(b"GET / HTTP/1.1\r\n\r\n", false);
        assert_eq!(
            connection.current_downstream_data(),
            b"GET / HTTP/1.1\r\n\r\n"
        );
        connection.upstream_data(b"HTTP/1.1 200 OK\r\n\r\n", false);
        assert_eq!(
            connection.current_upstream_data(),
            b"HTTP/1.1 200 OK\r\n\r\n"
        );
        assert!(!connection.is_downstream_paused());
    });
}

#[test]
fn closes_are_logged_with_the_peer_that_closed() {
    DUAL.run(|host| {
        let mut connection = host.tcp_connection();
        connection.downstream_close(PeerType::Remote);
        connection.upstream_close(PeerType::Local);
        // The logger only watches: it never closes a side itself.
        assert!(!connection.is_downstream_closed());
        assert!(!connection.is_upstream_closed());
        assert_logged_after_connect(
            host,
            &[
                "tcp_logger: downstream close, peer=remote",
                "tcp_logger: upstream close, peer=local",
            ],
        );
    });
}

#[test]
fn the_upstream_end_of_stream_is_logged_as_a_close_by_an_unknown_peer() {
    DUAL.run(|host| {
        let mut connection = host.tcp_connection();
        connection.upstream_data(b"bye", true);
        assert_logged_after_connect(
            host,
            &[
                "tcp_logger: upstream data 3 bytes, end_of_stream=true",
                "tcp_logger: upstream close, peer=unknown",
            ],
        );
    });
}

#[test]
fn an_unknown_peer_is_named_unknown() {
    DUAL.run(|host| {
        let mut connection = host.tcp_connection();
        connection.upstream_close(PeerType::Unknown);
        assert_logged_after_connect(host, &["tcp_logger: upstream close, peer=unknown"]);
    });
}

//! `attributes` reads Envoy's attributes, typed: the plugin's identity at
//! configuration; the request, the client and local addresses, the route
//! and the upstream as response headers; the status and timing in `on_log`.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `attributes.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::{HttpStream, MockHost, MockHostBuilder};
use proxywasm_wasmtime::Dual;
use std::time::{Duration, SystemTime};

/// The plugin natively and as its release `.wasm`, started, by default on
/// an [`envoy_like`] host.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(attributes::plugin))
    .configure(envoy_like)
    .started();

/// When the emulated clock starts.
fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// A host named as in `envoy.yaml`, whose streams come from
/// 127.0.0.1:40000 to 127.0.0.1:18800 on route `to_backend` over HTTP/1.1.
fn envoy_like() -> MockHostBuilder {
    MockHost::builder()
        .plugin_name("attributes_plugin")
        .root_id("attributes_root")
        .vm_id("attributes_vm")
        .start_time(start())
        .property(&["source", "address"], "127.0.0.1:40000")
        .property(&["destination", "address"], "127.0.0.1:18800")
        .property(&["xds", "route_name"], "to_backend")
        .property(&["request", "protocol"], "HTTP/1.1")
}

/// A stream whose request and response headers went through, the upstream
/// `127.0.0.1:18802` chosen in between.
fn served(host: &MockHost, method: &str, path: &str) -> HttpStream {
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":method", method), (":path", path)], true),
        Action::Continue
    );
    stream.set_property(&["upstream", "address"], "127.0.0.1:18802");
    assert_eq!(
        stream.response_headers(&[(":status", "200")], false),
        Action::Continue
    );
    stream
}

fn header(stream: &HttpStream, name: &str) -> Option<String> {
    stream.current_response_header(name)
}

#[test]
fn the_plugin_identity_is_logged_at_configuration() {
    DUAL.run(|host| {
        assert_eq!(
            host.logs().info(),
            ["attributes: configured as attributes_plugin/attributes_root/attributes_vm"]
        );
    });
}

#[test]
fn the_request_is_described_in_a_header() {
    DUAL.run(|host| {
        let stream = served(host, "POST", "/hello?x=1");
        assert_eq!(
            header(&stream, "x-request").as_deref(),
            Some("POST /hello?x=1 HTTP/1.1")
        );
    });
}

#[test]
fn source_and_destination_are_socket_addresses() {
    DUAL.run(|host| {
        let stream = served(host, "GET", "/");
        assert_eq!(header(&stream, "x-client-ip").as_deref(), Some("127.0.0.1"));
        assert_eq!(header(&stream, "x-client-port").as_deref(), Some("40000"));
        assert_eq!(
            header(&stream, "x-local-address").as_deref(),
            Some("127.0.0.1:18800")
        );
    });
}

#[test]
fn route_plugin_and_upstream_are_response_headers() {
    DUAL.run(|host| {
        let stream = served(host, "GET", "/");
        assert_eq!(
            header(&stream, "x-route-name").as_deref(),
            Some("to_backend")
        );
        assert_eq!(
            header(&stream, "x-plugin").as_deref(),
            Some("attributes_plugin/attributes_root/attributes_vm")
        );
        assert_eq!(
            header(&stream, "x-upstream-address").as_deref(),
            Some("127.0.0.1:18802")
        );
    });
}

#[test]
fn missing_attributes_are_dashes() {
    DUAL.run_with(proxywasm::mock::MockHost::builder, |host| {
        let mut stream = host.http_stream();
        stream.request_headers(&[(":path", "/")], true);
        stream.response_headers(&[(":status", "204")], true);
        assert_eq!(header(&stream, "x-request").as_deref(), Some("- / -"));
        assert_eq!(header(&stream, "x-client-ip").as_deref(), Some("-"));
        assert_eq!(header(&stream, "x-route-name").as_deref(), Some("-"));
        assert_eq!(header(&stream, "x-upstream-address").as_deref(), Some("-"));
        // The plugin's name and ids are empty, not missing, by default.
        assert_eq!(header(&stream, "x-plugin").as_deref(), Some("//"));
    });
}

#[test]
fn the_log_line_has_status_upstream_and_time_since_the_first_byte() {
    DUAL.run(|host| {
        let mut stream = served(host, "GET", "/");
        // The first byte came 250 ms before the stream ends.
        let first_byte = start() - Duration::from_millis(250);
        let nanos = first_byte
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or_default();
        stream.set_property(&["request", "time"], nanos.to_le_bytes());
        host.logs().clear();
        stream.complete();
        assert_eq!(
            host.logs().info(),
            ["attributes: done: status 200, upstream 127.0.0.1:18802, 250 ms after the first byte"]
        );
    });
}

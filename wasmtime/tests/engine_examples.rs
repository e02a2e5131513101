//! Three examples' release `.wasm` under the engine host (an HTTP plugin with no
//! stream context, one with, a network filter): each loads with Envoy's exact
//! import types, starts, and survives 1,000 request lifecycles with no trap and
//! no memory growth after warm-up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::PeerType;
use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::{WasmHost, WasmPlugin, abi, plugin_wasm};
use std::time::Duration;

/// An example, with the configuration its `envoy.yaml` gives it and one
/// lifecycle of the traffic it filters.
type Example = (&'static str, fn() -> MockHostBuilder, fn(&MockHost));

const EXAMPLES: [Example; 3] = [
    (
        "hello_world",
        || MockHost::builder().plugin_configuration("Hello from envoy.yaml"),
        |host| {
            let mut stream = host.http_stream();
            stream.request_headers(&[(":path", "/"), (":method", "GET")], true);
            stream.response_headers(&[(":status", "200")], true);
            stream.complete();
            host.time().advance(Duration::from_millis(500));
        },
    ),
    (
        "http_headers",
        || {
            MockHost::builder()
                .plugin_configuration(r#"{"header": "x-proxywasm", "value": "it works"}"#)
        },
        |host| {
            let mut stream = host.http_stream();
            stream.request_headers(
                &[(":path", "/"), (":method", "GET"), ("user-agent", "engine")],
                true,
            );
            stream.response_headers(&[(":status", "200")], true);
            assert_eq!(
                stream.current_response_header("x-proxywasm").as_deref(),
                Some("it works")
            );
            stream.complete();
            let mut hello = host.http_stream();
            hello.request_headers(&[(":path", "/hello"), (":method", "GET")], true);
            assert_eq!(hello.local_response().map(|r| r.status_code), Some(200));
            hello.complete();
        },
    ),
    (
        "tcp_logger",
        || MockHost::builder().property(&["source", "address"], "127.0.0.1:40000"),
        |host| {
            let mut connection = host.tcp_connection();
            connection.downstream_data(b"ping", false);
            connection.upstream_data(b"pong", true);
            connection.downstream_close(PeerType::Remote);
            connection.complete();
        },
    ),
];

/// The list names examples that exist. It is a sample, not every example: each
/// example's own tests run on its `.wasm` (`dual_run`), and the gate's ABI step
/// checks every example's imports against Envoy's; these three add the long run.
#[test]
fn the_list_names_existing_examples() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for (name, _, _) in EXAMPLES {
        assert!(
            dir.join(name).join("Cargo.toml").exists(),
            "examples/{name} is listed but does not exist"
        );
    }
}

fn check_surface(plugin: &WasmPlugin) {
    for import in plugin.imports() {
        let expected = if import.module == "env" {
            abi::env_import(&import.name)
        } else {
            assert!(
                abi::WASI_MODULES.contains(&import.module.as_str()),
                "{import:?}"
            );
            abi::wasi_import(&import.name)
        };
        assert_eq!(
            expected,
            Some(import.sig),
            "{}.{} is linked with Envoy's type",
            import.module,
            import.name
        );
    }
    let exports = plugin.exports();
    assert!(exports.iter().any(|e| e == "proxy_abi_version_0_2_1"));
    assert!(exports.iter().any(|e| e == "_initialize"));
    assert!(
        !exports.iter().any(|e| e == "malloc"),
        "Envoy would prefer malloc over the SDK's allocator"
    );
    assert_eq!(plugin.allocator(), "proxy_on_memory_allocate");
}

fn run(name: &str) {
    let (_, configure, lifecycle) = EXAMPLES.iter().find(|(n, _, _)| *n == name).unwrap();
    let plugin = plugin_wasm(name);
    check_surface(&plugin);
    let host = configure().echo_logs(false).wasm(&plugin);
    assert!(host.start(), "{name} starts");
    for _ in 0..50 {
        lifecycle(&host);
    }
    let (_, cost) = host.measure(|host| {
        for _ in 0..1_000 {
            lifecycle(host);
            host.logs().clear();
        }
    });
    assert!(host.trap().is_none());
    assert_eq!(
        cost.pages_after, cost.pages_before,
        "{name}: memory grew over 1,000 lifecycles"
    );
    assert!(
        host.violations().is_empty(),
        "{name}: {:?}",
        host.violations()
    );
}

#[test]
fn hello_world_runs_under_the_engine() {
    run("hello_world");
}

#[test]
fn http_headers_runs_under_the_engine() {
    run("http_headers");
}

#[test]
fn tcp_logger_runs_under_the_engine() {
    run("tcp_logger");
}

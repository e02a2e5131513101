//! The benchmark's lifecycles check what each plugin must do, and `measure`
//! reports consistent figures (exercised here on hand-written modules; `cargo
//! xtask bench` runs them on `bench/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proxywasm::mock::MockHost;
use proxywasm_wasmtime::bench::{self, REQUEST_HEADERS};
use proxywasm_wasmtime::{WasmHost, WasmPlugin};

/// A raw `add_header` in WebAssembly text: adds `x-bench: proxywasm-bench`.
const ADD_HEADER: &str = r#"(module
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (data (i32.const 0) "x-benchproxywasm-bench")
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $add (i32.const 2) (i32.const 0) (i32.const 7) (i32.const 7) (i32.const 15)))
    (i32.const 0)))"#;

const NOOP: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#;

#[test]
fn a_lifecycle_fails_when_the_plugin_does_not_do_its_job() {
    let host = MockHost::builder()
        .echo_logs(false)
        .wasm(&WasmPlugin::from_bytes("noop", NOOP.as_bytes()).unwrap());
    assert!(host.start());
    assert_eq!(bench::lifecycle("noop", &host), Ok(()));
    let error = bench::lifecycle("add_header", &host).unwrap_err();
    assert!(error.contains("proxywasm-bench"), "{error}");
    assert!(bench::lifecycle("read_headers", &host).is_err());
    assert!(bench::lifecycle("body_rewrite", &host).is_err());
    assert!(
        bench::lifecycle("callout", &host)
            .unwrap_err()
            .contains("no HTTP call")
    );
    assert!(bench::lifecycle("no_such_plugin", &host).is_err());
    // Sixteen noop streams side by side pass; sixteen add_header ones fail
    // on the first stream's missing header.
    assert_eq!(bench::lifecycles("noop", &host, 16), Ok(()));
    assert!(bench::lifecycles("add_header", &host, 16).is_err());
}

#[test]
fn measure_reports_start_request_and_memory_figures() {
    let dir = std::env::temp_dir().join(format!("proxywasm-wasmtime-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // `WasmPlugin::load` accepts the text format as well as the binary one.
    let path = dir.join("add_header.wat");
    std::fs::write(&path, ADD_HEADER).unwrap();
    let figures = bench::measure(&path, "add_header", 3, 20).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(figures.requests, 20);
    assert_eq!(
        figures.hostcalls.get("proxy_add_header_map_value"),
        Some(&20)
    );
    assert_eq!(figures.hostcalls_per_request(), 1.0);
    // Eight units per lifecycle: five constants, the call, the result, and the
    // function's own entry; `drop` is free. The other callbacks are absent.
    assert_eq!(figures.fuel_min_max, (8, 8));
    assert_eq!(figures.fuel_per_request(), 8.0);
    assert_eq!(
        figures.by_export.get("proxy_on_response_headers"),
        Some(&160)
    );
    // One interleaved round of 16 lifecycles (20 requests / 16, at least
    // one), at the same eight units each.
    assert_eq!(figures.interleaved, (16, 128));
    assert_eq!(figures.interleaved_fuel_per_request(), 8.0);
    assert_eq!(figures.start_fuel, 0, "nothing runs at start-up");
    assert_eq!(figures.growth_pages(), 0);
    assert_eq!(REQUEST_HEADERS.len(), 8);
}

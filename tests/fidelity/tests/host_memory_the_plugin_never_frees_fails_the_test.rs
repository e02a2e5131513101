//! Every hostcall result the host hands the plugin (a header value, a
//! body, a property…) is a buffer in the plugin's memory that the plugin
//! owns and must free. Natively, the emulator records each buffer it hands
//! over and sees it freed (or taken over as a `Vec`); completing a stream
//! whose buffers were never freed fails the test. A compiled module frees
//! inside its own allocator, which the engine cannot see, so on the `.wasm`
//! the observable is the memory itself: a leak grows it request after
//! request, a plugin that frees does not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::mock::{HostAllocation, MockHost};
use proxywasm_wasmtime::{WasmHost, plugin_wasm};
use std::panic::{AssertUnwindSafe, catch_unwind};

const BIG: usize = 4096;

fn request(host: &MockHost, path: &str) -> proxywasm::mock::HttpStream {
    let big = vec![b'x'; BIG];
    let mut stream = host.http_stream();
    let headers: [(&[u8], &[u8]); 2] = [(b":path", path.as_bytes()), (b"x-big", &big)];
    stream.request_headers(&headers, true);
    stream.response_headers(&[(":status", "200")], true);
    stream
}

fn native() -> MockHost {
    MockHost::builder()
        .echo_logs(false)
        .plugin(proxywasm_fidelity::plugin)
}

#[test]
fn a_plugin_that_frees_what_it_reads_passes_the_leak_check() {
    let host = native();
    for _ in 0..3 {
        let stream = request(&host, "/");
        stream.complete();
    }
    assert!(host.leaked_host_memory().is_empty());
    assert!(host.finish());
    assert!(host.live_host_memory().is_empty());
}

#[test]
fn a_forgotten_header_value_fails_the_test_when_its_stream_completes() {
    let host = native();
    let stream = request(&host, "/leak");
    let failed = catch_unwind(AssertUnwindSafe(|| stream.complete()));
    let message = failed
        .expect_err("completing the stream fails the test")
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default();
    assert!(message.contains("leak check"), "{message}");
    assert!(
        message.contains(&format!(
            "{BIG} bytes from proxy_get_header_map_value in proxy_on_request_headers (context 2)"
        )),
        "{message}"
    );
    assert_eq!(
        host.leaked_host_memory(),
        [HostAllocation {
            size: BIG,
            hostcall: "proxy_get_header_map_value",
            context_id: proxywasm::ContextId(2),
            callback: "proxy_on_request_headers",
        }]
    );
}

#[test]
fn with_the_check_off_the_leak_is_still_listed() {
    let host = MockHost::builder()
        .echo_logs(false)
        .leak_check(false)
        .plugin(proxywasm_fidelity::plugin);
    request(&host, "/leak").complete();
    request(&host, "/").complete();
    assert_eq!(host.leaked_host_memory().len(), 1);
}

#[test]
fn on_the_wasm_a_leak_grows_memory_and_a_plugin_that_frees_does_not() {
    let plugin = plugin_wasm(env!("CARGO_PKG_NAME"));
    let pages_after = |path: &str| {
        let host = MockHost::builder().echo_logs(false).wasm(&plugin);
        // Warm up: the allocator takes what it needs for one request.
        request(&host, path).complete();
        let before = host.memory_pages();
        for _ in 0..200 {
            request(&host, path).complete();
        }
        host.memory_pages() - before
    };
    assert_eq!(pages_after("/"), 0, "a plugin that frees reuses its memory");
    // 200 × 4 KiB never freed is 12.5 pages of 64 KiB; the allocator may
    // have had some of it spare already.
    let grown = pages_after("/leak");
    eprintln!("200 leaked requests grew the memory by {grown} pages");
    assert!(grown >= 10, "grew {grown} pages");
}

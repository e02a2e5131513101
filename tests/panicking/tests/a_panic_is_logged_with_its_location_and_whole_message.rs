//! A panic is logged at critical level in two lines, as Rust prints it: the
//! location, then the message, whole whatever its length (it used to be cut
//! at 256 bytes with no marker).
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on the mock host, then on
//! the release `.wasm` under wasmtime, where the panic is a trap.
#![allow(clippy::unwrap_used, clippy::panic)]

use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Sends a request that panics with a `len`-byte message; returns the
/// critical log lines.
fn panic_with(host: &MockHost, len: usize) -> Vec<String> {
    let mut stream = host.http_stream();
    let len = len.to_string();
    let request = [(":path", "/"), ("x-panic-bytes", len.as_str())];
    let failed = catch_unwind(AssertUnwindSafe(|| stream.request_headers(&request, true)));
    assert!(failed.is_err(), "the request did not panic");
    host.logs().critical()
}

/// `panicked at <file>:<line>:<column>:` pointing into this plugin.
fn assert_location(line: &str) {
    let rest = line.strip_prefix("panicked at ").unwrap_or_default();
    let (file, numbers) = rest.split_once(':').unwrap_or_default();
    assert!(file.ends_with("src/lib.rs"), "{line}");
    let numbers: Vec<&str> = numbers
        .strip_suffix(':')
        .unwrap_or_default()
        .split(':')
        .collect();
    assert_eq!(numbers.len(), 2, "{line}");
    assert!(numbers.iter().all(|n| n.parse::<u32>().is_ok()), "{line}");
}

/// The filter, quiet, natively and on the `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.http(proxywasm_panicking::filter)
})
.configure(|| MockHost::builder().echo_logs(false));

/// A panic with a `len`-byte message logs two critical lines: the location,
/// then `message`.
fn assert_logged_in_two_lines(host: &MockHost, len: usize, message: &str) {
    let critical = panic_with(host, len);
    assert_eq!(critical.len(), 2, "{critical:?}");
    assert_location(&critical[0]);
    assert_eq!(critical[1], message);
}

#[test]
fn a_1000_byte_message_is_logged_whole() {
    DUAL.run(|host| assert_logged_in_two_lines(host, 1000, &"0123456789".repeat(100)));
}

#[test]
fn a_short_message_gets_the_same_two_lines() {
    DUAL.run(|host| assert_logged_in_two_lines(host, 7, "0123456"));
}

#[test]
fn requests_without_the_header_pass() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        assert_eq!(
            stream.request_headers(&[(":path", "/")], true),
            proxywasm::Action::Continue
        );
        assert!(host.logs().critical().is_empty());
    });
}

//! Header names and values are bytes: Envoy 1.40 passes a value with bytes
//! that are not UTF-8 to the plugin as those bytes, and sends one the
//! plugin adds as its bytes (the probe measures both). The SDK never panics
//! on them and loses no byte; the emulator takes and returns bytes, so a
//! test can say so.
//!
//! Every test runs natively on the mock host, then on the release `.wasm`
//! under wasmtime.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::Action;
use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;

/// The plugin, quiet, natively and on the release `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(proxywasm_fidelity::plugin)
})
.configure(|| MockHost::builder().echo_logs(false));

const VALUE: &[u8] = b"a\xffb\xfe\x80";

#[test]
fn a_non_utf8_value_reaches_the_plugin_and_is_echoed_byte_for_byte() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        let headers: [(&[u8], &[u8]); 2] = [(b":path", b"/"), (b"X-Bytes", VALUE)];
        assert_eq!(stream.request_headers(&headers, true), Action::Continue);
        assert_eq!(
            host.logs().info(),
            ["1 non-UTF-8 header entries", "x-bytes hex 61ff62fe80"]
        );
        assert_eq!(
            stream.current_request_header_bytes("x-bytes").as_deref(),
            Some(VALUE)
        );
        stream.response_headers(&[(":status", "200")], true);
        assert_eq!(
            stream.current_response_header_bytes("X-Echo").as_deref(),
            Some(VALUE)
        );
        // The text view is lossy, never a panic.
        assert_eq!(
            stream.current_response_header("x-echo").as_deref(),
            Some("a\u{fffd}b\u{fffd}\u{fffd}")
        );
        stream.complete();
    });
}

#[test]
fn a_non_utf8_name_is_a_header_like_any_other() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        let headers: [(&[u8], &[u8]); 3] =
            [(b":path", b"/"), (b"x-\xc3\x28", b"v"), (b"x-text", VALUE)];
        stream.request_headers(&headers, false);
        assert_eq!(host.logs().info(), ["2 non-UTF-8 header entries"]);
        let all = stream.current_request_headers_bytes();
        assert_eq!(all[1], (b"x-\xc3\x28".to_vec(), b"v".to_vec()));
        assert_eq!(all[2], (b"x-text".to_vec(), VALUE.to_vec()));
        let trailers: [(&[u8], &[u8]); 1] = [(b"x-sum", b"\xff")];
        assert_eq!(stream.request_trailers(&trailers), Action::Continue);
        assert_eq!(
            stream.current_request_trailers_bytes(),
            [(b"x-sum".to_vec(), b"\xff".to_vec())]
        );
    });
}

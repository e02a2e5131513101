//! The filter's behaviour, checked twice by one test body: natively on
//! proxywasm's mock host, then on this crate's release `.wasm` under wasmtime.

use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;

/// This crate's plugin, natively and as its release `.wasm`, configured.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(outside_plugin::plugin))
    .configure(|| MockHost::builder().plugin_configuration(r#"{"header": "x-outside"}"#));

#[test]
fn responses_carry_the_request_path_and_requests_are_logged() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        stream.request_headers(&[(":path", "/inside-out"), (":method", "GET")], true);
        stream.response_headers(&[(":status", "200")], true);
        assert_eq!(
            stream.current_response_header("x-outside").as_deref(),
            Some("/inside-out")
        );
        assert_eq!(
            host.logs().info(),
            ["outside-plugin: request for /inside-out"]
        );
        stream.complete();
    });
}

//! Envoy hands a `google.protobuf.Struct` plugin configuration over as
//! binary protobuf, not JSON (book: configuration.md). `http_headers` reads
//! its configuration with `Configuration::json`, which accepts that form
//! too: the same filter works whether `envoy.yaml` writes the configuration
//! as a JSON string or as a `Struct`.
//!
//! The test runs twice with [`dual_run`]: natively on the mock host, then on
//! the release `http_headers.wasm` under wasmtime.

use proxywasm::mock::MockHost;
use proxywasm_wasmtime::dual_run;

/// A length-delimited protobuf field (payloads here are under 128 bytes).
fn field(number: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![number << 3 | 2, payload.len() as u8];
    out.extend_from_slice(payload);
    out
}

/// `{"header": <header>, "value": <value>}` as Envoy serializes the
/// `Struct`: one `fields` map entry per key, each value a string `Value`.
fn struct_configuration(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in pairs {
        let mut entry = field(1, key.as_bytes());
        entry.extend(field(2, &field(3, value.as_bytes())));
        out.extend(field(1, &entry));
    }
    out
}

#[test]
fn a_struct_configuration_configures_the_filter() {
    dual_run(
        "http_headers",
        || {
            MockHost::builder().plugin_configuration(struct_configuration(&[
                ("header", "x-from-struct"),
                ("value", "yes"),
            ]))
        },
        |builder| builder.plugin(http_headers::plugin),
        |host| {
            assert!(host.start(), "{:?}", host.logs().records());
            let mut stream = host.http_stream();
            stream.request_headers(&[(":path", "/"), (":method", "GET")], true);
            stream.response_headers(&[(":status", "200")], true);
            assert_eq!(
                stream.current_response_header("x-from-struct").as_deref(),
                Some("yes")
            );
        },
    );
}

#[test]
fn a_wrong_struct_configuration_names_the_field_and_refuses_to_start() {
    dual_run(
        "http_headers",
        || {
            MockHost::builder()
                .plugin_configuration(struct_configuration(&[("header", "x-a"), ("valu", "typo")]))
        },
        |builder| builder.plugin(http_headers::plugin),
        |host| {
            assert!(!host.start());
            let logged = format!("{:?}", host.logs().records());
            assert!(logged.contains("unknown field `valu`"), "{logged}");
        },
    );
}

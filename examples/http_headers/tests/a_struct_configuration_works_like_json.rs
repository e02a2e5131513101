//! Envoy hands a `google.protobuf.Struct` plugin configuration over as
//! binary protobuf, not JSON (book: configuration.md). `http_headers` reads
//! its configuration with `Configuration::json`, which accepts that form
//! too: the same filter works whether `envoy.yaml` writes the configuration
//! as a JSON string or as a `Struct`.
//!
//! Every test runs twice with `DUAL` (see `common/mod.rs`): natively on the mock host, then
//! on the release `http_headers.wasm` under wasmtime.

use proxywasm::mock::MockHost;

mod common;
use common::{DUAL, request, respond_200};

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

/// [`dual_with`] `pairs` as a `Struct` configuration.
fn dual_with_struct(pairs: &[(&str, &str)], body: impl Fn(&MockHost)) {
    let configuration = struct_configuration(pairs);
    DUAL.run_with(
        || MockHost::builder().plugin_configuration(configuration.clone()),
        body,
    );
}

#[test]
fn a_struct_configuration_configures_the_filter() {
    dual_with_struct(&[("header", "x-from-struct"), ("value", "yes")], |host| {
        assert!(host.start(), "{:?}", host.logs().records());
        let mut stream = request(host, "/");
        let added = respond_200(&mut stream, "x-from-struct");
        assert_eq!(added.as_deref(), Some("yes"));
    });
}

#[test]
fn a_wrong_struct_configuration_names_the_field_and_refuses_to_start() {
    dual_with_struct(&[("header", "x-a"), ("valu", "typo")], |host| {
        assert!(!host.start());
        let logged = format!("{:?}", host.logs().records());
        assert!(logged.contains("unknown field `valu`"), "{logged}");
    });
}

//! `envoy_filter_metadata` reads the dynamic metadata Envoy's Lua filter
//! wrote (namespace `envoy.filters.http.lua`) and answers with it; without
//! it, the request goes on to its route.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `envoy_filter_metadata.wasm` under wasmtime.

use envoy_filter_metadata::{KEY, NAMESPACE};
use proxywasm::Action;
use proxywasm::mock::{MockHost, proto};
use proxywasm_wasmtime::Dual;
use serde_json::json;

/// The filter natively and as its release `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.http(envoy_filter_metadata::filter)
});

const GET: &[(&str, &str)] = &[(":method", "GET"), (":path", "/")];

#[test]
fn the_metadata_value_is_the_local_answer() {
    DUAL.run_with(MockHost::builder, |host| {
        let mut stream = host.http_stream();
        // What the Lua filter stored for `x-custom-metadata: some-value`.
        stream.set_property(
            &["metadata"],
            proto::metadata(&[(NAMESPACE, json!({ KEY: "SOME-VALUE" }))]),
        );
        assert_eq!(stream.request_headers(GET, true), Action::Pause);
        let Some(reply) = stream.local_response() else {
            unreachable!("no reply: {:?}", host.logs().records());
        };
        assert_eq!(reply.status_code, 200);
        assert_eq!(
            reply.body,
            b"Custom response with Envoy metadata: \"SOME-VALUE\"\n"
        );
        assert_eq!(
            host.logs().info(),
            [r#"envoy_filter_metadata: uppercased-custom-metadata is "SOME-VALUE""#]
        );
    });
}

#[test]
fn without_metadata_the_request_continues() {
    DUAL.run_with(MockHost::builder, |host| {
        let mut stream = host.http_stream();
        assert_eq!(stream.request_headers(GET, true), Action::Continue);
        assert!(stream.local_response().is_none());
        assert_eq!(
            host.logs().info(),
            ["envoy_filter_metadata: no envoy.filters.http.lua uppercased-custom-metadata"]
        );
    });
}

#[test]
fn other_namespaces_and_keys_are_not_read() {
    DUAL.run_with(MockHost::builder, |host| {
        let mut other_namespace = host.http_stream();
        other_namespace.set_property(
            &["metadata"],
            proto::metadata(&[("acme.auth", json!({ KEY: "X" }))]),
        );
        assert_eq!(other_namespace.request_headers(GET, true), Action::Continue);
        let mut other_key = host.http_stream();
        other_key.set_property(
            &["metadata"],
            proto::metadata(&[(NAMESPACE, json!({"other": "X"}))]),
        );
        assert_eq!(other_key.request_headers(GET, true), Action::Continue);
        assert!(other_namespace.local_response().is_none());
        assert!(other_key.local_response().is_none());
    });
}

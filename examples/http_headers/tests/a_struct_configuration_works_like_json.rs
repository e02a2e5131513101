//! Envoy hands a `google.protobuf.Struct` plugin configuration over as
//! binary protobuf, not JSON (book: configuration.md). `http_headers` reads
//! its configuration with `Configuration::json`, which accepts that form
//! too: the same filter works whether `envoy.yaml` writes the configuration
//! as a JSON string or as a `Struct`.
//!
//! Every test runs twice with `DUAL` (see `common/mod.rs`): natively on the mock host, then
//! on the release `http_headers.wasm` under wasmtime.

use proxywasm::mock::{MockHost, proto};
use serde_json::{Value, json};

mod common;
use common::{DUAL, request, respond_200};

/// [`dual_with`] `fields` as a `Struct` configuration, in the binary
/// encoding Envoy hands over.
fn dual_with_struct(fields: Value, body: impl Fn(&MockHost)) {
    let configuration = proto::structure(&fields);
    DUAL.run_with(
        || MockHost::builder().plugin_configuration(configuration.clone()),
        body,
    );
}

#[test]
fn a_struct_configuration_configures_the_filter() {
    dual_with_struct(json!({"header": "x-from-struct", "value": "yes"}), |host| {
        assert!(host.start(), "{:?}", host.logs().records());
        let mut stream = request(host, "/");
        let added = respond_200(&mut stream, "x-from-struct");
        assert_eq!(added.as_deref(), Some("yes"));
    });
}

#[test]
fn a_wrong_struct_configuration_names_the_field_and_refuses_to_start() {
    dual_with_struct(json!({"header": "x-a", "valu": "typo"}), |host| {
        assert!(!host.start());
        let logged = format!("{:?}", host.logs().records());
        assert!(logged.contains("unknown field `valu`"), "{logged}");
    });
}

//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// The JSON configuration of `envoy.yaml`'s first listener.
pub(crate) const CONFIG: &str = r#"{
    "response_headers": {
        "custom-header": "The secret to life is enjoying the passage of time",
        "x-config-form": "json"
    },
    "replies": {"/teapot": {"status": 418, "body": "I'm a teapot\n"}}
}"#;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "http_config",
        configure,
        |builder| builder.plugin(http_config::plugin),
        body,
    );
}

/// [`dual_with`] `configuration`, started.
pub(crate) fn dual_config(configuration: Vec<u8>, body: impl Fn(&MockHost)) {
    dual_with(
        || MockHost::builder().plugin_configuration(configuration.clone()),
        |host| {
            assert!(host.start(), "{:?}", host.logs().records());
            body(host);
        },
    );
}

/// A protobuf length-delimited field.
fn field(number: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![number << 3 | 2];
    let mut len = payload.len();
    while len >= 0x80 {
        out.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(payload);
    out
}

/// A `google.protobuf.Value` in a `Struct`, as Envoy serializes it.
pub(crate) enum Value<'a> {
    Number(f64),
    String(&'a str),
    Struct(Vec<(&'a str, Value<'a>)>),
}

/// The `google.protobuf.Struct` of `fields`, in its binary encoding (what
/// Envoy hands the plugin for a `Struct` configuration).
pub(crate) fn encode_struct(fields: &[(&str, Value<'_>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in fields {
        let encoded = match value {
            Value::Number(n) => {
                let mut v = vec![2 << 3 | 1];
                v.extend_from_slice(&n.to_le_bytes());
                v
            }
            Value::String(s) => field(3, s.as_bytes()),
            Value::Struct(inner) => field(5, &encode_struct(inner)),
        };
        let mut entry = field(1, key.as_bytes());
        entry.extend(field(2, &encoded));
        out.extend(field(1, &entry));
    }
    out
}

//! Shared by this example's test files (each file is its own test binary).
#![allow(dead_code, reason = "each test file uses some of these")]

use proxywasm::mock::{MockHost, MockHostBuilder};
use proxywasm_wasmtime::dual_run;

/// Runs `body` twice: natively on the mock host, then on the release `.wasm`,
/// each host built by `configure`, started, its log cleared.
pub(crate) fn dual_with(configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
    dual_run(
        "network",
        configure,
        |builder| builder.plugin(network::plugin),
        |host| {
            assert!(host.start(), "{:?}", host.logs().records());
            host.logs().clear();
            body(host);
        },
    );
}

/// A protobuf length-delimited field (payloads here are under 128 bytes).
fn field(number: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![number << 3 | 2, payload.len() as u8];
    out.extend_from_slice(payload);
    out
}

/// `envoy.config.core.v3.Metadata` as Envoy encodes `xds.cluster_metadata`:
/// `filter_metadata: { <namespace>: { <key>: <string value>, … } }`.
pub(crate) fn metadata(namespace: &str, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut structure = Vec::new();
    for (key, value) in fields {
        // Struct.fields entry: key, Value { string_value }
        let mut entry = field(1, key.as_bytes());
        entry.extend(field(2, &field(3, value.as_bytes())));
        structure.extend(field(1, &entry));
    }
    let mut entry = field(1, namespace.as_bytes());
    entry.extend(field(2, &structure));
    field(1, &entry)
}

//! The protobuf messages Envoy hands a plugin, encoded from JSON for tests:
//! a `google.protobuf.Struct` ([`structure`]: a `Struct` plugin
//! configuration, a metadata namespace) and an `envoy.config.core.v3.Metadata`
//! ([`metadata`]: `metadata`, `xds.route_metadata`,
//! `xds.cluster_metadata`, …), in the binary form Envoy sends (book:
//! reference/wire-formats.md#property-values).
//!
//! A JSON value becomes the `google.protobuf.Value` of the same kind: `null`
//! `null_value`, a boolean `bool_value`, a number `number_value` (a double,
//! as every `Struct` number is), a string `string_value`, an array a
//! `list_value`, an object a nested `struct_value`.
//!
//! ```
//! use proxywasm::attribute::{Value, xds};
//! use proxywasm::mock::{MockHost, proto};
//! use proxywasm::{Action, HttpContext, Result, http};
//! use serde_json::json;
//!
//! /// Refuses a route whose metadata says `acme.auth: {deny: true}`.
//! struct Deny;
//! impl HttpContext for Deny {
//!     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
//!         let metadata = xds::ROUTE_METADATA.get()?.unwrap_or_default();
//!         if metadata.get("acme.auth", "deny") == Some(&Value::Bool(true)) {
//!             return http::LocalResponse::new(403).send().map(|()| Action::Pause);
//!         }
//!         Ok(Action::Continue)
//!     }
//! }
//!
//! let host = MockHost::builder().http(|_| Deny);
//! let mut stream = host.http_stream();
//! stream.set_property(
//!     &["xds", "route_metadata"],
//!     proto::metadata(&[("acme.auth", json!({"deny": true}))]),
//! );
//! assert_eq!(stream.request_headers(&[(":path", "/")], true), Action::Pause);
//! assert_eq!(stream.local_response().map(|r| r.status_code), Some(403));
//! ```

use serde_json::{Map, Value as Json};

use crate::protobuf::Writer;

/// The binary `google.protobuf.Struct` of the JSON object `fields`, as
/// Envoy hands a plugin a `Struct` configuration (`typed_config` of type
/// `google.protobuf.Struct`) or the fields of one metadata namespace.
///
/// Keys are written in the order `serde_json` keeps them (sorted, unless
/// its `preserve_order` feature is on). Protobuf leaves the order of map
/// entries unspecified, and the SDK reads a `Struct` into a sorted map, so a
/// plugin never sees it. Numbers become doubles: an integer beyond 2^53
/// loses precision, as it does in Envoy.
///
/// # Panics
/// If `fields` is not a JSON object: a `Struct` has named fields only.
///
/// ```
/// use proxywasm::mock::{MockHost, proto};
/// use proxywasm::{Configuration, NoContext, PluginContext, Result};
/// use serde_json::json;
///
/// #[derive(serde::Deserialize)]
/// struct Config {
///     header: String,
///     limit: u32,
/// }
///
/// struct Plugin;
/// impl PluginContext for Plugin {
///     type Http = NoContext;
///     type Tcp = NoContext;
///     fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
///         // The Struct reads as the JSON it was written from.
///         let config: Config = configuration.json()?;
///         assert_eq!((config.header.as_str(), config.limit), ("x-a", 3));
///         Ok(())
///     }
/// }
///
/// let configuration = proto::structure(&json!({"header": "x-a", "limit": 3}));
/// // Field 1 (`fields`), a map entry: key "header", then its `Value`.
/// assert_eq!(configuration[..10], *b"\x0a\x0f\x0a\x06header");
/// let host = MockHost::builder()
///     .plugin_configuration(configuration)
///     .plugin(|_| Plugin);
/// assert!(host.start());
/// ```
pub fn structure(fields: &Json) -> Vec<u8> {
    match fields {
        Json::Object(fields) => encode_struct(fields),
        other => panic!("a google.protobuf.Struct is a JSON object, not {other}"),
    }
}

/// The binary `envoy.config.core.v3.Metadata` whose `filter_metadata` maps
/// each namespace to the [`structure`] of its JSON object, in the order
/// given: what Envoy hands a plugin for `metadata` (dynamic metadata),
/// `xds.route_metadata`, `xds.cluster_metadata`, `xds.listener_metadata`,
/// `upstream_host_metadata`…
///
/// # Panics
/// If a namespace's fields are not a JSON object.
///
/// ```
/// use proxywasm::attribute::{FromAttribute, Metadata, Value};
/// use proxywasm::mock::proto;
/// use serde_json::json;
///
/// let bytes = proto::metadata(&[
///     ("envoy.lb", json!({"canary": true})),
///     ("acme.auth", json!({"tier": "gold", "limits": [10, 2.5], "owner": null})),
/// ]);
/// // What the plugin reads back: `xds::ROUTE_METADATA.get()` decodes this way.
/// let metadata = Metadata::from_attribute(&bytes)?;
/// assert_eq!(metadata.get("envoy.lb", "canary"), Some(&Value::Bool(true)));
/// assert_eq!(metadata.get("acme.auth", "tier").and_then(Value::as_str), Some("gold"));
/// assert_eq!(
///     metadata.get("acme.auth", "limits"),
///     Some(&Value::List(vec![Value::Number(10.0), Value::Number(2.5)]))
/// );
/// assert_eq!(metadata.get("acme.auth", "owner"), Some(&Value::Null));
/// # Ok::<(), proxywasm::Error>(())
/// ```
pub fn metadata(namespaces: &[(&str, Json)]) -> Vec<u8> {
    namespaces
        .iter()
        .fold(Writer::new(), |message, (namespace, fields)| {
            // filter_metadata = 1: map<string, Struct>, one entry each.
            message.bytes_present(1, &entry(namespace, &structure(fields)))
        })
        .finish()
}

/// A map entry: `key = 1`, `value = 2`, both always written.
fn entry(key: &str, value: &[u8]) -> Vec<u8> {
    Writer::new()
        .bytes_present(1, key.as_bytes())
        .bytes_present(2, value)
        .finish()
}

/// `Struct { map<string, Value> fields = 1; }`.
fn encode_struct(fields: &Map<String, Json>) -> Vec<u8> {
    fields
        .iter()
        .fold(Writer::new(), |message, (key, value)| {
            message.bytes_present(1, &entry(key, &encode_value(value)))
        })
        .finish()
}

/// `google.protobuf.Value`: its `kind` oneof, written even at its default
/// (`null_value` is 0, `false`, 0.0, `""`).
fn encode_value(value: &Json) -> Vec<u8> {
    let message = Writer::new();
    match value {
        Json::Null => message.varint_present(1, 0),
        // Every serde_json number has a double value (without its
        // `arbitrary_precision` feature; with it, one too large is NaN here).
        Json::Number(n) => message.double_present(2, n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => message.bytes_present(3, s.as_bytes()),
        Json::Bool(b) => message.varint_present(4, u64::from(*b)),
        Json::Object(fields) => message.bytes_present(5, &encode_struct(fields)),
        // ListValue { repeated Value values = 1; }
        Json::Array(items) => {
            let list = items
                .iter()
                .fold(Writer::new(), |list, item| {
                    list.bytes_present(1, &encode_value(item))
                })
                .finish();
            message.bytes_present(6, &list)
        }
    }
    .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::{Struct, Value};
    use crate::protobuf::{decode_metadata, decode_struct};
    use serde_json::json;

    /// The bytes of `{"k": <value>}` for a `Value` encoded as `value`.
    fn one_field(value: &[u8]) -> Vec<u8> {
        let mut entry = vec![0x0a, 1, b'k', 0x12, value.len() as u8];
        entry.extend_from_slice(value);
        let mut out = vec![0x0a, entry.len() as u8];
        out.extend(entry);
        out
    }

    /// `{"k": json}` encodes to `one_field(bytes)` and decodes to `decoded`.
    fn check(json: Json, bytes: &[u8], decoded: Value) {
        let encoded = structure(&json!({ "k": json }));
        assert_eq!(encoded, one_field(bytes), "{json}");
        let read = decode_struct(&encoded).unwrap();
        assert_eq!(read, Struct::from([("k".to_string(), decoded)]), "{json}");
    }

    #[test]
    fn null_is_null_value() {
        check(Json::Null, &[1 << 3, 0], Value::Null);
    }

    #[test]
    fn booleans_are_bool_values_false_included() {
        check(json!(true), &[4 << 3, 1], Value::Bool(true));
        check(json!(false), &[4 << 3, 0], Value::Bool(false));
    }

    #[test]
    fn numbers_are_doubles_zero_included() {
        for (json, n) in [
            (json!(418), 418.0),
            (json!(-3), -3.0),
            (json!(2.5), 2.5),
            (json!(0), 0.0),
            (json!(u64::MAX), u64::MAX as f64),
        ] {
            let mut bytes = vec![2 << 3 | 1];
            bytes.extend_from_slice(&f64::to_le_bytes(n));
            check(json, &bytes, Value::Number(n));
        }
    }

    #[test]
    fn strings_are_string_values_empty_included() {
        check(json!("eu"), b"\x1a\x02eu", Value::String("eu".into()));
        check(json!(""), b"\x1a\x00", Value::String(String::new()));
    }

    #[test]
    fn arrays_are_list_values_of_any_kind() {
        // ListValue { values: [Value { string_value: "x" }, Value { bool_value: true }] }
        check(
            json!(["x", true]),
            b"\x32\x09\x0a\x03\x1a\x01x\x0a\x02\x20\x01",
            Value::List(vec![Value::String("x".into()), Value::Bool(true)]),
        );
        check(json!([]), b"\x32\x00", Value::List(vec![]));
        check(
            json!([[null]]),
            // ListValue { values: [Value { list_value: { values: [Value { null_value }] } }] }
            b"\x32\x08\x0a\x06\x32\x04\x0a\x02\x08\x00",
            Value::List(vec![Value::List(vec![Value::Null])]),
        );
    }

    #[test]
    fn objects_are_nested_structs() {
        // Struct { fields: { d: Value { bool_value: true } } }
        check(
            json!({"d": true}),
            b"\x2a\x09\x0a\x07\x0a\x01d\x12\x02\x20\x01",
            Value::Struct(Struct::from([("d".to_string(), Value::Bool(true))])),
        );
        check(json!({}), b"\x2a\x00", Value::Struct(Struct::new()));
    }

    #[test]
    fn a_long_string_takes_a_two_byte_length() {
        let long = "x".repeat(300);
        let encoded = structure(&json!({ "k": long }));
        let read = decode_struct(&encoded).unwrap();
        assert_eq!(read["k"], Value::String(long));
    }

    #[test]
    fn an_empty_object_is_an_empty_struct() {
        assert_eq!(structure(&json!({})), Vec::<u8>::new());
    }

    #[test]
    #[should_panic(expected = "a google.protobuf.Struct is a JSON object, not [1]")]
    fn a_struct_must_be_an_object() {
        structure(&json!([1]));
    }

    #[test]
    fn metadata_maps_namespaces_in_order_to_structs() {
        let bytes = metadata(&[("n", json!({"k": "v"})), ("e", json!({}))]);
        // filter_metadata entries: {n: {k: "v"}}, then {e: {}} (the empty
        // Struct still written, as a map entry's value).
        assert_eq!(
            bytes,
            b"\x0a\x0f\x0a\x01n\x12\x0a\x0a\x08\x0a\x01k\x12\x03\x1a\x01v\
              \x0a\x05\x0a\x01e\x12\x00"
        );
        let read = decode_metadata(&bytes).unwrap();
        assert_eq!(read.get("n", "k"), Some(&Value::String("v".into())));
        assert_eq!(read.filter("e"), Some(&Struct::new()));
        assert_eq!(metadata(&[]), Vec::<u8>::new());
    }
}

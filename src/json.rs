//! Typed configuration from JSON (feature `json`).

use crate::{Error, Result};

/// Parses a configuration as `T`, in each form Envoy sends one (book:
/// configuration.md#the-forms-of-a-configuration): the text of a
/// `StringValue` or the bytes of a `BytesValue` as JSON, or a
/// `google.protobuf.Struct`, which arrives as its binary protobuf encoding
/// and is read through its JSON mapping. On failure the error names the
/// problem and the position, and for a value of the wrong type or shape
/// also its field.
pub(crate) fn parse_configuration<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    match parse(bytes) {
        Err(json_error) if looks_like_struct(bytes) => {
            match crate::protobuf::decode_struct(bytes) {
                Ok(fields) => {
                    let text =
                        serde_json::to_vec(&AsJson(&crate::attribute::Value::Struct(fields)))
                            .map_err(Error::config)?;
                    parse(&text).map_err(|e| {
                        Error::config(format_args!(
                            "{} (in the Struct configuration, read as the JSON {})",
                            e.to_string().trim_start_matches("invalid configuration: "),
                            String::from_utf8_lossy(&text)
                        ))
                    })
                }
                Err(_) => Err(json_error),
            }
        }
        other => other,
    }
}

/// Whether `bytes` may be a serialized `Struct`: it starts with field 1 as
/// a length-delimited record (`0x0a`), which no JSON document does once
/// leading whitespace is trimmed (a lone `\n` is whitespace, so JSON is
/// tried first).
fn looks_like_struct(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x0a) && !bytes.trim_ascii().is_empty()
}

/// A `Struct` value written in protobuf's JSON mapping (a whole number as
/// an integer, so it deserializes into integer fields).
struct AsJson<'a>(&'a crate::attribute::Value);

impl serde::Serialize for AsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        use crate::attribute::Value;
        match self.0 {
            Value::String(text) => s.serialize_str(text),
            Value::Bool(b) => s.serialize_bool(*b),
            // Exact: |n| < 2^53, so the cast loses nothing.
            #[allow(clippy::cast_possible_truncation)]
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => s.serialize_i64(*n as i64),
            Value::Number(n) => s.serialize_f64(*n),
            Value::List(items) => s.collect_seq(items.iter().map(AsJson)),
            Value::Struct(fields) => s.collect_map(fields.iter().map(|(k, v)| (k, AsJson(v)))),
            _ => s.serialize_unit(),
        }
    }
}

/// Parses `bytes` as `T`; on failure the error names the problem and the
/// position, and for a value of the wrong type or shape also its field.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    if bytes.trim_ascii().is_empty() {
        return Err(Error::config(
            "the configuration is empty (expected a JSON document)",
        ));
    }
    serde_json::from_slice(bytes).map_err(|error| {
        let message = error.to_string();
        // A syntax error or an early end is not the fault of the key before
        // it: the position alone says where. serde names the field itself
        // for missing and unknown fields, whose position is the object's end.
        if !error.is_data()
            || message.starts_with("missing field")
            || message.starts_with("unknown field")
        {
            return Error::config(message);
        }
        match field_at(bytes, error.line(), error.column()) {
            Some(field) if !message.contains('`') || !message.contains(&format!("`{field}`")) => {
                Error::config(format_args!("{message} (field `{field}`)"))
            }
            _ => Error::config(message),
        }
    })
}

/// The object key closest before (line, column), if any: the field whose
/// value failed to parse.
fn field_at(bytes: &[u8], line: usize, column: usize) -> Option<String> {
    let text = core::str::from_utf8(bytes).ok()?;
    let mut offset = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            offset += column.min(l.len());
            break;
        }
        offset += l.len();
    }
    let before = text.get(..offset.min(text.len()))?;
    // Walk back to the last `"key"` followed by a colon. It names a field
    // only where an object key can stand (after `{` or `,`): a string value
    // followed by a colon (`"text":` at the top level) is not a key. A key
    // with escapes is not named, since its text here is not its name.
    let colon = before.rfind(':')?;
    let key_end = before.get(..colon)?.trim_end().strip_suffix('"')?;
    let key_start = key_end.rfind('"')?;
    let key = key_end.get(key_start + 1..)?;
    let opener = key_end.get(..key_start)?.trim_end().chars().last()?;
    if !matches!(opener, '{' | ',') || key.contains('\\') {
        return None;
    }
    Some(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Config {
        header: String,
        value: String,
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse::<Config>(br#"{"header": "x-a", "value": 5}"#).unwrap_err();
        assert!(err.to_string().contains("field `value`"), "{err}");
        let err = parse::<Config>(br#"{"header": "x-a"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `value`"), "{err}");
        assert!(!err.to_string().contains("(field `header`)"), "{err}");
        let err = parse::<Config>(b"not json").unwrap_err();
        assert!(err.is_config(), "{err}");
        let ok = parse::<Config>(br#"{"header": "x-a", "value": "1"}"#).unwrap();
        assert_eq!(ok.value, "1");
    }

    /// Found by the `config` fuzz target: a top-level string followed by a
    /// colon was named as the field of the error.
    #[test]
    fn a_string_that_is_not_a_key_is_not_named_as_a_field() {
        for text in [
            &br#""header":"#[..],
            br#"  "a b" :"#,
            br#"{"header": "x-a", "v\u0061lue": 5}"#,
        ] {
            let err = parse::<Config>(text).unwrap_err().to_string();
            assert!(!err.contains("(field `"), "{err}");
        }
        // A key after `{` or `,` is still named.
        let err = parse::<Config>(br#"{"header": "x-a",  "value": 5}"#).unwrap_err();
        assert!(err.to_string().ends_with("(field `value`)"), "{err}");
    }

    /// A `Struct` as Envoy serializes it: `{"header": "x-a", "value": <v>}`.
    fn struct_bytes(value: &[u8]) -> Vec<u8> {
        fn field(number: u8, payload: &[u8]) -> Vec<u8> {
            let mut out = vec![number << 3 | 2, u8::try_from(payload.len()).unwrap_or(0)];
            out.extend_from_slice(payload);
            out
        }
        fn entry(key: &str, value: &[u8]) -> Vec<u8> {
            let mut e = field(1, key.as_bytes());
            e.extend(field(2, value));
            field(1, &e)
        }
        let mut out = entry("header", &field(3, b"x-a"));
        out.extend(entry("value", value));
        out
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Numbers {
        header: String,
        value: u32,
    }

    #[test]
    fn a_struct_configuration_reads_like_its_json() {
        let config: Config = parse_configuration(&struct_bytes(b"\x1a\x011")).unwrap();
        assert_eq!(
            (config.header.as_str(), config.value.as_str()),
            ("x-a", "1")
        );
        // Struct numbers are doubles; a whole one fills an integer field.
        let mut three = vec![2 << 3 | 1];
        three.extend_from_slice(&3.0f64.to_le_bytes());
        let numbers: Numbers = parse_configuration(&struct_bytes(&three)).unwrap();
        assert_eq!(numbers.value, 3);
        // The same document as JSON text still parses as JSON.
        let json: Config = parse_configuration(br#"{"header": "x-a", "value": "1"}"#).unwrap();
        assert_eq!(json.header, "x-a");
    }

    #[test]
    fn a_struct_configuration_error_names_the_field() {
        let mut three = vec![2 << 3 | 1];
        three.extend_from_slice(&3.0f64.to_le_bytes());
        let err = parse_configuration::<Config>(&struct_bytes(&three)).unwrap_err();
        assert!(err.is_config(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("invalid type: integer `3`, expected a string"),
            "{text}"
        );
        assert!(text.contains("(field `value`)"), "{text}");
        assert!(text.contains("Struct configuration"), "{text}");
    }

    #[test]
    fn an_empty_configuration_says_so() {
        // The last one was found by the `config` fuzz target: whitespace
        // that also parses as a serialized Struct.
        for empty in [&b""[..], b"  \n\t", b"\n\t\t\t\t\t\t\t\t\t\t\t"] {
            let err = parse::<Config>(empty).unwrap_err();
            assert!(err.is_config(), "{err}");
            assert_eq!(
                err.to_string(),
                "invalid configuration: the configuration is empty (expected a JSON document)"
            );
        }
    }

    #[test]
    fn syntax_errors_give_the_position_and_blame_no_field() {
        for (text, position) in [
            (
                &br#"{"header": "x-a", "value": "1""#[..],
                "line 1 column 30",
            ),
            (br#"{"header": "x-a", "value": "1",}"#, "line 1 column 32"),
            (br#"{"header": "x-a" "value": "1"}"#, "line 1 column 18"),
            (
                b"{\n  \"header\": \"x-a\",\n  \"value\": \"1\"\n",
                "line 4 column 0",
            ),
        ] {
            let err = parse::<Config>(text).unwrap_err().to_string();
            assert!(err.contains(position), "{err}");
            assert!(!err.contains("field"), "{err}");
        }
    }
}

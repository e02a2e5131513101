//! Typed configuration from JSON (feature `json`).

use crate::{Error, Result};

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

    #[test]
    fn an_empty_configuration_says_so() {
        for empty in [&b""[..], b"  \n\t"] {
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

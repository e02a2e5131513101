//! A protobuf reader for the few messages Envoy hands a plugin in binary
//! form: `google.protobuf.Struct` (metadata values, `Struct` plugin
//! configurations), `envoy.config.core.v3.Metadata` (book:
//! reference/wire-formats.md#property-values) and the result of the
//! `verify_signature` foreign function; and a writer for the argument
//! messages of Envoy's foreign functions (book:
//! reference/hostcalls.md#envoys-foreign-functions). Only the wire format is
//! read; unknown fields are skipped, as protobuf requires, and every
//! malformed input is an error, never a panic.

use crate::attribute::{Metadata, Struct, Value};
use crate::{Error, Result};

/// How deep `Struct`s and lists may nest before the input is refused: deep
/// enough for any real metadata, shallow enough that hostile input cannot
/// exhaust the stack.
const MAX_DEPTH: usize = 64;

/// One field of a message: its number and its payload.
enum Field<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
    /// A 32-bit field: no message read here has one; it is skipped.
    Fixed32,
}

/// The fields of one message, in order.
struct Fields<'a> {
    rest: &'a [u8],
}

fn malformed() -> Error {
    Error::malformed("protobuf: truncated or invalid message")
}

fn varint(rest: &mut &[u8]) -> Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, tail) = rest.split_first().ok_or_else(malformed)?;
        *rest = tail;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(malformed())
}

fn take<'a>(rest: &mut &'a [u8], len: usize) -> Result<&'a [u8]> {
    if rest.len() < len {
        return Err(malformed());
    }
    let (head, tail) = rest.split_at(len);
    *rest = tail;
    Ok(head)
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Field<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = (|| {
            let key = varint(&mut self.rest)?;
            let payload = match key & 7 {
                0 => Field::Varint(varint(&mut self.rest)?),
                1 => {
                    let bytes = take(&mut self.rest, 8)?;
                    Field::Fixed64(<[u8; 8]>::try_from(bytes).map_err(|_| malformed())?)
                }
                2 => {
                    let len = usize::try_from(varint(&mut self.rest)?).map_err(|_| malformed())?;
                    Field::Bytes(take(&mut self.rest, len)?)
                }
                5 => {
                    take(&mut self.rest, 4)?;
                    Field::Fixed32
                }
                _ => return Err(malformed()),
            };
            Ok((key >> 3, payload))
        })();
        if field.is_err() {
            self.rest = &[];
        }
        Some(field)
    }
}

fn fields(bytes: &[u8]) -> Fields<'_> {
    Fields { rest: bytes }
}

fn utf8(bytes: &[u8]) -> Result<String> {
    core::str::from_utf8(bytes)
        .map(String::from)
        .map_err(|_| Error::malformed("protobuf: a string field is not UTF-8"))
}

/// A map entry message (`key = 1`, `value = 2`), with the value still encoded.
fn entry(bytes: &[u8]) -> Result<(String, &[u8])> {
    let (mut key, mut value) = (String::new(), &[][..]);
    for field in fields(bytes) {
        match field? {
            (1, Field::Bytes(b)) => key = utf8(b)?,
            (2, Field::Bytes(b)) => value = b,
            _ => {}
        }
    }
    Ok((key, value))
}

/// Decodes a `google.protobuf.Struct`.
pub(crate) fn decode_struct(bytes: &[u8]) -> Result<Struct> {
    struct_at(bytes, 0)
}

fn struct_at(bytes: &[u8], depth: usize) -> Result<Struct> {
    if depth > MAX_DEPTH {
        return Err(Error::malformed("protobuf: Struct nested too deeply"));
    }
    let mut out = Struct::new();
    for field in fields(bytes) {
        if let (1, Field::Bytes(b)) = field? {
            let (key, value) = entry(b)?;
            out.insert(key, value_at(value, depth + 1)?);
        }
    }
    Ok(out)
}

/// Decodes a `google.protobuf.Value` (an empty message is `Null`).
fn value_at(bytes: &[u8], depth: usize) -> Result<Value> {
    let mut value = Value::Null;
    for field in fields(bytes) {
        value = match field? {
            (1, Field::Varint(_)) => Value::Null,
            (2, Field::Fixed64(b)) => Value::Number(f64::from_le_bytes(b)),
            (3, Field::Bytes(b)) => Value::String(utf8(b)?),
            (4, Field::Varint(v)) => Value::Bool(v != 0),
            (5, Field::Bytes(b)) => Value::Struct(struct_at(b, depth + 1)?),
            (6, Field::Bytes(b)) => Value::List(list_at(b, depth + 1)?),
            _ => continue,
        };
    }
    Ok(value)
}

/// Decodes a `google.protobuf.ListValue`.
fn list_at(bytes: &[u8], depth: usize) -> Result<Vec<Value>> {
    if depth > MAX_DEPTH {
        return Err(Error::malformed("protobuf: list nested too deeply"));
    }
    let mut out = Vec::new();
    for field in fields(bytes) {
        if let (1, Field::Bytes(b)) = field? {
            out.push(value_at(b, depth + 1)?);
        }
    }
    Ok(out)
}

/// Decodes an `envoy.config.core.v3.Metadata`: its `filter_metadata`
/// (`typed_filter_metadata`, whose values are `Any`, is skipped).
pub(crate) fn decode_metadata(bytes: &[u8]) -> Result<Metadata> {
    let mut out = Metadata::default();
    for field in fields(bytes) {
        if let (1, Field::Bytes(b)) = field? {
            let (filter, value) = entry(b)?;
            out.filter_metadata.insert(filter, decode_struct(value)?);
        }
    }
    Ok(out)
}

/// Decodes a `VerifySignatureResult { bool result = 1; string error = 2; }`:
/// whether the signature is valid, and the host's reason when it is not.
pub(crate) fn decode_verification(bytes: &[u8]) -> Result<(bool, String)> {
    let (mut valid, mut reason) = (false, String::new());
    for field in fields(bytes) {
        match field? {
            (1, Field::Varint(v)) => valid = v != 0,
            (2, Field::Bytes(b)) => reason = utf8(b)?,
            _ => {}
        }
    }
    Ok((valid, reason))
}

/// Reads a whole message (every field must be well formed) and returns its
/// string field `number`, if present (the last one wins, as in protobuf).
#[cfg(all(feature = "mock-host", not(target_family = "wasm")))]
pub(crate) fn string_field(bytes: &[u8], number: u64) -> Result<Option<String>> {
    let mut found = None;
    for field in fields(bytes) {
        if let (n, Field::Bytes(b)) = field? {
            if n == number {
                found = Some(utf8(b)?);
            }
        }
    }
    Ok(found)
}

/// Writes a protobuf message field by field, in the order called. As proto3
/// does, a field holding its default value (0, `false`, empty) is left out.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// An empty message.
    pub(crate) fn new() -> Writer {
        Writer::default()
    }

    fn put_varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            // The low seven bits, with the continuation bit set.
            self.out.push((value & 0x7f) as u8 | 0x80);
            value >>= 7;
        }
        self.out.push(value as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.put_varint(u64::from(field) << 3 | u64::from(wire_type));
    }

    /// A varint field (`bool`, an enumeration, an integer).
    pub(crate) fn varint(self, field: u32, value: u64) -> Writer {
        if value == 0 {
            return self;
        }
        self.varint_present(field, value)
    }

    /// A `bytes` field.
    pub(crate) fn bytes(self, field: u32, value: &[u8]) -> Writer {
        if value.is_empty() {
            return self;
        }
        self.bytes_present(field, value)
    }

    /// A `string` field.
    pub(crate) fn string(self, field: u32, value: &str) -> Writer {
        self.bytes(field, value.as_bytes())
    }

    /// A varint field written even at its default value (0, `false`): a
    /// member of a `oneof`, as `google.protobuf.Value`'s `null_value` and
    /// `bool_value` are.
    pub(crate) fn varint_present(mut self, field: u32, value: u64) -> Writer {
        self.key(field, 0);
        self.put_varint(value);
        self
    }

    /// A `double` field (little-endian, wire type 1) written even at 0.0: a
    /// member of a `oneof`, as `google.protobuf.Value`'s `number_value` is.
    #[cfg(all(feature = "mock-host", not(target_family = "wasm")))]
    pub(crate) fn double_present(mut self, field: u32, value: f64) -> Writer {
        self.key(field, 1);
        self.out.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// A length-delimited field (`bytes`, `string`, a message) written even
    /// when empty: a member of a `oneof`, a map entry's key and value, an
    /// element of a repeated message field.
    pub(crate) fn bytes_present(mut self, field: u32, value: &[u8]) -> Writer {
        self.key(field, 2);
        self.put_varint(value.len() as u64);
        self.out.extend_from_slice(value);
        self
    }

    /// The encoded message.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A length-delimited field.
    fn bytes_field(number: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![number << 3 | 2, u8::try_from(payload.len()).unwrap()];
        out.extend_from_slice(payload);
        out
    }

    fn entry_bytes(key: &str, value: &[u8]) -> Vec<u8> {
        let mut out = bytes_field(1, key.as_bytes());
        out.extend(bytes_field(2, value));
        out
    }

    fn number(n: f64) -> Vec<u8> {
        let mut out = vec![2 << 3 | 1];
        out.extend_from_slice(&n.to_le_bytes());
        out
    }

    #[test]
    fn a_struct_decodes_every_value_kind() {
        let list = bytes_field(1, &bytes_field(3, b"x"));
        let inner = bytes_field(1, &entry_bytes("deep", &[4 << 3, 1]));
        let mut message = bytes_field(1, &entry_bytes("n", &number(2.5)));
        message.extend(bytes_field(1, &entry_bytes("s", &bytes_field(3, b"eu"))));
        message.extend(bytes_field(1, &entry_bytes("b", &[4 << 3, 1])));
        message.extend(bytes_field(1, &entry_bytes("z", &[1 << 3, 0])));
        message.extend(bytes_field(1, &entry_bytes("l", &bytes_field(6, &list))));
        message.extend(bytes_field(1, &entry_bytes("o", &bytes_field(5, &inner))));
        let decoded = decode_struct(&message).unwrap();
        assert_eq!(decoded["n"], Value::Number(2.5));
        assert_eq!(decoded["s"], Value::String("eu".into()));
        assert_eq!(decoded["b"], Value::Bool(true));
        assert_eq!(decoded["z"], Value::Null);
        assert_eq!(decoded["l"], Value::List(vec![Value::String("x".into())]));
        assert_eq!(decoded["o"].get("deep"), Some(&Value::Bool(true)));
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let mut message = vec![7 << 3, 0x96, 0x01, 9 << 3 | 5, 1, 2, 3, 4];
        message.extend(bytes_field(1, &entry_bytes("k", &bytes_field(3, b"v"))));
        let decoded = decode_struct(&message).unwrap();
        assert_eq!(decoded["k"], Value::String("v".into()));
    }

    #[test]
    fn truncated_or_invalid_input_is_an_error() {
        for bad in [&[0x0a, 0x05, 1][..], &[0x0a], &[0x80; 11], &[3 << 3 | 3]] {
            let err = decode_struct(bad).unwrap_err();
            assert!(err.to_string().contains("protobuf"), "{bad:?}: {err}");
        }
        let not_utf8 = bytes_field(1, &entry_bytes("k", &bytes_field(3, &[0xff])));
        assert!(decode_struct(&not_utf8).is_err());
    }

    #[test]
    fn hostile_nesting_is_refused() {
        let mut value = bytes_field(3, b"leaf");
        for _ in 0..200 {
            let list = encode_len(1, &value);
            value = encode_len(6, &list);
        }
        let message = encode_len(1, &{
            let mut e = encode_len(1, b"k");
            e.extend(encode_len(2, &value));
            e
        });
        assert!(decode_struct(&message).is_err());
    }

    /// A length-delimited field of any length (two-byte varint lengths).
    fn encode_len(number: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![number << 3 | 2];
        let mut len = payload.len();
        loop {
            let byte = u8::try_from(len & 0x7f).unwrap();
            len >>= 7;
            if len == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn metadata_holds_structs_by_filter() {
        let fields = bytes_field(1, &entry_bytes("tier", &bytes_field(3, b"gold")));
        let message = bytes_field(1, &entry_bytes("acme.auth", &fields));
        let metadata = decode_metadata(&message).unwrap();
        assert_eq!(
            metadata.get("acme.auth", "tier"),
            Some(&Value::String("gold".into()))
        );
    }

    #[test]
    fn the_writer_encodes_varints_strings_and_skips_defaults() {
        let message = Writer::new()
            .string(1, "key")
            .varint(2, 0)
            .varint(3, 1)
            .bytes(4, b"")
            .varint(5, 300)
            .finish();
        assert_eq!(
            message,
            [0x0a, 3, b'k', b'e', b'y', 3 << 3, 1, 5 << 3, 0xac, 0x02]
        );
        let long = Writer::new().bytes(1, &[7; 200]).finish();
        assert_eq!(&long[..3], [0x0a, 0xc8, 0x01]);
        assert_eq!(long.len(), 203);
        assert_eq!(Writer::new().finish(), Vec::<u8>::new());
    }

    #[test]
    fn what_the_writer_writes_the_reader_reads() {
        let message = Writer::new()
            .string(1, "k")
            .varint(9, u64::MAX)
            .bytes(2, &[1, 2])
            .finish();
        let read: Vec<_> = fields(&message).map(|f| f.unwrap()).collect();
        assert!(matches!(read[0], (1, Field::Bytes(b"k"))));
        assert!(matches!(read[1], (9, Field::Varint(u64::MAX))));
        assert!(matches!(read[2], (2, Field::Bytes(&[1, 2]))));
    }

    #[test]
    fn a_verification_result_decodes() {
        let valid = Writer::new().varint(1, 1).finish();
        assert_eq!(decode_verification(&valid).unwrap(), (true, String::new()));
        let invalid = Writer::new().string(2, "bad signature").finish();
        assert_eq!(
            decode_verification(&invalid).unwrap(),
            (false, "bad signature".to_string())
        );
        assert!(decode_verification(&[0x12, 5, b'x']).is_err());
    }
}

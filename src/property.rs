//! Properties (Envoy attributes): `request.path`, `source.address`,
//! `xds.cluster_name`, `plugin_name`, … Paths are lists of segments (no dots
//! on the wire). Values are bytes; the typed getters decode Envoy's encodings
//! (book: reference/wire-formats.md#property-values): strings raw, integers
//! 8-byte little-endian, booleans 1 byte, maps as pairs.

use crate::abi::calls;
use crate::abi::memory::HostBytes;
use crate::abi::wire;
use crate::error::{check, optional};
use crate::map::HeaderPairs;
use crate::{Error, Result};

/// The raw value at `path`, or `None` when Envoy has no such attribute here.
///
/// # Errors
/// `SERIALIZATION_FAILURE` for values Envoy cannot encode; other statuses.
///
/// ```
/// # proxywasm::mock::doc_http(&[], || {
/// let name = proxywasm::property::get(&["plugin_name"])?;
/// # let _ = name;
/// # Ok(()) });
/// ```
pub fn get(path: &[&str]) -> Result<Option<HostBytes>> {
    optional(
        "proxy_get_property",
        calls::get_property(&wire::serialize_path(path)),
    )
}

/// Sets a property on the current stream (Envoy stores it as filter state
/// `wasm.<key>`; use a single-segment path).
///
/// # Errors
/// `NOT_FOUND` outside a stream; `BAD_ARGUMENT` when the value is rejected.
///
/// ```
/// # proxywasm::mock::doc_http(&[], || {
/// proxywasm::property::set(&["tenant"], b"acme")?;
/// assert_eq!(proxywasm::property::get(&["tenant"])?.unwrap(), "acme");
/// // Envoy stores a longer path whole, as one key, which no read finds:
/// proxywasm::property::set(&["a", "b"], b"v")?;
/// assert_eq!(proxywasm::property::get(&["a", "b"])?, None);
/// assert_eq!(proxywasm::property::get(&["a"])?, None);
/// # Ok(()) });
/// ```
pub fn set(path: &[&str], value: &[u8]) -> Result<()> {
    check(
        "proxy_set_property",
        calls::set_property(&wire::serialize_path(path), value),
    )
}

/// A string attribute (invalid UTF-8 replaced with U+FFFD).
///
/// # Errors
/// As [`get`].
///
/// ```
/// # proxywasm::mock::doc_http(&[], || {
/// proxywasm::property::set(&["tenant"], b"acme")?;
/// assert_eq!(proxywasm::property::get_string(&["tenant"])?.as_deref(), Some("acme"));
/// # Ok(()) });
/// ```
pub fn get_string(path: &[&str]) -> Result<Option<String>> {
    Ok(get(path)?.map(|v| match v.into_string() {
        Ok(text) => text,
        Err(bytes) => bytes.to_string_lossy().into_owned(),
    }))
}

fn eight_bytes(value: &[u8]) -> Result<[u8; 8]> {
    <[u8; 8]>::try_from(value).map_err(|_| Error::malformed("property: expected an 8-byte number"))
}

/// An integer attribute (`int`, `uint`, duration or timestamp: 8 bytes LE).
///
/// # Errors
/// As [`get`]; a malformed-data error when the value is not 8 bytes.
///
/// ```
/// # proxywasm::mock::doc_http(&[], || {
/// proxywasm::property::set(&["n"], &42i64.to_le_bytes())?;
/// assert_eq!(proxywasm::property::get_i64(&["n"])?, Some(42));
/// # Ok(()) });
/// ```
pub fn get_i64(path: &[&str]) -> Result<Option<i64>> {
    get(path)?
        .map(|v| eight_bytes(&v).map(i64::from_le_bytes))
        .transpose()
}

/// An unsigned integer attribute (8 bytes LE), e.g. `connection.id`.
///
/// # Errors
/// As [`get_i64`].
///
/// ```
/// # proxywasm::mock::doc_http(&[], || {
/// proxywasm::property::set(&["n"], &7u64.to_le_bytes())?;
/// assert_eq!(proxywasm::property::get_u64(&["n"])?, Some(7));
/// # Ok(()) });
/// ```
pub fn get_u64(path: &[&str]) -> Result<Option<u64>> {
    get(path)?
        .map(|v| eight_bytes(&v).map(u64::from_le_bytes))
        .transpose()
}

/// A boolean attribute (1 byte), e.g. `connection.mtls`.
///
/// # Errors
/// As [`get`]; a malformed-data error when the value is not 1 byte.
///
/// ```
/// # proxywasm::mock::doc_http(&[], || {
/// proxywasm::property::set(&["flag"], &[1])?;
/// assert_eq!(proxywasm::property::get_bool(&["flag"])?, Some(true));
/// # Ok(()) });
/// ```
pub fn get_bool(path: &[&str]) -> Result<Option<bool>> {
    get(path)?
        .map(|v| match v.as_bytes() {
            [b] => Ok(*b != 0),
            _ => Err(Error::malformed("property: expected a 1-byte bool")),
        })
        .transpose()
}

/// A map attribute (e.g. `request.headers`, metadata), as pairs.
///
/// # Errors
/// As [`get`]; a malformed-data error when the value is not a pairs map.
///
/// ```
/// # proxywasm::mock::doc_http(&[], || {
/// let map = proxywasm::http::HeaderPairs::from_pairs(&[("region", "eu")]);
/// proxywasm::property::set(&["labels"], map.as_bytes())?;
/// let labels = proxywasm::property::get_map(&["labels"])?.unwrap();
/// assert_eq!(labels.get("region"), Some(&b"eu"[..]));
/// # Ok(()) });
/// ```
pub fn get_map(path: &[&str]) -> Result<Option<HeaderPairs>> {
    get(path)?.map(HeaderPairs::new).transpose()
}

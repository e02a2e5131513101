//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`).
//!
//! **Not public API**: hidden from the documentation, exempt from semver, and
//! never needed by a plugin. The SDK's wire formats are crate-private; this
//! module lets the fuzz targets reach the pairs decoder and encoder directly.
//! Everything else they drive (`HostBytes`, `Configuration`, the dispatcher
//! through the emulator) goes through the public API, so the fuzzers test what
//! a plugin and a host actually reach. The book's Testing chapter (Fuzzing)
//! lists the targets.

use crate::abi::wire;

/// Checks a serialized pairs buffer as the SDK checks every map the host
/// sends; `Ok` holds the pair count, `Err` the reason.
///
/// ```
/// let bytes = proxywasm::fuzzing::serialize_pairs(&[("a", "1")]);
/// assert_eq!(proxywasm::fuzzing::validate_pairs(&bytes), Ok(1));
/// assert!(proxywasm::fuzzing::validate_pairs(&bytes[..5]).is_err());
/// ```
pub fn validate_pairs(bytes: &[u8]) -> Result<usize, &'static str> {
    wire::validate_pairs(bytes).map_err(|e| e.describe())
}

/// The pairs of a serialized buffer, in order, as the SDK reads them (the
/// iterator stops early on bytes that would not validate).
///
/// ```
/// let bytes = proxywasm::fuzzing::serialize_pairs(&[("a", "1")]);
/// assert_eq!(proxywasm::fuzzing::pairs(&bytes), [(&b"a"[..], &b"1"[..])]);
/// assert!(proxywasm::fuzzing::pairs(&[9, 9]).is_empty());
/// ```
pub fn pairs(bytes: &[u8]) -> Vec<(&[u8], &[u8])> {
    wire::PairsIter::new(bytes).collect()
}

/// Serializes pairs the way the SDK sends maps to the host.
///
/// ```
/// assert!(proxywasm::fuzzing::serialize_pairs::<&str, &str>(&[]).is_empty());
/// assert_eq!(proxywasm::fuzzing::serialize_pairs(&[("", "")]).len(), 14);
/// ```
pub fn serialize_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    wire::serialize_pairs(pairs)
}

/// A compile-time header list (`fixed`, already serialized) with `more`
/// pairs appended, as local replies and callouts build them.
///
/// ```
/// use proxywasm::fuzzing::{serialize_pairs, with_fixed};
/// let fixed = serialize_pairs(&[("a", "1")]);
/// let more: &[(&[u8], &[u8])] = &[(b"b", b"2")];
/// assert_eq!(with_fixed(&fixed, more), serialize_pairs(&[("a", "1"), ("b", "2")]));
/// ```
pub fn with_fixed(fixed: &[u8], more: &[(&[u8], &[u8])]) -> Vec<u8> {
    wire::with_fixed(fixed, more.iter().copied()).into_owned()
}

/// Joins property path segments the way the SDK sends a property path.
///
/// ```
/// assert_eq!(proxywasm::fuzzing::serialize_path(&["a", "b"]), b"a\0b");
/// ```
pub fn serialize_path<S: AsRef<[u8]>>(segments: &[S]) -> Vec<u8> {
    wire::serialize_path(segments)
}

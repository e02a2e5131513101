//! Header maps (request/response headers and trailers, callout response
//! headers, gRPC metadata): a handle per map type, and [`HeaderPairs`], a
//! zero-copy view of a whole map.

use crate::abi::calls;
use crate::abi::memory::HostBytes;
use crate::abi::wire::{self, PairsIter};
use crate::error::{check, optional};
use crate::{Error, Result};

/// A handle to one of the host's header maps. Zero-sized in use: each method
/// is one hostcall on the map it names. Get one from
/// [`crate::http::request_headers`] and friends.
///
/// Names and values are bytes (`impl AsRef<[u8]>`: `&str`, `&[u8]`, `String`…);
/// Envoy lower-cases names. Read results are [`HostBytes`], whose text views
/// never panic on non-UTF-8.
///
/// # Examples
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, HttpContext, http, Result};
///
/// struct Rewrite;
/// impl HttpContext for Rewrite {
///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         let headers = http::request_headers();
///         if let Ok(Some(agent)) = headers.get("user-agent") {
///             let _ = headers.replace("x-agent", agent.as_bytes());
///         }
///         let _ = headers.remove("user-agent");
///         Ok(Action::Continue)
///     }
/// }
///
/// let host = MockHost::builder().http(|_| Rewrite);
/// let mut stream = host.http_stream();
/// stream.request_headers(&[(":path", "/"), ("user-agent", "curl")], true);
/// assert_eq!(stream.current_request_header("x-agent").as_deref(), Some("curl"));
/// assert_eq!(stream.current_request_header("user-agent"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderMap {
    map: u32,
}

impl HeaderMap {
    pub(crate) const fn new(map: u32) -> HeaderMap {
        HeaderMap { map }
    }

    /// The first value of `name`, or `None` if absent. One hostcall; copies
    /// only that value.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` when the map is not available in this callback (e.g.
    /// request headers after the request continued).
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[("host", "example.com")], || {
    /// let host = proxywasm::http::request_headers().get("host")?;
    /// assert_eq!(host.unwrap(), "example.com");
    /// assert!(proxywasm::http::request_headers().get("missing")?.is_none());
    /// # Ok(()) });
    /// ```
    pub fn get(&self, name: impl AsRef<[u8]>) -> Result<Option<HostBytes>> {
        optional(
            "proxy_get_header_map_value",
            calls::get_header_map_value(self.map, name.as_ref()),
        )
    }

    /// Appends a value (duplicates allowed). One hostcall.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` when the map is unavailable or read-only.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::http::request_headers().add("x-trace", "1")?;
    /// # Ok(()) });
    /// ```
    pub fn add(&self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        check(
            "proxy_add_header_map_value",
            calls::add_header_map_value(self.map, name.as_ref(), value.as_ref()),
        )
    }

    /// Sets `name` to exactly this one value (adding it if absent).
    ///
    /// # Errors
    /// As [`HeaderMap::add`].
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[("x-a", "1"), ("x-a", "2")], || {
    /// let headers = proxywasm::http::request_headers();
    /// headers.replace("x-a", "3")?;
    /// assert_eq!(headers.get("x-a")?.unwrap(), "3");
    /// # Ok(()) });
    /// ```
    pub fn replace(&self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        check(
            "proxy_replace_header_map_value",
            calls::replace_header_map_value(self.map, name.as_ref(), value.as_ref()),
        )
    }

    /// Removes every value of `name` (OK if absent).
    ///
    /// # Errors
    /// As [`HeaderMap::add`].
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[("cookie", "a=1")], || {
    /// let headers = proxywasm::http::request_headers();
    /// headers.remove("cookie")?;
    /// assert!(headers.get("cookie")?.is_none());
    /// # Ok(()) });
    /// ```
    pub fn remove(&self, name: impl AsRef<[u8]>) -> Result<()> {
        check(
            "proxy_remove_header_map_value",
            calls::remove_header_map_value(self.map, name.as_ref()),
        )
    }

    /// All entries, in the host's order, as one zero-copy [`HeaderPairs`].
    ///
    /// # Errors
    /// The hostcall's status, or a malformed-data error if the host's bytes do
    /// not follow the pairs format.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[(":path", "/"), ("accept", "*/*")], || {
    /// let pairs = proxywasm::http::request_headers().pairs()?;
    /// assert_eq!(pairs.len(), 2);
    /// for (name, value) in &pairs {
    ///     assert!(!name.is_empty());
    ///     let _ = String::from_utf8_lossy(value);
    /// }
    /// # Ok(()) });
    /// ```
    pub fn pairs(&self) -> Result<HeaderPairs> {
        let bytes = check(
            "proxy_get_header_map_pairs",
            calls::get_header_map_pairs(self.map),
        )?;
        HeaderPairs::new(bytes)
    }

    /// Replaces the whole map (including pseudo-headers) with `pairs`.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` when the map is unavailable or read-only. More than
    /// 1,024 pairs is an error and nothing is sent: Envoy would read such a
    /// list as an empty map and clear this one.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[("a", "1")], || {
    /// let headers = proxywasm::http::request_headers();
    /// headers.set_pairs(&[(":path", "/new"), ("b", "2")])?;
    /// assert_eq!(headers.pairs()?.len(), 2);
    /// # Ok(()) });
    /// ```
    pub fn set_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)]) -> Result<()> {
        if pairs.len() > wire::HOST_MAX_PAIRS {
            return Err(Error::other(
                "proxy_set_header_map_pairs: more than 1,024 pairs, which Envoy reads as an empty map",
            ));
        }
        check(
            "proxy_set_header_map_pairs",
            calls::set_header_map_pairs(self.map, &wire::serialize_pairs(pairs)),
        )
    }

    /// The map's size as Envoy reports it: the sum of name and value lengths
    /// in bytes (not the number of entries; book: reference/hostcalls.md#header-maps).
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for unavailable or read-only maps.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[("ab", "cd")], || {
    /// assert_eq!(proxywasm::http::request_headers().byte_size()?, 4);
    /// # Ok(()) });
    /// ```
    pub fn byte_size(&self) -> Result<usize> {
        check(
            "proxy_get_header_map_size",
            calls::get_header_map_size(self.map),
        )
    }
}

/// A whole header map as the host serialized it, validated once and iterated
/// in place: `(name, value)` byte slices, no per-entry allocation.
///
/// ```
/// use proxywasm::http::HeaderPairs;
///
/// let pairs = HeaderPairs::from_pairs(&[("a", "1"), ("b", "caf\u{e9}")]);
/// assert_eq!(pairs.get("b"), Some(&b"caf\xc3\xa9"[..]));
/// let names: Vec<_> = pairs.iter().map(|(k, _)| k).collect();
/// assert_eq!(names, [b"a", b"b"]);
/// ```
#[derive(Clone, Default)]
pub struct HeaderPairs {
    bytes: HostBytes,
    count: usize,
}

impl HeaderPairs {
    pub(crate) fn new(bytes: HostBytes) -> Result<HeaderPairs> {
        let count = wire::validate_pairs(&bytes).map_err(|e| Error::malformed(e.describe()))?;
        Ok(HeaderPairs { bytes, count })
    }

    /// The serialized pairs and their count (kept below this layer, as in
    /// a callout's reply waiting for its future).
    pub(crate) fn into_parts(self) -> (HostBytes, usize) {
        (self.bytes, self.count)
    }

    /// Pairs from [`HeaderPairs::into_parts`].
    pub(crate) fn from_parts((bytes, count): (HostBytes, usize)) -> HeaderPairs {
        HeaderPairs { bytes, count }
    }

    /// Builds a map from pairs (useful in tests and for callout requests).
    ///
    /// ```
    /// assert_eq!(proxywasm::http::HeaderPairs::from_pairs(&[("k", "v")]).len(), 1);
    /// ```
    pub fn from_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> HeaderPairs {
        HeaderPairs {
            bytes: HostBytes::from(wire::serialize_pairs(pairs)),
            count: pairs.len(),
        }
    }

    /// Number of entries.
    ///
    /// ```
    /// assert_eq!(proxywasm::http::HeaderPairs::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no entries.
    ///
    /// ```
    /// assert!(proxywasm::http::HeaderPairs::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Iterates `(name, value)` byte slices in the host's order.
    ///
    /// ```
    /// let pairs = proxywasm::http::HeaderPairs::from_pairs(&[("k", "v")]);
    /// assert_eq!(pairs.iter().next(), Some((&b"k"[..], &b"v"[..])));
    /// ```
    pub fn iter(&self) -> PairsIter<'_> {
        PairsIter::new(&self.bytes)
    }

    /// The first value of `name` (compared byte-for-byte).
    ///
    /// ```
    /// let pairs = proxywasm::http::HeaderPairs::from_pairs(&[("k", "v")]);
    /// assert_eq!(pairs.get("k"), Some(&b"v"[..]));
    /// assert_eq!(pairs.get("x"), None);
    /// ```
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        let name = name.as_ref();
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// Every value of `name`.
    ///
    /// ```
    /// let pairs = proxywasm::http::HeaderPairs::from_pairs(&[("k", "1"), ("k", "2")]);
    /// assert_eq!(pairs.get_all("k").count(), 2);
    /// ```
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |(k, _)| *k == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// Copies the entries into owned strings, replacing invalid UTF-8 with U+FFFD.
    ///
    /// ```
    /// let pairs = proxywasm::http::HeaderPairs::from_pairs(&[(&b"k"[..], &b"\xff"[..])]);
    /// assert_eq!(pairs.to_lossy_vec(), vec![("k".to_string(), "\u{fffd}".to_string())]);
    /// ```
    pub fn to_lossy_vec(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    /// The serialized bytes, as the host sent them.
    ///
    /// ```
    /// assert_eq!(proxywasm::http::HeaderPairs::default().as_bytes(), b"");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl<'a> IntoIterator for &'a HeaderPairs {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = PairsIter<'a>;
    fn into_iter(self) -> PairsIter<'a> {
        self.iter()
    }
}

impl core::fmt::Debug for HeaderPairs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        debug_pairs(f, self.iter())
    }
}

impl PartialEq for HeaderPairs {
    fn eq(&self, other: &HeaderPairs) -> bool {
        self.iter().eq(other.iter())
    }
}

/// A header list serialized at compile time by [`pairs!`](crate::pairs!):
/// the same bytes the host reads, in the binary's data, so sending it copies
/// nothing and allocates nothing. Use it for the fixed headers of a callout
/// ([`HttpCall::static_headers`](crate::callout::HttpCall::static_headers))
/// or a local reply
/// ([`LocalResponse::static_headers`](crate::http::LocalResponse::static_headers)).
///
/// ```
/// use proxywasm::http::StaticPairs;
///
/// const CHECK: StaticPairs = proxywasm::pairs![(":method", "GET"), (":path", "/check")];
/// assert_eq!(CHECK.len(), 2);
/// assert_eq!(CHECK.get(":path"), Some(&b"/check"[..]));
/// assert_eq!(CHECK.iter().next(), Some((&b":method"[..], &b"GET"[..])));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StaticPairs {
    bytes: &'static [u8],
    count: usize,
}

impl StaticPairs {
    /// No pairs.
    ///
    /// ```
    /// assert!(proxywasm::http::StaticPairs::EMPTY.is_empty());
    /// ```
    pub const EMPTY: StaticPairs = StaticPairs {
        bytes: &[],
        count: 0,
    };

    /// Wraps bytes serialized by `pairs!` (not API: build values with the
    /// macro, which checks the format at compile time).
    #[doc(hidden)]
    pub const fn __serialized(bytes: &'static [u8], count: usize) -> StaticPairs {
        StaticPairs { bytes, count }
    }

    /// Number of pairs.
    ///
    /// ```
    /// assert_eq!(proxywasm::pairs![("a", "1")].len(), 1);
    /// ```
    pub const fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no pairs.
    ///
    /// ```
    /// assert!(proxywasm::pairs![].is_empty());
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The serialized bytes (the pairs wire format).
    ///
    /// ```
    /// assert_eq!(proxywasm::pairs![("a", "1")].as_bytes(), b"\x01\0\0\0\x01\0\0\0\x01\0\0\0a\01\0");
    /// ```
    pub const fn as_bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// Iterates `(name, value)` in order.
    ///
    /// ```
    /// let mut pairs = proxywasm::pairs![("a", "1")].iter();
    /// assert_eq!(pairs.next(), Some((&b"a"[..], &b"1"[..])));
    /// assert_eq!(pairs.next(), None);
    /// ```
    pub fn iter(&self) -> PairsIter<'static> {
        PairsIter::new(self.bytes)
    }

    /// The first value of `name`.
    ///
    /// ```
    /// assert_eq!(proxywasm::pairs![("a", "1")].get("a"), Some(&b"1"[..]));
    /// ```
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&'static [u8]> {
        let name = name.as_ref();
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// Formats pairs as a map of escaped text (non-UTF-8 bytes as `\xNN`).
fn debug_pairs(f: &mut core::fmt::Formatter<'_>, pairs: PairsIter<'_>) -> core::fmt::Result {
    f.debug_map()
        .entries(pairs.map(|(k, v)| (k.escape_ascii().to_string(), v.escape_ascii().to_string())))
        .finish()
}

impl core::fmt::Debug for StaticPairs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        debug_pairs(f, self.iter())
    }
}

impl IntoIterator for StaticPairs {
    type Item = (&'static [u8], &'static [u8]);
    type IntoIter = PairsIter<'static>;
    fn into_iter(self) -> PairsIter<'static> {
        self.iter()
    }
}

/// Serializes a fixed header list at compile time into a
/// [`StaticPairs`](crate::http::StaticPairs): `(name, value)` tuples of
/// string constants. The list is checked while compiling (at most 1,024
/// pairs, the host's limit), and nothing is built at run time.
///
/// ```
/// use proxywasm::http::StaticPairs;
///
/// const PREFIX: &str = "/v1";
/// const HEADERS: StaticPairs = proxywasm::pairs![
///     (":method", "GET"),
///     (":path", PREFIX),
///     (":authority", "backend"),
/// ];
/// assert_eq!(HEADERS.len(), 3);
/// assert_eq!(HEADERS.get(":path"), Some(&b"/v1"[..]));
/// ```
///
/// A value that is not a constant does not compile:
///
/// ```compile_fail
/// let path = String::from("/");
/// let headers = proxywasm::pairs![(":path", path.as_str())];
/// ```
#[macro_export]
macro_rules! pairs {
    ($(($name:expr, $value:expr)),* $(,)?) => {{
        const __PROXYWASM_PAIRS: &[(&::core::primitive::str, &::core::primitive::str)] =
            &[$(($name, $value)),*];
        const __PROXYWASM_LEN: ::core::primitive::usize =
            $crate::__private::static_pairs_len(__PROXYWASM_PAIRS);
        const __PROXYWASM_BYTES: [::core::primitive::u8; __PROXYWASM_LEN] =
            $crate::__private::static_pairs(__PROXYWASM_PAIRS);
        const _: () = ::core::assert!(
            __PROXYWASM_PAIRS.len() <= 1024,
            "proxywasm::pairs!: more than 1024 pairs (the host's limit)"
        );
        $crate::http::StaticPairs::__serialized(&__PROXYWASM_BYTES, __PROXYWASM_PAIRS.len())
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_maps_from_the_host_are_errors() {
        let err = HeaderPairs::new(HostBytes::from(vec![1, 0, 0, 0])).unwrap_err();
        assert!(err.to_string().contains("malformed"), "{err}");
    }

    #[test]
    fn empty_host_result_is_an_empty_map() {
        let pairs = HeaderPairs::new(HostBytes::default()).unwrap();
        assert!(pairs.is_empty());
        assert_eq!(pairs.iter().count(), 0);
    }
}

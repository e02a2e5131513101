//! Wire formats of ABI v0.2.1: the integer enums and the serialized pairs
//! format used by header maps, local replies, callouts and map properties.
//!
//! Nothing here is `unsafe`; it lives in `abi/` because it is the byte-level
//! contract with the host, shared by the SDK, the mock host and the engine host.

/// Map types (`proxy_map_type_t`, abi.md §4.4).
pub(crate) mod map {
    pub(crate) const REQUEST_HEADERS: u32 = 0;
    pub(crate) const REQUEST_TRAILERS: u32 = 1;
    pub(crate) const RESPONSE_HEADERS: u32 = 2;
    pub(crate) const RESPONSE_TRAILERS: u32 = 3;
    pub(crate) const GRPC_INITIAL_METADATA: u32 = 4;
    pub(crate) const GRPC_TRAILING_METADATA: u32 = 5;
    pub(crate) const HTTP_CALL_RESPONSE_HEADERS: u32 = 6;
    pub(crate) const HTTP_CALL_RESPONSE_TRAILERS: u32 = 7;
}

/// Buffer types (`proxy_buffer_type_t`, abi.md §4.3).
pub(crate) mod buffer {
    pub(crate) const HTTP_REQUEST_BODY: u32 = 0;
    pub(crate) const HTTP_RESPONSE_BODY: u32 = 1;
    pub(crate) const DOWNSTREAM_DATA: u32 = 2;
    pub(crate) const UPSTREAM_DATA: u32 = 3;
    pub(crate) const HTTP_CALL_RESPONSE_BODY: u32 = 4;
    pub(crate) const GRPC_RECEIVE_BUFFER: u32 = 5;
    pub(crate) const VM_CONFIGURATION: u32 = 6;
    pub(crate) const PLUGIN_CONFIGURATION: u32 = 7;
    pub(crate) const CALL_DATA: u32 = 8;
}

/// Stream types (`proxy_stream_type_t`, abi.md §4.5).
pub(crate) mod stream {
    pub(crate) const HTTP_REQUEST: u32 = 0;
    pub(crate) const HTTP_RESPONSE: u32 = 1;
    pub(crate) const DOWNSTREAM: u32 = 2;
    pub(crate) const UPSTREAM: u32 = 3;
}

/// The most pairs the host accepts in one serialized map (cpp-host `limits.h`).
pub(crate) const MAX_PAIRS: usize = 1024;

/// Why a serialized pairs buffer was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PairsError {
    /// Shorter than its header or its declared lengths.
    Truncated,
    /// A key or value is not followed by its NUL byte.
    MissingNul,
    /// Bytes left over after the last pair.
    TrailingBytes,
    /// More than [`MAX_PAIRS`] pairs.
    TooMany,
}

impl PairsError {
    /// A short description for error messages.
    pub(crate) const fn describe(self) -> &'static str {
        match self {
            PairsError::Truncated => "serialized pairs: shorter than declared",
            PairsError::MissingNul => "serialized pairs: missing NUL terminator",
            PairsError::TrailingBytes => "serialized pairs: trailing bytes",
            PairsError::TooMany => "serialized pairs: more than 1024 pairs",
        }
    }
}

fn word(chunk: &[u8]) -> Option<(usize, &[u8])> {
    let (word, rest) = chunk.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*word) as usize, rest))
}

/// The pair count and the length table (`count × (u32, u32)`), and the data
/// area after it; `None` if the buffer is shorter than its header says.
fn layout(bytes: &[u8]) -> Option<(usize, &[u8], &[u8])> {
    let (count, rest) = word(bytes)?;
    let (table, data) = rest.split_at_checked(count.checked_mul(8)?)?;
    Some((count, table, data))
}

/// Takes `len` bytes and their NUL terminator off the front of `data`.
#[inline]
fn field(data: &[u8], len: usize) -> Option<(&[u8], &[u8], bool)> {
    let (field, rest) = data.split_at_checked(len)?;
    let (nul, rest) = rest.split_first()?;
    Some((field, rest, *nul == 0))
}

/// Validates a serialized pairs buffer and returns the number of pairs.
///
/// An empty buffer is an empty map (the host sends `(0, 0)` for empty maps).
/// After a successful check, [`PairsIter`] over the same bytes cannot fail.
pub(crate) fn validate_pairs(bytes: &[u8]) -> Result<usize, PairsError> {
    if bytes.is_empty() {
        return Ok(0);
    }
    let (count, _) = word(bytes).ok_or(PairsError::Truncated)?;
    if count > MAX_PAIRS {
        return Err(PairsError::TooMany);
    }
    let (count, table, mut data) = layout(bytes).ok_or(PairsError::Truncated)?;
    for lens in table.chunks_exact(8) {
        let (name_len, rest) = word(lens).ok_or(PairsError::Truncated)?;
        let (value_len, _) = word(rest).ok_or(PairsError::Truncated)?;
        for len in [name_len, value_len] {
            let (_, rest, nul) = field(data, len).ok_or(PairsError::Truncated)?;
            if !nul {
                return Err(PairsError::MissingNul);
            }
            data = rest;
        }
    }
    if data.is_empty() {
        Ok(count)
    } else {
        Err(PairsError::TrailingBytes)
    }
}

/// Iterates the `(name, value)` byte slices of a serialized header map in
/// place (returned by [`HeaderPairs::iter`](crate::http::HeaderPairs::iter)).
///
/// ```
/// let pairs = proxywasm::http::HeaderPairs::from_pairs(&[("a", "1")]);
/// let mut iter: proxywasm::http::PairsIter<'_> = pairs.iter();
/// assert_eq!(iter.next(), Some((&b"a"[..], &b"1"[..])));
/// ```
#[derive(Clone, Debug)]
pub struct PairsIter<'a> {
    lens: core::slice::ChunksExact<'a, u8>,
    data: &'a [u8],
}

impl<'a> PairsIter<'a> {
    /// An iterator over `bytes`, which should have passed [`validate_pairs`].
    /// On unvalidated input it stops early instead of panicking.
    pub(crate) fn new(bytes: &'a [u8]) -> PairsIter<'a> {
        match layout(bytes) {
            Some((_, table, data)) => PairsIter {
                lens: table.chunks_exact(8),
                data,
            },
            None => PairsIter {
                lens: [].chunks_exact(8),
                data: &[],
            },
        }
    }

    fn step(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let lens = self.lens.next()?;
        let (name_len, rest) = word(lens)?;
        let (value_len, _) = word(rest)?;
        let (name, rest, _) = field(self.data, name_len)?;
        let (value, rest, _) = field(rest, value_len)?;
        self.data = rest;
        Some((name, value))
    }
}

impl<'a> Iterator for PairsIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let pair = self.step();
        if pair.is_none() {
            // Malformed (never validated) input: stop for good.
            self.lens = [].chunks_exact(8);
        }
        pair
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.lens.len()))
    }
}

/// Writes pairs into the wire format (abi.md §5.1) in one exact-size,
/// zeroed allocation: the lengths go into 4-byte slots and each key/value is
/// one copy; the NUL terminators are the zeroes already there. No capacity
/// checks per piece (about three times cheaper than pushing into a `Vec`).
fn write_pairs<'p>(pairs: impl Iterator<Item = (&'p [u8], &'p [u8])> + Clone) -> Vec<u8> {
    let (count, data) = pairs.clone().fold((0usize, 0usize), |(n, d), (k, v)| {
        (n + 1, d + k.len() + v.len() + 2)
    });
    if count == 0 {
        // An empty buffer is an empty map (abi.md §5.1): no allocation.
        return Vec::new();
    }
    let table = 4 + count * 8;
    let mut out = vec![0u8; table + data];
    let (head, mut rest) = out.split_at_mut(table);
    let mut words = head.chunks_exact_mut(4);
    if let Some(word) = words.next() {
        word.copy_from_slice(&(count as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        for field in [k, v] {
            if let Some(word) = words.next() {
                word.copy_from_slice(&(field.len() as u32).to_le_bytes());
            }
            let Some((dst, tail)) = core::mem::take(&mut rest).split_at_mut_checked(field.len())
            else {
                break;
            };
            dst.copy_from_slice(field);
            rest = tail.get_mut(1..).unwrap_or_default(); // skip the NUL (already 0)
        }
    }
    out
}

/// Serializes pairs into the wire format (abi.md §5.1).
pub(crate) fn serialize_pairs<K, V>(pairs: &[(K, V)]) -> Vec<u8>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    write_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
}

/// Serializes two lists of pairs as one map (a borrowed slice and extra
/// pairs); nothing at all when both are empty.
pub(crate) fn serialize_two<K1, V1, K2, V2>(first: &[(K1, V1)], second: &[(K2, V2)]) -> Vec<u8>
where
    K1: AsRef<[u8]>,
    V1: AsRef<[u8]>,
    K2: AsRef<[u8]>,
    V2: AsRef<[u8]>,
{
    let a = first.iter().map(|(k, v)| (k.as_ref(), v.as_ref()));
    let b = second.iter().map(|(k, v)| (k.as_ref(), v.as_ref()));
    write_pairs(a.chain(b))
}

/// Joins property path segments with NUL bytes (abi.md §5.2).
pub(crate) fn serialize_path<S: AsRef<[u8]>>(segments: &[S]) -> Vec<u8> {
    let len = segments.iter().map(|s| s.as_ref().len() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(segment.as_ref());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_round_trips_with_corrected_bytes() {
        let bytes = serialize_pairs(&[("a", "1"), ("b", "22")]);
        assert_eq!(
            bytes,
            [
                2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, b'a', 0, b'1', 0, b'b',
                0, b'2', b'2', 0
            ]
        );
        assert_eq!(validate_pairs(&bytes), Ok(2));
        let pairs: Vec<_> = PairsIter::new(&bytes).collect();
        assert_eq!(pairs, vec![(&b"a"[..], &b"1"[..]), (&b"b"[..], &b"22"[..])]);
    }

    #[test]
    fn empty_buffers_are_empty_maps() {
        assert_eq!(validate_pairs(&[]), Ok(0));
        assert_eq!(validate_pairs(&[0, 0, 0, 0]), Ok(0));
        assert_eq!(PairsIter::new(&[]).count(), 0);
    }

    #[test]
    fn malformed_buffers_are_rejected_not_panicked_on() {
        let good = serialize_pairs(&[("key", "value")]);
        for cut in 0..good.len() {
            assert!(
                validate_pairs(&good[..cut]).is_err() || cut == 0,
                "cut {cut}"
            );
        }
        let mut no_nul = good.clone();
        let last = no_nul.len() - 1;
        no_nul[last] = b'x';
        assert_eq!(validate_pairs(&no_nul), Err(PairsError::MissingNul));
        let mut trailing = good.clone();
        trailing.push(7);
        assert_eq!(validate_pairs(&trailing), Err(PairsError::TrailingBytes));
        assert_eq!(
            validate_pairs(&[0xff, 0xff, 0xff, 0xff]),
            Err(PairsError::TooMany)
        );
        let huge_len = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert_eq!(validate_pairs(&huge_len), Err(PairsError::Truncated));
        // The iterator stops, rather than panicking, on bytes that were never validated.
        assert_eq!(PairsIter::new(&huge_len).count(), 0);
        assert_eq!(PairsIter::new(&[9, 9]).count(), 0);
    }

    #[test]
    fn non_utf8_bytes_pass_through() {
        let bytes = serialize_pairs(&[(&b"x-\xff"[..], &b"caf\xe9"[..])]);
        assert_eq!(validate_pairs(&bytes), Ok(1));
        let pairs: Vec<_> = PairsIter::new(&bytes).collect();
        assert_eq!(pairs, vec![(&b"x-\xff"[..], &b"caf\xe9"[..])]);
    }

    #[test]
    fn two_lists_serialize_as_one_map() {
        let both = serialize_two(&[("a", "1")], &[(&b"b"[..], &b"22"[..])]);
        assert_eq!(both, serialize_pairs(&[("a", "1"), ("b", "22")]));
        assert_eq!(serialize_two::<&str, &str, &str, &str>(&[], &[]), b"");
        assert_eq!(
            serialize_two::<&str, &str, _, _>(&[], &[("x", "y")]),
            serialize_pairs(&[("x", "y")])
        );
    }

    #[test]
    fn empty_lists_serialize_to_nothing() {
        let few = [("a", "1"), ("bb", "22")];
        assert_eq!(
            serialize_pairs(&few),
            serialize_two::<_, _, &str, &str>(&few, &[])
        );
        assert_eq!(serialize_pairs::<&str, &str>(&[]), b"");
        assert_eq!(validate_pairs(b""), Ok(0));
    }

    #[test]
    fn paths_are_nul_joined() {
        assert_eq!(serialize_path(&["request", "path"]), b"request\0path");
        assert_eq!(serialize_path::<&str>(&[]), b"");
    }
}

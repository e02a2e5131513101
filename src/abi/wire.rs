//! Wire formats of ABI v0.2.1: the integer enums and the serialized pairs
//! format used by header maps, local replies, callouts and map properties.
//!
//! Nothing here is `unsafe`; it lives in `abi/` because it is the byte-level
//! contract with the host, shared by the SDK, the mock host and the engine host.

use std::borrow::Cow;

/// Map types (`proxy_map_type_t`, book: reference/enumerations.md#map-types).
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

/// Buffer types (`proxy_buffer_type_t`, book: reference/enumerations.md#buffer-types).
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

/// Stream types (`proxy_stream_type_t`, book: reference/enumerations.md#stream-types).
pub(crate) mod stream {
    pub(crate) const HTTP_REQUEST: u32 = 0;
    pub(crate) const HTTP_RESPONSE: u32 = 1;
    pub(crate) const DOWNSTREAM: u32 = 2;
    pub(crate) const UPSTREAM: u32 = 3;
}

/// The most pairs the host reads from a serialized map the plugin sends it
/// (cpp-host `limits.h`): a longer list reaches Envoy as an empty map. Maps
/// the host sends have no such limit (Envoy sends every header it accepted).
pub(crate) const HOST_MAX_PAIRS: usize = 1024;

/// The fewest bytes one pair takes: two lengths and two NUL terminators.
const MIN_PAIR_BYTES: usize = 10;

/// Why a serialized pairs buffer was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PairsError {
    /// Shorter than its count and lengths declare.
    Truncated,
    /// A key or value is not followed by its NUL byte.
    MissingNul,
    /// Bytes left over after the last pair.
    TrailingBytes,
}

impl PairsError {
    /// A short description for error messages.
    pub(crate) const fn describe(self) -> &'static str {
        match self {
            PairsError::Truncated => "serialized pairs: shorter than declared",
            PairsError::MissingNul => "serialized pairs: missing NUL terminator",
            PairsError::TrailingBytes => "serialized pairs: trailing bytes",
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
/// The count has no fixed limit: any count the buffer's length can hold is
/// accepted, since that is what the host sent. After a successful check,
/// [`PairsIter`] over the same bytes cannot fail.
pub(crate) fn validate_pairs(bytes: &[u8]) -> Result<usize, PairsError> {
    if bytes.is_empty() {
        return Ok(0);
    }
    let (count, rest) = word(bytes).ok_or(PairsError::Truncated)?;
    if count > rest.len() / MIN_PAIR_BYTES {
        return Err(PairsError::Truncated);
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

/// Writes pairs into the wire format (book: reference/wire-formats.md#pairs) in one exact-size,
/// zeroed allocation: the lengths go into 4-byte slots and each key/value is
/// one copy; the NUL terminators are the zeroes already there. No capacity
/// checks per piece (about three times cheaper than pushing into a `Vec`).
fn write_pairs<'p>(pairs: impl Iterator<Item = (&'p [u8], &'p [u8])> + Clone) -> Vec<u8> {
    let (count, data) = pairs.clone().fold((0usize, 0usize), |(n, d), (k, v)| {
        (n + 1, d + k.len() + v.len() + 2)
    });
    if count == 0 {
        // An empty buffer is an empty map (book: reference/wire-formats.md#pairs): no allocation.
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

/// Serializes pairs into the wire format (book: reference/wire-formats.md#pairs).
pub(crate) fn serialize_pairs<K, V>(pairs: &[(K, V)]) -> Vec<u8>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    write_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
}

/// The bytes of a header list made of a compile-time part (`fixed`, already
/// serialized by [`crate::pairs!`]) and pairs added at run time: `fixed`
/// itself, uncopied, when nothing was added; otherwise one serialization of
/// both, `fixed` first.
pub(crate) fn with_fixed<'p>(
    fixed: &'p [u8],
    more: impl Iterator<Item = (&'p [u8], &'p [u8])> + Clone,
) -> Cow<'p, [u8]> {
    if more.clone().next().is_none() {
        return Cow::Borrowed(fixed);
    }
    Cow::Owned(write_pairs(PairsIter::new(fixed).chain(more)))
}

/// The serialized size of `pairs` (the wire format of book: reference/wire-formats.md#pairs), for
/// [`crate::pairs!`]: `0` for an empty list, which the host reads as an empty
/// map.
#[doc(hidden)]
pub const fn static_pairs_len(pairs: &[(&str, &str)]) -> usize {
    if pairs.is_empty() {
        return 0;
    }
    let mut total = 4 + pairs.len() * 8;
    let mut i = 0;
    while i < pairs.len() {
        total += pairs[i].0.len() + pairs[i].1.len() + 2;
        i += 1;
    }
    total
}

/// Serializes `pairs` at compile time into exactly `N` bytes (`N` from
/// [`static_pairs_len`]; [`crate::pairs!`] computes both in `const` items).
/// Never panics: with a wrong `N` the output is cut short or zero-padded
/// instead, which the pairs validator would reject.
#[doc(hidden)]
pub const fn static_pairs<const N: usize>(pairs: &[(&str, &str)]) -> [u8; N] {
    let mut out = [0u8; N];
    if pairs.is_empty() {
        return out;
    }
    let mut at = put_word(&mut out, 0, pairs.len());
    let mut i = 0;
    while i < pairs.len() {
        at = put_word(&mut out, at, pairs[i].0.len());
        at = put_word(&mut out, at, pairs[i].1.len());
        i += 1;
    }
    i = 0;
    while i < pairs.len() {
        at = put_bytes(&mut out, at, pairs[i].0.as_bytes()) + 1;
        at = put_bytes(&mut out, at, pairs[i].1.as_bytes()) + 1;
        i += 1;
    }
    out
}

/// Writes `value` as a little-endian `u32` at `at` (what fits of it); returns
/// the offset after it.
const fn put_word<const N: usize>(out: &mut [u8; N], at: usize, value: usize) -> usize {
    put_bytes(out, at, &(value as u32).to_le_bytes())
}

/// Copies `bytes` to `at` (what fits of them); returns the offset after them.
const fn put_bytes<const N: usize>(out: &mut [u8; N], at: usize, bytes: &[u8]) -> usize {
    let mut j = 0;
    while j < bytes.len() {
        if at + j < N {
            out[at + j] = bytes[j];
        }
        j += 1;
    }
    at + bytes.len()
}

/// Joins property path segments with NUL bytes (book: reference/wire-formats.md#property-paths).
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
            Err(PairsError::Truncated)
        );
        let huge_len = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert_eq!(validate_pairs(&huge_len), Err(PairsError::Truncated));
        // The iterator stops, rather than panicking, on bytes that were never validated.
        assert_eq!(PairsIter::new(&huge_len).count(), 0);
        assert_eq!(PairsIter::new(&[9, 9]).count(), 0);
    }

    /// `count` pairs `x-<i>: <i>`, as the host would send them.
    fn many(count: usize) -> Vec<u8> {
        let pairs: Vec<(String, String)> = (0..count)
            .map(|i| (format!("x-{i}"), i.to_string()))
            .collect();
        serialize_pairs(&pairs)
    }

    /// Sets the declared pair count of a serialized buffer.
    fn with_count(mut bytes: Vec<u8>, count: u32) -> Vec<u8> {
        bytes[..4].copy_from_slice(&count.to_le_bytes());
        bytes
    }

    #[test]
    fn more_than_1024_pairs_are_read_whole() {
        let mut pairs = vec![("x-many", "1"); 1100];
        pairs.push(("x-last", "2"));
        let bytes = serialize_pairs(&pairs);
        assert_eq!(validate_pairs(&bytes), Ok(1101));
        assert_eq!(PairsIter::new(&bytes).count(), 1101);
        let last = PairsIter::new(&bytes).last();
        assert_eq!(last, Some((&b"x-last"[..], &b"2"[..])));
        // Empty names and values take the fewest bytes a pair can: the bound
        // on the count accepts them exactly.
        let empty = vec![("", ""); 40];
        assert_eq!(validate_pairs(&serialize_pairs(&empty)), Ok(40));
    }

    #[test]
    fn a_count_the_buffer_cannot_hold_is_an_error() {
        for n in [1, 3, 40] {
            let bytes = many(n);
            let declared = u32::try_from(n).unwrap();
            for count in [declared + 1, declared * 2] {
                let bytes = with_count(bytes.clone(), count);
                assert!(
                    validate_pairs(&bytes).is_err(),
                    "{n} pairs declared as {count}"
                );
            }
            // Past what the length can hold at 10 bytes a pair: refused
            // before anything else is read.
            let most = u32::try_from((bytes.len() - 4) / 10).unwrap();
            for count in [most + 1, u32::MAX] {
                let bytes = with_count(bytes.clone(), count);
                assert_eq!(validate_pairs(&bytes), Err(PairsError::Truncated));
            }
        }
        // The count alone, with nothing after it.
        assert_eq!(validate_pairs(&[1, 0, 0, 0]), Err(PairsError::Truncated));
        assert_eq!(
            validate_pairs(&u32::MAX.to_le_bytes()),
            Err(PairsError::Truncated)
        );
    }

    #[test]
    fn zero_counts_truncated_buffers_and_huge_lengths_are_errors() {
        assert_eq!(validate_pairs(&[0, 0, 0, 0]), Ok(0));
        assert_eq!(
            validate_pairs(&[0, 0, 0, 0, b'a', 0]),
            Err(PairsError::TrailingBytes)
        );
        for cut in [1, 2, 3] {
            assert_eq!(validate_pairs(&[0; 4][..cut]), Err(PairsError::Truncated));
        }
        let bytes = many(12);
        for cut in 1..bytes.len() {
            assert!(validate_pairs(&bytes[..cut]).is_err(), "cut {cut}");
            assert!(PairsIter::new(&bytes[..cut]).count() <= 12);
        }
        // A name length past the end of the buffer, and one that would
        // overflow an offset.
        for len in [1000u32, u32::MAX - 1, u32::MAX] {
            let mut bytes = many(2);
            bytes[4..8].copy_from_slice(&len.to_le_bytes());
            assert_eq!(validate_pairs(&bytes), Err(PairsError::Truncated), "{len}");
            assert!(PairsIter::new(&bytes).count() <= 2);
        }
    }

    #[test]
    fn random_mutations_give_an_error_or_a_consistent_map_never_a_panic() {
        // A small linear congruential generator: the same inputs every run.
        let mut state = 0x2545_f491_u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as usize
        };
        let seeds = [
            many(0),
            many(1),
            many(3),
            many(40),
            serialize_pairs(&[("", "")]),
        ];
        let rounds = if cfg!(miri) { 300 } else { 20_000 };
        for round in 0..rounds {
            let mut bytes = seeds[round % seeds.len()].clone();
            for _ in 0..=next() % 4 {
                match next() % 4 {
                    0 if !bytes.is_empty() => {
                        let at = next() % bytes.len();
                        bytes[at] = next() as u8;
                    }
                    1 => bytes.truncate(next() % (bytes.len() + 1)),
                    2 => bytes.push(next() as u8),
                    _ if bytes.len() >= 4 => {
                        let word = [0, 1, 0xff, 0x7fff_ffff, u32::MAX][next() % 5];
                        let at = next() % (bytes.len() - 3);
                        bytes[at..at + 4].copy_from_slice(&word.to_le_bytes());
                    }
                    _ => {}
                }
            }
            match validate_pairs(&bytes) {
                Ok(count) => assert_eq!(PairsIter::new(&bytes).count(), count, "{bytes:?}"),
                Err(_) => assert!(PairsIter::new(&bytes).count() <= bytes.len() / 10),
            }
        }
    }

    #[test]
    fn non_utf8_bytes_pass_through() {
        let bytes = serialize_pairs(&[(&b"x-\xff"[..], &b"caf\xe9"[..])]);
        assert_eq!(validate_pairs(&bytes), Ok(1));
        let pairs: Vec<_> = PairsIter::new(&bytes).collect();
        assert_eq!(pairs, vec![(&b"x-\xff"[..], &b"caf\xe9"[..])]);
    }

    #[test]
    fn fixed_pairs_are_sent_uncopied_and_joined_with_added_ones() {
        let fixed = serialize_pairs(&[("a", "1")]);
        let none = with_fixed(&fixed, core::iter::empty());
        assert!(matches!(none, Cow::Borrowed(b) if b.as_ptr() == fixed.as_ptr()));
        let added = [(&b"b"[..], &b"22"[..])];
        let both = with_fixed(&fixed, added.iter().copied());
        assert_eq!(&*both, &serialize_pairs(&[("a", "1"), ("b", "22")])[..]);
        let only_added = with_fixed(b"", added.iter().copied());
        assert_eq!(&*only_added, &serialize_pairs(&[("b", "22")])[..]);
        assert_eq!(&*with_fixed(b"", core::iter::empty()), b"");
    }

    #[test]
    fn empty_lists_serialize_to_nothing() {
        assert_eq!(serialize_pairs::<&str, &str>(&[]), b"");
        assert_eq!(validate_pairs(b""), Ok(0));
    }

    #[test]
    fn compile_time_pairs_match_the_runtime_serializer() {
        const PAIRS: &[(&str, &str)] = &[(":method", "GET"), (":path", "/"), ("", "caf\u{e9}")];
        const LEN: usize = static_pairs_len(PAIRS);
        const BYTES: [u8; LEN] = static_pairs(PAIRS);
        assert_eq!(&BYTES[..], &serialize_pairs(PAIRS)[..]);
        assert_eq!(validate_pairs(&BYTES), Ok(3));
        assert_eq!(static_pairs_len(&[]), 0);
        assert_eq!(static_pairs::<0>(&[]), [0u8; 0]);
    }

    #[test]
    fn a_wrong_static_length_gives_bytes_the_validator_rejects_not_a_panic() {
        let pairs = [("a", "1")];
        let short: [u8; 6] = static_pairs(&pairs);
        assert_eq!(validate_pairs(&short), Err(PairsError::Truncated));
        let long: [u8; 20] = static_pairs(&pairs);
        assert_eq!(validate_pairs(&long), Err(PairsError::TrailingBytes));
    }

    #[test]
    fn paths_are_nul_joined() {
        assert_eq!(serialize_path(&["request", "path"]), b"request\0path");
        assert_eq!(serialize_path::<&str>(&[]), b"");
    }
}

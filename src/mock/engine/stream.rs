//! Per-context state: plugin (root) contexts, HTTP streams and TCP
//! connections, and the header-map helpers with Envoy's semantics.

use super::records::LocalReply;
use crate::abi::wire::{self, PairsIter};
use proxywasm_abi::Export;
use std::collections::BTreeMap;

/// A header map: ordered `(name, value)` byte pairs, names lower-cased.
pub(crate) type Map = Vec<(Vec<u8>, Vec<u8>)>;

/// Envoy lower-cases header names on every operation.
pub(crate) fn lower(key: &[u8]) -> Vec<u8> {
    key.to_ascii_lowercase()
}

/// Parses serialized pairs from the plugin; a malformed buffer, or one of
/// more than 1,024 pairs, is an empty map (Envoy's `PairsUtil::toPairs`;
/// book: reference/wire-formats.md#pairs). Keys are lower-cased when `lowercase`.
pub(crate) fn parse_pairs(bytes: &[u8], lowercase: bool) -> Map {
    match wire::validate_pairs(bytes) {
        Ok(count) if count <= wire::HOST_MAX_PAIRS => PairsIter::new(bytes)
            .map(|(k, v)| (if lowercase { lower(k) } else { k.to_vec() }, v.to_vec()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Serializes a map; empty maps are empty (the host writes `(0, 0)`).
pub(crate) fn serialize(map: &Map) -> Vec<u8> {
    if map.is_empty() {
        Vec::new()
    } else {
        wire::serialize_pairs(map)
    }
}

/// Text pairs from a test → a map with lower-cased names.
pub(crate) fn from_text(pairs: &[(&str, &str)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| (lower(k.as_bytes()), v.as_bytes().to_vec()))
        .collect()
}

/// Byte pairs from a test → a map with lower-cased names.
pub(crate) fn from_bytes<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| (lower(k.as_ref()), v.as_ref().to_vec()))
        .collect()
}

pub(crate) fn map_get<'a>(map: &'a Map, key: &[u8]) -> Option<&'a [u8]> {
    let key = lower(key);
    map.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_slice())
}

pub(crate) fn map_add(map: &mut Map, key: &[u8], value: &[u8]) {
    map.push((lower(key), value.to_vec()));
}

/// Sets `key` to exactly one value: the first entry is replaced in place, later
/// ones removed; absent keys are appended.
pub(crate) fn map_replace(map: &mut Map, key: &[u8], value: &[u8]) {
    let key = lower(key);
    let mut seen = false;
    map.retain_mut(|(k, v)| {
        if *k != key {
            return true;
        }
        if seen {
            return false;
        }
        seen = true;
        *v = value.to_vec();
        true
    });
    if !seen {
        map.push((key, value.to_vec()));
    }
}

pub(crate) fn map_remove(map: &mut Map, key: &[u8]) {
    let key = lower(key);
    map.retain(|(k, _)| *k != key);
}

/// Where a paused direction stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Pause {
    #[default]
    No,
    /// A headers callback stopped all iteration (Pause by default,
    /// StopAllIterationAndBuffer, StopAllIterationAndWatermark): Envoy holds
    /// headers, body and trailers, and calls the plugin with none of them.
    Headers,
    /// A headers callback returned StopIteration with
    /// `allow_on_headers_stop_iteration`: the headers are held, the body and
    /// trailers still reach the plugin, and its first Continue sends all on.
    HeadersOnly,
    /// A body callback stopped: the body is buffered.
    Body,
    /// A trailers callback stopped.
    Trailers,
}

impl Pause {
    /// The pause after a body or trailers callback stopped at `at`: headers
    /// held alone stay held (they go on with the body, at the plugin's
    /// Continue or resume).
    pub(crate) fn stopped_at(self, at: Pause) -> Pause {
        if self == Pause::HeadersOnly {
            Pause::HeadersOnly
        } else {
            at
        }
    }
}

/// Data that arrived while the direction was paused at its headers; Envoy
/// delivers it when the plugin resumes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Held {
    pub(crate) any: bool,
    pub(crate) body: Vec<u8>,
    pub(crate) end_of_stream: bool,
    pub(crate) trailers: Option<Map>,
}

/// One direction of a stream: an HTTP request or response, or the data a
/// TCP connection's downstream or upstream sends (then only the bytes, the
/// pause, the end and the closes matter).
#[derive(Clone, Debug, Default)]
pub(crate) struct Flow {
    /// The test delivered this direction's headers.
    pub(crate) started: bool,
    pub(crate) headers: Option<Map>,
    pub(crate) trailers: Option<Map>,
    /// Body bytes the host holds: what `get_buffer_bytes` sees.
    pub(crate) buffer: Vec<u8>,
    /// Body bytes passed on (upstream for requests, downstream for responses).
    pub(crate) forwarded: Vec<u8>,
    pub(crate) paused: Pause,
    /// Body bytes Envoy keeps but the plugin no longer sees: earlier chunks
    /// after StopIterationAndWatermark, or after StopIterationNoBuffer when
    /// they were already buffered. Forwarded before `buffer`.
    pub(crate) kept: Vec<u8>,
    /// The last body callback returned StopIterationAndBuffer (Pause): the
    /// next chunk joins the buffer the plugin sees.
    pub(crate) buffering: bool,
    pub(crate) held: Held,
    /// The test sent `end_of_stream` (or trailers).
    pub(crate) ended: bool,
    /// TCP: the plugin closed this side (`proxy_close_stream`).
    pub(crate) closed_by_plugin: bool,
    /// TCP: the test closed this side (`*_close`).
    pub(crate) closed: bool,
}

impl Flow {
    /// Releases the buffered body.
    pub(crate) fn forward(&mut self) {
        let kept = core::mem::take(&mut self.kept);
        let buffer = core::mem::take(&mut self.buffer);
        self.forwarded.extend_from_slice(&kept);
        self.forwarded.extend_from_slice(&buffer);
        self.buffering = false;
    }

    /// Moves the buffer to the bytes Envoy keeps unseen.
    pub(crate) fn keep(&mut self) {
        let buffer = core::mem::take(&mut self.buffer);
        self.kept.extend_from_slice(&buffer);
        self.buffering = false;
    }

    /// The body as it stands: forwarded, kept, buffered and held bytes.
    pub(crate) fn body(&self) -> Vec<u8> {
        let mut body = self.forwarded.clone();
        body.extend_from_slice(&self.kept);
        body.extend_from_slice(&self.buffer);
        body.extend_from_slice(&self.held.body);
        body
    }
}

/// Request or response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Request,
    Response,
}

impl Side {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Side::Request => "request",
            Side::Response => "response",
        }
    }

    /// The callback delivering `part` of this side: `count` is the number of
    /// headers or trailers, or the body's size.
    pub(crate) fn export(self, part: Part, context_id: u32, count: u32, eos: bool) -> Export {
        let end_of_stream = eos;
        match (self, part) {
            (Side::Request, Part::Headers) => Export::RequestHeaders {
                context_id,
                num_headers: count,
                end_of_stream,
            },
            (Side::Response, Part::Headers) => Export::ResponseHeaders {
                context_id,
                num_headers: count,
                end_of_stream,
            },
            (Side::Request, Part::Body) => Export::RequestBody {
                context_id,
                body_size: count,
                end_of_stream,
            },
            (Side::Response, Part::Body) => Export::ResponseBody {
                context_id,
                body_size: count,
                end_of_stream,
            },
            (Side::Request, Part::Trailers) => Export::RequestTrailers {
                context_id,
                num_trailers: count,
            },
            (Side::Response, Part::Trailers) => Export::ResponseTrailers {
                context_id,
                num_trailers: count,
            },
        }
    }
}

/// Which part of an HTTP stream a callback delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Headers,
    Body,
    Trailers,
}

/// An HTTP stream context.
#[derive(Clone, Debug, Default)]
pub(crate) struct HttpStream {
    pub(crate) root: u32,
    pub(crate) request: Flow,
    pub(crate) response: Flow,
    /// Last action returned (0 Continue, 1 Pause), flipped to Continue on resume.
    pub(crate) action: u32,
    pub(crate) local_reply: Option<LocalReply>,
    /// Where the local reply was sent from (an export name).
    pub(crate) local_reply_from: &'static str,
    /// A local reply answered the request before it continued: its headers
    /// then stay available, writable, to the end of the stream (book:
    /// reference/envoy-1.40.md#header-maps-after-the-request-continued).
    pub(crate) request_kept: bool,
    /// The local reply is on its way through this plugin's response
    /// callbacks (it was sent from a request callback): a reply from its
    /// `on_response_headers` replaces it, one from a later callback resets
    /// the stream once its headers went out.
    pub(crate) reply_in_filter: bool,
    pub(crate) reset: bool,
    pub(crate) properties: Properties,
    /// The stream's route answers from the request headers
    /// (`direct_response`): its status and body.
    pub(crate) direct_response: Option<(u32, Vec<u8>)>,
    /// The route's direct response was sent: the request body and trailers
    /// are never delivered.
    pub(crate) answered_by_route: bool,
}

impl HttpStream {
    pub(crate) fn flow(&self, side: Side) -> &Flow {
        match side {
            Side::Request => &self.request,
            Side::Response => &self.response,
        }
    }

    pub(crate) fn flow_mut(&mut self, side: Side) -> &mut Flow {
        match side {
            Side::Request => &mut self.request,
            Side::Response => &mut self.response,
        }
    }
}

/// A TCP connection context.
#[derive(Clone, Debug, Default)]
pub(crate) struct TcpConnection {
    pub(crate) root: u32,
    pub(crate) downstream: Flow,
    pub(crate) upstream: Flow,
    pub(crate) action: u32,
    pub(crate) properties: Properties,
}

impl TcpConnection {
    pub(crate) fn flow(&self, downstream: bool) -> &Flow {
        if downstream {
            &self.downstream
        } else {
            &self.upstream
        }
    }

    pub(crate) fn flow_mut(&mut self, downstream: bool) -> &mut Flow {
        if downstream {
            &mut self.downstream
        } else {
            &mut self.upstream
        }
    }
}

/// A stream's or a connection's own properties.
#[derive(Clone, Debug, Default)]
pub(crate) struct Properties {
    /// Values the plugin set with `proxy_set_property` (Envoy filter state).
    pub(crate) filter_state: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Properties the test seeded for this context only.
    pub(crate) seeded: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Properties {
    /// What the plugin set at `path`, else what the test seeded.
    pub(crate) fn get(&self, path: &[u8]) -> Option<&Vec<u8>> {
        self.filter_state
            .get(path)
            .or_else(|| self.seeded.get(path))
    }
}

/// A plugin (root) context.
#[derive(Clone, Debug, Default)]
pub(crate) struct Root {
    /// Index into the VM's plugin list.
    pub(crate) plugin: usize,
    pub(crate) vm_started: Option<bool>,
    pub(crate) configured: Option<bool>,
    pub(crate) tick_period_ms: u32,
    pub(crate) next_tick: Option<u64>,
    /// `proxy_get_status`: code and message.
    pub(crate) status: (u32, Vec<u8>),
    /// `on_done` returned false; waiting for `proxy_done`.
    pub(crate) pending_done: bool,
}

/// A live context. (A test has a handful: no point boxing the stream variants.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub(crate) enum Context {
    Root(Root),
    Http(HttpStream),
    Tcp(TcpConnection),
}

impl Context {
    /// A stream's or connection's properties (a plugin context has none).
    pub(crate) fn properties(&mut self) -> Option<&mut Properties> {
        match self {
            Context::Root(_) => None,
            Context::Http(s) => Some(&mut s.properties),
            Context::Tcp(c) => Some(&mut c.properties),
        }
    }

    pub(crate) fn root_id(&self, own: u32) -> u32 {
        match self {
            Context::Root(_) => own,
            Context::Http(s) => s.root,
            Context::Tcp(c) => c.root,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_keeps_the_first_position_and_drops_duplicates() {
        let mut map = from_text(&[("a", "1"), ("B", "2"), ("a", "3")]);
        map_replace(&mut map, b"A", b"9");
        assert_eq!(map, from_text(&[("a", "9"), ("b", "2")]));
        map_replace(&mut map, b"c", b"4");
        assert_eq!(map.last(), Some(&(b"c".to_vec(), b"4".to_vec())));
    }

    #[test]
    fn malformed_pairs_parse_as_an_empty_map() {
        assert!(parse_pairs(&[1, 0, 0, 0], true).is_empty());
        let good = wire::serialize_pairs(&[("X-A", "1")]);
        assert_eq!(parse_pairs(&good, true), from_text(&[("x-a", "1")]));
        assert_eq!(parse_pairs(&good, false)[0].0, b"X-A");
    }

    #[test]
    fn remove_and_get_ignore_case() {
        let mut map = from_text(&[("x", "1"), ("y", "2"), ("x", "3")]);
        assert_eq!(map_get(&map, b"X"), Some(&b"1"[..]));
        map_remove(&mut map, b"X");
        assert_eq!(map, from_text(&[("y", "2")]));
        assert!(serialize(&Vec::new()).is_empty());
    }
}

//! Buffers and maps: the bytes and pairs every domain exposes through the
//! buffer and map hostcalls (HTTP bodies and headers, TCP data, callout
//! responses, gRPC messages and metadata, configurations), and when each is
//! readable and writable (book: reference/hostcalls.md).

use super::state::status::*;
use super::state::{Access, HostState, Payload};
use super::stream::{
    self, Context, Flow, Map, Part, Pause, Side, map_add, map_get, map_remove, map_replace,
    parse_pairs,
};
use crate::abi::wire::{buffer, map};
use proxywasm_abi::Export;

/// Whether `running` is the callback delivering `part` of `side`.
fn delivers(running: Option<Export>, side: Side, part: Part) -> bool {
    let (of, running) = match running {
        Some(Export::RequestHeaders { .. }) => (Side::Request, Part::Headers),
        Some(Export::ResponseHeaders { .. }) => (Side::Response, Part::Headers),
        Some(Export::RequestBody { .. }) => (Side::Request, Part::Body),
        Some(Export::ResponseBody { .. }) => (Side::Response, Part::Body),
        Some(Export::RequestTrailers { .. }) => (Side::Request, Part::Trailers),
        Some(Export::ResponseTrailers { .. }) => (Side::Response, Part::Trailers),
        _ => return false,
    };
    of == side && running == part
}

impl HostState {
    /// The flow behind body or data buffer `kind` of the acting context, if
    /// the context has one, and whether the buffer is open now: while the
    /// callback that delivers it runs, or after that callback paused.
    fn data_flow(&mut self, kind: u32) -> Option<(&mut Flow, bool)> {
        let ctx = self.acting_context();
        let running = self.running_on(ctx);
        let (flow, delivering) = match (self.contexts.get_mut(&ctx)?, kind) {
            (Context::Http(s), buffer::HTTP_REQUEST_BODY) => {
                (&mut s.request, delivers(running, Side::Request, Part::Body))
            }
            (Context::Http(s), buffer::HTTP_RESPONSE_BODY) => (
                &mut s.response,
                delivers(running, Side::Response, Part::Body),
            ),
            (Context::Tcp(c), buffer::DOWNSTREAM_DATA) => (
                &mut c.downstream,
                matches!(running, Some(Export::DownstreamData { .. })),
            ),
            (Context::Tcp(c), buffer::UPSTREAM_DATA) => (
                &mut c.upstream,
                matches!(running, Some(Export::UpstreamData { .. })),
            ),
            _ => return None,
        };
        let open = delivering || flow.paused == Pause::Body;
        Some((flow, open))
    }

    pub(super) fn buffer_read(&mut self, kind: u32) -> Result<Vec<u8>, u32> {
        match kind {
            // Outside its window (or on another kind of context) a body reads as empty.
            buffer::HTTP_REQUEST_BODY..=buffer::UPSTREAM_DATA => match self.data_flow(kind) {
                Some((flow, true)) => Ok(flow.buffer.clone()),
                _ => Ok(Vec::new()),
            },
            buffer::HTTP_CALL_RESPONSE_BODY => match self.payload() {
                Payload::HttpResponse { body, .. } => Ok(body.clone()),
                _ => Err(NOT_FOUND),
            },
            buffer::GRPC_RECEIVE_BUFFER => match (self.running(), self.payload()) {
                (Some(Export::GrpcReceive { .. }), Payload::Message(message)) => {
                    Ok(message.clone())
                }
                _ => Ok(Vec::new()),
            },
            buffer::VM_CONFIGURATION => Ok(self.config.vm_configuration.clone()),
            buffer::PLUGIN_CONFIGURATION => {
                let frame = self.frames.last().ok_or(NOT_FOUND)?;
                let in_window = matches!(
                    frame.export,
                    Some(Export::Configure { .. } | Export::ContextCreate { .. })
                );
                match self.root(frame.context) {
                    Some(root) if in_window => Ok(self
                        .config
                        .plugins
                        .get(root.plugin)
                        .map(|p| p.configuration.clone())
                        .unwrap_or_default()),
                    _ => Err(NOT_FOUND),
                }
            }
            buffer::CALL_DATA => match self.payload() {
                Payload::CallData(data) => Ok(data.clone()),
                _ => Ok(self.call_data.clone()),
            },
            _ => Err(BAD_ARGUMENT),
        }
    }

    pub(super) fn buffer_write(&mut self, kind: u32) -> Result<&mut Vec<u8>, u32> {
        match self.data_flow(kind) {
            Some((flow, true)) => Ok(&mut flow.buffer),
            _ => Err(BAD_ARGUMENT),
        }
    }

    /// `proxy_get_buffer_bytes`: up to `max_size` bytes from `start`.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for an unknown type; `NOT_FOUND` when the buffer is not
    /// available (callout body outside its callback, plugin configuration
    /// outside `on_configure`). Body and data buffers read as empty outside
    /// their window, as in Envoy.
    pub fn get_buffer_bytes(
        &mut self,
        kind: u32,
        start: u32,
        max_size: u32,
    ) -> Result<Vec<u8>, u32> {
        self.enter("proxy_get_buffer_bytes")?;
        let bytes = self.buffer_read(kind)?;
        let start = start as usize;
        if start >= bytes.len() {
            return Ok(Vec::new());
        }
        let end = start.saturating_add(max_size as usize).min(bytes.len());
        Ok(bytes
            .get(start..end)
            .map(<[u8]>::to_vec)
            .unwrap_or_default())
    }

    /// `proxy_set_buffer_bytes`, with Envoy's forms only: `start == 0` drains
    /// `size` bytes then prepends; `start >= len` appends.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for immutable or unavailable buffers and middle edits.
    pub fn set_buffer_bytes(
        &mut self,
        kind: u32,
        start: u32,
        size: u32,
        data: &[u8],
    ) -> Result<(), u32> {
        self.enter("proxy_set_buffer_bytes")?;
        let buffer = self.buffer_write(kind)?;
        let start = start as usize;
        if start == 0 {
            let drain = (size as usize).min(buffer.len());
            buffer.drain(..drain);
            buffer.splice(0..0, data.iter().copied());
            Ok(())
        } else if start >= buffer.len() {
            buffer.extend_from_slice(data);
            Ok(())
        } else {
            Err(BAD_ARGUMENT)
        }
    }

    /// `proxy_get_buffer_status`: `(length, flags)`; flags are always 0 in Envoy.
    ///
    /// # Errors
    /// As [`HostState::get_buffer_bytes`].
    pub fn get_buffer_status(&mut self, kind: u32) -> Result<(u32, u32), u32> {
        self.enter("proxy_get_buffer_status")?;
        let len = self.buffer_read(kind)?.len();
        Ok((u32::try_from(len).unwrap_or(u32::MAX), 0))
    }

    // ---- header maps ------------------------------------------------------

    pub(super) fn map_access(&self, kind: u32) -> Access {
        let top = self.running();
        let read_if = |readable: bool| if readable { Access::Read } else { Access::None };
        match kind {
            map::GRPC_INITIAL_METADATA => read_if(matches!(
                top,
                Some(Export::GrpcReceiveInitialMetadata { .. })
            )),
            map::GRPC_TRAILING_METADATA => read_if(matches!(
                top,
                Some(Export::GrpcReceiveTrailingMetadata { .. })
            )),
            map::HTTP_CALL_RESPONSE_HEADERS | map::HTTP_CALL_RESPONSE_TRAILERS => {
                read_if(matches!(self.payload(), Payload::HttpResponse { .. }))
            }
            map::REQUEST_HEADERS
            | map::REQUEST_TRAILERS
            | map::RESPONSE_HEADERS
            | map::RESPONSE_TRAILERS => {
                let ctx = self.acting_context();
                let Some(stream) = self.http(ctx) else {
                    return Access::None;
                };
                let running = self.running_on(ctx);
                if kind == map::REQUEST_HEADERS && stream.request_kept {
                    return Access::Write;
                }
                if matches!(running, Some(Export::Log { .. })) {
                    return Access::Read;
                }
                if !self.config.fidelity.header_lifetime {
                    return Access::Write;
                }
                let side = if kind < map::RESPONSE_HEADERS {
                    Side::Request
                } else {
                    Side::Response
                };
                let flow = stream.flow(side);
                let available = if kind % 2 == 0 {
                    delivers(running, side, Part::Headers) || flow.paused == Pause::Headers
                } else {
                    delivers(running, side, Part::Trailers)
                        || flow.paused == Pause::Trailers
                        || (delivers(running, side, Part::Body)
                            && flow.ended
                            && flow.trailers.is_none())
                };
                if available {
                    Access::Write
                } else {
                    Access::None
                }
            }
            _ => Access::None,
        }
    }

    pub(super) fn map_read(&self, kind: u32) -> Option<&Map> {
        match kind {
            map::REQUEST_HEADERS
            | map::REQUEST_TRAILERS
            | map::RESPONSE_HEADERS
            | map::RESPONSE_TRAILERS => {
                let stream = self.http(self.acting_context())?;
                match kind {
                    map::REQUEST_HEADERS => stream.request.headers.as_ref(),
                    map::REQUEST_TRAILERS => stream.request.trailers.as_ref(),
                    map::RESPONSE_HEADERS => stream.response.headers.as_ref(),
                    _ => stream.response.trailers.as_ref(),
                }
            }
            map::GRPC_INITIAL_METADATA | map::GRPC_TRAILING_METADATA => match self.payload() {
                Payload::Metadata(map) => Some(map),
                _ => None,
            },
            map::HTTP_CALL_RESPONSE_HEADERS => match self.payload() {
                Payload::HttpResponse { headers, .. } => Some(headers),
                _ => None,
            },
            map::HTTP_CALL_RESPONSE_TRAILERS => match self.payload() {
                Payload::HttpResponse { trailers, .. } => Some(trailers),
                _ => None,
            },
            _ => None,
        }
    }

    /// The map to write, created empty if absent (trailers can be added from
    /// the last body callback). Checks availability.
    pub(super) fn map_write(&mut self, kind: u32) -> Result<&mut Map, u32> {
        if kind > map::HTTP_CALL_RESPONSE_TRAILERS || self.map_access(kind) != Access::Write {
            return Err(BAD_ARGUMENT);
        }
        let ctx = self.acting_context();
        let stream = self.http_mut(ctx).ok_or(BAD_ARGUMENT)?;
        let slot = match kind {
            map::REQUEST_HEADERS => &mut stream.request.headers,
            map::REQUEST_TRAILERS => &mut stream.request.trailers,
            map::RESPONSE_HEADERS => &mut stream.response.headers,
            map::RESPONSE_TRAILERS => &mut stream.response.trailers,
            _ => return Err(BAD_ARGUMENT),
        };
        Ok(slot.get_or_insert_with(Vec::new))
    }

    /// `proxy_get_header_map_pairs`: the serialized map; an unavailable map is
    /// OK and empty (Envoy never answers `NOT_FOUND` here).
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for a map type above 7.
    pub fn get_header_map_pairs(&mut self, kind: u32) -> Result<Vec<u8>, u32> {
        self.enter("proxy_get_header_map_pairs")?;
        if kind > map::HTTP_CALL_RESPONSE_TRAILERS {
            return Err(BAD_ARGUMENT);
        }
        if self.map_access(kind) == Access::None {
            return Ok(Vec::new());
        }
        Ok(self
            .map_read(kind)
            .map(stream::serialize)
            .unwrap_or_default())
    }

    /// `proxy_set_header_map_pairs`: replaces every entry; a malformed buffer
    /// clears the map.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for unavailable or read-only maps.
    pub fn set_header_map_pairs(&mut self, kind: u32, serialized: &[u8]) -> Result<(), u32> {
        self.enter("proxy_set_header_map_pairs")?;
        let pairs = parse_pairs(serialized, true);
        *self.map_write(kind)? = pairs;
        Ok(())
    }

    /// `proxy_get_header_map_value`: the first value of `key`.
    ///
    /// # Errors
    /// `NOT_FOUND` for a missing key; `BAD_ARGUMENT` for an unavailable map.
    pub fn get_header_map_value(&mut self, kind: u32, key: &[u8]) -> Result<Vec<u8>, u32> {
        self.enter("proxy_get_header_map_value")?;
        if kind > map::HTTP_CALL_RESPONSE_TRAILERS || self.map_access(kind) == Access::None {
            return Err(BAD_ARGUMENT);
        }
        self.map_read(kind)
            .and_then(|m| map_get(m, key))
            .map(<[u8]>::to_vec)
            .ok_or(NOT_FOUND)
    }

    /// `proxy_add_header_map_value`: appends (duplicates allowed).
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for unavailable or read-only maps.
    pub fn add_header_map_value(&mut self, kind: u32, key: &[u8], value: &[u8]) -> Result<(), u32> {
        self.enter("proxy_add_header_map_value")?;
        map_add(self.map_write(kind)?, key, value);
        Ok(())
    }

    /// `proxy_replace_header_map_value`: sets `key` to exactly this value.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for unavailable or read-only maps.
    pub fn replace_header_map_value(
        &mut self,
        kind: u32,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), u32> {
        self.enter("proxy_replace_header_map_value")?;
        map_replace(self.map_write(kind)?, key, value);
        Ok(())
    }

    /// `proxy_remove_header_map_value`: removes every value (OK if absent).
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for unavailable or read-only maps.
    pub fn remove_header_map_value(&mut self, kind: u32, key: &[u8]) -> Result<(), u32> {
        self.enter("proxy_remove_header_map_value")?;
        map_remove(self.map_write(kind)?, key);
        Ok(())
    }

    /// `proxy_get_header_map_size`: Envoy's **byte** size (sum of name and
    /// value lengths).
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for read-only or unavailable maps (Envoy uses the
    /// mutable lookup).
    pub fn get_header_map_size(&mut self, kind: u32) -> Result<u32, u32> {
        self.enter("proxy_get_header_map_size")?;
        let map = self.map_write(kind)?;
        let size: usize = map.iter().map(|(k, v)| k.len() + v.len()).sum();
        Ok(u32::try_from(size).unwrap_or(u32::MAX))
    }
}

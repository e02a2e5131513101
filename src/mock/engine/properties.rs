//! Properties: the values the test seeds and the ones Envoy derives from the
//! stream (book: reference/properties.md).

use super::state::status::*;
use super::state::{Access, HostState};
use super::stream::{self, Context, Map, Side, map_get};
use crate::abi::wire::map;

impl HostState {
    /// `proxy_get_property`. Looks up, in order: values the plugin set on
    /// this stream, properties the test seeded for the stream, properties the
    /// test seeded for the VM, and the attributes the emulator derives
    /// (`plugin_name`, `plugin_root_id`, `plugin_vm_id`, and `request.*` /
    /// `response.*` from the stream's live headers).
    ///
    /// # Errors
    /// `NOT_FOUND` for anything else (and for `request.*` once the request
    /// headers are gone, as in Envoy).
    pub fn get_property(&mut self, path: &[u8]) -> Result<Vec<u8>, u32> {
        self.enter("proxy_get_property")?;
        let path = path.strip_suffix(&[0]).unwrap_or(path);
        let ctx = self.acting_context();
        if let Some(own) = self.contexts.get_mut(&ctx).and_then(Context::properties) {
            // A set value is stored under its whole path, and reads split
            // theirs: only a one-segment key reads back (book:
            // reference/hostcalls.md#properties).
            let one_segment = |key: &&[u8]| !key.contains(&0);
            let wasm_key = path.strip_prefix(b"filter_state\0wasm.");
            let key = Some(path).into_iter().chain(wasm_key).find(one_segment);
            let set = key.and_then(|key| own.filter_state.get(key));
            if let Some(value) = set.or(own.seeded.get(path)) {
                return Ok(value.clone());
            }
        }
        if let Some(value) = self.config.properties.get(path) {
            return Ok(value.clone());
        }
        self.derived_property(ctx, path).ok_or(NOT_FOUND)
    }

    pub(super) fn derived_property(&self, ctx: u32, path: &[u8]) -> Option<Vec<u8>> {
        let segments: Vec<&[u8]> = path.split(|b| *b == 0).collect();
        let root = self.root(self.root_of(ctx))?;
        let plugin = self.config.plugins.get(root.plugin)?;
        match segments.as_slice() {
            [b"plugin_name"] => return Some(plugin.name.as_bytes().to_vec()),
            [b"plugin_root_id"] => return Some(plugin.root_id.as_bytes().to_vec()),
            [b"plugin_vm_id"] => return Some(self.config.vm_id.as_bytes().to_vec()),
            _ => {}
        }
        if let [b"response", b"code_details"] = segments.as_slice() {
            // What answered the stream: a local reply's details, or the
            // upstream (book: reference/properties.md#typed-accessors).
            let stream = self.http(ctx)?;
            return match &stream.local_reply {
                Some(reply) => Some(reply.details.as_bytes().to_vec()),
                None => stream.response.started.then(|| b"via_upstream".to_vec()),
            };
        }
        let (side, kind, rest) = match segments.as_slice() {
            [b"request", rest @ ..] => (Side::Request, map::REQUEST_HEADERS, rest),
            [b"response", rest @ ..] => (Side::Response, map::RESPONSE_HEADERS, rest),
            _ => return None,
        };
        if self.map_access(kind) == Access::None {
            return None;
        }
        let headers = self.http(ctx)?.flow(side).headers.as_ref()?;
        let get = |name: &[u8]| map_get(headers, name).map(<[u8]>::to_vec);
        match (side, rest) {
            (_, [b"headers"]) => Some(crate::abi::wire::serialize_pairs(&joined(headers))),
            (_, [b"headers", name]) => joined_value(headers, name),
            (Side::Response, [b"code"]) => {
                let status = map_get(headers, b":status")?;
                let code: i64 = core::str::from_utf8(status).ok()?.parse().ok()?;
                Some(code.to_le_bytes().to_vec())
            }
            (Side::Response, _) => None,
            (_, [b"path"]) => get(b":path"),
            (_, [b"url_path"]) => {
                get(b":path").map(|p| p.split(|b| *b == b'?').next().unwrap_or(&[]).to_vec())
            }
            (_, [b"query"]) => get(b":path").map(|p| {
                let query = p.splitn(2, |b| *b == b'?').nth(1).unwrap_or(&[]);
                query.split(|b| *b == b'#').next().unwrap_or(&[]).to_vec()
            }),
            (_, [b"host"]) => get(b":authority"),
            (_, [b"scheme"]) => get(b":scheme"),
            (_, [b"method"]) => get(b":method"),
            (_, [b"id"]) => get(b"x-request-id"),
            (_, [b"useragent"]) => get(b"user-agent"),
            (_, [b"referer"]) => get(b"referer"),
            _ => None,
        }
    }

    /// Seeds property `path` of context `id` alone (a stream or a
    /// connection; a no-op for others).
    pub(crate) fn seed_property(&mut self, id: u32, path: Vec<u8>, value: Vec<u8>) {
        if let Some(own) = self.contexts.get_mut(&id).and_then(Context::properties) {
            own.seeded.insert(path, value);
        }
    }

    /// `proxy_set_property`: Envoy stores the whole path as one filter-state
    /// key on the current stream.
    ///
    /// # Errors
    /// `NOT_FOUND` when the acting context is not a stream (root contexts).
    pub fn set_property(&mut self, path: &[u8], value: &[u8]) -> Result<(), u32> {
        self.enter("proxy_set_property")?;
        let path = path.strip_suffix(&[0]).unwrap_or(path).to_vec();
        let ctx = self.acting_context();
        let own = self.contexts.get_mut(&ctx).and_then(Context::properties);
        own.ok_or(NOT_FOUND)?
            .filter_state
            .insert(path, value.to_vec());
        Ok(())
    }
}

/// A header map with duplicate names joined by `,` (Envoy's attribute view).
pub(super) fn joined(headers: &Map) -> Map {
    let mut out: Map = Vec::new();
    for (k, v) in headers {
        match out.iter_mut().find(|(key, _)| key == k) {
            Some((_, value)) => {
                value.push(b',');
                value.extend_from_slice(v);
            }
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}

pub(super) fn joined_value(headers: &Map, name: &[u8]) -> Option<Vec<u8>> {
    let name = stream::lower(name);
    joined(headers)
        .into_iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

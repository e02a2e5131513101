//! `envoy_filter_metadata`: read dynamic metadata another Envoy filter wrote
//! (the official Rust SDK's scenario).
//!
//! Envoy's Lua filter runs before this one and stores the request header
//! `x-custom-metadata`, uppercased, as dynamic metadata: namespace
//! [`NAMESPACE`], key [`KEY`]. This plugin reads the stream's dynamic
//! metadata as a typed [`Metadata`](proxywasm::attribute::Metadata)
//! ([`attribute::METADATA`](proxywasm::attribute::METADATA)) and, when the
//! value is there, answers locally with it; otherwise the request goes on
//! to its route.

use proxywasm::attribute::{METADATA, Value};
use proxywasm::http::LocalResponse;
use proxywasm::log::info;
use proxywasm::{Action, ContextId, HttpContext, Result};

/// The dynamic metadata namespace the Lua filter writes.
pub const NAMESPACE: &str = "envoy.filters.http.lua";

/// The key the Lua filter writes.
pub const KEY: &str = "uppercased-custom-metadata";

/// One HTTP stream.
#[derive(Debug)]
pub struct Filter;

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let metadata = METADATA.get()?.unwrap_or_default();
        let Some(value) = metadata.get(NAMESPACE, KEY).and_then(Value::as_str) else {
            info!("envoy_filter_metadata: no {NAMESPACE} {KEY}");
            return Ok(Action::Continue);
        };
        info!("envoy_filter_metadata: {KEY} is {value:?}");
        LocalResponse::new(200)
            .header("content-type", "text/plain")
            .body(&format!("Custom response with Envoy metadata: {value:?}\n"))
            .send()?;
        Ok(Action::Pause)
    }
}

/// The entry point: one `Filter` per stream.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> Filter {
    Filter
}

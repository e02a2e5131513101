//! `proxywasm-panicking`: an HTTP filter that panics on purpose, so the
//! SDK's panic hook can be checked natively and on the `.wasm` (`tests/`).
//! A request header `x-panic-bytes: N` makes `on_request_headers` panic with
//! an N-byte message (`0123456789` repeated); other requests pass, and every
//! response the plugin sees gets `x-panicking: alive`, so a client can tell a
//! response the plugin handled from one Envoy sent past it (`FAIL_OPEN`).
//!
//! `envoy.yaml` loads it three times, once per failure policy; the gate's
//! Envoy checks send a panicking request to each and record what Envoy does
//! next (book: errors-and-logging.md#when-a-plugin-panics).

use proxywasm::{Action, ContextId, HttpContext, Result, http};

/// The HTTP filter.
#[derive(Debug)]
pub struct Filter;

impl HttpContext for Filter {
    #[allow(clippy::panic, reason = "panicking is this plugin's job")]
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let header = http::request_headers().get("x-panic-bytes");
        let Some(len) = header
            .ok()
            .flatten()
            .and_then(|value| value.to_string_lossy().parse::<usize>().ok())
        else {
            return Ok(Action::Continue);
        };
        let message: String = "0123456789".chars().cycle().take(len).collect();
        panic!("{message}");
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if let Err(e) = http::response_headers().add("x-panicking", "alive") {
            proxywasm::log::warn!("could not add x-panicking: {e}");
        }
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> Filter {
    Filter
}

//! `noop`: an HTTP filter that does nothing.
use proxy_wasm::traits::{Context, HttpContext};

struct Noop;
impl Context for Noop {}
impl HttpContext for Noop {}

proxy_wasm::main! {{
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Noop) });
}}

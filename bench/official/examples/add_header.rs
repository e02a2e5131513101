//! `add_header`: adds one response header.
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
include!("../../common.rs");

struct AddHeader;
impl Context for AddHeader {}
impl HttpContext for AddHeader {
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let (name, value) = ADDED_HEADER;
        self.add_http_response_header(name, value);
        Action::Continue
    }
}

proxy_wasm::main! {{
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(AddHeader) });
}}

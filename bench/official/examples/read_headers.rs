//! `read_headers`: sums the lengths of every request header name and value and
//! sets the response header `x-header-bytes` to the sum.
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
include!("../../common.rs");

#[derive(Default)]
struct ReadHeaders {
    sum: u32,
}
impl Context for ReadHeaders {}
impl HttpContext for ReadHeaders {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for (name, value) in self.get_http_request_headers_bytes() {
            self.sum = self.sum.wrapping_add((name.len() + value.len()) as u32);
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let mut buf = [0u8; 10];
        self.add_http_response_header_bytes(SUM_HEADER, decimal(self.sum, &mut buf));
        Action::Continue
    }
}

proxy_wasm::main! {{
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(ReadHeaders::default()) });
}}

//! `read_headers`: sums the lengths of every request header name and value and
//! sets the response header `x-header-bytes` to the sum.
use proxywasm::{Action, ContextId, HttpContext, http, Result};
include!("../../common.rs");

/// The filter; `sum` carries the figure from request to response.
pub struct ReadHeaders {
    sum: u32,
}
#[proxywasm::callbacks]
impl HttpContext for ReadHeaders {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if let Ok(pairs) = http::request_headers().pairs() {
            for (name, value) in &pairs {
                self.sum = self.sum.wrapping_add((name.len() + value.len()) as u32);
            }
        }
        Ok(Action::Continue)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let mut buf = [0u8; 10];
        http::response_headers().add(SUM_HEADER, decimal(self.sum, &mut buf))?;
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> ReadHeaders {
    ReadHeaders { sum: 0 }
}

//! `add_header`: adds one response header.
use proxywasm::{Action, ContextId, HttpContext, http};
include!("../../common.rs");

/// The filter.
pub struct AddHeader;
impl HttpContext for AddHeader {
    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let (name, value) = ADDED_HEADER;
        let _ = http::response_headers().add(name, value);
        Action::Continue
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> AddHeader {
    AddHeader
}

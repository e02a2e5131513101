//! `add_header`: adds one response header.
use proxywasm::{Action, ContextId, HttpContext, http, Result};
include!("../../common.rs");

/// The filter.
pub struct AddHeader;
#[proxywasm::callbacks]
impl HttpContext for AddHeader {
    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let (name, value) = ADDED_HEADER;
        http::response_headers().add(name, value)?;
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> AddHeader {
    AddHeader
}

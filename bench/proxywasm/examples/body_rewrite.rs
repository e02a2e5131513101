//! `body_rewrite`: buffers the request body to the end (Pause), then replaces
//! it with its upper-cased copy.
use proxywasm::{Action, ContextId, HttpContext, http, Result};
include!("../../common.rs");

/// The filter.
pub struct BodyRewrite;
#[proxywasm::callbacks]
impl HttpContext for BodyRewrite {
    fn on_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Result<Action> {
        if !end_of_stream {
            return Ok(Action::Pause);
        }
        let body = http::request_body();
        if let Ok(Some(bytes)) = body.read(0, body_size) {
            let _ = body.replace(rewrite(&bytes));
        }
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> BodyRewrite {
    BodyRewrite
}

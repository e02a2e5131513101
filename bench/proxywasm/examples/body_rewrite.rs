//! `body_rewrite`: buffers the request body to the end (Pause), then replaces
//! it with its upper-cased copy.
use proxywasm::{Action, ContextId, HttpContext, http};
include!("../../common.rs");

/// The filter.
pub struct BodyRewrite;
impl HttpContext for BodyRewrite {
    fn on_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            return Action::Pause;
        }
        let body = http::request_body();
        if let Ok(Some(bytes)) = body.read(0, body_size) {
            let _ = body.replace(rewrite(&bytes));
        }
        Action::Continue
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> BodyRewrite {
    BodyRewrite
}

//! `callout_closure`: `callout` written with a closure: each request's call
//! carries the code that resumes it.
use proxywasm::{Action, ContextId, HttpContext, Result, http};
include!("../../common.rs");
include!("../callout_request.rs");

/// The filter.
pub struct Callout;
#[proxywasm::callbacks]
impl HttpContext for Callout {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        match backend_call().send_then(|_: &mut Callout, _response| http::resume_request()) {
            Ok(_) => Ok(Action::Pause),
            Err(_) => Ok(Action::Continue),
        }
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> Callout {
    Callout
}

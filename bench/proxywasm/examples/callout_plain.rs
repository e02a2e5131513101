//! `callout_plain`: `callout` without `#[proxywasm::callbacks]`, so every
//! callback reaches the dispatcher, which finds the stream and
//! runs the trait's default for the ones the filter does not write. It
//! guards what a plugin pays for a callback it leaves to its default when
//! its other callbacks have code (the bench's budget: at most 20 each).
use proxywasm::callout::HttpCallToken;
use proxywasm::{Action, ContextId, HttpCallResponse, HttpContext, http, Result};
include!("../../common.rs");
include!("../callout_request.rs");

/// The filter.
pub struct Callout;
impl HttpContext for Callout {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        match backend_call().send() {
            Ok(_) => Ok(Action::Pause),
            Err(_) => Ok(Action::Continue),
        }
    }

    fn on_http_call_response(&mut self, _token: HttpCallToken, _response: HttpCallResponse) -> Result<()> {
        http::resume_request()?;
        Ok(())
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> Callout {
    Callout
}

//! `callout`: pauses each request, calls the `backend` cluster, and resumes
//! the request when the response arrives.
use proxywasm::callout::HttpCallToken;
use proxywasm::{Action, ContextId, HttpCallResponse, HttpContext, http, Result};
include!("../../common.rs");
include!("../callout_request.rs");

/// The filter.
pub struct Callout;
#[proxywasm::callbacks]
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

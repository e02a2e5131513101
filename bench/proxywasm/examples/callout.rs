//! `callout`: pauses each request, calls the `backend` cluster, and resumes
//! the request when the response arrives.
use proxywasm::callout::{HttpCall, HttpCallToken};
use proxywasm::http::StaticPairs;
use proxywasm::{Action, ContextId, HttpCallResponse, HttpContext, http, Result};
use std::time::Duration;
include!("../../common.rs");

/// The callout's request headers, serialized at compile time.
const HEADERS: StaticPairs = proxywasm::pairs![(":method", "GET"), (":path", "/"), (":authority", "backend")];

/// The filter.
pub struct Callout;
impl HttpContext for Callout {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let call = HttpCall::new(CALLOUT_CLUSTER)
            .static_headers(HEADERS)
            .timeout(Duration::from_millis(u64::from(CALLOUT_TIMEOUT_MS)))
            .send();
        match call {
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

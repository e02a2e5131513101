//! `callout_closure`: `callout` written with a closure: each request's call
//! carries the code that resumes it.
use proxywasm::callout::HttpCall;
use proxywasm::http::StaticPairs;
use proxywasm::{Action, ContextId, HttpContext, Result, http};
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
            .send_then(|_: &mut Callout, _response| http::resume_request());
        match call {
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

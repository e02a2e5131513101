//! `callout_async`: `callout` written with async/await: each request spawns
//! a task that awaits the call, then resumes the request.
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
            .send_async();
        match call {
            Ok(response) => {
                self.spawn(async move {
                    response.await?;
                    http::resume_request()
                });
                Ok(Action::Pause)
            }
            Err(_) => Ok(Action::Continue),
        }
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> Callout {
    Callout
}

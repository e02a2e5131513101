//! `callout_async`: `callout` written with async/await: each request spawns
//! a task that awaits the call, then resumes the request.
use proxywasm::{Action, ContextId, HttpContext, Result, http};
include!("../../common.rs");
include!("../callout_request.rs");

/// The filter.
pub struct Callout;
#[proxywasm::callbacks]
impl HttpContext for Callout {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        match backend_call().send_async() {
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

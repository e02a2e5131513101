//! `shared_data`: an HTTP filter that counts requests in shared data, one
//! count for every worker of the Envoy process.
//!
//! * Each request adds 1 to the shared-data counter [`COUNTER`] with
//!   [`shared::Counter`], which retries when another worker wrote first, so
//!   no request is lost from the count.
//! * The value after this request's add is logged (`shared value: <n>`) and
//!   returned to the client in the response header [`HEADER`].
//!
//! A hostcall error goes up with `?`: the SDK logs it and answers the stream
//! with a 500 (the default [`proxywasm::ErrorPolicy`]).

use proxywasm::log::info;
use proxywasm::shared::Counter;
use proxywasm::{Action, ContextId, HttpContext, Result, http};

/// The counter, shared by every VM with this plugin's `vm_id`.
pub const COUNTER: Counter<'static> = Counter::new("shared_data.requests");

/// The response header carrying the count.
pub const HEADER: &str = "x-shared-value";

/// The HTTP stream context: the count after this request's add.
#[derive(Debug, Default)]
pub struct Filter {
    value: u64,
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        self.value = COUNTER.add(1)?;
        info!("shared_data: shared value: {}", self.value);
        Ok(Action::Continue)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        http::response_headers().replace(HEADER, self.value.to_string())?;
        Ok(Action::Continue)
    }
}

/// The entry point: one `Filter` per HTTP stream.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> Filter {
    Filter::default()
}

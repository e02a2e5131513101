//! `callout`: pauses each request, calls the `backend` cluster, and resumes
//! the request when the response arrives.
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::time::Duration;
include!("../../common.rs");

struct Callout;
impl Context for Callout {
    fn on_http_call_response(
        &mut self,
        _token: u32,
        _num_headers: usize,
        _body_size: usize,
        _num_trailers: usize,
    ) {
        self.resume_http_request();
    }
}
impl HttpContext for Callout {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let call = self.dispatch_http_call(
            CALLOUT_CLUSTER,
            vec![
                (":method", "GET"),
                (":path", "/"),
                (":authority", "backend"),
            ],
            None,
            vec![],
            Duration::from_millis(u64::from(CALLOUT_TIMEOUT_MS)),
        );
        match call {
            Ok(_) => Action::Pause,
            Err(_) => Action::Continue,
        }
    }
}

proxy_wasm::main! {{
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Callout) });
}}

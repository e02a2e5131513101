//! `body_rewrite`: buffers the request body to the end (Pause), then replaces
//! it with its upper-cased copy.
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
include!("../../common.rs");

struct BodyRewrite;
impl Context for BodyRewrite {}
impl HttpContext for BodyRewrite {
    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            return Action::Pause;
        }
        if let Some(body) = self.get_http_request_body(0, body_size) {
            self.set_http_request_body(0, body_size, &rewrite(&body));
        }
        Action::Continue
    }
}

proxy_wasm::main! {{
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(BodyRewrite) });
}}

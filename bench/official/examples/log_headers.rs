//! `log_headers`: logs every request header at info as `name: value`.
use log::info;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel};

struct LogHeaders;
impl Context for LogHeaders {}
impl HttpContext for LogHeaders {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for (name, value) in self.get_http_request_headers_bytes() {
            info!("{}: {}", name, String::from_utf8_lossy(&value));
        }
        Action::Continue
    }
}

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(LogHeaders) });
}}

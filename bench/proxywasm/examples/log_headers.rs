//! `log_headers`: logs every request header at info as `name: value`.
use proxywasm::log::info;
use proxywasm::{Action, ContextId, HttpContext, http};

/// The filter.
pub struct LogHeaders;
impl HttpContext for LogHeaders {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Ok(pairs) = http::request_headers().pairs() {
            for (name, value) in &pairs {
                info!(
                    "{}: {}",
                    String::from_utf8_lossy(name),
                    String::from_utf8_lossy(value)
                );
            }
        }
        Action::Continue
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> LogHeaders {
    LogHeaders
}

//! `log_headers`: logs every request header at info as `name: value`.
//!
//! The line is built by hand, as in the raw variant (the same user logic),
//! and logged with one `proxywasm::logging::log` call: no `core::fmt`.
//! `proxywasm::log::info!("{}: {}", …)` also works; it costs about a thousand
//! more instructions per line, all in `core::fmt` (see book/src/performance.md).
use proxywasm::logging::{LogLevel, log};
use proxywasm::{Action, ContextId, HttpContext, http};

/// The filter.
pub struct LogHeaders;
impl HttpContext for LogHeaders {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Ok(pairs) = http::request_headers().pairs() {
            let mut line = Vec::new();
            for (name, value) in &pairs {
                line.clear();
                line.extend_from_slice(name);
                line.extend_from_slice(b": ");
                line.extend_from_slice(value);
                let _ = log(LogLevel::Info, &line);
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

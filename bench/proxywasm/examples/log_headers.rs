//! `log_headers`: logs every request header at info as `name: value`,
//! written as a plugin author writes it: `log::info!` per header (the SDK's
//! log backend formats the line and makes one `proxy_log` call).
use proxywasm::{Action, ContextId, HttpContext, http, Result};

/// The filter.
pub struct LogHeaders;
#[proxywasm::callbacks]
impl HttpContext for LogHeaders {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if let Ok(pairs) = http::request_headers().pairs() {
            for (name, value) in &pairs {
                proxywasm::log::info!(
                    "{}: {}",
                    String::from_utf8_lossy(name),
                    String::from_utf8_lossy(value)
                );
            }
        }
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> LogHeaders {
    LogHeaders
}

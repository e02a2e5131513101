//! The `limits` role (plugin `actions_limit` on 127.0.0.1:18409, whose
//! listener sets `per_connection_buffer_limit_bytes` to [`LIMIT`]): what
//! Envoy does when a body the plugin holds grows past the buffer limit
//! (book: reference/callbacks.md#return-values, http.md#every-action). A
//! request names its case in [`CASE_HEADER`]:
//!
//! * `body-pause`: Pause from every request body callback until the last;
//! * `headers-buffer`: StopAllIterationAndBuffer from `on_request_headers`;
//! * `headers-watermark`: StopAllIterationAndWatermark from
//!   `on_request_headers`;
//! * `response-body-pause`: Pause from every response body callback until
//!   the last (the response headers continue);
//! * `response-headers-buffer`: StopAllIterationAndBuffer from
//!   `on_response_headers`.
//!
//! Every other callback answers Continue. A stream still stopped
//! [`RESUME_AFTER`] after it stopped is resumed from `on_tick`. `on_log`
//! logs `probe: limit[CASE] = code C, details D, request body B bytes`,
//! `B` the sum of the sizes the request body callbacks were handed while
//! they answered Continue (the body that went on). The checks are in
//! `xtask/src/probe_limits.rs`.

use crate::{err, observe};
use proxywasm::log::warn;
use proxywasm::{Action, ContextId, Result, http, plugin, property, time};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// The listener's `per_connection_buffer_limit_bytes`.
pub const LIMIT: usize = 1024;
/// The request header naming the case.
pub const CASE_HEADER: &str = "x-probe-limit";
/// How long a stopped stream waits for its resume.
pub const RESUME_AFTER: Duration = Duration::from_millis(400);
/// The role's tick period.
pub const TICK: Duration = Duration::from_millis(100);

thread_local! {
    /// Streams stopped, with the time and whether the request (else the
    /// response) is held.
    static STOPPED: RefCell<BTreeMap<u32, (SystemTime, bool)>> = const { RefCell::new(BTreeMap::new()) };
}

/// Resumes every stream stopped for [`RESUME_AFTER`] (the role's `on_tick`).
/// A stream that ended meanwhile is forgotten.
pub fn on_tick() {
    let Ok(now) = time::now() else { return };
    let due: Vec<(u32, bool)> = STOPPED.with_borrow(|s| {
        s.iter()
            .filter(|(_, (at, _))| now.duration_since(*at).unwrap_or_default() >= RESUME_AFTER)
            .map(|(id, (_, request))| (*id, *request))
            .collect()
    });
    for (id, request) in due {
        STOPPED.with_borrow_mut(|s| s.remove(&id));
        let resumed = plugin::set_effective_context(ContextId(id)).and_then(|()| {
            if request {
                http::resume_request()
            } else {
                http::resume_response()
            }
        });
        if let Err(e) = resumed {
            warn!("probe: cannot resume stream {id}: {e}");
        }
    }
}

/// A limits-role stream.
#[derive(Debug, Default)]
pub struct LimitProbe {
    id: u32,
    case: String,
    body_bytes: usize,
}

impl LimitProbe {
    /// A stream with context id `id`.
    pub fn new(id: ContextId) -> Self {
        LimitProbe {
            id: id.0,
            ..LimitProbe::default()
        }
    }

    fn stop(&self, request: bool) {
        let at = time::now().unwrap_or(SystemTime::UNIX_EPOCH);
        STOPPED.with_borrow_mut(|s| s.insert(self.id, (at, request)));
    }

    /// `on_request_headers`.
    ///
    /// # Errors
    /// When the request headers cannot be read.
    pub fn on_request_headers(&mut self) -> Result<Action> {
        if let Some(case) = http::request_headers().get(CASE_HEADER)? {
            self.case = case.to_string_lossy().into_owned();
        }
        let action = match self.case.as_str() {
            "headers-buffer" => Action::StopAllIterationAndBuffer,
            "headers-watermark" => Action::StopAllIterationAndWatermark,
            _ => return Ok(Action::Continue),
        };
        self.stop(true);
        Ok(action)
    }

    /// `on_request_body`.
    pub fn on_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        if self.case == "body-pause" && !end_of_stream {
            return Action::Pause;
        }
        self.body_bytes += size;
        Action::Continue
    }

    /// `on_response_headers`.
    pub fn on_response_headers(&mut self) -> Action {
        if self.case != "response-headers-buffer" {
            return Action::Continue;
        }
        self.stop(false);
        Action::StopAllIterationAndBuffer
    }

    /// `on_response_body`.
    pub fn on_response_body(&mut self, end_of_stream: bool) -> Action {
        if self.case == "response-body-pause" && !end_of_stream {
            return Action::Pause;
        }
        Action::Continue
    }

    /// `on_log`: logs the response the client was given.
    pub fn on_log(&self) {
        STOPPED.with_borrow_mut(|s| s.remove(&self.id));
        if self.case.is_empty() {
            return;
        }
        let code = match property::get(&["response", "code"]) {
            Ok(Some(v)) => <[u8; 8]>::try_from(v.as_bytes())
                .map_or_else(|_| "?".to_string(), |n| i64::from_le_bytes(n).to_string()),
            Ok(None) => "NOT_FOUND".to_string(),
            Err(e) => err(&e),
        };
        let details = match property::get_string(&["response", "code_details"]) {
            Ok(Some(d)) => d,
            Ok(None) => "NOT_FOUND".to_string(),
            Err(e) => err(&e),
        };
        observe(
            &format!("limit[{}]", self.case),
            &format!(
                "code {code}, details {details}, request body {} bytes",
                self.body_bytes
            ),
        );
    }
}

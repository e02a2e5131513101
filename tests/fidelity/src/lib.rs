//! `proxywasm-fidelity`: an HTTP filter written the way the book teaches,
//! whose tests hold the emulator to what Envoy 1.40 does (natively and on
//! the `.wasm`). The request's `:path` picks the behaviour:
//!
//! - `/api…`: **auth**. Asks cluster [`AUTH_CLUSTER`] (`GET /check`) and
//!   pauses; lets the request through only on a `200`, answers `403` to any
//!   other answer and `503` when the auth service is down, unreachable or
//!   silent (Envoy delivers those as its own 503 and 504 responses, and a
//!   reset as a response without headers);
//! - `/upload…`: **body validation**. Accepts a body that starts with `{`
//!   and answers `400` to any other; logs `validated N bytes`;
//!
//! The plugin context counts its `on_configure` calls and its ticks (one a
//! second) in shared data (`shared::Counter`s [`CONFIGURED`] and
//! [`TICKS`]), so a test sees how many VMs configure and tick.
//!
//! - `/strict…`: **response rules**, each answering on its own when it
//!   fails: an upstream status of 500 or more is answered `502`, a response
//!   without `content-type` `415`. When both fail, the SDK sends the first
//!   and refuses the second (two replies from one `on_response_headers`
//!   crash Envoy 1.40), which `answer` logs as a warning;
//! - `/leak…`: **a deliberate leak**: the `x-big` request header's value
//!   is read and forgotten (`mem::forget`), so the buffer the host
//!   allocated for it is never freed;
//! - any path: the `x-bytes` request header, if present, is logged as hex
//!   and echoed as `x-echo` in the response, byte for byte; request header
//!   entries whose name or value is not UTF-8 are counted in a log line.

use proxywasm::callout::{self, HttpCall, HttpCallToken};
use proxywasm::http::{self, LocalResponse};
use proxywasm::log::{info, warn};
use proxywasm::shared::Counter;
use proxywasm::{
    Action, Configuration, ContextId, HttpCallResponse, HttpContext, NoContext, PluginContext,
    Result,
};
use std::time::Duration;

/// The cluster of the auth service.
pub const AUTH_CLUSTER: &str = "auth";

/// The auth callout's timeout.
pub const AUTH_TIMEOUT: Duration = Duration::from_millis(200);

/// The HTTP filter.
#[derive(Debug, Default)]
pub struct Filter {
    echo: Option<Vec<u8>>,
    validating: bool,
    strict: bool,
    body: Vec<u8>,
}

fn answer(status: u16, body: &str) {
    if let Err(e) = LocalResponse::new(status).body(body).send() {
        warn!("cannot answer {status}: {e}");
    }
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Result<Action> {
        let headers = http::request_headers();
        if let Ok(pairs) = headers.pairs() {
            let not_text = pairs
                .iter()
                .filter(|(k, v)| std::str::from_utf8(k).is_err() || std::str::from_utf8(v).is_err())
                .count();
            if not_text > 0 {
                info!("{not_text} non-UTF-8 header entries");
            }
        }
        if let Ok(Some(value)) = headers.get("x-bytes") {
            let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
            info!("x-bytes hex {hex}");
            self.echo = Some(value.into_vec());
        }
        let path = headers.get(":path").ok().flatten();
        let path = path.as_ref().map_or(&b""[..], |p| p.as_bytes());
        if path.starts_with(b"/api") {
            let sent = HttpCall::new(AUTH_CLUSTER)
                .header(":method", "GET")
                .header(":path", "/check")
                .header(":authority", AUTH_CLUSTER)
                .timeout(AUTH_TIMEOUT)
                .send();
            return match sent {
                Ok(_) => Ok(Action::Pause),
                Err(e) => {
                    warn!("auth callout not sent: {e}");
                    answer(503, "auth unavailable\n");
                    Ok(Action::Pause)
                }
            };
        }
        self.strict = path.starts_with(b"/strict");
        if path.starts_with(b"/leak") {
            // The bug under test: the host's buffer is never freed.
            core::mem::forget(headers.get("x-big"));
            return Ok(Action::Continue);
        }
        if path.starts_with(b"/upload") {
            if end_of_stream {
                answer(400, "a body is required\n");
                return Ok(Action::Pause);
            }
            self.validating = true;
        }
        Ok(Action::Continue)
    }

    fn on_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Result<Action> {
        if !self.validating {
            return Ok(Action::Continue);
        }
        if !end_of_stream {
            return Ok(Action::Pause);
        }
        match http::request_body().read(0, body_size) {
            Ok(Some(body)) => self.body = body.into_vec(),
            Ok(None) => self.body.clear(),
            Err(e) => warn!("cannot read the body: {e}"),
        }
        if self.body.first() == Some(&b'{') {
            info!("validated {} bytes", self.body.len());
            Ok(Action::Continue)
        } else {
            info!("rejected {} bytes", self.body.len());
            answer(400, "a JSON object is required\n");
            Ok(Action::Pause)
        }
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if self.strict {
            let headers = http::response_headers();
            let status = headers.get(":status")?;
            let status = status.and_then(|s| s.to_string_lossy().parse::<u16>().ok());
            if status.is_some_and(|s| s >= 500) {
                answer(502, "the upstream failed\n");
            }
            if headers.get("content-type")?.is_none() {
                answer(415, "the upstream's response has no content-type\n");
            }
        }
        if let Some(echo) = &self.echo {
            if let Err(e) = http::response_headers().add("x-echo", echo) {
                warn!("cannot echo: {e}");
            }
        }
        Ok(Action::Continue)
    }

    fn on_http_call_response(
        &mut self,
        _token: HttpCallToken,
        response: HttpCallResponse,
    ) -> Result<()> {
        let status = callout::response_headers().get(":status").ok().flatten();
        let status = status.as_ref().map_or(&b""[..], |s| s.as_bytes());
        // Envoy answers for a down or silent auth service itself (503, 504),
        // and a reset arrives without headers: neither is a verdict.
        if response.is_failure() || status.starts_with(b"5") {
            info!(
                "auth service down: {}",
                String::from_utf8_lossy(if status.is_empty() { b"reset" } else { status })
            );
            answer(503, "auth unavailable\n");
        } else if status == b"200" {
            if let Err(e) = http::resume_request() {
                warn!("cannot resume: {e}");
            }
        } else {
            answer(403, "forbidden\n");
        }
        Ok(())
    }
}

/// The shared-data counter of `on_configure` calls.
pub const CONFIGURED: &str = "configured";
/// The shared-data counter of ticks.
pub const TICKS: &str = "ticks";
/// The tick period.
pub const TICK_PERIOD: Duration = Duration::from_secs(1);

/// The plugin context: counts configurations and ticks.
#[derive(Debug, Default)]
pub struct Plugin;

impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn on_configure(&mut self, _configuration: Configuration) -> Result<()> {
        Counter::new(CONFIGURED).add(1)?;
        proxywasm::time::set_tick_period(TICK_PERIOD)
    }

    fn on_tick(&mut self) -> Result<()> {
        if let Err(e) = Counter::new(TICKS).add(1) {
            warn!("cannot count the tick: {e}");
        }
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        Some(Filter::default())
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin
}

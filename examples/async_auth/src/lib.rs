//! `async_auth`: an auth filter written as an async task that awaits its
//! callout, and retries once when the auth service is unavailable.
//!
//! * On the request headers the plugin pauses the request and spawns a task
//!   (`HttpContext::spawn`). The task sends `GET /check` to the auth cluster
//!   (the plugin configuration names it; `auth` by default) with
//!   `HttpCall::send_async`, forwarding the request's `x-auth-key` header and
//!   the attempt number in `x-auth-attempt`, and awaits the answer.
//! * A 503 (the service is unavailable, or unreachable: Envoy answers that
//!   with its own 503) is retried once, after `task::sleep` of 200 ms. Sleeps
//!   are driven by the plugin's ticks, so the plugin sets a 50 ms tick period.
//! * A 200 resumes the request; anything else answers 403
//!   `Access forbidden.`. A callout Envoy refuses to send denies too.
//!
//! The task reads like the sequence it performs; the stream's context owns
//! it, and it is dropped if the stream ends while it waits.

use proxywasm::callout::HttpCall;
use proxywasm::http::{self, LocalResponse, StaticPairs};
use proxywasm::log::{info, warn};
use proxywasm::{
    Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result, task, time,
};
use std::rc::Rc;
use std::time::Duration;

/// The request header forwarded to the auth service.
pub const KEY: &str = "x-auth-key";

/// How long the task waits before its one retry.
pub const RETRY_AFTER: Duration = Duration::from_millis(200);

/// The fixed headers of the check, serialized at compile time.
const CHECK: StaticPairs = proxywasm::pairs![
    (":method", "GET"),
    (":path", "/check"),
    (":authority", "auth"),
];

/// The plugin context: holds the auth cluster's name, and ticks so that
/// the tasks' sleeps end.
#[derive(Debug)]
pub struct Plugin {
    cluster: Rc<str>,
}

impl PluginContext for Plugin {
    type Http = Auth;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let name = configuration.to_string_lossy()?;
        if !name.trim().is_empty() {
            self.cluster = name.trim().into();
        }
        info!("async_auth: auth cluster {}", self.cluster);
        // The resolution of `task::sleep`.
        time::set_tick_period(Duration::from_millis(50))
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Auth> {
        Some(Auth {
            cluster: self.cluster.clone(),
        })
    }
}

/// The HTTP stream context.
#[derive(Debug)]
pub struct Auth {
    cluster: Rc<str>,
}

/// Asks the auth service; its answer's status, `None` if the call could not
/// be sent (no answer will come then).
async fn check(cluster: &str, key: &str, attempt: u32) -> Result<Option<u16>> {
    let attempt = attempt.to_string();
    let call = HttpCall::new(cluster)
        .static_headers(CHECK)
        .header(KEY, key)
        .header("x-auth-attempt", &attempt)
        .timeout(Duration::from_secs(1))
        .send_async();
    match call {
        Ok(answer) => answer.await?.status(),
        Err(e) => {
            warn!("auth callout not sent: {e}");
            Ok(None)
        }
    }
}

/// The whole check: one retry on a 503, then the verdict.
async fn authorize(cluster: Rc<str>, key: String) -> Result<()> {
    let mut status = check(&cluster, &key, 1).await?;
    if status == Some(503) {
        info!(
            "auth for key {key:?}: 503 on attempt 1, retrying in {} ms",
            RETRY_AFTER.as_millis()
        );
        task::sleep(RETRY_AFTER).await?;
        status = check(&cluster, &key, 2).await?;
        info!("auth for key {key:?}: {status:?} on attempt 2");
    } else {
        info!("auth for key {key:?}: {status:?} on attempt 1");
    }
    if status == Some(200) {
        info!("access granted");
        http::resume_request()
    } else {
        info!("access forbidden");
        LocalResponse::new(403)
            .header("content-type", "text/plain")
            .body("Access forbidden.\n")
            .send()
    }
}

impl HttpContext for Auth {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let key = http::request_headers().get(KEY)?.unwrap_or_default();
        let key = String::from_utf8_lossy(&key).into_owned();
        self.spawn(authorize(self.cluster.clone(), key));
        Ok(Action::Pause)
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin {
        cluster: "auth".into(),
    }
}

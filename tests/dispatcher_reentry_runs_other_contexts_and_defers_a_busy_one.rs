//! Pins the dispatcher's re-entrancy behaviour, found with the mock host's
//! re-entry hook (a host that calls back into the plugin from inside a
//! hostcall): re-entry for a *different* context runs it; re-entry for the
//! context whose callback is running is answered with the default at once
//! and runs when that callback returns (deferred, not dropped: a host that
//! answers a callout from inside `proxy_http_call` must still resume the
//! stream that paused for it). Never a panic or a trap.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::callout::HttpCallToken;
use proxywasm::mock::{Export, MockHost};
use proxywasm::{Action, ContextId, HttpCallResponse, HttpContext, Result, http};
use std::time::Duration;

mod support;
use support::{OnTick, tick_every};

struct Greeter(ContextId);
impl HttpContext for Greeter {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        proxywasm::log::info!("headers for {}", self.0);
        Ok(Action::Pause)
    }
}

#[test]
fn reentry_for_another_context_runs_it() {
    let host = MockHost::builder().http(Greeter);
    let mut a = host.http_stream();
    let b = host.http_stream();
    let reentry = Export::RequestHeaders {
        context_id: b.id().0,
        num_headers: 0,
        end_of_stream: true,
    };
    host.reenter_on("proxy_log", reentry);
    assert_eq!(a.request_headers(&[(":path", "/")], true), Action::Pause);
    // B's callback ran inside A's proxy_log, and returned its own action.
    assert_eq!(host.reentries(), vec![(reentry, 1)]);
    assert_eq!(host.logs().info(), vec!["headers for 2", "headers for 3"]);
    assert!(host.logs().error().is_empty());
}

#[test]
fn reentry_for_the_running_context_runs_when_its_callback_returns() {
    let host = MockHost::builder().http(Greeter);
    let mut a = host.http_stream();
    let reentry = Export::RequestHeaders {
        context_id: a.id().0,
        num_headers: 0,
        end_of_stream: true,
    };
    host.reenter_on("proxy_log", reentry);
    assert_eq!(
        a.request_headers(&[(":path", "/")], true),
        Action::Pause,
        "the outer callback is unaffected"
    );
    assert_eq!(
        host.reentries(),
        vec![(reentry, 0)],
        "answered with the default (Continue) at once"
    );
    assert_eq!(
        host.logs().info(),
        vec!["headers for 2", "headers for 2"],
        "the busy context ran the deferred callback after the running one, not inside it"
    );
    assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
}

#[test]
fn reentry_into_the_running_plugin_context_is_deferred_too() {
    let host = MockHost::builder().plugin(|_| OnTick(|| proxywasm::log::info!("tick")));
    tick_every(&host, Duration::from_secs(1));
    host.reenter_on("proxy_log", Export::Tick { context_id: 1 });
    host.time().tick();
    assert_eq!(host.reentries(), vec![(Export::Tick { context_id: 1 }, 0)]);
    assert_eq!(host.logs().info(), vec!["tick", "tick"]);
    assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
}

/// Pauses the request for a callout and resumes it on the response.
struct Auth;
impl HttpContext for Auth {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let call = support::get("auth", "/check", "auth").send();
        proxywasm::log::info!("sent: {}", call.is_ok());
        Ok(Action::Pause)
    }
    fn on_http_call_response(&mut self, token: HttpCallToken, _r: HttpCallResponse) -> Result<()> {
        proxywasm::log::info!("response to {}", token.0);
        let _ = http::resume_request();
        Ok(())
    }
}

#[test]
fn a_callout_answered_from_inside_proxy_http_call_resumes_the_paused_stream() {
    let host = MockHost::builder().http(|_| Auth);
    let mut stream = host.http_stream();
    // A host that answers at once: the response arrives (on the root context,
    // as Envoy addresses it) inside the `proxy_http_call` of the stream's
    // `on_request_headers`, before the plugin has its token. The emulator
    // numbers HTTP calls 4, 8, …
    let response = Export::HttpCallResponse {
        context_id: 1,
        token: 4,
        num_headers: 1,
        body_size: 0,
        num_trailers: 0,
    };
    host.reenter_on("proxy_http_call", response);
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Action::Pause
    );
    assert_eq!(host.reentries(), vec![(response, 0)]);
    assert_eq!(
        host.logs().info(),
        vec!["sent: true", "response to 4"],
        "the response ran after on_request_headers returned, on the stream"
    );
    assert!(
        !stream.is_request_paused(),
        "the deferred response resumed the request"
    );
    assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
}

thread_local! {
    /// The waker [`signalled`] left, for the tick to wake.
    static WAITING: std::cell::RefCell<Option<std::task::Waker>> =
        const { std::cell::RefCell::new(None) };
    /// Set by the tick.
    static SIGNALLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Completes once the tick has signalled. Each poll leaves its waker, then
/// reads the clock: the hostcall from which the host below re-enters.
async fn signalled() -> Result<()> {
    std::future::poll_fn(|cx| {
        if SIGNALLED.get() {
            return std::task::Poll::Ready(Ok(()));
        }
        WAITING.set(Some(cx.waker().clone()));
        if let Err(error) = proxywasm::time::now() {
            return std::task::Poll::Ready(Err(error));
        }
        std::task::Poll::Pending
    })
    .await
}

/// Its streams spawn a task that waits for [`signalled`]; its tick signals
/// and wakes that task.
struct Signalling;
impl proxywasm::PluginContext for Signalling {
    type Http = Waiter;
    type Tcp = proxywasm::NoContext;
    fn on_tick(&mut self) -> Result<()> {
        SIGNALLED.set(true);
        if let Some(waker) = WAITING.take() {
            waker.wake();
        }
        Ok(())
    }
    fn new_http_context(&mut self, _id: ContextId) -> Option<Waiter> {
        Some(Waiter)
    }
}

struct Waiter;
impl HttpContext for Waiter {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        self.spawn(async {
            signalled().await?;
            proxywasm::log::info!("signalled");
            http::resume_request()
        });
        Ok(Action::Pause)
    }
}

#[test]
fn a_task_woken_while_it_is_being_polled_is_polled_again() {
    let host = MockHost::builder().plugin(|_| Signalling);
    let mut stream = host.http_stream();
    // The tick re-enters from inside the task's first poll (the waiting
    // task is out of its slot then) and wakes it: the wake must not be
    // lost when that poll returns pending.
    host.reenter_on(
        "proxy_get_current_time_nanoseconds",
        Export::Tick { context_id: 1 },
    );
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Action::Pause
    );
    assert_eq!(host.reentries(), vec![(Export::Tick { context_id: 1 }, 0)]);
    assert_eq!(host.logs().info(), vec!["signalled"]);
    assert!(!stream.is_request_paused(), "the task resumed the request");
    assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
}

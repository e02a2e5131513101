//! Pins the dispatcher's re-entrancy behaviour, found with the mock host's
//! re-entry hook (a host that calls back into the plugin from inside a
//! hostcall): re-entry for a *different* context runs it; re-entry for the
//! context whose callback is running is logged and answered with the
//! default. Never a panic or a trap.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::mock::{Export, MockHost};
use proxywasm::{Action, ContextId, HttpContext};

struct Greeter(ContextId);
impl HttpContext for Greeter {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
        proxywasm::log::info!("headers for {}", self.0);
        Action::Pause
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
    assert_eq!(host.info_logs(), vec!["headers for 2", "headers for 3"]);
    assert!(host.error_logs().is_empty());
}

#[test]
fn reentry_for_the_running_context_is_logged_and_answered_with_the_default() {
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
        "answered with the default (Continue)"
    );
    assert_eq!(
        host.info_logs(),
        vec!["headers for 2"],
        "the busy context did not run twice"
    );
    let errors = host.error_logs();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("proxy_on_request_headers"),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("still running"), "{}", errors[0]);
}

#[test]
fn reentry_into_the_running_plugin_context_is_refused_too() {
    struct Ticker;
    impl proxywasm::PluginContext for Ticker {
        type Http = proxywasm::NoContext;
        type Tcp = proxywasm::NoContext;
        fn on_tick(&mut self) {
            proxywasm::log::info!("tick");
        }
    }
    let host = MockHost::builder().plugin(|_| Ticker);
    host.run(|| proxywasm::time::set_tick_period(std::time::Duration::from_secs(1)))
        .unwrap();
    host.reenter_on("proxy_log", Export::Tick { context_id: 1 });
    host.tick();
    assert_eq!(host.reentries(), vec![(Export::Tick { context_id: 1 }, 0)]);
    assert_eq!(host.info_logs(), vec!["tick"]);
    assert!(host.error_logs()[0].contains("still running"));
}

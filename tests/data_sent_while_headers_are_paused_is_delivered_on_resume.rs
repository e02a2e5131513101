//! With Envoy's default, pausing in a headers callback holds the whole
//! direction: a body that arrives meanwhile is held, and delivered (with its
//! full size) when the plugin resumes.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::mock::MockHost;
use proxywasm::{Action, HttpContext, Result, http};
use std::time::Duration;

mod support;
use support::{ResumeOnTick, tick_every};

#[derive(Default)]
struct Held;
impl HttpContext for Held {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        Ok(Action::Pause)
    }
    fn on_request_body(&mut self, size: usize, end_of_stream: bool) -> Result<Action> {
        let body = http::request_body().read_all().unwrap_or_default();
        proxywasm::log::info!("body {size} {end_of_stream} {body}");
        Ok(Action::Continue)
    }
    fn on_request_trailers(&mut self, n: usize) -> Result<Action> {
        proxywasm::log::info!("trailers {n}");
        Ok(Action::Continue)
    }
}

#[test]
fn the_held_body_and_trailers_arrive_after_the_resume() {
    let host = MockHost::builder().plugin(|_| ResumeOnTick::<Held>::new());
    tick_every(&host, Duration::from_secs(1));
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":method", "POST")], false),
        Action::Pause
    );
    assert_eq!(
        stream.request_body(b"first ", false),
        Action::Pause,
        "held, not delivered"
    );
    assert_eq!(stream.request_body(b"second", false), Action::Pause);
    assert_eq!(stream.request_trailers(&[("t", "1")]), Action::Pause);
    assert!(host.logs().info().is_empty());
    assert_eq!(stream.current_request_body(), b"first second");

    host.time().advance(Duration::from_secs(1)); // the tick resumes stream 2
    assert_eq!(
        host.logs().info(),
        vec!["body 12 false first second", "trailers 1"]
    );
    assert_eq!(stream.action(), Action::Continue);
    assert!(!stream.is_request_paused());
}

//! `postpone_requests` holds each request until the plugin's next tick,
//! which resumes every waiting stream.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `postpone_requests.wasm` under
//! wasmtime.

use proxywasm::Action;
use proxywasm::mock::{HttpStream, MockHost};
use proxywasm_wasmtime::Dual;
use std::time::Duration;

/// The plugin natively and as its release `.wasm`, no configuration, started.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(postpone_requests::plugin)
})
.started();

/// A `GET /`, postponed: the stream.
fn request(host: &MockHost) -> HttpStream {
    let mut stream = host.http_stream();
    let action = stream.request_headers(&[(":path", "/")], true);
    assert_eq!(action, Action::Pause, "postponed");
    stream
}

#[test]
fn a_request_waits_until_the_next_tick() {
    DUAL.run(|host| {
        let stream = request(host);
        let id = stream.id().0;
        assert!(
            host.logs()
                .contain(&format!("postpone request with context id {id}"))
        );
        host.time().advance(Duration::from_millis(400));
        assert!(stream.is_request_paused(), "no tick yet");
        host.time().advance(Duration::from_millis(100));
        assert_eq!(stream.action(), Action::Continue);
        assert!(!stream.is_request_paused());
        assert!(
            host.logs()
                .contain(&format!("resume request with context id {id}"))
        );
    });
}

#[test]
fn one_tick_resumes_every_waiting_request_once() {
    DUAL.run(|host| {
        let streams: Vec<_> = (0..3).map(|_| request(host)).collect();
        host.time().advance(Duration::from_millis(500));
        assert!(streams.iter().all(|s| !s.is_request_paused()));
        host.time().advance(Duration::from_millis(500));
        let resumed = host
            .logs()
            .info()
            .iter()
            .filter(|l| l.starts_with("resume request"))
            .count();
        assert_eq!(resumed, 3, "each once");
    });
}

#[test]
fn a_request_that_ends_while_postponed_is_skipped() {
    DUAL.run(|host| {
        let gone = request(host);
        let gone_id = gone.id().0;
        let kept = request(host);
        gone.complete();
        host.time().advance(Duration::from_millis(500));
        assert!(!kept.is_request_paused());
        assert!(
            !host
                .logs()
                .contain(&format!("resume request with context id {gone_id}"))
        );
        let skipped = format!("request with context id {gone_id} ended while postponed");
        assert!(
            host.logs().debug().contains(&skipped),
            "{:?}",
            host.logs().debug()
        );
        assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
    });
}

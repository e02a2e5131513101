//! Every `Action` variant, returned from each kind of callback, natively on
//! the emulator: the wire value the dispatcher answers (a variant where it
//! has no meaning is logged and answered with its fallback), and what the
//! emulator then does with it, as Envoy 1.40 does with and without
//! `allow_on_headers_stop_iteration` (book: reference/callbacks.md#return-values;
//! measured by the Envoy probe's actions role, whose own dual-run test runs
//! the same scenarios on its `.wasm`).
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::mock::MockHost;
use proxywasm::{Action, HttpContext, Result, TcpContext};

/// Answers `headers` from the headers callbacks, then `bodies` in turn from
/// the body callbacks (Continue when they run out), `trailers` from the
/// trailers callbacks, and logs each body callback's size and buffer.
#[derive(Clone)]
struct Scripted {
    headers: Action,
    bodies: Vec<Action>,
    trailers: Action,
}

impl Scripted {
    fn new(headers: Action, bodies: &[Action]) -> Self {
        Scripted {
            headers,
            bodies: bodies.to_vec(),
            trailers: Action::Continue,
        }
    }
}

impl HttpContext for Scripted {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        Ok(self.headers)
    }
    fn on_request_body(&mut self, size: usize, eos: bool) -> Result<Action> {
        let body = proxywasm::http::request_body().read_all()?;
        proxywasm::log::info!("body {size} {eos} {body}");
        Ok(if self.bodies.is_empty() {
            Action::Continue
        } else {
            self.bodies.remove(0)
        })
    }
    fn on_request_trailers(&mut self, _n: usize) -> Result<Action> {
        proxywasm::log::info!("trailers");
        Ok(self.trailers)
    }
}

fn host(allow: bool, plugin: Scripted) -> MockHost {
    MockHost::builder()
        .echo_logs(false)
        .allow_on_headers_stop_iteration(allow)
        .http(move |_| plugin.clone())
}

/// Resumes the request of `stream` as a plugin does: from the plugin
/// context, with the stream made effective.
fn resume(host: &MockHost, stream: &proxywasm::mock::HttpStream) {
    host.run(|| {
        proxywasm::plugin::set_effective_context(stream.id())?;
        proxywasm::http::resume_request()
    })
    .unwrap();
}

#[test]
fn a_headers_pause_holds_the_whole_request_by_default_and_only_the_headers_when_allowed() {
    // Default: Envoy turns StopIteration into StopAllIterationAndWatermark.
    let host = host(false, Scripted::new(Action::Pause, &[]));
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":method", "POST")], false),
        Action::Pause
    );
    assert_eq!(stream.request_body(b"abcd", true), Action::Pause);
    assert!(host.logs().info().is_empty(), "no body callback while held");
    resume(&host, &stream);
    assert_eq!(host.logs().info(), ["body 4 true abcd"]);
    assert!(!stream.is_request_paused());

    // Allowed: the body reaches the plugin; its Continue sends everything on.
    let host = self::host(true, Scripted::new(Action::Pause, &[Action::Pause]));
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":method", "POST")], false),
        Action::Pause
    );
    assert!(stream.is_request_paused());
    assert_eq!(stream.request_body(b"ab", false), Action::Pause);
    assert!(
        stream.is_request_paused(),
        "headers and the buffered body held"
    );
    assert_eq!(stream.request_body(b"cd", true), Action::Continue);
    assert_eq!(host.logs().info(), ["body 2 false ab", "body 4 true abcd"]);
    assert!(!stream.is_request_paused());
    assert_eq!(stream.current_request_body(), b"abcd");
}

#[test]
fn the_stop_all_variants_hold_everything_with_either_setting() {
    for allow in [false, true] {
        for action in [
            Action::StopAllIterationAndBuffer,
            Action::StopAllIterationAndWatermark,
        ] {
            let host = host(allow, Scripted::new(action, &[]));
            let mut stream = host.http_stream();
            assert_eq!(
                stream.request_headers(&[(":method", "POST")], false),
                Action::Pause
            );
            assert_eq!(stream.request_body(b"ab", false), Action::Pause);
            assert_eq!(stream.request_trailers(&[("t", "1")]), Action::Pause);
            assert!(host.logs().info().is_empty(), "{action:?}, allow {allow}");
            resume(&host, &stream);
            assert_eq!(host.logs().info(), ["body 2 false ab", "trailers"]);
            assert!(!stream.is_request_paused());
            assert_eq!(stream.current_request_body(), b"ab");
        }
    }
}

#[test]
fn continue_and_end_stream_acts_as_continue() {
    for allow in [false, true] {
        let host = host(allow, Scripted::new(Action::ContinueAndEndStream, &[]));
        let mut stream = host.http_stream();
        assert_eq!(
            stream.request_headers(&[(":method", "POST")], false),
            Action::Continue
        );
        assert_eq!(stream.request_body(b"ab", true), Action::Continue);
        assert_eq!(host.logs().info(), ["body 2 true ab"]);
        assert_eq!(stream.current_request_body(), b"ab");
    }
}

#[test]
fn a_body_watermark_keeps_the_chunk_but_the_next_callback_sees_only_the_next() {
    let host = host(
        false,
        Scripted::new(Action::Continue, &[Action::StopIterationAndWatermark]),
    );
    let mut stream = host.http_stream();
    stream.request_headers(&[(":method", "POST")], false);
    assert_eq!(stream.request_body(b"aaaa", false), Action::Pause);
    assert_eq!(stream.request_body(b"bb", true), Action::Continue);
    assert_eq!(host.logs().info(), ["body 4 false aaaa", "body 2 true bb"]);
    assert_eq!(stream.current_request_body(), b"aaaabb");
}

#[test]
fn a_body_no_buffer_drops_the_chunk_unless_it_was_already_buffered() {
    let host = host(
        false,
        Scripted::new(Action::Continue, &[Action::StopIterationNoBuffer]),
    );
    let mut stream = host.http_stream();
    stream.request_headers(&[(":method", "POST")], false);
    assert_eq!(stream.request_body(b"aaaa", false), Action::Pause);
    assert_eq!(stream.request_body(b"bb", true), Action::Continue);
    assert_eq!(host.logs().info(), ["body 4 false aaaa", "body 2 true bb"]);
    assert_eq!(stream.current_request_body(), b"bb");

    // After a Pause the next chunk joins the buffer before the callback, so
    // NoBuffer keeps it (unseen by the next callback).
    let plugin = Scripted::new(
        Action::Continue,
        &[Action::Pause, Action::StopIterationNoBuffer],
    );
    let host = host_with(plugin);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":method", "POST")], false);
    assert_eq!(stream.request_body(b"aa", false), Action::Pause);
    assert_eq!(stream.request_body(b"bb", false), Action::Pause);
    assert_eq!(stream.request_body(b"cc", true), Action::Continue);
    assert_eq!(
        host.logs().info(),
        ["body 2 false aa", "body 4 false aabb", "body 2 true cc"]
    );
    assert_eq!(stream.current_request_body(), b"aabbcc");
}

#[test]
fn a_variant_without_meaning_in_its_callback_is_logged_and_answered_with_its_fallback() {
    // A headers-only stop from a body callback: logged, answered Pause
    // (StopIterationAndBuffer).
    let host = host_with(Scripted::new(
        Action::Continue,
        &[Action::StopAllIterationAndBuffer],
    ));
    let mut stream = host.http_stream();
    stream.request_headers(&[(":method", "POST")], false);
    assert_eq!(stream.request_body(b"ab", false), Action::Pause);
    assert_eq!(stream.request_body(b"cd", true), Action::Continue);
    assert_eq!(host.logs().info(), ["body 2 false ab", "body 4 true abcd"]);
    assert_eq!(
        host.logs().error(),
        [
            "proxywasm: on_request_body of context 2 returned Action::StopAllIterationAndBuffer, \
          which that callback does not have; answering Action::Pause"
        ]
    );

    // A body-only stop from a headers callback: Pause.
    let host = host_with(Scripted::new(Action::StopIterationNoBuffer, &[]));
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":method", "GET")], true),
        Action::Pause
    );
    assert!(
        host.logs()
            .contain("on_request_headers of context 2 returned Action::StopIterationNoBuffer")
    );

    // ContinueAndEndStream from trailers: Continue; a watermark: Pause.
    let mut plugin = Scripted::new(Action::Continue, &[]);
    plugin.trailers = Action::ContinueAndEndStream;
    let host = host_with(plugin);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":method", "POST")], false);
    assert_eq!(stream.request_trailers(&[("t", "1")]), Action::Continue);
    assert!(host.logs().contain(
        "on_request_trailers of context 2 returned Action::ContinueAndEndStream, which that callback does not \
         have; answering Action::Continue"
    ));
    let mut plugin = Scripted::new(Action::Continue, &[]);
    plugin.trailers = Action::StopIterationAndWatermark;
    let host = host_with(plugin);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":method", "POST")], false);
    assert_eq!(stream.request_trailers(&[("t", "1")]), Action::Pause);
    assert_eq!(host.logs().error().len(), 1);
}

fn host_with(plugin: Scripted) -> MockHost {
    host(false, plugin)
}

/// A TCP filter answering one action from every data callback.
#[derive(Clone, Copy)]
struct TcpAnswer(Action);

impl TcpContext for TcpAnswer {
    fn on_downstream_data(&mut self, _size: usize, _eos: bool) -> Result<Action> {
        Ok(self.0)
    }
}

#[test]
fn tcp_data_callbacks_have_continue_and_pause_only() {
    let host = MockHost::builder()
        .echo_logs(false)
        .tcp(|_| TcpAnswer(Action::Pause));
    let mut connection = host.tcp_connection();
    assert_eq!(connection.downstream_data(b"ab", false), Action::Pause);
    assert!(host.logs().error().is_empty());

    for (action, answered) in [
        (Action::ContinueAndEndStream, Action::Continue),
        (Action::StopAllIterationAndWatermark, Action::Pause),
        (Action::StopIterationNoBuffer, Action::Pause),
    ] {
        let host = MockHost::builder()
            .echo_logs(false)
            .tcp(move |_| TcpAnswer(action));
        let mut connection = host.tcp_connection();
        assert_eq!(connection.downstream_data(b"ab", false), answered);
        let expected = format!(
            "proxywasm: on_downstream_data of context 2 returned Action::{}, which that callback does not have; \
             answering Action::{}",
            action.name(),
            answered.name()
        );
        assert_eq!(host.logs().error(), [expected]);
    }
}

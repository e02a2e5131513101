//! Headers serialized at compile time (`proxywasm::pairs!`) reach the host
//! exactly as written, alone or followed by headers added at run time, and
//! each callout response still reaches the stream that made the call.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::callout::{HttpCall, HttpCallToken};
use proxywasm::http::{self, LocalResponse, StaticPairs};
use proxywasm::mock::{HttpCallout, HttpStream, MockHost};
use proxywasm::{Action, HttpCallResponse, HttpContext, Result};
use std::time::Duration;

const CHECK: StaticPairs = proxywasm::pairs![
    (":method", "GET"),
    (":path", "/check"),
    (":authority", "auth"),
];
const DENIED: StaticPairs =
    proxywasm::pairs![("content-type", "text/plain"), ("x-denied-by", "auth")];

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Calls `auth` with the compile-time headers, plus `x-stream: <id>` when
/// `tagged`; resumes on a 200, answers 403 with the compile-time reply
/// headers and one more otherwise.
struct Auth {
    id: u32,
    tagged: bool,
}

impl HttpContext for Auth {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let id = self.id.to_string();
        let call = HttpCall::new("auth")
            .static_headers(CHECK)
            .timeout(Duration::from_millis(250));
        let call = if self.tagged {
            call.header("x-stream", &id)
        } else {
            call
        };
        match call.send() {
            Ok(_) => Ok(Action::Pause),
            Err(_) => Ok(Action::Continue),
        }
    }

    fn on_http_call_response(
        &mut self,
        _token: HttpCallToken,
        _response: HttpCallResponse,
    ) -> Result<()> {
        let status = proxywasm::callout::response_headers().get(":status");
        if status.ok().flatten().is_some_and(|s| s == "200") {
            let _ = http::resume_request();
        } else {
            let _ = LocalResponse::new(403)
                .static_headers(DENIED)
                .header("x-stream", &self.id.to_string())
                .send();
        }
        Ok(())
    }
}

/// A host whose streams call `auth`, adding `x-stream` if `tagged`.
fn auth(tagged: bool) -> MockHost {
    MockHost::builder().http(move |id| Auth { id: id.0, tagged })
}

/// A new stream that paused on the callout its request headers made.
fn paused_on_a_callout(host: &MockHost) -> (HttpStream, HttpCallout) {
    let mut stream = host.http_stream();
    let action = stream.request_headers(&[(":path", "/")], true);
    assert_eq!(action, Action::Pause);
    let mut calls = host.callouts().http_from(stream.id());
    let call = calls.pop().expect("a callout");
    (stream, call)
}

#[test]
fn compile_time_headers_are_sent_in_order_and_uncopied_forms_match_runtime_ones() {
    let host = auth(false);
    let (_stream, call) = paused_on_a_callout(&host);
    assert_eq!(
        call.headers,
        owned(&[
            (":method", "GET"),
            (":path", "/check"),
            (":authority", "auth")
        ])
    );
    assert_eq!(call.timeout, Some(Duration::from_millis(250)));
    // The same bytes the runtime serializer produces for the same list.
    let runtime = proxywasm::http::HeaderPairs::from_pairs(&[
        (":method", "GET"),
        (":path", "/check"),
        (":authority", "auth"),
    ]);
    assert_eq!(CHECK.as_bytes(), runtime.as_bytes());
}

#[test]
fn runtime_headers_follow_the_compile_time_ones() {
    let host = auth(true);
    let (stream, call) = paused_on_a_callout(&host);
    let id = stream.id().0.to_string();
    assert_eq!(
        call.headers,
        owned(&[
            (":method", "GET"),
            (":path", "/check"),
            (":authority", "auth"),
            ("x-stream", &id),
        ])
    );
    host.callouts()
        .respond_http(call.token, &[(":status", "403")], &[], &[]);
    let reply = stream.local_response().expect("a local reply");
    assert_eq!(reply.status_code, 403);
    assert_eq!(
        reply.headers,
        owned(&[
            ("content-type", "text/plain"),
            ("x-denied-by", "auth"),
            ("x-stream", &id)
        ])
    );
}

#[test]
fn concurrent_callouts_answered_in_any_order_reach_their_own_streams() {
    let host = auth(true);
    // Three streams paused on three calls: the first call is routed by the
    // dispatcher's hot entry, the others by its table.
    let mut streams: Vec<_> = (0..3).map(|_| host.http_stream()).collect();
    for stream in &mut streams {
        assert_eq!(
            stream.request_headers(&[(":path", "/")], true),
            Action::Pause
        );
    }
    let calls: Vec<_> = streams
        .iter()
        .map(|s| {
            host.callouts()
                .http_from(s.id())
                .pop()
                .expect("a callout per stream")
        })
        .collect();
    // Answer the middle one (denied), then the last, then the first.
    host.callouts()
        .respond_http(calls[1].token, &[(":status", "403")], &[], &[]);
    host.callouts()
        .respond_http(calls[2].token, &[(":status", "200")], &[], &[]);
    host.callouts()
        .respond_http(calls[0].token, &[(":status", "200")], &[], &[]);
    assert_eq!(streams[0].action(), Action::Continue);
    assert_eq!(streams[0].local_response(), None);
    let reply = streams[1]
        .local_response()
        .expect("the denied stream's reply");
    assert!(
        reply
            .headers
            .contains(&("x-stream".into(), streams[1].id().0.to_string()))
    );
    assert_eq!(streams[2].action(), Action::Continue);
    assert_eq!(streams[2].local_response(), None);
    // A fourth call after all were answered takes the fast route again.
    let (late, call) = paused_on_a_callout(&host);
    host.callouts()
        .respond_http(call.token, &[(":status", "200")], &[], &[]);
    assert_eq!(late.action(), Action::Continue);
}

#[test]
fn an_empty_compile_time_list_sends_no_headers() {
    const NONE: StaticPairs = proxywasm::pairs![];
    assert!(NONE.is_empty());
    assert_eq!(NONE.as_bytes(), b"");
    assert_eq!(NONE, StaticPairs::EMPTY);
}

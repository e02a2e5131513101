//! An HTTP filter pauses the request, dispatches a callout, and resumes the
//! request from the callout's response (Go `http_auth_random`).
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::callout::{self, HttpCall, HttpCallToken};
use proxywasm::mock::MockHost;
use proxywasm::{Action, HttpCallResponse, HttpContext, Result, http};
use std::time::Duration;

struct Auth;
impl HttpContext for Auth {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let pairs = http::request_headers()
            .pairs()
            .map(|p| p.to_lossy_vec())
            .unwrap_or_default();
        let mut call = HttpCall::new("httpbin").timeout(Duration::from_secs(5));
        for (name, value) in &pairs {
            call = call.header(name, value);
        }
        match call.send() {
            Ok(_) => Ok(Action::Pause),
            Err(_) => Ok(Action::Continue),
        }
    }

    fn on_http_call_response(
        &mut self,
        _token: HttpCallToken,
        response: HttpCallResponse,
    ) -> Result<()> {
        let body = callout::response_body()
            .read(0, response.body_size)
            .ok()
            .flatten()
            .unwrap_or_default();
        if body.first().is_some_and(|b| b % 2 == 0) {
            proxywasm::log::info!("access granted");
            let _ = http::request_headers().add("x-auth", "ok"); // still paused: headers are available
            let _ = http::resume_request();
        } else {
            proxywasm::log::info!("access forbidden");
            let _ = http::LocalResponse::new(403)
                .header("powered-by", "proxy-wasm")
                .body("access forbidden")
                .send();
        }
        Ok(())
    }
}

/// The request the filter forwards to `httpbin` as its callout's headers.
const REQUEST: [(&str, &str); 3] = [
    (":method", "GET"),
    (":path", "/uuid"),
    (":authority", "example.com"),
];

/// A new stream paused on the callout its request made.
fn request(host: &MockHost) -> proxywasm::mock::HttpStream {
    let mut stream = host.http_stream();
    assert_eq!(stream.request_headers(&REQUEST, true), Action::Pause);
    stream
}

#[test]
fn an_even_body_resumes_the_paused_request() {
    let host = MockHost::builder().http(|_| Auth);
    let stream = request(&host);
    let call = host
        .callouts()
        .http_from(stream.id())
        .pop()
        .expect("the filter dispatched a callout");
    assert_eq!(call.upstream, "httpbin");
    assert_eq!(call.header(":path"), Some("/uuid"));
    host.callouts()
        .respond_http(call.token, &[(":status", "200")], &[2], &[]);
    assert_eq!(stream.action(), Action::Continue);
    assert_eq!(
        stream.current_request_header("x-auth").as_deref(),
        Some("ok")
    );
    assert!(host.logs().contain("access granted"));
    assert_eq!(stream.local_response(), None);
}

#[test]
fn an_odd_body_answers_403_instead() {
    let host = MockHost::builder().http(|_| Auth);
    let stream = request(&host);
    let token = host.callouts().http()[0].token;
    host.callouts()
        .respond_http(token, &[(":status", "200")], &[1], &[]);
    assert_eq!(stream.action(), Action::Pause);
    let reply = stream.local_response().expect("a local reply");
    assert_eq!(reply.status_code, 403);
    assert_eq!(reply.header("powered-by"), Some("proxy-wasm"));
    assert_eq!(
        stream.current_response_header(":status").as_deref(),
        Some("403")
    );
}

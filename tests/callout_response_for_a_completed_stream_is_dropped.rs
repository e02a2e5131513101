//! A callout outlives the stream that made it (Envoy does not cancel it);
//! when its response arrives after the stream completed, the SDK drops it
//! instead of calling a dead context (Go SDK issue #261).
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::callout::HttpCallToken;
use proxywasm::mock::{Export, MockHost};
use proxywasm::{Action, HttpCallResponse, HttpContext, Result};

mod support;

struct Caller;
impl HttpContext for Caller {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let _ = support::call("slow", "s", None);
        Ok(Action::Continue)
    }
    fn on_http_call_response(&mut self, _t: HttpCallToken, _r: HttpCallResponse) -> Result<()> {
        proxywasm::log::info!("the dead stream was called");
        Ok(())
    }
}

#[test]
fn the_late_response_is_delivered_on_the_root_and_dropped_by_the_sdk() {
    let host = MockHost::builder().http(|_| Caller);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    stream.complete();
    let call = host
        .callouts()
        .http()
        .pop()
        .expect("the callout outlives the stream");
    host.callouts()
        .respond_http(call.token, &[(":status", "200")], b"", &[]);
    assert!(
        host.callbacks()
            .iter()
            .any(|e| matches!(e, Export::HttpCallResponse { context_id: 1, .. }))
    );
    assert!(!host.logs().contain("the dead stream was called"));
    assert!(
        host.logs().error().is_empty(),
        "dropping is not an error: {:?}",
        host.logs().error()
    );
}

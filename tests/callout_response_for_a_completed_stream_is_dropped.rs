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

thread_local! {
    /// A future of a call the plugin context made, handed to a stream.
    static HANDED: std::cell::RefCell<Option<proxywasm::callout::HttpResponseFuture>> =
        const { std::cell::RefCell::new(None) };
}

/// On its first tick, calls `first` and hands the future to the streams; on
/// its second, calls `third` and awaits it in a task that logs the status.
struct Handing {
    ticks: u32,
}
impl proxywasm::PluginContext for Handing {
    type Http = Keeper;
    type Tcp = proxywasm::NoContext;
    fn on_tick(&mut self) -> Result<()> {
        self.ticks += 1;
        if self.ticks == 1 {
            let first = support::get("first", "/", "f").send_async()?;
            HANDED.set(Some(first));
        } else {
            let third = support::get("third", "/", "t").send_async()?;
            self.spawn(async move {
                let response = third.await?;
                proxywasm::log::info!("third: {:?}", response.status()?);
                Ok(())
            });
        }
        Ok(())
    }
    fn new_http_context(&mut self, _id: proxywasm::ContextId) -> Option<Keeper> {
        Some(Keeper)
    }
}

/// Keeps the handed future in the closure of a callout of its own.
struct Keeper;
impl HttpContext for Keeper {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let handed = HANDED.take();
        support::get("second", "/", "s").send_then(move |_: &mut Keeper, _response| {
            drop(handed);
            Ok(())
        })?;
        Ok(Action::Continue)
    }
}

#[test]
fn a_future_dropped_with_its_holders_callouts_lets_no_late_response_into_another_future() {
    let host = MockHost::builder().plugin(|_| Handing { ticks: 0 });
    support::tick_every(&host, std::time::Duration::from_secs(1));
    host.time().tick();
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    // The stream ends with its closure outstanding: forgetting that callout
    // drops the closure and the future of `first` it holds.
    stream.complete();
    host.time().tick();
    let calls = host.callouts().http();
    let token = |upstream: &str| {
        calls
            .iter()
            .find(|call| call.upstream == upstream)
            .map(|call| call.token)
            .expect("the call was made")
    };
    // The late response to `first` is no one's now: not `third`'s.
    host.callouts()
        .respond_http(token("first"), &[(":status", "500")], b"", &[]);
    host.callouts()
        .respond_http(token("third"), &[(":status", "200")], b"", &[]);
    assert_eq!(host.logs().info(), vec!["third: Some(200)"]);
}

//! `callout_async_by_hand`: `callout_async` without the SDK's executor, a
//! reference for what any async form costs at the least. The context boxes
//! its own future (as every executor must type-erase a future it did not
//! name) and polls it itself: once when it makes the call, once when the
//! response arrives, with a waker that does nothing and a flag for the
//! arrival. No task table, no waker, no reply kept for the future, no
//! error policy: it works for this one shape only (one call per context).
use proxywasm::callout::HttpCallToken;
use proxywasm::{Action, ContextId, HttpCallResponse, HttpContext, Result, http};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
include!("../../common.rs");
include!("../callout_request.rs");

std::thread_local! {
    /// Set while the response is being delivered.
    static ARRIVED: Cell<bool> = const { Cell::new(false) };
}

/// Ready while the response is being delivered.
struct Arrival;
impl Future for Arrival {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if ARRIVED.with(|arrived| arrived.replace(false)) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// The context's own task.
type Task = Pin<Box<dyn Future<Output = Result<()>>>>;

/// The filter.
pub struct Callout(Option<Task>);
#[proxywasm::callbacks]
impl HttpContext for Callout {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        match backend_call().send() {
            Ok(_) => {
                let mut task: Task = Box::pin(async move {
                    Arrival.await;
                    http::resume_request()
                });
                let mut cx = Context::from_waker(Waker::noop());
                if task.as_mut().poll(&mut cx).is_pending() {
                    self.0 = Some(task);
                }
                Ok(Action::Pause)
            }
            Err(_) => Ok(Action::Continue),
        }
    }

    fn on_http_call_response(&mut self, _token: HttpCallToken, _response: HttpCallResponse) -> Result<()> {
        let Some(mut task) = self.0.take() else {
            return Ok(());
        };
        ARRIVED.with(|arrived| arrived.set(true));
        let mut cx = Context::from_waker(Waker::noop());
        match task.as_mut().poll(&mut cx) {
            Poll::Ready(result) => result,
            Poll::Pending => {
                self.0 = Some(task);
                Ok(())
            }
        }
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> Callout {
    Callout(None)
}

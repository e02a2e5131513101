//! `callout_future_by_hand`: `callout_async_by_hand` with the future
//! written as a named type and held in the context, unboxed: what Rust's
//! state machine alone costs, which no executor of unnamed `async` blocks
//! can reach (it must box them, or erase their type some other way).
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

/// The context's own task: what `async { Arrival.await;
/// http::resume_request() }` compiles to.
pub enum Task {
    /// Waiting for the response.
    Waiting,
    /// Done.
    Done,
}

impl Future for Task {
    type Output = Result<()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        match Pin::new(&mut Arrival).poll(cx) {
            Poll::Ready(()) => {
                *self = Task::Done;
                Poll::Ready(http::resume_request())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The filter.
pub struct Callout(Option<Task>);
#[proxywasm::callbacks]
impl HttpContext for Callout {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        match backend_call().send() {
            Ok(_) => {
                let mut task = Task::Waiting;
                let mut cx = Context::from_waker(Waker::noop());
                if Pin::new(&mut task).poll(&mut cx).is_pending() {
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
        match Pin::new(&mut task).poll(&mut cx) {
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

//! The async executor: futures owned by a context.
//!
//! A context spawns a task with its trait's `spawn`
//! ([`HttpContext::spawn`](crate::HttpContext::spawn),
//! [`TcpContext::spawn`](crate::TcpContext::spawn),
//! [`PluginContext::spawn`](crate::PluginContext::spawn)). The executor is
//! the SDK's own, single-threaded and small (no external runtime):
//!
//! * a task is polled once at once, inside the callback that spawned it, so
//!   what it starts (a callout) starts then;
//! * it is polled again when what it awaits is ready: an HTTP callout's
//!   response ([`HttpCall::send_async`](crate::callout::HttpCall::send_async)),
//!   a gRPC reply ([`GrpcCall::send_async`](crate::callout::GrpcCall::send_async)),
//!   or a [`sleep`]. That poll runs inside the host's callback that delivered
//!   the event, with the task's context made the effective one, so hostcalls
//!   act on the right stream and the response is readable until the task's
//!   next `.await`;
//! * an error ending a task is handled like a callback's (the context's
//!   [`ErrorPolicy`](crate::ErrorPolicy));
//! * a task whose context ends first is dropped, with a debug line
//!   (`proxywasm: context 2 ended with 1 pending task; dropped`).
//!
//! A plugin that spawns nothing pays nothing for this: the tick, callout and
//! context-deletion paths reach the executor only through entry points that
//! the first `spawn`, async callout or [`sleep`] installs, so a plugin that
//! makes none links no executor code.
//!
//! ```
//! use proxywasm::callout::HttpCall;
//! use proxywasm::mock::MockHost;
//! use proxywasm::{Action, HttpContext, Result, http};
//!
//! struct Auth;
//! impl HttpContext for Auth {
//!     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
//!         let check = HttpCall::new("auth")
//!             .headers(&[(":method", "GET"), (":path", "/check"), (":authority", "auth")])
//!             .send_async()?;
//!         self.spawn(async move {
//!             match check.await?.status()? {
//!                 Some(200) => http::resume_request(),
//!                 _ => http::LocalResponse::new(403).send(),
//!             }
//!         });
//!         Ok(Action::Pause)
//!     }
//! }
//!
//! let host = MockHost::builder().http(|_| Auth);
//! let mut stream = host.http_stream();
//! assert_eq!(stream.request_headers(&[(":path", "/")], true), Action::Pause);
//! let call = host.callouts().http().pop().expect("one call");
//! host.callouts().respond_http(call.token, &[(":status", "401")], b"", &[]);
//! assert_eq!(stream.local_response().map(|r| r.status_code), Some(403));
//! ```

use crate::Result;
use crate::runtime;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

/// A future that completes once `duration` has passed on the host's clock
/// (`proxy_get_current_time_nanoseconds`).
///
/// Sleeps are driven by the **ticks** of the plugin: the executor looks at
/// the clock on each `proxy_on_tick` (and each callout event), so set a tick
/// period ([`crate::time::set_tick_period`]) in `on_configure`; it is the
/// sleep's resolution. With no tick and no callout event, a sleep never
/// completes.
///
/// # Errors
/// The future's output is the clock hostcall's error, if reading the time
/// fails.
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Configuration, NoContext, PluginContext, Result, task, time};
/// use std::time::Duration;
///
/// struct Later;
/// impl PluginContext for Later {
///     type Http = NoContext;
///     type Tcp = NoContext;
///     fn on_configure(&mut self, _c: Configuration) -> Result<()> {
///         time::set_tick_period(Duration::from_millis(100))?;
///         self.spawn(async {
///             task::sleep(Duration::from_secs(1)).await?;
///             proxywasm::log::info!("a second later");
///             Ok(())
///         });
///         Ok(())
///     }
/// }
///
/// let host = MockHost::builder().plugin(|_| Later);
/// assert!(host.start());
/// host.time().advance(Duration::from_millis(900));
/// assert!(!host.logs().contain("a second later"));
/// host.time().advance(Duration::from_millis(100));
/// assert!(host.logs().contain("a second later"));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        duration,
        deadline: None,
    }
}

/// The future of [`sleep`]. Its deadline is fixed at its first poll, so a
/// `Sleep` made early and awaited later still waits its whole duration.
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, Configuration, ContextId, HttpContext, NoContext, PluginContext};
/// use proxywasm::{Result, http, task, time};
/// use std::time::Duration;
///
/// /// Holds each request for 50 ms.
/// struct Hold;
/// impl HttpContext for Hold {
///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         let pause: task::Sleep = task::sleep(Duration::from_millis(50));
///         self.spawn(async move {
///             pause.await?;
///             http::resume_request()
///         });
///         Ok(Action::Pause)
///     }
/// }
///
/// struct Plugin;
/// impl PluginContext for Plugin {
///     type Http = Hold;
///     type Tcp = NoContext;
///     fn on_configure(&mut self, _c: Configuration) -> Result<()> {
///         time::set_tick_period(Duration::from_millis(10)) // the sleep's resolution
///     }
///     fn new_http_context(&mut self, _id: ContextId) -> Option<Hold> {
///         Some(Hold)
///     }
/// }
///
/// let host = MockHost::builder().plugin(|_| Plugin);
/// assert!(host.start());
/// let mut stream = host.http_stream();
/// assert_eq!(stream.request_headers(&[(":path", "/")], true), Action::Pause);
/// host.time().advance(Duration::from_millis(40));
/// assert_eq!(stream.action(), Action::Pause);
/// host.time().advance(Duration::from_millis(10));
/// assert_eq!(stream.action(), Action::Continue);
/// ```
#[derive(Debug)]
#[must_use = "a future does nothing unless awaited"]
pub struct Sleep {
    duration: Duration,
    /// Host time in nanoseconds, set on the first poll.
    deadline: Option<u64>,
}

impl Future for Sleep {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let now = match now_nanos() {
            Ok(now) => now,
            Err(error) => return Poll::Ready(Err(error)),
        };
        let nanos = u64::try_from(self.duration.as_nanos()).unwrap_or(u64::MAX);
        let deadline = *self.deadline.get_or_insert(now.saturating_add(nanos));
        if now >= deadline {
            return Poll::Ready(Ok(()));
        }
        runtime::wake_at(deadline, cx.waker());
        Poll::Pending
    }
}

/// The host's clock in nanoseconds.
fn now_nanos() -> Result<u64> {
    crate::error::check(
        "proxy_get_current_time_nanoseconds",
        crate::abi::calls::get_current_time_nanoseconds(),
    )
}

#[cfg(test)]
mod tests {
    use crate::callout::HttpCall;
    use crate::mock::MockHost;
    use crate::{Action, HttpContext, Result, http};
    use core::task::Waker;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Each stream spawns a task that ends at once, then one of another type
    /// that awaits a call (it reuses the first one's slot and waker, and
    /// allocates a new box), and keeps the waker it ran with.
    struct Slots(Rc<RefCell<Vec<Waker>>>);
    impl HttpContext for Slots {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            let wakers = Rc::clone(&self.0);
            self.spawn(async move {
                let waker = core::future::poll_fn(|cx| core::task::Poll::Ready(cx.waker().clone()));
                let waker = waker.await;
                wakers.borrow_mut().push(waker);
                Ok(())
            });
            let call = HttpCall::new("auth")
                .headers(&[(":method", "GET"), (":path", "/"), (":authority", "auth")])
                .send_async()?;
            self.spawn(async move {
                call.await?;
                http::resume_request()
            });
            Ok(Action::Pause)
        }
    }

    #[test]
    fn slots_are_reused_by_tasks_of_any_type_and_stale_wakes_are_harmless() {
        let wakers = Rc::new(RefCell::new(Vec::new()));
        let shared = Rc::clone(&wakers);
        let host = MockHost::builder().http(move |_| Slots(Rc::clone(&shared)));
        for _ in 0..3 {
            let mut stream = host.http_stream();
            assert_eq!(
                stream.request_headers(&[(":path", "/")], true),
                Action::Pause
            );
            // A stale wake (the ended task's waker, now the awaiting one's)
            // before the response: harmless, the task stays pending.
            let stale = wakers.borrow().last().cloned().expect("a waker");
            host.run(|| stale.wake_by_ref());
            assert_eq!(stream.action(), Action::Pause);
            let call = host.callouts().http().pop().expect("one call");
            host.callouts()
                .respond_http(call.token, &[(":status", "200")], b"", &[]);
            assert_eq!(stream.action(), Action::Continue);
        }
        // One slot each time: the same waker.
        let wakers = wakers.borrow();
        assert!(wakers.windows(2).all(|w| w[0].will_wake(&w[1])));
    }

    /// Drops the future of its call before the response.
    struct Drops;
    impl HttpContext for Drops {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            let call = HttpCall::new("auth")
                .headers(&[(":method", "GET"), (":path", "/"), (":authority", "auth")])
                .send_async()?;
            drop(call);
            Ok(Action::Continue)
        }
    }

    #[test]
    fn a_dropped_future_forgets_its_call() {
        let host = MockHost::builder().http(|_| Drops);
        let mut stream = host.http_stream();
        assert_eq!(
            stream.request_headers(&[(":path", "/")], true),
            Action::Continue
        );
        assert_eq!(host.run(crate::runtime::outstanding_callouts), 0);
        let call = host.callouts().http().pop().expect("one call");
        host.callouts()
            .respond_http(call.token, &[(":status", "200")], b"", &[]);
        assert_eq!(stream.action(), Action::Continue);
    }

    /// Starts two calls, then awaits the first, then the second.
    struct InTurn;
    impl HttpContext for InTurn {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            let call = || {
                HttpCall::new("auth")
                    .headers(&[(":method", "GET"), (":path", "/"), (":authority", "auth")])
                    .send_async()
            };
            let (first, second) = (call()?, call()?);
            self.spawn(async move {
                first.await?;
                second.await?;
                http::resume_request()
            });
            Ok(Action::Pause)
        }
    }

    #[test]
    fn a_reply_waits_in_its_entry_until_its_future_is_polled() {
        let host = MockHost::builder().http(|_| InTurn);
        for _ in 0..2 {
            let mut stream = host.http_stream();
            assert_eq!(
                stream.request_headers(&[(":path", "/")], true),
                Action::Pause
            );
            let mut calls = host.callouts().http();
            calls.sort_by_key(|call| call.token);
            let [first, second] = calls.as_slice() else {
                panic!("two calls: {calls:?}");
            };
            // The second reply first: kept until the task reaches it.
            host.callouts()
                .respond_http(second.token, &[(":status", "200")], b"", &[]);
            assert_eq!(stream.action(), Action::Pause);
            host.callouts()
                .respond_http(first.token, &[(":status", "200")], b"", &[]);
            assert_eq!(stream.action(), Action::Continue);
            assert_eq!(host.run(crate::runtime::outstanding_callouts), 0);
        }
    }
}

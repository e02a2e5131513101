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
//!   act on the right stream. An HTTP response
//!   ([`HttpResponse`](crate::callout::HttpResponse)) stays readable after
//!   later `.await`s: the SDK reads it whole before its callback returns if
//!   a task still holds it;
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

    /// Awaits one call, then another, then reads the first response.
    struct KeepsTheFirst;
    impl HttpContext for KeepsTheFirst {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            let call = |path: &str| {
                HttpCall::new("auth")
                    .headers(&[(":method", "GET"), (":path", path), (":authority", "auth")])
                    .send_async()
            };
            let (first, second) = (call("/1")?, call("/2")?);
            self.spawn(async move {
                let first = first.await?;
                let second = second.await?;
                let (one, two) = (first.body()?, second.body()?);
                let header = first.headers()?.get("x-n").map(<[u8]>::to_vec);
                crate::log::info!(
                    "{} {} {:?} {:?} {}",
                    String::from_utf8_lossy(&one),
                    String::from_utf8_lossy(&two),
                    first.status()?,
                    header,
                    first.trailers()?.len(),
                );
                http::resume_request()
            });
            Ok(Action::Pause)
        }
    }

    #[test]
    fn a_response_held_across_an_await_reads_its_own_call() {
        let host = MockHost::builder().http(|_| KeepsTheFirst);
        for second_first in [false, true] {
            let mut stream = host.http_stream();
            stream.request_headers(&[(":path", "/")], true);
            let calls = host.callouts().http();
            let by_path = |p: &str| {
                calls
                    .iter()
                    .find(|c| c.header(":path") == Some(p))
                    .map(|c| c.token)
            };
            let (one, two) = (by_path("/1").expect("/1"), by_path("/2").expect("/2"));
            let answer = |token, body: &[u8], n: &str| {
                host.callouts().respond_http(
                    token,
                    &[(":status", "201"), ("x-n", n)],
                    body,
                    &[("t", "1")],
                );
            };
            if second_first {
                answer(two, b"two", "2");
                answer(one, b"one", "1");
            } else {
                answer(one, b"one", "1");
                answer(two, b"two", "2");
            }
            assert_eq!(stream.action(), Action::Continue);
            assert!(
                host.logs().contain("one two Some(201) Some([49]) 1"),
                "{:?}",
                host.logs().at(crate::logging::LogLevel::Info)
            );
            host.logs().clear();
            stream.complete();
            assert_eq!(host.run(crate::runtime::busy_awaits), 0);
        }
    }

    /// One step of a task in [`random_interleavings_keep_every_invariant`].
    #[derive(Clone, Copy, Debug)]
    enum Step {
        /// Makes a call and awaits it.
        Call,
        /// Awaits a call made before the task was spawned (its reply may
        /// come first).
        Early,
        /// Makes two calls and awaits both at once.
        Both,
        /// Sleeps this many ticks.
        Sleep(u64),
        /// Makes a call and drops its future at once.
        Dropped,
    }

    /// What the tasks of the random test share with it.
    #[derive(Default)]
    struct Shared {
        /// The plans of the next streams: tasks, each a list of steps.
        plans: std::collections::VecDeque<Vec<Vec<Step>>>,
        /// The next call's tag (sent as `x-tag`, answered as the body).
        tag: u64,
        /// `(stream, task)` of each task that ran to its end.
        done: Vec<(u32, usize)>,
        /// What a task saw that it must not (a reply meant for another).
        wrong: Vec<String>,
    }

    type Handle = Rc<RefCell<Shared>>;

    fn tagged_call(shared: &Handle) -> Result<(u64, crate::callout::HttpResponseFuture)> {
        let tag = {
            let mut shared = shared.borrow_mut();
            shared.tag += 1;
            shared.tag
        };
        let future = HttpCall::new("auth")
            .headers(&[(":method", "GET"), (":path", "/"), (":authority", "auth")])
            .header("x-tag", &tag.to_string())
            .send_async()?;
        Ok((tag, future))
    }

    /// Checks a reply: an answered call's body is its own tag.
    fn check_reply(shared: &Handle, tag: u64, response: crate::callout::HttpResponse) {
        if response.status().ok().flatten() != Some(200) {
            return; // a failure the test chose: nothing to compare
        }
        let body = response.body().map(|b| b.to_vec()).unwrap_or_default();
        if body != tag.to_string().into_bytes() {
            let body = String::from_utf8_lossy(&body).into_owned();
            shared
                .borrow_mut()
                .wrong
                .push(format!("call {tag} got {body}"));
        }
    }

    struct Random(Handle, u32);
    impl HttpContext for Random {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            let plan = self.0.borrow_mut().plans.pop_front().unwrap_or_default();
            for (task, steps) in plan.into_iter().enumerate() {
                let shared = Rc::clone(&self.0);
                let stream = self.1;
                // The early calls start now, outside the task.
                let mut early = Vec::new();
                for step in &steps {
                    if let Step::Early = step {
                        early.push(tagged_call(&shared)?);
                    }
                }
                self.spawn(async move {
                    let mut early = early.into_iter();
                    for step in steps {
                        match step {
                            Step::Call => {
                                let (tag, call) = tagged_call(&shared)?;
                                check_reply(&shared, tag, call.await?);
                            }
                            Step::Early => {
                                if let Some((tag, call)) = early.next() {
                                    check_reply(&shared, tag, call.await?);
                                }
                            }
                            Step::Both => {
                                let (a, mut first) = tagged_call(&shared)?;
                                let (b, mut second) = tagged_call(&shared)?;
                                let (mut one, mut two) = (None, None);
                                core::future::poll_fn(|cx| {
                                    use core::future::Future;
                                    use core::pin::Pin;
                                    use core::task::Poll;
                                    if one.is_none() {
                                        if let Poll::Ready(r) = Pin::new(&mut first).poll(cx) {
                                            one = Some(r);
                                        }
                                    }
                                    if two.is_none() {
                                        if let Poll::Ready(r) = Pin::new(&mut second).poll(cx) {
                                            two = Some(r);
                                        }
                                    }
                                    if one.is_some() && two.is_some() {
                                        Poll::Ready(())
                                    } else {
                                        Poll::Pending
                                    }
                                })
                                .await;
                                if let (Some(one), Some(two)) = (one, two) {
                                    check_reply(&shared, a, one?);
                                    check_reply(&shared, b, two?);
                                }
                            }
                            Step::Sleep(ticks) => {
                                super::sleep(core::time::Duration::from_millis(10 * ticks)).await?;
                            }
                            Step::Dropped => drop(tagged_call(&shared)?),
                        }
                    }
                    shared.borrow_mut().done.push((stream, task));
                    Ok(())
                });
            }
            Ok(Action::Continue)
        }
    }

    struct Ticking(Handle);
    impl crate::PluginContext for Ticking {
        type Http = Random;
        type Tcp = crate::NoContext;
        fn on_configure(&mut self, _c: crate::Configuration) -> Result<()> {
            crate::time::set_tick_period(core::time::Duration::from_millis(10))
        }
        fn new_http_context(&mut self, id: crate::ContextId) -> Option<Random> {
            Some(Random(Rc::clone(&self.0), id.get()))
        }
    }

    /// xorshift64: the test's own deterministic randomness.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn random_plan(rng: &mut Rng) -> Vec<Vec<Step>> {
        (0..=rng.below(3))
            .map(|_| {
                (0..rng.below(4))
                    .map(|_| match rng.below(5) {
                        0 => Step::Call,
                        1 => Step::Early,
                        2 => Step::Both,
                        3 => Step::Sleep(1 + rng.below(3)),
                        _ => Step::Dropped,
                    })
                    .collect()
            })
            .collect()
    }

    /// Streams spawn tasks of random shapes (calls awaited in turn or
    /// together, replies that come before their await, sleeps, futures
    /// dropped); the test answers, fails, ticks and ends streams in a random
    /// order. Throughout: no task sees another call's reply, a task of an
    /// ended stream never finishes; at the end, every task of a live stream
    /// finished and nothing is left in the runtime (callouts, tasks, entries).
    #[test]
    fn random_interleavings_keep_every_invariant() {
        let (mut finished, mut cut_short) = (0, 0);
        // (Miri runs a few seeds: each costs it seconds, not microseconds.)
        let seeds: u64 = if cfg!(miri) { 3 } else { 300 };
        for seed in 1..=seeds {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let shared = Handle::default();
            let factory = Rc::clone(&shared);
            let host = MockHost::builder().plugin(move |_| Ticking(Rc::clone(&factory)));
            assert!(host.start());
            let mut live: Vec<(crate::mock::HttpStream, usize)> = Vec::new();
            let mut ended: Vec<(u32, usize)> = Vec::new(); // stream, tasks done at its end
            for _ in 0..80 {
                match rng.below(10) {
                    0 | 1 => {
                        let plan = random_plan(&mut rng);
                        let tasks = plan.len();
                        shared.borrow_mut().plans.push_back(plan);
                        let mut stream = host.http_stream();
                        stream.request_headers(&[(":path", "/")], false);
                        live.push((stream, tasks));
                    }
                    2..=5 => {
                        let calls = host.callouts().http();
                        if calls.is_empty() {
                            continue;
                        }
                        let call = &calls[rng.below(calls.len() as u64) as usize];
                        let tag = call.header("x-tag").unwrap_or_default().to_string();
                        match rng.below(6) {
                            0 => host.callouts().reset_http(call.token),
                            1 => host.callouts().connect_failure_http(call.token),
                            _ => host.callouts().respond_http(
                                call.token,
                                &[(":status", "200")],
                                tag.as_bytes(),
                                &[],
                            ),
                        }
                    }
                    6 | 7 => host.time().advance(core::time::Duration::from_millis(10)),
                    _ => {
                        if live.is_empty() {
                            continue;
                        }
                        let (stream, _) = live.remove(rng.below(live.len() as u64) as usize);
                        let id = stream.id().get();
                        let done = shared.borrow().done.iter().filter(|d| d.0 == id).count();
                        stream.complete();
                        ended.push((id, done));
                    }
                }
            }
            // Answer everything, and let every sleep pass.
            for _ in 0..20 {
                for call in host.callouts().http() {
                    let tag = call.header("x-tag").unwrap_or_default().to_string();
                    host.callouts().respond_http(
                        call.token,
                        &[(":status", "200")],
                        tag.as_bytes(),
                        &[],
                    );
                }
                host.time().advance(core::time::Duration::from_millis(10));
            }
            let shared_now = shared.borrow();
            assert_eq!(shared_now.wrong, Vec::<String>::new(), "seed {seed}");
            for (stream, tasks) in &live {
                let id = stream.id().get();
                let done = shared_now.done.iter().filter(|d| d.0 == id).count();
                assert_eq!(done, *tasks, "seed {seed}: stream {id}");
            }
            for (id, at_end) in &ended {
                let done = shared_now.done.iter().filter(|d| d.0 == *id).count();
                assert_eq!(done, *at_end, "seed {seed}: ended stream {id} ran on");
            }
            finished += shared_now.done.len();
            cut_short += ended.len();
            drop(shared_now);
            for (stream, _) in live.drain(..) {
                stream.complete();
            }
            assert!(host.callouts().http().is_empty(), "seed {seed}");
            assert!(!host.run(crate::runtime::any_outstanding), "seed {seed}");
            assert_eq!(host.run(crate::runtime::busy_awaits), 0, "seed {seed}");
        }
        // The runs did what they are for: many tasks ran to their end, and
        // many streams ended with theirs.
        assert!(
            finished as u64 > 10 * seeds && cut_short as u64 > 6 * seeds,
            "{finished} {cut_short}"
        );
    }
}

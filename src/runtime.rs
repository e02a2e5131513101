//! The runtime: the little state the SDK keeps for the whole module, below
//! the hostcall API. Hostcall wrappers write it and the dispatcher reads it;
//! nothing here is generic over the plugin's types.
//!
//! * the **active context**: the context whose callback is running, or the
//!   one the plugin made effective ([`crate::plugin::set_effective_context`]);
//! * the **callout origins**: which context started each outstanding HTTP
//!   call, gRPC call or gRPC stream, so that its events go back to it. The
//!   host numbers HTTP and gRPC tokens independently, so they are kept apart;
//! * the **log level** read from the host, which the SDK's own lines and its
//!   `log` backend check before formatting anything;
//! * the **tasks** of the async executor ([`crate::task`]): futures owned by
//!   a context, the ready queue, what each callout future waits for and the
//!   sleeping timers. Nothing here costs a plugin that spawns no task.
//!
//! On wasm it is one `static` (a module has one thread). Natively each mock
//! VM owns a [`Runtime`] and installs it on the thread around every call into
//! the plugin ([`install`]).

use core::any::Any;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::hash::{BuildHasher, Hasher};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::Arc;

/// The host's id for a context. Unique among the live contexts of one VM.
///
/// ```
/// let id = proxywasm::ContextId(7);
/// assert_eq!(id.get(), 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextId(pub u32);

impl ContextId {
    /// The raw id.
    ///
    /// ```
    /// assert_eq!(proxywasm::ContextId(3).get(), 3);
    /// ```
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl core::fmt::Display for ContextId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

/// What kind of callout a token belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CalloutKind {
    Http,
    GrpcCall,
    GrpcStream,
}

/// What receives a callout's events.
pub(crate) enum Then {
    /// The context's callout callback (`on_http_call_response`,
    /// `on_grpc_event`).
    Callback,
    /// A closure given with the call, run once with the call's last event: a
    /// `Box<dyn FnOnce(&mut C, …)>` for the context type `C` named by
    /// `expects`.
    Closure {
        expects: &'static str,
        closure: Box<dyn Any>,
    },
    /// A closure call's event that is not its last (dropped).
    NotLast,
    /// An async task waits for the events (see [`crate::task`]).
    Task,
}

impl core::fmt::Debug for Then {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Then::Callback => f.write_str("Callback"),
            Then::Closure { expects, .. } => write!(f, "Closure for {expects}"),
            Then::NotLast => f.write_str("NotLast"),
            Then::Task => f.write_str("Task"),
        }
    }
}

impl Then {
    /// What an event that is not the call's last goes to.
    fn for_event_not_last(&self) -> Then {
        match self {
            Then::Callback => Then::Callback,
            Then::Task => Then::Task,
            Then::Closure { .. } | Then::NotLast => Then::NotLast,
        }
    }
}

/// An outstanding callout: the context that started it, its kind, and what
/// receives its events.
#[derive(Debug)]
struct Origin {
    context: u32,
    kind: CalloutKind,
    then: Then,
}

/// A spawned future, owned by a context.
struct Task {
    id: u32,
    context: u32,
    future: Pin<Box<dyn Future<Output = crate::Result<()>>>>,
    /// Its waker, made once at spawn (not at each poll).
    waker: Waker,
    /// Applies the owning context's error policy when the future fails.
    fail: fn(u32, &crate::Error),
}

/// Where the future awaiting a callout stands.
enum Await {
    /// No event yet: the waker to wake when one arrives.
    Waiting(Waker),
    /// The event arrived (owned), not yet taken by the future.
    Arrived(Reply),
}

/// A callout's event for the future awaiting it, read from the host while it
/// was readable. Held by value (no box: it is a few words).
#[derive(Debug)]
pub(crate) enum Reply {
    /// An HTTP call's response: its header count, body size and trailer count
    /// (the callout layer makes the public `HttpCallResponse` of them).
    Http {
        num_headers: usize,
        body_size: usize,
        num_trailers: usize,
    },
    /// A unary gRPC call's reply.
    Grpc(crate::Result<crate::HostBytes>),
}

/// The async executor's state (see [`crate::task`]).
#[derive(Default)]
struct Executor {
    /// Pending tasks (a task being polled is out of this list).
    tasks: RefCell<Vec<Task>>,
    /// Ids of woken tasks, in wake order.
    ready: RefCell<Vec<u32>>,
    next_id: Cell<u32>,
    /// The future awaiting each callout token (HTTP, then gRPC): its waker,
    /// or the event that arrived for it. One map, so that each step of an
    /// await (register, arrive, take) is one lookup.
    awaits: [RefCell<IdMap<Await>>; 2],
    /// Sleeping futures: deadline (host time, nanoseconds) and waker.
    timers: RefCell<Vec<(u64, Waker)>>,
}

impl core::fmt::Debug for Executor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Executor")
            .field("tasks", &self.tasks.try_borrow().map(|t| t.len()).ok())
            .finish_non_exhaustive()
    }
}

/// A map keyed by ids the host hands out (context ids, tokens).
pub(crate) type IdMap<V> = hashbrown::HashMap<u32, V, IdHash>;

/// The hash of an [`IdMap`]: one multiplication (ids are small integers,
/// mostly consecutive, never chosen by an attacker).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdHash;

impl BuildHasher for IdHash {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// The hasher of [`IdHash`].
#[derive(Debug)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u32(u32::from(byte));
        }
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        // Fibonacci hashing: the high bits (hashbrown's tag) are well mixed,
        // and consecutive ids stay apart in the low bits (the bucket).
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The module's runtime state (see the module docs).
#[derive(Debug)]
pub(crate) struct Runtime {
    active: Cell<u32>,
    /// Outstanding HTTP calls, then gRPC calls and streams, by token.
    callouts: [RefCell<IdMap<Origin>>; 2],
    /// How many callouts the two tables hold (one load when a context ends).
    outstanding: Cell<usize>,
    /// The callout being started: a host may deliver its first events from
    /// inside the hostcall that starts it, before the token is known.
    starting: RefCell<Option<Origin>>,
    /// Set when the callout being started finished inside that hostcall:
    /// there is nothing to note when it returns.
    finished_early: Cell<bool>,
    log_level: Cell<log::LevelFilter>,
    executor: Executor,
}

impl Runtime {
    /// A runtime with no active context and no callout.
    pub(crate) const fn new() -> Runtime {
        Runtime {
            active: Cell::new(0),
            callouts: [
                RefCell::new(IdMap::with_hasher(IdHash)),
                RefCell::new(IdMap::with_hasher(IdHash)),
            ],
            outstanding: Cell::new(0),
            starting: RefCell::new(None),
            finished_early: Cell::new(false),
            // Nothing passes on wasm until the level is read; natively the
            // mock host filters (see `refresh_log_level`).
            log_level: Cell::new(if cfg!(target_family = "wasm") {
                log::LevelFilter::Off
            } else {
                log::LevelFilter::Trace
            }),
            executor: Executor {
                tasks: RefCell::new(Vec::new()),
                ready: RefCell::new(Vec::new()),
                next_id: Cell::new(0),
                awaits: [
                    RefCell::new(IdMap::with_hasher(IdHash)),
                    RefCell::new(IdMap::with_hasher(IdHash)),
                ],
                timers: RefCell::new(Vec::new()),
            },
        }
    }

    fn callouts(&self, http: bool) -> &RefCell<IdMap<Origin>> {
        let [http_calls, grpc_calls] = &self.callouts;
        if http { http_calls } else { grpc_calls }
    }
}

#[cfg(target_family = "wasm")]
static RUNTIME: crate::abi::exports::ModuleStatic<Runtime> =
    crate::abi::exports::ModuleStatic(Runtime::new());

/// Runs `f` on the module's runtime.
#[cfg(target_family = "wasm")]
#[inline(always)]
fn with<R>(f: impl FnOnce(&Runtime) -> R) -> Option<R> {
    Some(f(&RUNTIME.0))
}

#[cfg(not(target_family = "wasm"))]
std::thread_local! {
    static CURRENT: RefCell<Option<std::rc::Rc<Runtime>>> = const { RefCell::new(None) };
}

/// Runs `f` on the runtime installed on this thread, if any.
#[cfg(not(target_family = "wasm"))]
fn with<R>(f: impl FnOnce(&Runtime) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.try_borrow().ok()?.as_deref().map(f))
        .ok()
        .flatten()
}

/// Installs `runtime` on this thread (a mock VM's, around a call into the
/// plugin), returning the one it replaces.
#[cfg(not(target_family = "wasm"))]
pub(crate) fn install(runtime: Option<std::rc::Rc<Runtime>>) -> Option<std::rc::Rc<Runtime>> {
    CURRENT.with(|current| core::mem::replace(&mut *current.borrow_mut(), runtime))
}

/// Whether a host will see the plugin's hostcalls: always on wasm; natively
/// while a mock VM has installed its runtime.
#[inline]
pub(crate) fn has_host() -> bool {
    with(|_| ()).is_some()
}

/// The active context id, or 0 outside callbacks.
#[inline]
pub(crate) fn active() -> u32 {
    with(|rt| rt.active.get()).unwrap_or(0)
}

/// Makes `id` the active context, returning the previous one (to restore
/// with [`set_active`] when the callback returns; see [`as_active`]).
#[inline]
pub(crate) fn set_active(id: u32) -> u32 {
    with(|rt| rt.active.replace(id)).unwrap_or(0)
}

/// Runs `f` with `id` as the active context, then restores the previous one
/// (a host may re-enter the plugin from a hostcall of `f`).
#[inline(always)]
pub(crate) fn as_active<R>(id: u32, f: impl FnOnce() -> R) -> R {
    let previous = set_active(id);
    let result = f();
    set_active(previous);
    result
}

/// Starts a callout of the active context with `start` (the hostcall, which
/// returns the token or a status) and records its origin and what receives
/// its events.
#[inline(always)]
pub(crate) fn start_callout(
    kind: CalloutKind,
    then: Then,
    start: impl FnOnce() -> Result<u32, u32>,
) -> Result<u32, u32> {
    let context = active();
    with(|rt| {
        rt.starting.replace(Some(Origin {
            context,
            kind,
            then,
        }))
    });
    let started = start();
    let (origin, finished) = with(|rt| {
        let origin = rt.starting.try_borrow_mut().ok().and_then(|mut s| s.take());
        (origin, rt.finished_early.replace(false))
    })
    .unwrap_or((None, false));
    if let (Ok(token), Some(origin), false) = (started, origin, finished) {
        note_callout(token, origin);
    }
    started
}

/// Records an outstanding callout.
fn note_callout(token: u32, origin: Origin) {
    with(|rt| {
        let http = origin.kind == CalloutKind::Http;
        let fresh = match rt.callouts(http).try_borrow_mut() {
            Ok(mut callouts) => callouts.insert(token, origin).is_none(),
            Err(_) => false,
        };
        if fresh {
            rt.outstanding.set(rt.outstanding.get() + 1);
        }
    });
}

/// The context that started the callout `token` (an HTTP call when `http`,
/// else a gRPC call or stream) and what receives this event, or `None` for a
/// token it does not know: one never noted, already finished, or forgotten
/// with its context. The callout is forgotten here when `finishes` says this
/// event is its last.
///
/// An unknown token while a callout of the same family is being started is
/// that callout's (a host answering from inside the starting hostcall).
pub(crate) fn callout_origin(
    http: bool,
    token: u32,
    finishes: impl FnOnce(CalloutKind) -> bool,
) -> Option<(u32, Then)> {
    with(|rt| {
        let mut callouts = rt.callouts(http).try_borrow_mut().ok()?;
        let Some(origin) = callouts.get(&token) else {
            let mut starting = rt.starting.try_borrow_mut().ok()?;
            let origin = starting
                .as_mut()
                .filter(|o| (o.kind == CalloutKind::Http) == http)?;
            let last = finishes(origin.kind);
            rt.finished_early.set(last);
            let then = if last {
                core::mem::replace(&mut origin.then, Then::Callback)
            } else {
                origin.then.for_event_not_last()
            };
            return Some((origin.context, then));
        };
        let context = origin.context;
        if !finishes(origin.kind) {
            return Some((context, origin.then.for_event_not_last()));
        }
        let origin = callouts.remove(&token)?;
        rt.outstanding.set(rt.outstanding.get().saturating_sub(1));
        Some((context, origin.then))
    })
    .flatten()
}

/// Forgets the outstanding callouts of a deleted context, and drops its
/// tasks: late events then find no origin and are dropped. A compare when
/// no callout or task is outstanding; else one pass over them (a context's
/// callouts are usually answered before it ends, so the tables hold about as
/// many entries as calls are in flight).
///
/// Returns how many pending tasks were dropped.
#[inline(always)]
pub(crate) fn forget_callouts_of(context: u32) -> usize {
    if with(|rt| rt.outstanding.get()).is_some_and(|n| n != 0) {
        forget_outstanding(context)
    } else {
        0
    }
}

#[inline(never)]
fn forget_outstanding(context: u32) -> usize {
    let dropped = with(|rt| {
        let mut left = 0;
        for callouts in &rt.callouts {
            if let Ok(mut callouts) = callouts.try_borrow_mut() {
                callouts.retain(|_, origin| origin.context != context);
                left += callouts.len();
            }
        }
        // (Taken out, then dropped outside the borrow: a future's drop may
        // reach the executor.)
        let dropped: Vec<Task> = match rt.executor.tasks.try_borrow_mut() {
            Ok(mut tasks) => {
                let (gone, kept) = core::mem::take(&mut *tasks)
                    .into_iter()
                    .partition(|task| task.context == context);
                *tasks = kept;
                left += tasks.len();
                gone
            }
            Err(_) => Vec::new(),
        };
        rt.outstanding.set(left);
        dropped
    })
    .unwrap_or_default();
    let count = dropped.len();
    drop(dropped);
    count
}

/// Adds a task owned by the active context, polls it once at once (so that
/// what it starts, a callout say, starts during the callback), then polls
/// whatever that woke. `fail` applies the context's error policy if the
/// future ends with an error.
pub(crate) fn spawn(
    future: Pin<Box<dyn Future<Output = crate::Result<()>>>>,
    fail: fn(u32, &crate::Error),
) {
    let context = active();
    let id = with(|rt| {
        let id = rt.executor.next_id.get().wrapping_add(1);
        rt.executor.next_id.set(id);
        id
    });
    if let Some(id) = id {
        poll(Task {
            id,
            context,
            future,
            waker: Waker::from(Arc::new(TaskWaker(id))),
            fail,
        });
        run_ready();
    }
}

/// Wakes a task: puts its id on the ready queue of the runtime installed
/// now.
#[derive(Debug)]
struct TaskWaker(u32);

impl std::task::Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        with(|rt| {
            if let Ok(mut ready) = rt.executor.ready.try_borrow_mut() {
                if !ready.contains(&self.0) {
                    ready.push(self.0);
                }
            }
        });
    }
}

/// Polls `task` with its context active (and made the host's effective
/// context if it is not the one whose callback runs); keeps it if pending.
fn poll(mut task: Task) {
    let mut cx = Context::from_waker(&task.waker);
    let running = active();
    let switch = task.context != running;
    if switch && crate::abi::calls::set_effective_context(task.context).is_err() {
        // Its context is gone (its tasks are dropped with it).
        return;
    }
    let outcome = as_active(task.context, || task.future.as_mut().poll(&mut cx));
    if switch && running != 0 {
        let _ = crate::abi::calls::set_effective_context(running);
    }
    match outcome {
        Poll::Pending => {
            with(|rt| {
                if let Ok(mut tasks) = rt.executor.tasks.try_borrow_mut() {
                    tasks.push(task);
                    rt.outstanding.set(rt.outstanding.get() + 1);
                }
            });
        }
        Poll::Ready(Ok(())) => {}
        Poll::Ready(Err(error)) => (task.fail)(task.context, &error),
    }
}

/// Polls the woken tasks, in wake order, until none is ready.
pub(crate) fn run_ready() {
    loop {
        let next = with(|rt| {
            let id = {
                let mut ready = rt.executor.ready.try_borrow_mut().ok()?;
                if ready.is_empty() {
                    return None;
                }
                ready.remove(0)
            };
            let mut tasks = rt.executor.tasks.try_borrow_mut().ok()?;
            let at = tasks.iter().position(|task| task.id == id);
            let task = at.map(|at| tasks.swap_remove(at));
            if task.is_some() {
                rt.outstanding.set(rt.outstanding.get().saturating_sub(1));
            }
            Some(task)
        })
        .flatten();
        match next {
            Some(Some(task)) => poll(task),
            // A task that finished or was dropped since it was woken.
            Some(None) => {}
            None => return,
        }
    }
}

/// For the future waiting for callout `token` (HTTP when `http`): takes the
/// event that arrived for it, or registers `waker` to be woken when one
/// does.
pub(crate) fn await_callout(http: bool, token: u32, waker: &Waker) -> Option<Reply> {
    use hashbrown::hash_map::Entry;
    with(|rt| {
        let mut awaits = rt.executor.awaits[usize::from(!http)]
            .try_borrow_mut()
            .ok()?;
        match awaits.entry(token) {
            Entry::Occupied(slot) if matches!(slot.get(), Await::Arrived(_)) => {
                match slot.remove() {
                    Await::Arrived(event) => Some(event),
                    Await::Waiting(_) => None,
                }
            }
            Entry::Occupied(mut slot) => {
                slot.insert(Await::Waiting(waker.clone()));
                None
            }
            Entry::Vacant(slot) => {
                slot.insert(Await::Waiting(waker.clone()));
                None
            }
        }
    })
    .flatten()
}

/// Forgets the future waiting for callout `token` (dropped before its event
/// arrived, or after): its waker and any event kept for it.
pub(crate) fn forget_await(http: bool, token: u32) {
    // (Dropped outside the borrow: an event's drop may reach the executor.)
    let slot = with(|rt| {
        rt.executor.awaits[usize::from(!http)]
            .try_borrow_mut()
            .ok()
            .and_then(|mut awaits| awaits.remove(&token))
    });
    drop(slot);
}

/// An event (owned: read from the host while it was readable) arrived for
/// the future waiting for callout `token`: keeps it and wakes that future.
pub(crate) fn callout_arrived(token: u32, event: Reply) {
    let http = matches!(event, Reply::Http { .. });
    let previous = with(|rt| {
        rt.executor.awaits[usize::from(!http)]
            .try_borrow_mut()
            .ok()
            .and_then(|mut awaits| awaits.insert(token, Await::Arrived(event)))
    })
    .flatten();
    if let Some(Await::Waiting(waker)) = previous {
        waker.wake();
    }
}

/// Wakes `waker` at the first tick (or callout event) at or after
/// `deadline` (host time in nanoseconds).
pub(crate) fn wake_at(deadline: u64, waker: &Waker) {
    with(|rt| {
        if let Ok(mut timers) = rt.executor.timers.try_borrow_mut() {
            timers.push((deadline, waker.clone()));
        }
    });
}

/// Whether a future sleeps (one load: the tick path checks it before
/// reading the time).
pub(crate) fn has_timers() -> bool {
    with(|rt| rt.executor.timers.try_borrow().is_ok_and(|t| !t.is_empty())).unwrap_or(false)
}

/// Wakes the sleepers whose deadline is at or before `now`.
pub(crate) fn wake_timers(now: u64) {
    let due: Vec<Waker> = with(|rt| {
        let Ok(mut timers) = rt.executor.timers.try_borrow_mut() else {
            return Vec::new();
        };
        let (due, later) = core::mem::take(&mut *timers)
            .into_iter()
            .partition(|(deadline, _)| *deadline <= now);
        *timers = later;
        due.into_iter().map(|(_, waker)| waker).collect()
    })
    .unwrap_or_default();
    for waker in due {
        waker.wake();
    }
}

/// How many callouts are outstanding, HTTP and gRPC together.
#[cfg(test)]
pub(crate) fn outstanding_callouts() -> usize {
    with(|rt| rt.callouts.iter().map(|c| c.borrow().len()).sum()).unwrap_or(0)
}

/// The host's log level as last read, as a `log` filter (`Trace` natively,
/// where each mock host filters by its own level).
#[inline]
pub(crate) fn log_level() -> log::LevelFilter {
    with(|rt| rt.log_level.get()).unwrap_or(log::LevelFilter::Off)
}

/// Reads the host's log level (on wasm; natively it stays `Trace`) and makes
/// it the level of the SDK's lines and `log`'s max level, so a suppressed
/// `log::debug!` costs a comparison. Called when a plugin starts and on each
/// tick.
#[inline(never)]
pub(crate) fn refresh_log_level() {
    let level = if cfg!(target_family = "wasm") {
        match crate::abi::calls::get_log_level() {
            Ok(raw) => level_filter(raw),
            Err(_) => return,
        }
    } else {
        log::LevelFilter::Trace
    };
    with(|rt| rt.log_level.set(level));
    log::set_max_level(level);
}

/// A wire log level as a `log` filter: critical and "off" (6) pass nothing
/// through `log`, which has no critical level.
const fn level_filter(raw: u32) -> log::LevelFilter {
    match raw {
        0 => log::LevelFilter::Trace,
        1 => log::LevelFilter::Debug,
        2 => log::LevelFilter::Info,
        3 => log::LevelFilter::Warn,
        4 => log::LevelFilter::Error,
        _ => log::LevelFilter::Off,
    }
}

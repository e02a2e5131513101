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
//!   a context, the ready queue, the entry where each callout future and its
//!   reply meet, and the sleeping timers. The paths every plugin has (tick,
//!   callout event, context deletion) reach it only through entry points
//!   installed by the first `spawn`, async callout or sleep, so a plugin that
//!   makes none links none of its code.
//!
//! On wasm it is one `static` (a module has one thread). Natively each mock
//! VM owns a [`Runtime`] and installs it on the thread around every call into
//! the plugin ([`install`]).

use core::any::Any;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::hash::{BuildHasher, Hasher};
use core::task::Waker;

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
    /// A future awaits the call's reply (see [`crate::task`]): the index of
    /// the executor's entry where the reply and the future's waker meet
    /// (an [`Await`] the future owns; making it installed the executor, so
    /// starting a callout need not check).
    Task(u32),
}

impl core::fmt::Debug for Then {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Then::Callback => f.write_str("Callback"),
            Then::Closure { expects, .. } => write!(f, "Closure for {expects}"),
            Then::NotLast => f.write_str("NotLast"),
            Then::Task(at) => write!(f, "Task {at}"),
        }
    }
}

impl Then {
    /// What an event that is not the call's last goes to.
    fn for_event_not_last(&self) -> Then {
        match self {
            Then::Callback => Then::Callback,
            Then::Task(at) => Then::Task(*at),
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

/// A callout's event for the future awaiting it.
#[derive(Debug)]
pub(crate) enum Reply {
    /// An HTTP call's response while its callback runs: the host still has
    /// it. Before that callback returns, the callout layer reads it whole
    /// ([`Reply::HttpRead`]) if its entry is still held: by the future, which
    /// was not polled, or by the response the future gave, which the task
    /// kept across an `.await`.
    Http(HttpCounts),
    /// An HTTP call's response, read whole while the host had it.
    HttpRead(crate::Result<HttpReply>),
    /// A unary gRPC call's reply (read from the host as it arrived).
    Grpc(crate::Result<crate::HostBytes>),
}

/// The shape of an HTTP callout's response, as its callback receives it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HttpCounts {
    pub(crate) num_headers: usize,
    pub(crate) body_size: usize,
    pub(crate) num_trailers: usize,
}

/// An HTTP callout's response read whole: header and trailer pairs as the
/// host serialized them (validated, with their counts) and the body.
#[derive(Clone, Debug, Default)]
pub(crate) struct HttpReply {
    pub(crate) headers: (crate::HostBytes, usize),
    pub(crate) body: crate::HostBytes,
    pub(crate) trailers: (crate::HostBytes, usize),
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
    /// The active context and the one that replied (see [`REPLIED_SHIFT`]).
    active: Cell<u64>,
    /// Outstanding HTTP calls, then gRPC calls and streams, by token.
    callouts: [RefCell<IdMap<Origin>>; 2],
    /// How many callouts the two tables hold plus how many tasks are
    /// pending: one load when a context ends, if none.
    outstanding: Cell<usize>,
    /// The callout being started: a host may deliver its first events from
    /// inside the hostcall that starts it, before the token is known.
    starting: RefCell<Option<Origin>>,
    /// Set when the callout being started finished inside that hostcall:
    /// there is nothing to note when it returns.
    finished_early: Cell<bool>,
    log_level: Cell<log::LevelFilter>,
    /// The executor's entry points, once the plugin uses it.
    executor_fns: Cell<Option<&'static ExecutorFns>>,
    /// Reads an HTTP callout's response whole (the callout layer's), once
    /// the plugin awaits one ([`Await::new_http`]).
    http_reader: Cell<Option<HttpReader>>,
    /// The executor's state (data only: no code reaches it but the
    /// executor's).
    executor: executor::State,
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
            executor_fns: Cell::new(None),
            http_reader: Cell::new(None),
            executor: executor::State::new(),
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

/// The active context's id is the low 32 bits of `Runtime::active`; the
/// high 32 bits hold the id of the context that sent a local reply during
/// the running callback (0: none). The word is saved and restored whole
/// around each callback ([`as_active`]), so the reply mark lasts exactly one
/// callback at no cost of its own: the one store that sets the context
/// clears it. A switch of context inside the callback
/// ([`set_active`]) keeps it, so a context made effective again still
/// counts its reply. (One `u64` rather than a struct of two fields:
/// callbacks that make hostcalls paid about 10 instructions for the second
/// field.)
const REPLIED_SHIFT: u32 = 32;

/// The active context id, or 0 outside callbacks.
#[inline]
pub(crate) fn active() -> u32 {
    // (The low 32 bits: the id.)
    with(|rt| rt.active.get() as u32).unwrap_or(0)
}

/// Makes `id` the active context (a plugin's
/// [`set_effective_context`](crate::plugin::set_effective_context), or a
/// mock VM running test code in a context), returning the previous one.
#[inline]
pub(crate) fn set_active(id: u32) -> u32 {
    with(|rt| {
        let word = rt.active.get();
        rt.active
            .set(word >> REPLIED_SHIFT << REPLIED_SHIFT | u64::from(id));
        word as u32
    })
    .unwrap_or(0)
}

/// Runs `f` with `id` as the active context, then restores the previous one
/// and its reply mark (a host may re-enter the plugin from a hostcall of
/// `f`).
#[inline(always)]
pub(crate) fn as_active<R>(id: u32, f: impl FnOnce() -> R) -> R {
    keep_active(|| {
        with(|rt| rt.active.set(u64::from(id)));
        f()
    })
}

/// Runs `f`, then restores the active context and its reply mark as they
/// were (`f` may make another context effective).
#[inline(always)]
pub(crate) fn keep_active<R>(f: impl FnOnce() -> R) -> R {
    let kept = with(|rt| rt.active.get());
    let result = f();
    if let Some(kept) = kept {
        with(|rt| rt.active.set(kept));
    }
    result
}

/// Whether the active context sent a local reply during this callback
/// ([`crate::http::LocalResponse::send`] refuses a second one).
pub(crate) fn replied() -> bool {
    with(|rt| {
        let word = rt.active.get();
        let replier = word >> REPLIED_SHIFT;
        replier != 0 && replier == word & u64::from(u32::MAX)
    })
    .unwrap_or(false)
}

/// Notes that the active context sent a local reply during this callback.
pub(crate) fn note_reply() {
    with(|rt| {
        let id = rt.active.get() & u64::from(u32::MAX);
        rt.active.set(id << REPLIED_SHIFT | id);
    });
}

/// A callback's error on its way to the cold path that reports it
/// ([`hand_failure`], [`take_failure`]). On wasm a plain static of its own:
/// an error passed as an argument lives in memory, which costs the export
/// that might pass it a stack frame on every call, error or not (about 10
/// instructions per callback that uses `?`), and inside [`Runtime`] it
/// would keep LLVM from seeing that plugins without callouts never touch
/// the callout tables.
#[cfg(target_family = "wasm")]
static FAILURE: crate::abi::exports::ModuleStatic<Cell<Option<crate::Error>>> =
    crate::abi::exports::ModuleStatic(Cell::new(None));

#[cfg(not(target_family = "wasm"))]
std::thread_local! {
    static FAILURE: Cell<Option<crate::Error>> = const { Cell::new(None) };
}

/// Keeps a callback's `error` for [`take_failure`], which the cold path
/// calls next.
#[inline(always)]
pub(crate) fn hand_failure(error: crate::Error) {
    // The slot is empty here (each hand-off is taken at once); forgetting
    // the `None` replaced keeps drop glue, and with it a stack frame, out
    // of the export.
    #[cfg(target_family = "wasm")]
    core::mem::forget(FAILURE.0.replace(Some(error)));
    #[cfg(not(target_family = "wasm"))]
    let _ = FAILURE.try_with(|slot| core::mem::forget(slot.replace(Some(error))));
}

/// The error kept by [`hand_failure`], if any.
pub(crate) fn take_failure() -> Option<crate::Error> {
    #[cfg(target_family = "wasm")]
    return FAILURE.0.take();
    #[cfg(not(target_family = "wasm"))]
    FAILURE.try_with(Cell::take).ok().flatten()
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
        let replaced = match rt.callouts(http).try_borrow_mut() {
            Ok(mut callouts) => callouts.insert(token, origin),
            Err(_) => return,
        };
        match replaced {
            // (Dropped outside the borrow, as in `forget_callouts_of`.)
            Some(replaced) => drop(replaced),
            None => rt.outstanding.set(rt.outstanding.get() + 1),
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
        let hashbrown::hash_map::Entry::Occupied(entry) = callouts.entry(token) else {
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
        let origin = entry.get();
        if !finishes(origin.kind) {
            return Some((origin.context, origin.then.for_event_not_last()));
        }
        let origin = entry.remove();
        rt.outstanding.set(rt.outstanding.get().saturating_sub(1));
        Some((origin.context, origin.then))
    })
    .flatten()
}

/// Whether any callout or task is outstanding (one load: a context's
/// deletion checks it before forgetting anything).
#[inline(always)]
pub(crate) fn any_outstanding() -> bool {
    with(|rt| rt.outstanding.get()).is_some_and(|n| n != 0)
}

/// Forgets the outstanding callouts of a deleted context: late events then
/// find no origin and are dropped. One pass over the tables (a context's
/// callouts are usually answered before it ends, so they hold about as many
/// entries as calls are in flight). Reached through the callout layer's
/// route only.
pub(crate) fn forget_callouts_of(context: u32) {
    for http in [true, false] {
        let mut forgotten = Vec::new();
        with(|rt| {
            if let Ok(mut callouts) = rt.callouts(http).try_borrow_mut() {
                callouts.retain(|_, origin| {
                    let keep = origin.context != context;
                    if !keep {
                        forgotten.push(core::mem::replace(&mut origin.then, Then::NotLast));
                    }
                    keep
                });
            }
            rt.outstanding
                .set(rt.outstanding.get().saturating_sub(forgotten.len()));
        });
        // (What received their events is dropped outside the borrow: a
        // closure may hold a future, whose drop forgets its own call here.)
        drop(forgotten);
    }
}

/// Drops the tasks of a deleted context; returns how many were pending.
/// Nothing unless the plugin uses the executor.
#[inline(always)]
pub(crate) fn forget_tasks_of(context: u32) -> usize {
    executor_fns().map_or(0, |executor| (executor.forget_tasks)(context))
}

/// The async executor's entry points from the paths every plugin has (a
/// tick, a callout event, a context's deletion). The runtime holds none
/// until the plugin first spawns a task, starts an async callout or sleeps
/// ([`use_executor`]): a plugin that does none of these reaches no executor
/// code, and the linker drops it.
#[derive(Debug)]
struct ExecutorFns {
    /// Wakes the due sleepers and polls the woken tasks.
    run_due: fn(),
    /// Drops a deleted context's tasks; returns how many.
    forget_tasks: fn(u32) -> usize,
    /// A callout's reply arrived for the future awaiting it in the entry
    /// given (woken, if it left a waker).
    arrived: fn(u32, Reply),
    /// [`keep_http_reply`]'s work.
    keep_http_reply: fn(u32),
}

static EXECUTOR: ExecutorFns = ExecutorFns {
    run_due: executor::run_due,
    forget_tasks: executor::forget_tasks,
    arrived: executor::arrived,
    keep_http_reply: keep_live_http_reply,
};

/// Makes the executor's entry points reachable from the paths every plugin
/// has (see [`ExecutorFns`]).
#[inline(always)]
fn use_executor() {
    with(|rt| rt.executor_fns.set(Some(&EXECUTOR)));
}

/// The executor's entry points, if the plugin uses it.
#[inline(always)]
fn executor_fns() -> Option<&'static ExecutorFns> {
    with(|rt| rt.executor_fns.get()).flatten()
}

/// Adds a task owned by the active context, polls it once at once (so that
/// what it starts, a callout say, starts during the callback), then polls
/// whatever that woke. `fail` applies the context's error policy if the
/// future ends with an error.
pub(crate) fn spawn<F: Future<Output = crate::Result<()>> + 'static>(
    future: F,
    fail: fn(u32, &crate::Error),
) {
    use_executor();
    let Some((slot, waker, kept)) = executor::free_slot() else {
        return;
    };
    // The box of the slot's last task, if it held a future of this type
    // (the usual case: a plugin spawns from one place): no allocation.
    let mut fresh = Some(future);
    let future = match kept {
        Some(mut kept) => {
            if kept.as_mut().refill(&mut fresh) {
                kept
            } else {
                Box::pin(fresh)
            }
        }
        None => Box::pin(fresh),
    };
    executor::start(slot, future, waker, fail);
}

/// After a tick or a callout event: wakes the sleepers that are due and
/// polls every woken task, with `context` (the host's effective context)
/// active. Nothing unless the plugin uses the executor.
#[inline(always)]
pub(crate) fn run_due(context: u32) {
    if let Some(executor) = executor_fns() {
        as_active(context, executor.run_due);
    }
}

/// The reply (owned: read from the host while it was readable) of a callout
/// arrived for the future awaiting it in entry `at` ([`Then::Task`]): keeps
/// it there and wakes the future, if it left a waker.
pub(crate) fn callout_arrived(at: u32, reply: Reply) {
    if let Some(executor) = executor_fns() {
        (executor.arrived)(at, reply);
    }
}

/// A callout future's entry in the executor: where the reply, once it
/// arrives, and the waker the future left at its last poll meet. The
/// callout's origin names it ([`Then::Task`]), so neither side searches for
/// the other. Made before the call starts and owned by the future: freed
/// when the reply is taken ([`Await::poll`], gRPC), or when its owner drops.
/// An HTTP future leaves the reply in place ([`Await::poll_in_place`]) and
/// hands the entry to the response it gives, which reads it from there.
#[derive(Debug)]
pub(crate) struct Await {
    at: u32,
    /// Set once the reply is taken (and the entry freed).
    taken: bool,
}

impl Await {
    /// A free entry (`u32::MAX`, which names none, outside a runtime: the
    /// call cannot start there either).
    pub(crate) fn new() -> Await {
        use_executor();
        let at = executor::new_await().unwrap_or(u32::MAX);
        Await { at, taken: false }
    }

    /// A free entry for an HTTP call's response, which `read` reads whole
    /// if it must outlive its callback ([`keep_http_reply`]).
    pub(crate) fn new_http(read: HttpReader) -> Await {
        with(|rt| rt.http_reader.set(Some(read)));
        Await::new()
    }

    /// The index for the callout's origin.
    pub(crate) fn index(&self) -> u32 {
        self.at
    }

    /// Whether the reply was taken.
    pub(crate) fn taken(&self) -> bool {
        self.taken
    }

    /// Takes the reply, if it arrived (freeing the entry); else leaves
    /// `waker` to wake when it does.
    pub(crate) fn poll(&mut self, waker: &Waker) -> Option<Reply> {
        if self.taken {
            return None;
        }
        let reply = executor::await_reply(self.at, waker);
        self.taken = reply.is_some();
        reply
    }

    /// Whether the reply arrived, leaving it in the entry (which its holder
    /// frees when it drops); else leaves `waker` to wake when it does.
    pub(crate) fn poll_in_place(&mut self, waker: &Waker) -> bool {
        !self.taken && executor::arrived_in_place(self.at, waker)
    }

    /// Runs `f` on the reply in the entry, if any.
    pub(crate) fn with_reply<R>(&self, f: impl FnOnce(&Reply) -> R) -> Option<R> {
        executor::with_reply(self.at, f)
    }
}

/// Reads an HTTP callout's response whole from the host.
pub(crate) type HttpReader = fn(HttpCounts) -> crate::Result<HttpReply>;

/// Before the callback that delivered the HTTP response in entry `at`
/// returns: reads it whole if the entry still holds it live
/// ([`Reply::Http`]), so that it stays readable once the host has moved on.
/// (The reader is the one [`Await::new_http`] installed: a plugin that
/// awaits no HTTP call links none.)
#[inline(always)]
pub(crate) fn keep_http_reply(at: u32) {
    if let Some(executor) = executor_fns() {
        (executor.keep_http_reply)(at);
    }
}

/// [`keep_http_reply`], once the plugin uses the executor.
fn keep_live_http_reply(at: u32) {
    let Some(read) = with(|rt| rt.http_reader.get()).flatten() else {
        return;
    };
    let live = executor::with_reply(at, |reply| match reply {
        Reply::Http(counts) => Some(*counts),
        _ => None,
    });
    if let Some(Some(counts)) = live {
        // (Read outside the entry's borrow: reading is hostcalls.)
        let read = Reply::HttpRead(read(counts));
        executor::replace_reply(at, read);
    }
}

impl Drop for Await {
    fn drop(&mut self) {
        if !self.taken {
            executor::end_await(self.at);
        }
    }
}

/// Forgets callout `token` (HTTP when `http`), whose future was dropped
/// before it took the reply: the reply, if it comes, is then dropped as one
/// whose context is gone.
pub(crate) fn forget_await(http: bool, token: u32) {
    let origin = with(|rt| {
        let origin = rt.callouts(http).try_borrow_mut().ok()?.remove(&token);
        if origin.is_some() {
            rt.outstanding.set(rt.outstanding.get().saturating_sub(1));
        }
        origin
    });
    // (Dropped outside the borrow: a drop may reach the runtime.)
    drop(origin);
}

/// Wakes `waker` at the first tick (or callout event) at or after
/// `deadline` (host time, nanoseconds).
pub(crate) fn wake_at(deadline: u64, waker: &Waker) {
    use_executor();
    executor::wake_at(deadline, waker);
}

/// The async executor ([`crate::task`]). Its state is plain data in the
/// runtime; its code is reached only from [`EXECUTOR`] and the functions
/// above that a spawning (or awaiting, or sleeping) plugin calls.
///
/// A task lives in a slot of `tasks`. Its waker names the slot; when the
/// task ends the slot and its waker go to `free`, for the next task (so a
/// waker is made once per slot, not per task: a stale wake from the
/// slot's previous task only polls the new one once more, which futures
/// allow). Waking puts the slot on `ready`; `run_ready` takes the task out
/// of its slot, polls it and puts it back if still pending. A wake that
/// finds the slot empty (its task out being polled, which a host re-entering
/// the plugin from a hostcall of that poll can cause) marks it, and the task
/// goes back on `ready` when that poll puts it back.
mod executor {
    use super::{Reply, active, as_active, keep_active, with};
    use core::any::Any;
    use core::cell::RefCell;
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll, Waker};
    use std::sync::Arc;

    /// A callout future's entry ([`super::Await`]): the waker it left at
    /// its last poll, and the reply once it arrived. The waker stays when
    /// the entry is freed: its next future, usually polled by a task in the
    /// same slot, then leaves the same waker without a clone (and a reply
    /// arriving before that future's first poll wakes the old task once
    /// more, which futures allow).
    #[derive(Default)]
    struct Entry {
        waker: Option<Waker>,
        reply: Option<Reply>,
    }

    impl Entry {
        /// Leaves `waker` to wake when the reply arrives (cloned only if it
        /// is not the one left already).
        fn leave(&mut self, waker: &Waker) {
            if !self.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                self.waker = Some(waker.clone());
            }
        }
    }

    /// The callout futures' entries, by index, and the free ones.
    pub(super) struct Awaits {
        entries: Vec<Entry>,
        free: Vec<u32>,
    }

    /// A task slot.
    enum Slot {
        /// A pending task.
        Waiting(Task),
        /// No task: the slot is free, or its task is out being polled.
        /// `woken` if it was woken meanwhile (then its task goes back on the
        /// ready queue when it is put back; a free slot's next task is
        /// polled once more, which futures allow).
        Out { woken: bool },
    }

    impl Slot {
        /// No task, not woken.
        const OUT: Slot = Slot::Out { woken: false };
    }

    /// A spawned future, owned by a context.
    struct Task {
        context: u32,
        future: Boxed,
        /// Its slot's waker.
        waker: Waker,
        /// Applies the owning context's error policy when the future fails.
        fail: fn(u32, &crate::Error),
    }

    /// The executor's state.
    pub(super) struct State {
        /// The tasks by slot.
        tasks: RefCell<Vec<Slot>>,
        /// The free slots, each with its waker and the emptied box of its
        /// last task.
        free: RefCell<Vec<(u32, Waker, Option<Boxed>)>>,
        /// The slots of woken tasks, in wake order.
        ready: RefCell<Vec<u32>>,
        /// The entries of callout futures ([`super::Await`]).
        awaits: RefCell<Awaits>,
        /// Sleeping futures: deadline (host time, nanoseconds) and waker.
        timers: RefCell<Vec<(u64, Waker)>>,
    }

    impl State {
        pub(super) const fn new() -> State {
            State {
                tasks: RefCell::new(Vec::new()),
                free: RefCell::new(Vec::new()),
                ready: RefCell::new(Vec::new()),
                awaits: RefCell::new(Awaits {
                    entries: Vec::new(),
                    free: Vec::new(),
                }),
                timers: RefCell::new(Vec::new()),
            }
        }
    }

    impl core::fmt::Debug for State {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("State")
                .field("slots", &self.tasks.try_borrow().map(|t| t.len()).ok())
                .finish_non_exhaustive()
        }
    }

    /// A task's future, boxed as `Option<F>` so that the box outlives it:
    /// emptied when the future ends, it is refilled by the next task of the
    /// same type spawned into the slot.
    pub(super) type Boxed = Pin<Box<dyn TaskFuture>>;

    /// A box of [`Boxed`]: polled, emptied, refilled (all safe `Pin` calls).
    pub(super) trait TaskFuture {
        /// Polls the future; drops it (in place) once it is ready, in the
        /// same call.
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<crate::Result<()>>;
        /// Moves `fresh`'s future in if it is an `Option` of this type.
        fn refill(self: Pin<&mut Self>, fresh: &mut dyn Any) -> bool;
    }

    impl<F: Future<Output = crate::Result<()>> + 'static> TaskFuture for Option<F> {
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<crate::Result<()>> {
            let outcome = match self.as_mut().as_pin_mut() {
                Some(future) => future.poll(cx),
                None => Poll::Ready(Ok(())),
            };
            if outcome.is_ready() {
                self.set(None);
            }
            outcome
        }

        fn refill(mut self: Pin<&mut Self>, fresh: &mut dyn Any) -> bool {
            match fresh.downcast_mut::<Option<F>>() {
                Some(fresh) => {
                    self.set(fresh.take());
                    true
                }
                None => false,
            }
        }
    }

    /// A free slot (a new one if none is free): its index, waker and kept
    /// box.
    pub(super) fn free_slot() -> Option<(u32, Waker, Option<Boxed>)> {
        with(|rt| {
            if let Some(free) = rt.executor.free.try_borrow_mut().ok()?.pop() {
                return Some(free);
            }
            let mut tasks = rt.executor.tasks.try_borrow_mut().ok()?;
            let slot = u32::try_from(tasks.len()).ok()?;
            tasks.push(Slot::OUT);
            Some((slot, Waker::from(Arc::new(SlotWaker(slot))), None))
        })
        .flatten()
    }

    /// Starts a task of the active context in `slot`: polls it, then what
    /// that woke.
    pub(super) fn start(slot: u32, future: Boxed, waker: Waker, fail: fn(u32, &crate::Error)) {
        let context = active();
        poll(
            slot,
            Task {
                context,
                future,
                waker,
                fail,
            },
        );
        // (Checked first: an empty round of `run_ready` costs more.)
        if with(|rt| rt.executor.ready.try_borrow().is_ok_and(|r| !r.is_empty())) == Some(true) {
            run_ready();
        }
    }

    /// Wakes the task in a slot: puts the slot on the ready queue of the
    /// runtime installed now.
    #[derive(Debug)]
    struct SlotWaker(u32);

    impl std::task::Wake for SlotWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            with(|rt| queue(rt, self.0));
        }
    }

    /// Puts `slot` on the ready queue (once).
    #[inline(always)]
    fn queue(rt: &super::Runtime, slot: u32) {
        if let Ok(mut ready) = rt.executor.ready.try_borrow_mut() {
            #[allow(
                clippy::manual_contains,
                reason = "a plain scan: `contains`' chunked search costs more on the usual queue of none or one"
            )]
            let queued = ready.iter().any(|&queued| queued == slot);
            if !queued {
                ready.push(slot);
            }
        }
    }

    /// Polls `task` (out of its `slot`) with its context active, made the
    /// host's effective context if it is not the one whose callback runs.
    /// Puts it back if pending; else frees the slot.
    fn poll(slot: u32, mut task: Task) {
        let running = active();
        let switch = task.context != running;
        if switch && crate::abi::calls::set_effective_context(task.context).is_err() {
            // Its context is gone (its tasks are dropped with it).
            release(slot, task.waker, None);
            return;
        }
        let mut cx = Context::from_waker(&task.waker);
        let outcome = if switch {
            as_active(task.context, || task.future.as_mut().poll(&mut cx))
        } else {
            // (Its context is active already: kept as it was, as `as_active`
            // would restore it, if the future made another effective.)
            keep_active(|| task.future.as_mut().poll(&mut cx))
        };
        if switch && running != 0 {
            let _ = crate::abi::calls::set_effective_context(running);
        }
        let Task {
            context,
            future,
            waker,
            fail,
        } = task;
        match outcome {
            Poll::Pending => with(|rt| {
                if let Ok(mut tasks) = rt.executor.tasks.try_borrow_mut() {
                    if let Some(place) = tasks.get_mut(slot as usize) {
                        let woken = matches!(place, Slot::Out { woken: true });
                        *place = Slot::Waiting(Task {
                            context,
                            future,
                            waker,
                            fail,
                        });
                        if woken {
                            queue(rt, slot);
                        }
                        rt.outstanding.set(rt.outstanding.get() + 1);
                    }
                }
            })
            .unwrap_or_default(),
            Poll::Ready(result) => {
                // (The poll emptied the box, outside any borrow: the
                // future's drop may reach the executor.)
                release(slot, waker, Some(future));
                if let Err(error) = result {
                    fail(context, &error);
                }
            }
        }
    }

    /// Frees `slot`, keeping its waker (and the emptied box) for the next
    /// task.
    fn release(slot: u32, waker: Waker, kept: Option<Boxed>) {
        with(|rt| {
            if let Ok(mut free) = rt.executor.free.try_borrow_mut() {
                free.push((slot, waker, kept));
            }
        });
    }

    /// Polls the woken tasks, in wake order, until none is ready.
    fn run_ready() {
        while let Some((slot, task)) = with(next_ready).flatten() {
            poll(slot, task);
        }
    }

    /// The next woken task, out of its slot. A slot with no task is
    /// marked woken instead: its task, out being polled, is queued again
    /// when it is put back.
    fn next_ready(rt: &super::Runtime) -> Option<(u32, Task)> {
        let mut ready = rt.executor.ready.try_borrow_mut().ok()?;
        if ready.is_empty() {
            return None;
        }
        let mut tasks = rt.executor.tasks.try_borrow_mut().ok()?;
        while !ready.is_empty() {
            let slot = ready.remove(0);
            let Some(place) = tasks.get_mut(slot as usize) else {
                continue;
            };
            match core::mem::replace(place, Slot::OUT) {
                Slot::Waiting(task) => {
                    rt.outstanding.set(rt.outstanding.get().saturating_sub(1));
                    return Some((slot, task));
                }
                Slot::Out { .. } => *place = Slot::Out { woken: true },
            }
        }
        None
    }

    /// Wakes the sleepers that are due, then polls every woken task.
    pub(super) fn run_due() {
        let sleeping = with(|rt| rt.executor.timers.try_borrow().is_ok_and(|t| !t.is_empty()));
        if sleeping == Some(true) {
            if let Ok(now) = crate::abi::calls::get_current_time_nanoseconds() {
                while let Some(waker) = with(|rt| due_timer(rt, now)).flatten() {
                    waker.wake();
                }
            }
        }
        run_ready();
    }

    /// Takes out a sleeper whose deadline is at or before `now`.
    fn due_timer(rt: &super::Runtime, now: u64) -> Option<Waker> {
        let mut timers = rt.executor.timers.try_borrow_mut().ok()?;
        let at = timers.iter().position(|(deadline, _)| *deadline <= now)?;
        Some(timers.remove(at).1)
    }

    /// Drops the pending tasks of `context`; returns how many.
    pub(super) fn forget_tasks(context: u32) -> usize {
        let mut dropped = 0;
        for slot in 0.. {
            let gone = with(|rt| {
                let mut tasks = rt.executor.tasks.try_borrow_mut().ok()?;
                let place = tasks.get_mut(slot as usize)?;
                match core::mem::replace(place, Slot::OUT) {
                    Slot::Waiting(task) if task.context == context => {
                        rt.outstanding.set(rt.outstanding.get().saturating_sub(1));
                        Some(Some(task))
                    }
                    other => {
                        *place = other;
                        Some(None)
                    }
                }
            })
            .flatten();
            match gone {
                Some(Some(task)) => {
                    // (Dropped outside the borrow: its drop may reach the
                    // executor.)
                    drop(task.future);
                    release(slot, task.waker, None);
                    dropped += 1;
                }
                Some(None) => {}
                None => break,
            }
        }
        dropped
    }

    /// A free callout entry (a new one if none is free).
    pub(super) fn new_await() -> Option<u32> {
        with(|rt| {
            let mut awaits = rt.executor.awaits.try_borrow_mut().ok()?;
            if let Some(free) = awaits.free.pop() {
                return Some(free);
            }
            let at = u32::try_from(awaits.entries.len()).ok()?;
            awaits.entries.push(Entry::default());
            Some(at)
        })
        .flatten()
    }

    /// Frees entry `at`, dropping a reply not taken (its waker stays).
    pub(super) fn end_await(at: u32) {
        let reply = with(|rt| {
            let mut awaits = rt.executor.awaits.try_borrow_mut().ok()?;
            let reply = awaits.entries.get_mut(at as usize)?.reply.take();
            awaits.free.push(at);
            reply
        });
        // (Dropped outside the borrow: a drop may reach the executor.)
        drop(reply);
    }

    /// For the future of entry `at`: takes the reply and frees the entry,
    /// or leaves `waker`.
    pub(super) fn await_reply(at: u32, waker: &Waker) -> Option<Reply> {
        with(|rt| {
            let mut awaits = rt.executor.awaits.try_borrow_mut().ok()?;
            let entry = awaits.entries.get_mut(at as usize)?;
            let Some(reply) = entry.reply.take() else {
                entry.leave(waker);
                return None;
            };
            awaits.free.push(at);
            Some(reply)
        })
        .flatten()
    }

    /// For the holder of entry `at`: whether its reply arrived (left in
    /// place), or else leaves `waker`.
    pub(super) fn arrived_in_place(at: u32, waker: &Waker) -> bool {
        with(|rt| {
            let mut awaits = rt.executor.awaits.try_borrow_mut().ok()?;
            let entry = awaits.entries.get_mut(at as usize)?;
            if entry.reply.is_some() {
                return Some(true);
            }
            entry.leave(waker);
            Some(false)
        })
        .flatten()
        .unwrap_or(false)
    }

    /// Runs `f` on the reply in entry `at`, if any.
    pub(super) fn with_reply<R>(at: u32, f: impl FnOnce(&Reply) -> R) -> Option<R> {
        with(|rt| {
            let awaits = rt.executor.awaits.try_borrow().ok()?;
            awaits.entries.get(at as usize)?.reply.as_ref().map(f)
        })
        .flatten()
    }

    /// Puts `reply` in entry `at` in place of the one there.
    pub(super) fn replace_reply(at: u32, reply: Reply) {
        let replaced = with(|rt| {
            let mut awaits = rt.executor.awaits.try_borrow_mut().ok()?;
            awaits.entries.get_mut(at as usize)?.reply.replace(reply)
        });
        // (Dropped outside the borrow.)
        drop(replaced);
    }

    /// How many entries are in use.
    #[cfg(test)]
    pub(super) fn busy_awaits(rt: &super::Runtime) -> usize {
        let awaits = rt.executor.awaits.borrow();
        awaits.entries.len() - awaits.free.len()
    }

    /// Keeps the reply arrived for entry `at` and wakes its future.
    pub(super) fn arrived(at: u32, reply: Reply) {
        // (Woken inside the borrow, with no clone: a task slot's waker only
        // queues the slot, and wakers do not poll as they wake.)
        with(|rt| {
            let mut awaits = rt.executor.awaits.try_borrow_mut().ok()?;
            let entry = awaits.entries.get_mut(at as usize)?;
            entry.reply = Some(reply);
            entry.waker.as_ref().map(Waker::wake_by_ref)
        });
    }

    /// Wakes `waker` at the first tick (or callout event) at or after
    /// `deadline`.
    pub(super) fn wake_at(deadline: u64, waker: &Waker) {
        with(|rt| {
            if let Ok(mut timers) = rt.executor.timers.try_borrow_mut() {
                timers.push((deadline, waker.clone()));
            }
        });
    }
}

/// How many callout futures' entries are in use.
#[cfg(test)]
pub(crate) fn busy_awaits() -> usize {
    with(executor::busy_awaits).unwrap_or(0)
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

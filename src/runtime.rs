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
//!   `log` backend check before formatting anything.
//!
//! On wasm it is one `static` (a module has one thread). Natively each mock
//! VM owns a [`Runtime`] and installs it on the thread around every call into
//! the plugin ([`install`]).

use core::cell::{Cell, RefCell};
use core::hash::{BuildHasher, Hasher};

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

/// An outstanding callout: the context that started it, and its kind.
#[derive(Clone, Copy, Debug)]
struct Origin {
    context: u32,
    kind: CalloutKind,
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
    starting: Cell<Option<Origin>>,
    /// Set when the callout being started finished inside that hostcall:
    /// there is nothing to note when it returns.
    finished_early: Cell<bool>,
    log_level: Cell<log::LevelFilter>,
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
            starting: Cell::new(None),
            finished_early: Cell::new(false),
            // Nothing passes on wasm until the level is read; natively the
            // mock host filters (see `refresh_log_level`).
            log_level: Cell::new(if cfg!(target_family = "wasm") {
                log::LevelFilter::Off
            } else {
                log::LevelFilter::Trace
            }),
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
/// returns the token or a status) and records its origin.
#[inline(always)]
pub(crate) fn start_callout(
    kind: CalloutKind,
    start: impl FnOnce() -> Result<u32, u32>,
) -> Result<u32, u32> {
    let origin = Origin {
        context: active(),
        kind,
    };
    with(|rt| rt.starting.set(Some(origin)));
    let started = start();
    let finished = with(|rt| {
        rt.starting.set(None);
        rt.finished_early.replace(false)
    });
    if let (Ok(token), Some(false)) = (started, finished) {
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
/// else a gRPC call or stream), or `None` for a token it does not know: one
/// never noted, already finished, or forgotten with its context. The callout
/// is forgotten here when `finishes` says this event is its last.
///
/// An unknown token while a callout of the same family is being started is
/// that callout's (a host answering from inside the starting hostcall).
pub(crate) fn callout_origin(
    http: bool,
    token: u32,
    finishes: impl FnOnce(CalloutKind) -> bool,
) -> Option<u32> {
    with(|rt| {
        let mut callouts = rt.callouts(http).try_borrow_mut().ok()?;
        let Some(&origin) = callouts.get(&token) else {
            let origin = rt
                .starting
                .get()
                .filter(|o| (o.kind == CalloutKind::Http) == http)?;
            rt.finished_early.set(finishes(origin.kind));
            return Some(origin.context);
        };
        if finishes(origin.kind) && callouts.remove(&token).is_some() {
            rt.outstanding.set(rt.outstanding.get().saturating_sub(1));
        }
        Some(origin.context)
    })
    .flatten()
}

/// Forgets the outstanding callouts of a deleted context: their late events
/// then find no origin and are dropped. A compare when no callout is
/// outstanding; else one pass over them (a context's callouts are usually
/// answered before it ends, so the tables hold about as many entries as
/// calls are in flight).
#[inline(always)]
pub(crate) fn forget_callouts_of(context: u32) {
    if with(|rt| rt.outstanding.get()).is_some_and(|n| n != 0) {
        forget_outstanding(context);
    }
}

#[inline(never)]
fn forget_outstanding(context: u32) {
    with(|rt| {
        let mut left = 0;
        for callouts in &rt.callouts {
            if let Ok(mut callouts) = callouts.try_borrow_mut() {
                callouts.retain(|_, origin| origin.context != context);
                left += callouts.len();
            }
        }
        rt.outstanding.set(left);
    });
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

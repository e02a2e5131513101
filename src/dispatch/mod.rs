//! Routes every `proxy_on_*` export to the registered context objects.
//!
//! The exports in [`crate::abi::exports`] call [`current`] and then one method
//! of the [`Dispatch`] trait. The implementation, [`dispatcher::Dispatcher`],
//! is generic over the plugin's own context types, so every callback path is
//! monomorphised for them (no per-callback `dyn` calls into user code).
//!
//! The enums and traits here are `pub` (hidden) only so that macro output in
//! the plugin crate can name them; they are not API.
//!
//! Rules it keeps (issue "foundation" and abi.md §7):
//! * no borrow is held across user code (contexts are taken out and put back);
//! * contexts are dropped on `proxy_on_delete`;
//! * an unknown context id is logged and answered with the default;
//! * callout responses go to the context that made the call (or the one made
//!   effective with [`crate::plugin::set_effective_context`]), not to the root.

pub(crate) mod anon;
pub(crate) mod dispatcher;
mod table;

use crate::ContextId;
use crate::context::{HttpContext, PluginContext, TcpContext, VmContext};

/// What kind of callout a token belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
#[allow(missing_docs)]
pub enum CalloutKind {
    Http,
    GrpcCall,
    GrpcStream,
}

/// Which plugin-context export ran; its arguments travel separately, as
/// scalars, so the export needs no stack frame.
#[derive(Clone, Copy, Debug)]
#[doc(hidden)]
#[allow(missing_docs)]
pub enum RootCallback {
    VmStart,
    Configure,
    Tick,
    QueueReady,
    Foreign,
    Dns,
}

/// Which gRPC export ran (its argument travels separately).
#[derive(Clone, Copy, Debug)]
#[doc(hidden)]
#[allow(missing_docs)]
pub enum GrpcExport {
    InitialMetadata,
    Message,
    TrailingMetadata,
    Close,
}

/// A callback for a plugin (root) context.
#[derive(Clone, Copy, Debug)]
#[doc(hidden)]
#[allow(missing_docs)]
pub(crate) enum RootEvent {
    VmStart(usize),
    Configure(usize),
    Tick,
    QueueReady(u32),
    Foreign(u32, usize),
    Dns(u32, usize),
}

/// A callback for an HTTP stream or TCP connection.
#[derive(Clone, Copy, Debug)]
#[doc(hidden)]
#[allow(missing_docs)]
pub(crate) enum StreamEvent {
    NewConnection,
    DownstreamData(usize, bool),
    UpstreamData(usize, bool),
    DownstreamClose(u32),
    UpstreamClose(u32),
    RequestHeaders(usize, bool),
    RequestBody(usize, bool),
    RequestTrailers(usize),
    ResponseHeaders(usize, bool),
    ResponseBody(usize, bool),
    ResponseTrailers(usize),
}

impl StreamEvent {
    pub(crate) const fn is_tcp(self) -> bool {
        matches!(
            self,
            StreamEvent::NewConnection
                | StreamEvent::DownstreamData(..)
                | StreamEvent::UpstreamData(..)
                | StreamEvent::DownstreamClose(_)
                | StreamEvent::UpstreamClose(_)
        )
    }

    pub(crate) const fn export(self) -> &'static str {
        match self {
            StreamEvent::NewConnection => "proxy_on_new_connection",
            StreamEvent::DownstreamData(..) => "proxy_on_downstream_data",
            StreamEvent::UpstreamData(..) => "proxy_on_upstream_data",
            StreamEvent::DownstreamClose(_) => "proxy_on_downstream_connection_close",
            StreamEvent::UpstreamClose(_) => "proxy_on_upstream_connection_close",
            StreamEvent::RequestHeaders(..) => "proxy_on_request_headers",
            StreamEvent::RequestBody(..) => "proxy_on_request_body",
            StreamEvent::RequestTrailers(_) => "proxy_on_request_trailers",
            StreamEvent::ResponseHeaders(..) => "proxy_on_response_headers",
            StreamEvent::ResponseBody(..) => "proxy_on_response_body",
            StreamEvent::ResponseTrailers(_) => "proxy_on_response_trailers",
        }
    }
}

impl RootEvent {
    /// The event of `callback` with its export's arguments (`a`: the queue,
    /// function or DNS token; `size`: the data or configuration size).
    pub(crate) const fn new(callback: RootCallback, a: u32, size: usize) -> RootEvent {
        match callback {
            RootCallback::VmStart => RootEvent::VmStart(size),
            RootCallback::Configure => RootEvent::Configure(size),
            RootCallback::Tick => RootEvent::Tick,
            RootCallback::QueueReady => RootEvent::QueueReady(a),
            RootCallback::Foreign => RootEvent::Foreign(a, size),
            RootCallback::Dns => RootEvent::Dns(a, size),
        }
    }
}

/// One method per export, with wire-level arguments. Object-safe; implemented
/// once per plugin by the generic dispatcher, whose per-export methods inline
/// a fast path for the common case (the stream in the hot slot).
#[doc(hidden)]
pub trait Dispatch: Hooks {
    /// `proxy_on_context_create`.
    fn context_create(&self, id: u32, parent: u32);
    /// The plugin-context callbacks (see [`RootEvent::new`] for `a` and
    /// `size`).
    fn root(&self, id: u32, callback: RootCallback, a: u32, size: usize) -> u32;
    /// `proxy_on_new_connection`.
    fn new_connection(&self, id: u32) -> u32;
    /// `proxy_on_downstream_data`.
    fn downstream_data(&self, id: u32, size: usize, end_of_stream: bool) -> u32;
    /// `proxy_on_upstream_data`.
    fn upstream_data(&self, id: u32, size: usize, end_of_stream: bool) -> u32;
    /// `proxy_on_downstream_connection_close`.
    fn downstream_close(&self, id: u32, peer: u32);
    /// `proxy_on_upstream_connection_close`.
    fn upstream_close(&self, id: u32, peer: u32);
    /// `proxy_on_request_headers`.
    fn request_headers(&self, id: u32, count: usize, end_of_stream: bool) -> u32;
    /// `proxy_on_request_body`.
    fn request_body(&self, id: u32, size: usize, end_of_stream: bool) -> u32;
    /// `proxy_on_request_trailers`.
    fn request_trailers(&self, id: u32, count: usize) -> u32;
    /// `proxy_on_response_headers`.
    fn response_headers(&self, id: u32, count: usize, end_of_stream: bool) -> u32;
    /// `proxy_on_response_body`.
    fn response_body(&self, id: u32, size: usize, end_of_stream: bool) -> u32;
    /// `proxy_on_response_trailers`.
    fn response_trailers(&self, id: u32, count: usize) -> u32;
    /// The gRPC callbacks (`value`: a count, a size or the close status).
    fn grpc(&self, id: u32, token: u32, export: GrpcExport, value: usize);
    /// `proxy_on_http_call_response` (the common callout event, with its own
    /// fast path).
    fn http_call_response(&self, id: u32, token: u32, headers: usize, body: usize, trailers: usize);
    /// `proxy_on_done` (streams or plugins).
    fn done(&self, id: u32) -> u32;
    /// `proxy_on_log` (streams or plugins).
    fn log(&self, id: u32);
    /// `proxy_on_delete`.
    fn delete(&self, id: u32);
}

/// What the host layer needs from the dispatcher while user code runs: a
/// small object-safe trait, so the plugin's dispatcher is reachable without a
/// vtable of every callback.
#[doc(hidden)]
pub trait Hooks {
    /// The host layer reports a callout it started from the active context.
    fn note_callout(&self, token: u32, kind: CalloutKind);
    /// The host layer reports a successful `proxy_set_effective_context`.
    fn set_active(&self, id: u32);
    /// The context whose callback is running (or was made effective).
    fn active(&self) -> u32;
}

/// The plugin's entry point: a type-erased dispatcher for its context types.
/// Built by `#[proxywasm::main]` (and by the mock host from a factory).
#[doc(hidden)]
pub struct Entry {
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    pub(crate) dispatch: Box<dyn Dispatch>,
}

impl core::fmt::Debug for Entry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Entry")
    }
}

impl Entry {
    /// From a VM context factory.
    pub fn vm<V: VmContext, F: FnOnce() -> V + 'static>(factory: F) -> Entry {
        Entry {
            dispatch: Box::new(dispatcher::Dispatcher::new(factory)),
        }
    }

    /// From a plugin context factory (anonymous VM context).
    pub fn plugin<P: PluginContext, F: FnMut(ContextId) -> P + 'static>(factory: F) -> Entry {
        Entry::vm(move || anon::AnonVm(anon::FnMake(factory)))
    }

    /// From an HTTP context factory (anonymous VM and plugin contexts).
    pub fn http<H: HttpContext, F: FnMut(ContextId) -> H + Clone + 'static>(factory: F) -> Entry {
        Entry::vm(move || anon::HttpVm(anon::FnMake(factory)))
    }

    /// From a TCP context factory (anonymous VM and plugin contexts).
    pub fn tcp<T: TcpContext, F: FnMut(ContextId) -> T + Clone + 'static>(factory: F) -> Entry {
        Entry::vm(move || anon::TcpVm(anon::FnMake(factory)))
    }
}

/// How the installed dispatcher is held natively: reference-counted, one per
/// mock VM, swapped in around each call by the mock or engine host.
#[cfg(not(target_family = "wasm"))]
pub(crate) type Handle = std::rc::Rc<dyn Dispatch>;

#[cfg(not(target_family = "wasm"))]
std::thread_local! {
    static CURRENT: core::cell::RefCell<Option<Handle>> = const { core::cell::RefCell::new(None) };
}

/// The dispatcher installed on this thread (by the mock or engine host).
#[cfg(not(target_family = "wasm"))]
pub(crate) fn current() -> Option<Handle> {
    CURRENT.with(|c| c.try_borrow().ok().and_then(|h| h.clone()))
}

/// Installs `handle` as this thread's dispatcher, returning the previous one.
#[cfg(not(target_family = "wasm"))]
pub(crate) fn install(handle: Option<Handle>) -> Option<Handle> {
    CURRENT.with(|c| {
        c.try_borrow_mut()
            .map(|mut h| core::mem::replace(&mut *h, handle))
            .ok()
            .flatten()
    })
}

/// Converts an entry into a native handle.
#[cfg(not(target_family = "wasm"))]
pub(crate) fn handle(entry: Entry) -> Handle {
    std::rc::Rc::from(entry.dispatch)
}

/// The module's dispatcher, as the host layer sees it (set once, in
/// `_initialize`).
#[cfg(target_family = "wasm")]
static HOOKS: crate::abi::exports::ModuleStatic<core::cell::Cell<Option<&'static dyn Hooks>>> =
    crate::abi::exports::ModuleStatic(core::cell::Cell::new(None));

#[cfg(target_family = "wasm")]
#[inline]
fn hooks() -> Option<&'static dyn Hooks> {
    HOOKS.0.get()
}

#[cfg(not(target_family = "wasm"))]
fn hooks() -> Option<Handle> {
    current()
}

/// Registers the module's dispatcher with the host layer and installs the
/// logger and panic hook. Called from `_initialize`: makes no hostcall.
#[cfg(target_family = "wasm")]
pub(crate) fn register(hooks: &'static dyn Hooks) {
    HOOKS.0.set(Some(hooks));
    crate::host::logging::install();
}

/// Records a callout started by the active context (host layer → dispatcher).
pub(crate) fn note_callout(token: u32, kind: CalloutKind) {
    if let Some(d) = hooks() {
        d.note_callout(token, kind);
    }
}

/// Records that the effective context changed (host layer → dispatcher).
pub(crate) fn set_active(id: u32) {
    if let Some(d) = hooks() {
        d.set_active(id);
    }
}

/// The active context id, or 0 outside callbacks.
pub(crate) fn active() -> u32 {
    hooks().map_or(0, |d| d.active())
}

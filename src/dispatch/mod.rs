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
//! Rules it keeps (issue "foundation"; book: reference/lifecycle.md):
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

/// Every export that reaches a context, without its arguments: those travel
/// as scalars (the comments on the variants say which is which), so no export builds
/// an event in memory and every slow path is one function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
#[allow(missing_docs)]
pub enum Call {
    // Plugin contexts. `token`: the queue, function or DNS token; `x`: the
    // configuration or data size.
    VmStart,
    Configure,
    Tick,
    QueueReady,
    Foreign,
    Dns,
    // TCP connections. `token`: the peer type; `x`: the data size; `y`: end
    // of stream (0 or 1).
    NewConnection,
    DownstreamData,
    UpstreamData,
    DownstreamClose,
    UpstreamClose,
    // HTTP streams. `x`: the header or trailer count, or the body size; `y`:
    // end of stream (0 or 1).
    RequestHeaders,
    RequestBody,
    RequestTrailers,
    ResponseHeaders,
    ResponseBody,
    ResponseTrailers,
    // Any context.
    ContextCreate,
    Done,
    Log,
    Delete,
    // Callouts. `token`: the call's token; `x`, `y`, `z`: the header count,
    // body size and trailer count of an HTTP response; `x` alone: a gRPC
    // callback's count, size or close status.
    HttpCallResponse,
    GrpcInitialMetadata,
    GrpcMessage,
    GrpcTrailingMetadata,
    GrpcClose,
}

impl Call {
    /// The export's name, for diagnostics.
    pub(crate) const fn export(self) -> &'static str {
        match self {
            Call::VmStart => "proxy_on_vm_start",
            Call::Configure => "proxy_on_configure",
            Call::Tick => "proxy_on_tick",
            Call::QueueReady => "proxy_on_queue_ready",
            Call::Foreign => "proxy_on_foreign_function",
            Call::Dns => "envoy_on_resolve_dns",
            Call::NewConnection => "proxy_on_new_connection",
            Call::DownstreamData => "proxy_on_downstream_data",
            Call::UpstreamData => "proxy_on_upstream_data",
            Call::DownstreamClose => "proxy_on_downstream_connection_close",
            Call::UpstreamClose => "proxy_on_upstream_connection_close",
            Call::RequestHeaders => "proxy_on_request_headers",
            Call::RequestBody => "proxy_on_request_body",
            Call::RequestTrailers => "proxy_on_request_trailers",
            Call::ResponseHeaders => "proxy_on_response_headers",
            Call::ResponseBody => "proxy_on_response_body",
            Call::ResponseTrailers => "proxy_on_response_trailers",
            Call::ContextCreate => "proxy_on_context_create",
            Call::Done => "proxy_on_done",
            Call::Log => "proxy_on_log",
            Call::Delete => "proxy_on_delete",
            Call::HttpCallResponse => "proxy_on_http_call_response",
            Call::GrpcInitialMetadata => "proxy_on_grpc_receive_initial_metadata",
            Call::GrpcMessage => "proxy_on_grpc_receive",
            Call::GrpcTrailingMetadata => "proxy_on_grpc_receive_trailing_metadata",
            Call::GrpcClose => "proxy_on_grpc_close",
        }
    }

    /// Whether only a TCP connection takes this call.
    pub(crate) const fn is_tcp(self) -> bool {
        matches!(
            self,
            Call::NewConnection
                | Call::DownstreamData
                | Call::UpstreamData
                | Call::DownstreamClose
                | Call::UpstreamClose
        )
    }

    /// What the host gets when the call cannot be delivered: `proxy_on_done`
    /// answers "done" (1), everything else Continue or nothing (0).
    pub(crate) const fn default_answer(self) -> u32 {
        matches!(self, Call::Done) as u32
    }
}

/// One method per export, with wire-level arguments. Object-safe; implemented
/// once per plugin by the generic dispatcher, whose per-export methods inline
/// a fast path for the common case (the stream in the hot slot).
#[doc(hidden)]
pub trait Dispatch: Hooks {
    /// `proxy_on_context_create`.
    fn context_create(&self, id: u32, parent: u32);
    /// The plugin-context callbacks (see [`Call`] for `token` and `size`).
    fn root(&self, id: u32, call: Call, token: u32, size: usize) -> u32;
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
    fn grpc(&self, id: u32, token: u32, call: Call, value: usize);
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

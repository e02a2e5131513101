//! The generic dispatcher: one per VM instance, monomorphised for the plugin's
//! context types.
//!
//! Size and speed: each export inlines a fast path for the common case (the
//! stream in the hot slot), and everything else goes through one function,
//! [`Dispatcher::run`]: one take/put-back and one `match` on the [`Call`]
//! whose arms call your (usually inlined) methods. Arguments travel as
//! scalars, so no export builds an event in memory.

use super::table::{Lookup, Store, Table};
use super::{Call, CalloutKind, Dispatch, Hooks};
use crate::callout::{GrpcToken, HttpCallToken};
use crate::context::{
    Configuration, ContextId, GrpcEvent, HttpCallResponse, HttpContext, PeerType, PluginContext,
    QueueId, TcpContext, VmContext,
};
use crate::host::logging::{LogLevel, Piece, line};
use core::cell::{Cell, RefCell};

type PluginOf<V> = <V as VmContext>::Plugin;
type HttpOf<V> = <PluginOf<V> as PluginContext>::Http;
type TcpOf<V> = <PluginOf<V> as PluginContext>::Tcp;

/// Whether the plugin type has no TCP contexts (`Option<uninhabited>` is
/// zero-sized), known at compile time.
#[allow(non_snake_case)]
const fn HTTP_ONLY<V: VmContext>() -> bool {
    core::mem::size_of::<Option<TcpOf<V>>>() == 0
}

/// Whether the plugin type has no HTTP contexts.
#[allow(non_snake_case)]
const fn TCP_ONLY<V: VmContext>() -> bool {
    core::mem::size_of::<Option<HttpOf<V>>>() == 0
}

/// A context: a plugin context, or a stream of one.
enum Ctx<P, H, T> {
    Plugin(P),
    /// A stream of a plugin with both stream kinds, created on its first
    /// callback: only then does the host reveal whether it is an HTTP stream
    /// or a TCP connection.
    Pending {
        root: u32,
    },
    Http(H),
    Tcp(T),
    /// A stream the plugin creates no context for.
    Unsupported,
}

type CtxOf<V> = Ctx<PluginOf<V>, HttpOf<V>, TcpOf<V>>;

/// A callout's origin context and kind, packed into the table's `u64`.
fn pack(origin: u32, kind: CalloutKind) -> u64 {
    let kind = match kind {
        CalloutKind::Http => 0u64,
        CalloutKind::GrpcCall => 1,
        CalloutKind::GrpcStream => 2,
    };
    u64::from(origin) | (kind << 32)
}

/// The dispatcher for one VM. Not public API (reachable for macro output).
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Dispatcher<V: VmContext, F> {
    factory: Cell<Option<F>>,
    vm: Cell<Option<V>>,
    /// Plugin contexts and streams alike, so every slow path takes, runs and
    /// puts back through one piece of code.
    contexts: Store<CtxOf<V>>,
    /// The oldest outstanding HTTP call not in `callouts`, as (origin, token);
    /// origin 0 when empty. Most streams have one call in flight, so routing
    /// its response is a compare, not a probe.
    hot_call: Cell<(u32, u32)>,
    /// The other outstanding callouts, HTTP and gRPC apart: the host numbers
    /// them independently, so their tokens may coincide.
    callouts: [RefCell<Table>; 2],
    active: Cell<u32>,
}

impl<V: VmContext, F> Dispatcher<V, F> {
    /// A dispatcher that creates its VM context with `factory` on first use.
    pub const fn new(factory: F) -> Self {
        Dispatcher {
            factory: Cell::new(Some(factory)),
            vm: Cell::new(None),
            contexts: Store::new(),
            hot_call: Cell::new((0, 0)),
            callouts: [RefCell::new(Table::new()), RefCell::new(Table::new())],
            active: Cell::new(0),
        }
    }
}

impl<V: VmContext, F: FnOnce() -> V> Dispatcher<V, F> {
    fn with_vm<R>(&self, id: u32, call: Call, f: impl FnOnce(&mut V) -> R) -> Option<R> {
        let mut vm = match self.vm.take() {
            Some(vm) => vm,
            None => match self.factory.take() {
                Some(factory) => factory(),
                None => {
                    diag(Why::Busy, call, 0);
                    return None;
                }
            },
        };
        let prev = self.active.replace(id);
        let result = f(&mut vm);
        self.active.set(prev);
        self.vm.set(Some(vm));
        Some(result)
    }

    /// Runs `call` on context `id`, creating a pending stream's context
    /// first; the arguments are as [`Call`] describes. Every slow path ends
    /// here. A missing or busy context is logged and answered with the
    /// call's default.
    #[inline(never)]
    fn run(&self, id: u32, call: Call, token: u32, x: usize, y: usize, z: usize) -> u32 {
        let mut context = match self.contexts.take(id) {
            Lookup::Found(context) => context,
            Lookup::Busy => return diag(Why::Busy, call, id),
            Lookup::Missing => return diag(Why::Unknown, call, id),
        };
        if let Ctx::Pending { root } = context {
            context = self.create(id, root, call.is_tcp());
        }
        let eos = y != 0;
        let prev = self.active.replace(id);
        let result = match (&mut context, call) {
            (Ctx::Plugin(plugin), _) => on_plugin(plugin, id, call, token, x, y, z),
            (Ctx::Http(http), Call::RequestHeaders) => http.on_request_headers(x, eos).as_raw(),
            (Ctx::Http(http), Call::RequestBody) => http.on_request_body(x, eos).as_raw(),
            (Ctx::Http(http), Call::RequestTrailers) => http.on_request_trailers(x).as_raw(),
            (Ctx::Http(http), Call::ResponseHeaders) => http.on_response_headers(x, eos).as_raw(),
            (Ctx::Http(http), Call::ResponseBody) => http.on_response_body(x, eos).as_raw(),
            (Ctx::Http(http), Call::ResponseTrailers) => http.on_response_trailers(x).as_raw(),
            (Ctx::Http(http), Call::Done) => {
                http.on_done();
                1
            }
            (Ctx::Http(http), Call::Log) => {
                http.on_log();
                0
            }
            (Ctx::Http(http), Call::HttpCallResponse) => {
                http.on_http_call_response(HttpCallToken(token), response(x, y, z));
                0
            }
            (Ctx::Http(http), Call::GrpcInitialMetadata | Call::GrpcMessage)
            | (Ctx::Http(http), Call::GrpcTrailingMetadata | Call::GrpcClose) => {
                http.on_grpc_event(GrpcToken(token), grpc_event(call, x));
                0
            }
            (Ctx::Tcp(tcp), Call::NewConnection) => tcp.on_new_connection().as_raw(),
            (Ctx::Tcp(tcp), Call::DownstreamData) => tcp.on_downstream_data(x, eos).as_raw(),
            (Ctx::Tcp(tcp), Call::UpstreamData) => tcp.on_upstream_data(x, eos).as_raw(),
            (Ctx::Tcp(tcp), Call::DownstreamClose) => {
                tcp.on_downstream_close(PeerType::from_raw(token));
                0
            }
            (Ctx::Tcp(tcp), Call::UpstreamClose) => {
                tcp.on_upstream_close(PeerType::from_raw(token));
                0
            }
            (Ctx::Tcp(tcp), Call::Done) => {
                tcp.on_done();
                1
            }
            (Ctx::Tcp(tcp), Call::Log) => {
                tcp.on_log();
                0
            }
            (Ctx::Tcp(tcp), Call::HttpCallResponse) => {
                tcp.on_http_call_response(HttpCallToken(token), response(x, y, z));
                0
            }
            (Ctx::Tcp(tcp), Call::GrpcInitialMetadata | Call::GrpcMessage)
            | (Ctx::Tcp(tcp), Call::GrpcTrailingMetadata | Call::GrpcClose) => {
                tcp.on_grpc_event(GrpcToken(token), grpc_event(call, x));
                0
            }
            // The other stream kind's callbacks, and plugin callbacks.
            (Ctx::Http(_) | Ctx::Tcp(_), _) => wrong_kind(call, id),
            (Ctx::Pending { .. } | Ctx::Unsupported, _) => call.default_answer(),
        };
        self.active.set(prev);
        self.contexts.put_back(id, context);
        result
    }

    /// Makes the context of stream `id` with plugin `root`.
    #[cold]
    #[inline(never)]
    fn create(&self, id: u32, root: u32, tcp: bool) -> CtxOf<V> {
        let mut plugin = match self.contexts.take(root) {
            Lookup::Found(Ctx::Plugin(plugin)) => plugin,
            Lookup::Found(other) => {
                self.contexts.put_back(root, other);
                return no_context(id);
            }
            _ => return no_context(id),
        };
        let made = self.make_stream(root, &mut plugin, id, tcp);
        self.contexts.put_back(root, Ctx::Plugin(plugin));
        made
    }

    /// Makes the context of stream `id` with `plugin` (context `root`),
    /// which is the active context meanwhile.
    #[inline(always)]
    fn make_stream(&self, root: u32, plugin: &mut PluginOf<V>, id: u32, tcp: bool) -> CtxOf<V> {
        let prev = self.active.replace(root);
        let made = if tcp {
            plugin.new_tcp_context(ContextId(id)).map(Ctx::Tcp)
        } else {
            plugin.new_http_context(ContextId(id)).map(Ctx::Http)
        };
        self.active.set(prev);
        made.unwrap_or_else(|| no_context(id))
    }

    /// The fast path of an HTTP callback: the stream is in the hot slot.
    /// When `f` does nothing, this folds to a compare and a return.
    #[inline(always)]
    fn http_fast(&self, id: u32, f: impl FnOnce(&mut HttpOf<V>) -> u32) -> Option<u32> {
        let hot = self.contexts.hot();
        if TCP_ONLY::<V>() || !hot.holds(id) {
            return None;
        }
        match hot.take() {
            Some(Ctx::Http(mut http)) => {
                let prev = self.active.replace(id);
                let result = f(&mut http);
                self.active.set(prev);
                self.contexts.put_back(id, Ctx::Http(http));
                Some(result)
            }
            other => {
                hot.restore(other);
                None
            }
        }
    }

    /// The fast path of a TCP callback.
    #[inline(always)]
    fn tcp_fast(&self, id: u32, f: impl FnOnce(&mut TcpOf<V>) -> u32) -> Option<u32> {
        let hot = self.contexts.hot();
        if HTTP_ONLY::<V>() || !hot.holds(id) {
            return None;
        }
        match hot.take() {
            Some(Ctx::Tcp(mut tcp)) => {
                let prev = self.active.replace(id);
                let result = f(&mut tcp);
                self.active.set(prev);
                self.contexts.put_back(id, Ctx::Tcp(tcp));
                Some(result)
            }
            other => {
                hot.restore(other);
                None
            }
        }
    }

    /// The fast path of done/log: a created stream in the hot slot.
    #[inline(always)]
    fn any_fast(&self, id: u32, f: impl FnOnce(&mut CtxOf<V>)) -> bool {
        let hot = self.contexts.hot();
        if !hot.holds(id) {
            return false;
        }
        match hot.take() {
            Some(mut stream @ (Ctx::Http(_) | Ctx::Tcp(_))) => {
                let prev = self.active.replace(id);
                f(&mut stream);
                self.active.set(prev);
                self.contexts.put_back(id, stream);
                true
            }
            other => {
                hot.restore(other);
                false
            }
        }
    }

    #[inline(never)]
    fn context_create_slow(&self, id: u32, parent: u32) {
        if parent == 0 {
            if let Some(plugin) = self.with_vm(id, Call::ContextCreate, |vm| {
                vm.new_plugin_context(ContextId(id))
            }) {
                self.contexts.insert_pinned(id, Ctx::Plugin(plugin));
            }
        } else if HTTP_ONLY::<V>() || TCP_ONLY::<V>() {
            // Only one stream kind exists for this plugin type (known at compile
            // time), so create the context now instead of on its first callback.
            let stream = self.create(id, parent, TCP_ONLY::<V>());
            self.contexts.insert(id, stream);
        } else {
            self.contexts.insert(id, Ctx::Pending { root: parent });
        }
    }

    /// Creates a stream context when its plugin is in the pinned slot.
    #[inline(always)]
    fn create_fast(&self, id: u32, root: u32) -> Option<CtxOf<V>> {
        let pinned = self.contexts.pinned();
        if !pinned.holds(root) {
            return None;
        }
        let mut plugin = match pinned.take() {
            Some(Ctx::Plugin(plugin)) => plugin,
            other => {
                pinned.restore(other);
                return None;
            }
        };
        let made = self.make_stream(root, &mut plugin, id, TCP_ONLY::<V>());
        pinned.restore(Some(Ctx::Plugin(plugin)));
        Some(made)
    }

    #[inline(always)]
    fn delete_slow(&self, id: u32) {
        match self.contexts.remove(id) {
            Lookup::Found(context) => drop(context),
            Lookup::Busy => {}
            Lookup::Missing => {
                diag(Why::Unknown, Call::Delete, id);
            }
        }
    }

    /// The table of outstanding HTTP calls, or of gRPC calls and streams.
    fn callouts_of(&self, http: bool) -> &RefCell<Table> {
        let [http_calls, grpc_calls] = &self.callouts;
        if http { http_calls } else { grpc_calls }
    }

    /// Finds (and forgets, when finished) the context that made a callout.
    fn callout_origin(&self, token: u32, call: Call) -> Option<u32> {
        let http = call == Call::HttpCallResponse;
        let finished = |packed: u64| match call {
            Call::HttpCallResponse | Call::GrpcClose => true,
            Call::GrpcMessage => packed >> 32 != 2,
            _ => false,
        };
        let (origin, hot) = self.hot_call.get();
        if http && origin != 0 && hot == token {
            self.hot_call.set((0, 0));
            return Some(origin);
        }
        let mut callouts = self.callouts_of(http).try_borrow_mut().ok()?;
        let packed = callouts.get(token)?;
        if finished(packed) {
            let _ = callouts.remove(token);
        }
        Some(packed as u32)
    }

    /// Routes a callout event (an HTTP call's response or a gRPC callback)
    /// to the context that made the call.
    #[inline(never)]
    fn callout_slow(&self, id: u32, call: Call, token: u32, x: usize, y: usize, z: usize) {
        let origin = self.callout_origin(token, call).unwrap_or(id);
        if origin != id
            && (!self.contexts.contains(origin)
                || crate::abi::calls::set_effective_context(origin).is_err())
        {
            diag(Why::Gone, call, origin);
            return;
        }
        // (The common HTTP case took the fast path in `http_call_response`.)
        self.run(origin, call, token, x, y, z);
    }
}

/// An HTTP call's response sizes.
fn response(headers: usize, body: usize, trailers: usize) -> HttpCallResponse {
    HttpCallResponse {
        num_headers: headers,
        body_size: body,
        num_trailers: trailers,
    }
}

/// The gRPC event of a gRPC `call` with its argument.
fn grpc_event(call: Call, x: usize) -> GrpcEvent {
    match call {
        Call::GrpcInitialMetadata => GrpcEvent::InitialMetadata { count: x },
        Call::GrpcMessage => GrpcEvent::Message { size: x },
        Call::GrpcTrailingMetadata => GrpcEvent::TrailingMetadata { count: x },
        _ => GrpcEvent::Close { status: x as u32 },
    }
}

/// Runs `call` on a plugin context.
#[inline(always)]
fn on_plugin<P: PluginContext>(
    plugin: &mut P,
    id: u32,
    call: Call,
    token: u32,
    x: usize,
    y: usize,
    z: usize,
) -> u32 {
    match call {
        Call::Configure => match plugin.on_configure(Configuration::plugin(x)) {
            Ok(()) => 1,
            Err(error) => refused("the plugin", &error),
        },
        Call::Tick => {
            plugin.on_tick();
            0
        }
        Call::QueueReady => {
            plugin.on_queue_ready(QueueId(token));
            0
        }
        Call::Foreign => {
            plugin.on_foreign_function(token, x);
            0
        }
        Call::Dns => {
            plugin.on_resolve_dns(token, x);
            0
        }
        Call::VmStart => 0,
        Call::Done => u32::from(plugin.on_done()),
        Call::Log => {
            plugin.on_log();
            0
        }
        Call::HttpCallResponse => {
            plugin.on_http_call_response(HttpCallToken(token), response(x, y, z));
            0
        }
        Call::GrpcInitialMetadata
        | Call::GrpcMessage
        | Call::GrpcTrailingMetadata
        | Call::GrpcClose => {
            plugin.on_grpc_event(GrpcToken(token), grpc_event(call, x));
            0
        }
        _ => wrong_kind(call, id),
    }
}

/// Why the dispatcher could not deliver a callback: one message each, built
/// by one function.
#[derive(Clone, Copy)]
enum Why {
    /// No context has the id (error level).
    Unknown,
    /// The context's callback is still running: the host re-entered the
    /// plugin (error level).
    Busy,
    /// The callback is not one this kind of context takes (error level).
    WrongKind,
    /// A callout's origin context is gone (debug level).
    Gone,
    /// The plugin creates no context for a stream (debug level).
    NoContext,
}

/// Logs why `call` for context `id` was not delivered, returning the
/// call's default answer.
#[cold]
#[inline(never)]
fn diag(why: Why, call: Call, id: u32) -> u32 {
    let (middle, end) = match why {
        Why::Unknown => (
            " for unknown context ",
            " ignored; answered with the default",
        ),
        Why::Busy => (
            " for context ",
            " ignored: its callback is still running (re-entered); answered with the default",
        ),
        Why::WrongKind => (" for context ", " ignored: not a callback of its kind"),
        Why::Gone => (": context ", ", which made the call, is gone; dropped"),
        Why::NoContext => (
            ": the plugin creates no context for stream ",
            "; it passes through untouched",
        ),
    };
    let level = match why {
        Why::Gone | Why::NoContext => LogLevel::Debug,
        _ => LogLevel::Error,
    };
    line(
        level,
        &[
            Piece::Text("proxywasm: "),
            Piece::Text(call.export()),
            Piece::Text(middle),
            Piece::Number(id),
            Piece::Text(end),
        ],
    );
    call.default_answer()
}

fn wrong_kind(call: Call, id: u32) -> u32 {
    diag(Why::WrongKind, call, id)
}

fn no_context<P, H, T>(id: u32) -> Ctx<P, H, T> {
    diag(Why::NoContext, Call::ContextCreate, id);
    Ctx::Unsupported
}

#[cold]
#[inline(never)]
fn refused(what: &str, error: &crate::Error) -> u32 {
    crate::host::logging::error(&format!("proxywasm: {what} refused to start: {error}"));
    0
}

impl<V: VmContext, F: FnOnce() -> V> Dispatch for Dispatcher<V, F> {
    fn context_create(&self, id: u32, parent: u32) {
        if parent != 0 && (HTTP_ONLY::<V>() || TCP_ONLY::<V>()) && self.contexts.hot().is_free() {
            if let Some(stream) = self.create_fast(id, parent) {
                self.contexts.hot().fill(id, stream);
                return;
            }
        }
        self.context_create_slow(id, parent);
    }

    fn root(&self, id: u32, call: Call, token: u32, size: usize) -> u32 {
        match call {
            Call::VmStart => {
                crate::host::logging::refresh_level();
                match self.with_vm(id, call, |vm| vm.on_vm_start(Configuration::vm(size))) {
                    Some(Ok(())) => 1,
                    Some(Err(error)) => refused("the VM", &error),
                    None => 0,
                }
            }
            Call::Configure | Call::Tick => {
                crate::host::logging::refresh_level();
                self.run(id, call, token, size, 0, 0)
            }
            _ => self.run(id, call, token, size, 0, 0),
        }
    }

    fn new_connection(&self, id: u32) -> u32 {
        self.tcp_fast(id, |t| t.on_new_connection().as_raw())
            .unwrap_or_else(|| self.run(id, Call::NewConnection, 0, 0, 0, 0))
    }

    fn downstream_data(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        self.tcp_fast(id, |t| t.on_downstream_data(size, end_of_stream).as_raw())
            .unwrap_or_else(|| {
                self.run(
                    id,
                    Call::DownstreamData,
                    0,
                    size,
                    usize::from(end_of_stream),
                    0,
                )
            })
    }

    fn upstream_data(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        self.tcp_fast(id, |t| t.on_upstream_data(size, end_of_stream).as_raw())
            .unwrap_or_else(|| {
                self.run(
                    id,
                    Call::UpstreamData,
                    0,
                    size,
                    usize::from(end_of_stream),
                    0,
                )
            })
    }

    fn downstream_close(&self, id: u32, peer: u32) {
        let fast = self.tcp_fast(id, |t| {
            t.on_downstream_close(PeerType::from_raw(peer));
            0
        });
        if fast.is_none() {
            self.run(id, Call::DownstreamClose, peer, 0, 0, 0);
        }
    }

    fn upstream_close(&self, id: u32, peer: u32) {
        let fast = self.tcp_fast(id, |t| {
            t.on_upstream_close(PeerType::from_raw(peer));
            0
        });
        if fast.is_none() {
            self.run(id, Call::UpstreamClose, peer, 0, 0, 0);
        }
    }

    fn request_headers(&self, id: u32, count: usize, end_of_stream: bool) -> u32 {
        self.http_fast(id, |h| h.on_request_headers(count, end_of_stream).as_raw())
            .unwrap_or_else(|| {
                self.run(
                    id,
                    Call::RequestHeaders,
                    0,
                    count,
                    usize::from(end_of_stream),
                    0,
                )
            })
    }

    fn request_body(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        self.http_fast(id, |h| h.on_request_body(size, end_of_stream).as_raw())
            .unwrap_or_else(|| {
                self.run(
                    id,
                    Call::RequestBody,
                    0,
                    size,
                    usize::from(end_of_stream),
                    0,
                )
            })
    }

    fn request_trailers(&self, id: u32, count: usize) -> u32 {
        self.http_fast(id, |h| h.on_request_trailers(count).as_raw())
            .unwrap_or_else(|| self.run(id, Call::RequestTrailers, 0, count, 0, 0))
    }

    fn response_headers(&self, id: u32, count: usize, end_of_stream: bool) -> u32 {
        self.http_fast(id, |h| h.on_response_headers(count, end_of_stream).as_raw())
            .unwrap_or_else(|| {
                self.run(
                    id,
                    Call::ResponseHeaders,
                    0,
                    count,
                    usize::from(end_of_stream),
                    0,
                )
            })
    }

    fn response_body(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        self.http_fast(id, |h| h.on_response_body(size, end_of_stream).as_raw())
            .unwrap_or_else(|| {
                self.run(
                    id,
                    Call::ResponseBody,
                    0,
                    size,
                    usize::from(end_of_stream),
                    0,
                )
            })
    }

    fn response_trailers(&self, id: u32, count: usize) -> u32 {
        self.http_fast(id, |h| h.on_response_trailers(count).as_raw())
            .unwrap_or_else(|| self.run(id, Call::ResponseTrailers, 0, count, 0, 0))
    }

    fn grpc(&self, id: u32, token: u32, call: Call, value: usize) {
        self.callout_slow(id, call, token, value, 0, 0);
    }

    fn http_call_response(
        &self,
        id: u32,
        token: u32,
        headers: usize,
        body: usize,
        trailers: usize,
    ) {
        // The common case: the oldest outstanding HTTP call, made by the
        // stream in the hot slot (a compare instead of two probes).
        let (origin, hot) = self.hot_call.get();
        if hot == token && origin != 0 && self.contexts.hot().holds(origin) {
            self.hot_call.set((0, 0));
            if origin != id && crate::abi::calls::set_effective_context(origin).is_err() {
                diag(Why::Gone, Call::HttpCallResponse, origin);
                return;
            }
            let fast = self.http_fast(origin, |http| {
                http.on_http_call_response(HttpCallToken(token), response(headers, body, trailers));
                0
            });
            if fast.is_none() {
                self.run(
                    origin,
                    Call::HttpCallResponse,
                    token,
                    headers,
                    body,
                    trailers,
                );
            }
            return;
        }
        self.callout_slow(id, Call::HttpCallResponse, token, headers, body, trailers);
    }

    fn done(&self, id: u32) -> u32 {
        let fast = self.any_fast(id, |stream| match stream {
            Ctx::Http(http) => http.on_done(),
            Ctx::Tcp(tcp) => tcp.on_done(),
            _ => {}
        });
        if fast {
            1
        } else {
            self.run(id, Call::Done, 0, 0, 0, 0)
        }
    }

    fn log(&self, id: u32) {
        // A stream that never reached the filter gets on_log first (HTTP
        // order), so a pending context is created as an HTTP stream.
        let fast = self.any_fast(id, |stream| match stream {
            Ctx::Http(http) => http.on_log(),
            Ctx::Tcp(tcp) => tcp.on_log(),
            _ => {}
        });
        if !fast {
            self.run(id, Call::Log, 0, 0, 0, 0);
        }
    }

    fn delete(&self, id: u32) {
        let hot = self.contexts.hot();
        if hot.holds(id) {
            // (An empty hot slot has id 0 and holds nothing to drop.)
            drop(hot.clear());
        } else {
            self.delete_slow(id);
        }
    }
}

impl<V: VmContext, F: FnOnce() -> V> Hooks for Dispatcher<V, F> {
    fn note_callout(&self, token: u32, kind: CalloutKind) {
        let origin = self.active.get();
        let packed = pack(origin, kind);
        if kind == CalloutKind::Http && origin != 0 && self.hot_call.get().0 == 0 {
            self.hot_call.set((origin, token));
        } else if let Ok(mut callouts) =
            self.callouts_of(kind == CalloutKind::Http).try_borrow_mut()
        {
            callouts.insert(token, packed);
        }
    }

    fn set_active(&self, id: u32) {
        self.active.set(id);
    }

    fn active(&self) -> u32 {
        self.active.get()
    }
}

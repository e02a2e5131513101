//! The generic dispatcher: one per VM instance, monomorphised for the plugin's
//! context types.
//!
//! Size and speed: every stream callback goes through one function,
//! [`Dispatcher::run_stream`], and every plugin callback through
//! [`Dispatcher::run_root`]; each is a single `match` on the event whose arms
//! call your (usually inlined) methods. The take/put-back logic therefore
//! exists once per plugin, not once per export.

use super::table::{Lookup, Store, Table};
use super::{CalloutKind, Dispatch, GrpcExport, Hooks, RootCallback, RootEvent, StreamEvent};
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

/// What to run on a context.
#[derive(Clone, Copy)]
enum Op {
    Root(RootEvent),
    Stream(StreamEvent),
    Done,
    Log,
    HttpResponse(HttpCallToken, HttpCallResponse),
    Grpc(GrpcToken, GrpcEvent),
}

impl Op {
    /// The export that delivered the operation, for diagnostics.
    fn export(self) -> &'static str {
        match self {
            Op::Root(RootEvent::VmStart(_)) => "proxy_on_vm_start",
            Op::Root(RootEvent::Configure(_)) => "proxy_on_configure",
            Op::Root(RootEvent::Tick) => "proxy_on_tick",
            Op::Root(RootEvent::QueueReady(_)) => "proxy_on_queue_ready",
            Op::Root(RootEvent::Foreign(..)) => "proxy_on_foreign_function",
            Op::Root(RootEvent::Dns(..)) => "envoy_on_resolve_dns",
            Op::Stream(event) => event.export(),
            Op::Done => "proxy_on_done",
            Op::Log => "proxy_on_log",
            Op::HttpResponse(..) => "proxy_on_http_call_response",
            Op::Grpc(..) => "proxy_on_grpc_*",
        }
    }
}

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
    fn with_vm<R>(&self, id: u32, export: &'static str, f: impl FnOnce(&mut V) -> R) -> Option<R> {
        let mut vm = match self.vm.take() {
            Some(vm) => vm,
            None => match self.factory.take() {
                Some(factory) => factory(),
                None => {
                    diag(Why::Busy, export, 0);
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

    /// Runs `op` on context `id`, creating a pending stream's context first.
    /// `None` if it is missing or busy. Every slow path ends here.
    #[inline(never)]
    fn run(&self, id: u32, op: Op) -> Option<u32> {
        let mut context = match self.contexts.take(id) {
            Lookup::Found(context) => context,
            Lookup::Busy => return diag(Why::Busy, op.export(), id),
            Lookup::Missing => return diag(Why::Unknown, op.export(), id),
        };
        if let Ctx::Pending { root } = context {
            let tcp = matches!(op, Op::Stream(event) if event.is_tcp());
            context = self.create(id, root, tcp);
        }
        let prev = self.active.replace(id);
        let result = match (&mut context, op) {
            (Ctx::Plugin(plugin), op) => on_plugin(plugin, id, op),
            (Ctx::Http(http), Op::Stream(event)) => match event {
                StreamEvent::RequestHeaders(count, eos) => {
                    http.on_request_headers(count, eos).as_raw()
                }
                StreamEvent::RequestBody(size, eos) => http.on_request_body(size, eos).as_raw(),
                StreamEvent::RequestTrailers(count) => http.on_request_trailers(count).as_raw(),
                StreamEvent::ResponseHeaders(count, eos) => {
                    http.on_response_headers(count, eos).as_raw()
                }
                StreamEvent::ResponseBody(size, eos) => http.on_response_body(size, eos).as_raw(),
                StreamEvent::ResponseTrailers(count) => http.on_response_trailers(count).as_raw(),
                _ => wrong_kind(op, id),
            },
            (Ctx::Tcp(tcp), Op::Stream(event)) => match event {
                StreamEvent::NewConnection => tcp.on_new_connection().as_raw(),
                StreamEvent::DownstreamData(size, eos) => {
                    tcp.on_downstream_data(size, eos).as_raw()
                }
                StreamEvent::UpstreamData(size, eos) => tcp.on_upstream_data(size, eos).as_raw(),
                StreamEvent::DownstreamClose(peer) => {
                    tcp.on_downstream_close(PeerType::from_raw(peer));
                    0
                }
                StreamEvent::UpstreamClose(peer) => {
                    tcp.on_upstream_close(PeerType::from_raw(peer));
                    0
                }
                _ => wrong_kind(op, id),
            },
            (Ctx::Http(http), Op::Done) => {
                http.on_done();
                1
            }
            (Ctx::Tcp(tcp), Op::Done) => {
                tcp.on_done();
                1
            }
            (Ctx::Http(http), Op::Log) => {
                http.on_log();
                0
            }
            (Ctx::Tcp(tcp), Op::Log) => {
                tcp.on_log();
                0
            }
            (Ctx::Http(http), Op::HttpResponse(token, response)) => {
                http.on_http_call_response(token, response);
                0
            }
            (Ctx::Tcp(tcp), Op::HttpResponse(token, response)) => {
                tcp.on_http_call_response(token, response);
                0
            }
            (Ctx::Http(http), Op::Grpc(token, event)) => {
                http.on_grpc_event(token, event);
                0
            }
            (Ctx::Tcp(tcp), Op::Grpc(token, event)) => {
                tcp.on_grpc_event(token, event);
                0
            }
            (Ctx::Http(_) | Ctx::Tcp(_), Op::Root(_)) => wrong_kind(op, id),
            (_, Op::Done) => 1,
            _ => 0,
        };
        self.active.set(prev);
        self.contexts.put_back(id, context);
        Some(result)
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
        let prev = self.active.replace(root);
        let made = make_stream(&mut plugin, id, tcp);
        self.active.set(prev);
        self.contexts.put_back(root, Ctx::Plugin(plugin));
        made
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
    fn stream_slow(&self, id: u32, event: StreamEvent) -> u32 {
        self.run(id, Op::Stream(event)).unwrap_or(0)
    }

    #[inline(never)]
    fn context_create_slow(&self, id: u32, parent: u32) {
        if parent == 0 {
            if let Some(plugin) = self.with_vm(id, "proxy_on_context_create", |vm| {
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
        let prev = self.active.replace(root);
        let made = make_stream(&mut plugin, id, TCP_ONLY::<V>());
        self.active.set(prev);
        pinned.restore(Some(Ctx::Plugin(plugin)));
        Some(made)
    }

    #[inline(never)]
    fn delete_slow(&self, id: u32) {
        match self.contexts.remove(id) {
            Lookup::Found(context) => drop(context),
            Lookup::Busy => {}
            Lookup::Missing => {
                diag(Why::Unknown, "proxy_on_delete", id);
            }
        }
    }

    /// The table of outstanding HTTP calls, or of gRPC calls and streams.
    fn callouts_of(&self, http: bool) -> &RefCell<Table> {
        let [http_calls, grpc_calls] = &self.callouts;
        if http { http_calls } else { grpc_calls }
    }

    /// Finds (and forgets, when finished) the context that made a callout:
    /// an HTTP call (`grpc` is `None`) or a gRPC call or stream.
    fn callout_origin(&self, token: u32, grpc: Option<GrpcExport>) -> Option<u32> {
        let http = grpc.is_none();
        let finished = |packed: u64| match grpc {
            None | Some(GrpcExport::Close) => true,
            Some(GrpcExport::Message) => packed >> 32 != 2,
            Some(_) => false,
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
}

/// Makes a stream context with `plugin`.
#[inline(always)]
fn make_stream<P: PluginContext>(plugin: &mut P, id: u32, tcp: bool) -> Ctx<P, P::Http, P::Tcp> {
    let made = if tcp {
        plugin.new_tcp_context(ContextId(id)).map(Ctx::Tcp)
    } else {
        plugin.new_http_context(ContextId(id)).map(Ctx::Http)
    };
    made.unwrap_or_else(|| no_context(id))
}

/// Runs `op` on a plugin context.
#[inline(always)]
fn on_plugin<P: PluginContext>(plugin: &mut P, id: u32, op: Op) -> u32 {
    match op {
        Op::Root(RootEvent::Configure(size)) => {
            match plugin.on_configure(Configuration::plugin(size)) {
                Ok(()) => 1,
                Err(error) => refused("the plugin", &error),
            }
        }
        Op::Root(RootEvent::Tick) => {
            plugin.on_tick();
            0
        }
        Op::Root(RootEvent::QueueReady(token)) => {
            plugin.on_queue_ready(QueueId(token));
            0
        }
        Op::Root(RootEvent::Foreign(function, size)) => {
            plugin.on_foreign_function(function, size);
            0
        }
        Op::Root(RootEvent::Dns(token, size)) => {
            plugin.on_resolve_dns(token, size);
            0
        }
        Op::Root(RootEvent::VmStart(_)) => 0,
        Op::Stream(_) => wrong_kind(op, id),
        Op::Done => u32::from(plugin.on_done()),
        Op::Log => {
            plugin.on_log();
            0
        }
        Op::HttpResponse(token, response) => {
            plugin.on_http_call_response(token, response);
            0
        }
        Op::Grpc(token, event) => {
            plugin.on_grpc_event(token, event);
            0
        }
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

/// Logs why `export` for context `id` was not delivered. Always `None`, so
/// callers can return it.
#[cold]
#[inline(never)]
fn diag(why: Why, export: &'static str, id: u32) -> Option<u32> {
    let (middle, end) = match why {
        Why::Unknown => (
            " for unknown context ",
            " ignored; answered with the default",
        ),
        Why::Busy => (
            " for context ",
            " ignored: a callback of that context is still running (the host re-entered the \
             plugin); answered with the default",
        ),
        Why::WrongKind => (
            " for context ",
            " ignored: that kind of context does not take this callback",
        ),
        Why::Gone => (
            ": context ",
            ", which made the call, is gone; event dropped",
        ),
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
            Piece::Text(export),
            Piece::Text(middle),
            Piece::Number(id),
            Piece::Text(end),
        ],
    );
    None
}

fn wrong_kind(op: Op, id: u32) -> u32 {
    diag(Why::WrongKind, op.export(), id);
    0
}

fn no_context<P, H, T>(id: u32) -> Ctx<P, H, T> {
    diag(Why::NoContext, "proxy_on_context_create", id);
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

    fn root(&self, id: u32, callback: RootCallback, a: u32, size: usize) -> u32 {
        let event = RootEvent::new(callback, a, size);
        match event {
            RootEvent::VmStart(size) => {
                crate::host::logging::refresh_level();
                match self.with_vm(id, "proxy_on_vm_start", |vm| {
                    vm.on_vm_start(Configuration::vm(size))
                }) {
                    Some(Ok(())) => 1,
                    Some(Err(error)) => refused("the VM", &error),
                    None => 0,
                }
            }
            RootEvent::Configure(_) | RootEvent::Tick => {
                crate::host::logging::refresh_level();
                self.run(id, Op::Root(event)).unwrap_or(0)
            }
            _ => self.run(id, Op::Root(event)).unwrap_or(0),
        }
    }

    fn new_connection(&self, id: u32) -> u32 {
        self.tcp_fast(id, |t| t.on_new_connection().as_raw())
            .unwrap_or_else(|| self.stream_slow(id, StreamEvent::NewConnection))
    }

    fn downstream_data(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        self.tcp_fast(id, |t| t.on_downstream_data(size, end_of_stream).as_raw())
            .unwrap_or_else(|| {
                self.stream_slow(id, StreamEvent::DownstreamData(size, end_of_stream))
            })
    }

    fn upstream_data(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        self.tcp_fast(id, |t| t.on_upstream_data(size, end_of_stream).as_raw())
            .unwrap_or_else(|| self.stream_slow(id, StreamEvent::UpstreamData(size, end_of_stream)))
    }

    fn downstream_close(&self, id: u32, peer: u32) {
        let fast = self.tcp_fast(id, |t| {
            t.on_downstream_close(PeerType::from_raw(peer));
            0
        });
        if fast.is_none() {
            self.stream_slow(id, StreamEvent::DownstreamClose(peer));
        }
    }

    fn upstream_close(&self, id: u32, peer: u32) {
        let fast = self.tcp_fast(id, |t| {
            t.on_upstream_close(PeerType::from_raw(peer));
            0
        });
        if fast.is_none() {
            self.stream_slow(id, StreamEvent::UpstreamClose(peer));
        }
    }

    fn request_headers(&self, id: u32, count: usize, end_of_stream: bool) -> u32 {
        self.http_fast(id, |h| h.on_request_headers(count, end_of_stream).as_raw())
            .unwrap_or_else(|| {
                self.stream_slow(id, StreamEvent::RequestHeaders(count, end_of_stream))
            })
    }

    fn request_body(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        self.http_fast(id, |h| h.on_request_body(size, end_of_stream).as_raw())
            .unwrap_or_else(|| self.stream_slow(id, StreamEvent::RequestBody(size, end_of_stream)))
    }

    fn request_trailers(&self, id: u32, count: usize) -> u32 {
        self.http_fast(id, |h| h.on_request_trailers(count).as_raw())
            .unwrap_or_else(|| self.stream_slow(id, StreamEvent::RequestTrailers(count)))
    }

    fn response_headers(&self, id: u32, count: usize, end_of_stream: bool) -> u32 {
        self.http_fast(id, |h| h.on_response_headers(count, end_of_stream).as_raw())
            .unwrap_or_else(|| {
                self.stream_slow(id, StreamEvent::ResponseHeaders(count, end_of_stream))
            })
    }

    fn response_body(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        self.http_fast(id, |h| h.on_response_body(size, end_of_stream).as_raw())
            .unwrap_or_else(|| self.stream_slow(id, StreamEvent::ResponseBody(size, end_of_stream)))
    }

    fn response_trailers(&self, id: u32, count: usize) -> u32 {
        self.http_fast(id, |h| h.on_response_trailers(count).as_raw())
            .unwrap_or_else(|| self.stream_slow(id, StreamEvent::ResponseTrailers(count)))
    }

    fn grpc(&self, id: u32, token: u32, export: GrpcExport, value: usize) {
        self.callout_slow(id, token, Some(export), value, 0, 0);
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
                diag(Why::Gone, "proxy_on_http_call_response", origin);
                return;
            }
            let token = HttpCallToken(token);
            let response = HttpCallResponse {
                num_headers: headers,
                body_size: body,
                num_trailers: trailers,
            };
            let fast = self.http_fast(origin, |http| {
                http.on_http_call_response(token, response);
                0
            });
            if fast.is_none() {
                self.http_response_to(origin, token.0, headers, body, trailers);
            }
            return;
        }
        self.callout_slow(id, token, None, headers, body, trailers);
    }

    fn done(&self, id: u32) -> u32 {
        let fast = self.any_fast(id, |stream| match stream {
            Ctx::Http(http) => http.on_done(),
            Ctx::Tcp(tcp) => tcp.on_done(),
            _ => {}
        });
        if fast { 1 } else { self.done_slow(id) }
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
            self.log_slow(id);
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

impl<V: VmContext, F: FnOnce() -> V> Dispatcher<V, F> {
    /// Delivers an HTTP call response to `origin` (out of line: the caller's
    /// fast path then needs no stack frame).
    #[inline(never)]
    fn http_response_to(
        &self,
        origin: u32,
        token: u32,
        headers: usize,
        body: usize,
        trailers: usize,
    ) {
        let response = HttpCallResponse {
            num_headers: headers,
            body_size: body,
            num_trailers: trailers,
        };
        let _ = self.run(origin, Op::HttpResponse(HttpCallToken(token), response));
    }

    #[inline(never)]
    fn log_slow(&self, id: u32) {
        let _ = self.run(id, Op::Log);
    }

    #[inline(never)]
    fn done_slow(&self, id: u32) -> u32 {
        self.run(id, Op::Done).unwrap_or(1)
    }

    /// Routes any callout event to the context that made the call: an HTTP
    /// call's response (`grpc` is `None`; `a`, `b`, `c` are the header count,
    /// body size and trailer count) or a gRPC callback (`a` is its argument).
    /// Scalars only, so callers build nothing in memory.
    #[inline(never)]
    fn callout_slow(
        &self,
        id: u32,
        token: u32,
        grpc: Option<GrpcExport>,
        a: usize,
        b: usize,
        c: usize,
    ) {
        let op = match grpc {
            None => Op::HttpResponse(
                HttpCallToken(token),
                HttpCallResponse {
                    num_headers: a,
                    body_size: b,
                    num_trailers: c,
                },
            ),
            Some(export) => Op::Grpc(
                GrpcToken(token),
                match export {
                    GrpcExport::InitialMetadata => GrpcEvent::InitialMetadata { count: a },
                    GrpcExport::Message => GrpcEvent::Message { size: a },
                    GrpcExport::TrailingMetadata => GrpcEvent::TrailingMetadata { count: a },
                    GrpcExport::Close => GrpcEvent::Close { status: a as u32 },
                },
            ),
        };
        let origin = self.callout_origin(token, grpc).unwrap_or(id);
        if origin != id
            && (!self.contexts.contains(origin)
                || crate::abi::calls::set_effective_context(origin).is_err())
        {
            diag(Why::Gone, op.export(), origin);
            return;
        }
        // (The common HTTP case took the fast path in `http_call_response`.)
        let _ = self.run(origin, op);
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

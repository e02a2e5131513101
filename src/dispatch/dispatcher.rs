//! The generic dispatcher: one per VM instance, monomorphised for the plugin's
//! context types.
//!
//! Size and speed: every stream callback goes through one function,
//! [`Dispatcher::run_stream`], and every plugin callback through
//! [`Dispatcher::run_root`]; each is a single `match` on the event whose arms
//! call your (usually inlined) methods. The take/put-back logic therefore
//! exists once per plugin, not once per export.

use super::table::{Lookup, Store, Table};
use super::{CalloutEvent, CalloutKind, Dispatch, GrpcCallback, Hooks, RootEvent, StreamEvent};
use crate::callout::{GrpcToken, HttpCallToken};
use crate::context::{
    Configuration, ContextId, GrpcEvent, HttpCallResponse, HttpContext, PeerType, PluginContext,
    QueueId, TcpContext, VmContext,
};
use crate::host::logging::Line;
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

/// A stream context. Created lazily on its first callback, because only then
/// does the host reveal whether it is an HTTP stream or a TCP connection.
enum Stream<H, T> {
    Pending { root: u32 },
    Http(H),
    Tcp(T),
    Unsupported,
}

/// What to run on a stream context.
#[derive(Clone, Copy)]
enum StreamOp {
    Event(StreamEvent),
    Done,
    Log,
    HttpResponse(HttpCallToken, HttpCallResponse),
    Grpc(GrpcToken, GrpcEvent),
}

impl StreamOp {
    fn export(self) -> &'static str {
        match self {
            StreamOp::Event(event) => event.export(),
            StreamOp::Done => "proxy_on_done",
            StreamOp::Log => "proxy_on_log",
            StreamOp::HttpResponse(..) => "proxy_on_http_call_response",
            StreamOp::Grpc(..) => "proxy_on_grpc_*",
        }
    }
}

/// What to run on a plugin context.
#[derive(Clone, Copy)]
enum RootOp {
    Event(RootEvent),
    Done,
    Log,
    HttpResponse(HttpCallToken, HttpCallResponse),
    Grpc(GrpcToken, GrpcEvent),
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
    roots: Store<PluginOf<V>>,
    streams: Store<Stream<HttpOf<V>, TcpOf<V>>>,
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
            roots: Store::new(),
            streams: Store::new(),
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
                    report(export, 0, true);
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

    /// Runs `op` on plugin context `id`. `None` if it is missing or busy.
    #[inline(never)]
    fn run_root(&self, id: u32, op: RootOp) -> Option<u32> {
        let mut plugin = match self.roots.take(id) {
            Lookup::Found(plugin) => plugin,
            other => {
                report(root_export(op), id, matches!(other, Lookup::Busy));
                return None;
            }
        };
        let prev = self.active.replace(id);
        let result = match op {
            RootOp::Event(RootEvent::Configure(size)) => {
                match plugin.on_configure(Configuration::plugin(size)) {
                    Ok(()) => 1,
                    Err(error) => refused("the plugin", &error),
                }
            }
            RootOp::Event(RootEvent::Tick) => {
                plugin.on_tick();
                0
            }
            RootOp::Event(RootEvent::QueueReady(token)) => {
                plugin.on_queue_ready(QueueId(token));
                0
            }
            RootOp::Event(RootEvent::Foreign(function, size)) => {
                plugin.on_foreign_function(function, size);
                0
            }
            RootOp::Event(RootEvent::Dns(token, size)) => {
                plugin.on_resolve_dns(token, size);
                0
            }
            RootOp::Event(RootEvent::VmStart(_)) => 0,
            RootOp::Done => u32::from(plugin.on_done()),
            RootOp::Log => {
                plugin.on_log();
                0
            }
            RootOp::HttpResponse(token, response) => {
                plugin.on_http_call_response(token, response);
                0
            }
            RootOp::Grpc(token, event) => {
                plugin.on_grpc_event(token, event);
                0
            }
        };
        self.active.set(prev);
        self.roots.put_back(id, plugin);
        Some(result)
    }

    /// Runs `op` on stream `id`, creating its context first if needed.
    /// `None` if it is missing or busy.
    #[inline(never)]
    fn run_stream(&self, id: u32, op: StreamOp) -> Option<u32> {
        let mut stream = match self.streams.take(id) {
            Lookup::Found(stream) => stream,
            other => {
                report(op.export(), id, matches!(other, Lookup::Busy));
                return None;
            }
        };
        if let Stream::Pending { root } = stream {
            let tcp = matches!(op, StreamOp::Event(event) if event.is_tcp());
            stream = self.create(id, root, tcp);
        }
        let prev = self.active.replace(id);
        let result = match (&mut stream, op) {
            (Stream::Http(http), StreamOp::Event(event)) => match event {
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
                other => wrong_kind(other.export(), id, "an HTTP stream"),
            },
            (Stream::Tcp(tcp), StreamOp::Event(event)) => match event {
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
                other => wrong_kind(other.export(), id, "a TCP connection"),
            },
            (Stream::Http(http), StreamOp::Done) => {
                http.on_done();
                1
            }
            (Stream::Tcp(tcp), StreamOp::Done) => {
                tcp.on_done();
                1
            }
            (Stream::Http(http), StreamOp::Log) => {
                http.on_log();
                0
            }
            (Stream::Tcp(tcp), StreamOp::Log) => {
                tcp.on_log();
                0
            }
            (Stream::Http(http), StreamOp::HttpResponse(token, response)) => {
                http.on_http_call_response(token, response);
                0
            }
            (Stream::Tcp(tcp), StreamOp::HttpResponse(token, response)) => {
                tcp.on_http_call_response(token, response);
                0
            }
            (Stream::Http(http), StreamOp::Grpc(token, event)) => {
                http.on_grpc_event(token, event);
                0
            }
            (Stream::Tcp(tcp), StreamOp::Grpc(token, event)) => {
                tcp.on_grpc_event(token, event);
                0
            }
            (_, StreamOp::Done) => 1,
            _ => 0,
        };
        self.active.set(prev);
        self.streams.put_back(id, stream);
        Some(result)
    }

    #[cold]
    #[inline(never)]
    fn create(&self, id: u32, root: u32, tcp: bool) -> Stream<HttpOf<V>, TcpOf<V>> {
        let Lookup::Found(mut plugin) = self.roots.take(root) else {
            report("proxy_on_context_create", root, false);
            return Stream::Unsupported;
        };
        let prev = self.active.replace(root);
        let made = if tcp {
            plugin.new_tcp_context(ContextId(id)).map(Stream::Tcp)
        } else {
            plugin.new_http_context(ContextId(id)).map(Stream::Http)
        };
        self.active.set(prev);
        self.roots.put_back(root, plugin);
        made.unwrap_or_else(|| no_context(id, tcp))
    }

    /// The fast path of an HTTP callback: the stream is in the hot slot.
    /// When `f` does nothing, this folds to a compare and a return.
    #[inline(always)]
    fn http_fast(&self, id: u32, f: impl FnOnce(&mut HttpOf<V>) -> u32) -> Option<u32> {
        if TCP_ONLY::<V>() || !self.streams.is_hot(id) {
            return None;
        }
        match self.streams.take_hot() {
            Some(Stream::Http(mut http)) => {
                let prev = self.active.replace(id);
                let result = f(&mut http);
                self.active.set(prev);
                self.streams.put_back(id, Stream::Http(http));
                Some(result)
            }
            other => {
                self.streams.restore_hot(other);
                None
            }
        }
    }

    /// The fast path of a TCP callback.
    #[inline(always)]
    fn tcp_fast(&self, id: u32, f: impl FnOnce(&mut TcpOf<V>) -> u32) -> Option<u32> {
        if HTTP_ONLY::<V>() || !self.streams.is_hot(id) {
            return None;
        }
        match self.streams.take_hot() {
            Some(Stream::Tcp(mut tcp)) => {
                let prev = self.active.replace(id);
                let result = f(&mut tcp);
                self.active.set(prev);
                self.streams.put_back(id, Stream::Tcp(tcp));
                Some(result)
            }
            other => {
                self.streams.restore_hot(other);
                None
            }
        }
    }

    /// The fast path of done/log: a created stream in the hot slot.
    #[inline(always)]
    fn any_fast(&self, id: u32, f: impl FnOnce(&mut Stream<HttpOf<V>, TcpOf<V>>)) -> bool {
        if !self.streams.is_hot(id) {
            return false;
        }
        match self.streams.take_hot() {
            Some(mut stream @ (Stream::Http(_) | Stream::Tcp(_))) => {
                let prev = self.active.replace(id);
                f(&mut stream);
                self.active.set(prev);
                self.streams.put_back(id, stream);
                true
            }
            other => {
                self.streams.restore_hot(other);
                false
            }
        }
    }

    #[inline(never)]
    fn stream_slow(&self, id: u32, event: StreamEvent) -> u32 {
        self.run_stream(id, StreamOp::Event(event)).unwrap_or(0)
    }

    #[inline(never)]
    fn context_create_slow(&self, id: u32, parent: u32) {
        if parent == 0 {
            if let Some(plugin) = self.with_vm(id, "proxy_on_context_create", |vm| {
                vm.new_plugin_context(ContextId(id))
            }) {
                self.roots.insert(id, plugin);
            }
        } else if HTTP_ONLY::<V>() || TCP_ONLY::<V>() {
            // Only one stream kind exists for this plugin type (known at compile
            // time), so create the context now instead of on its first callback.
            let stream = self.create(id, parent, TCP_ONLY::<V>());
            self.streams.insert(id, stream);
        } else {
            self.streams.insert(id, Stream::Pending { root: parent });
        }
    }

    /// Creates a stream context when its plugin is in the hot slot.
    #[inline(always)]
    fn create_fast(&self, id: u32, root: u32) -> Option<Stream<HttpOf<V>, TcpOf<V>>> {
        if !self.roots.is_hot(root) {
            return None;
        }
        let mut plugin = self.roots.take_hot()?;
        let prev = self.active.replace(root);
        let made = if TCP_ONLY::<V>() {
            plugin.new_tcp_context(ContextId(id)).map(Stream::Tcp)
        } else {
            plugin.new_http_context(ContextId(id)).map(Stream::Http)
        };
        self.active.set(prev);
        self.roots.put_back(root, plugin);
        Some(made.unwrap_or_else(|| no_context(id, TCP_ONLY::<V>())))
    }

    #[inline(never)]
    fn done_slow(&self, id: u32) -> u32 {
        if self.streams.contains(id) {
            self.run_stream(id, StreamOp::Done).unwrap_or(1)
        } else {
            self.run_root(id, RootOp::Done).unwrap_or(1)
        }
    }

    #[inline(never)]
    fn log_slow(&self, id: u32) {
        // A stream that never reached the filter gets on_log first (HTTP order),
        // so a pending context is created as an HTTP stream.
        if self.streams.contains(id) {
            let _ = self.run_stream(id, StreamOp::Log);
        } else {
            let _ = self.run_root(id, RootOp::Log);
        }
    }

    #[inline(never)]
    fn delete_slow(&self, id: u32) {
        match self.streams.remove(id) {
            Lookup::Found(stream) => drop(stream),
            Lookup::Busy => {}
            Lookup::Missing => match self.roots.remove(id) {
                Lookup::Found(plugin) => drop(plugin),
                Lookup::Busy => {}
                Lookup::Missing => report("proxy_on_delete", id, false),
            },
        }
    }

    /// The table of outstanding HTTP calls, or of gRPC calls and streams.
    fn callouts_of(&self, http: bool) -> &RefCell<Table> {
        let [http_calls, grpc_calls] = &self.callouts;
        if http { http_calls } else { grpc_calls }
    }

    /// Finds (and forgets, when finished) the context that made a callout.
    fn callout_origin(&self, token: u32, event: CalloutEvent) -> Option<u32> {
        let http = matches!(event, CalloutEvent::Http { .. });
        let finished = |packed: u64| match event {
            CalloutEvent::Http { .. } | CalloutEvent::Grpc(GrpcCallback::Close(_)) => true,
            CalloutEvent::Grpc(GrpcCallback::Message(_)) => packed >> 32 != 2,
            CalloutEvent::Grpc(_) => false,
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

fn root_export(op: RootOp) -> &'static str {
    match op {
        RootOp::Event(RootEvent::VmStart(_)) => "proxy_on_vm_start",
        RootOp::Event(RootEvent::Configure(_)) => "proxy_on_configure",
        RootOp::Event(RootEvent::Tick) => "proxy_on_tick",
        RootOp::Event(RootEvent::QueueReady(_)) => "proxy_on_queue_ready",
        RootOp::Event(RootEvent::Foreign(..)) => "proxy_on_foreign_function",
        RootOp::Event(RootEvent::Dns(..)) => "envoy_on_resolve_dns",
        RootOp::Done => "proxy_on_done",
        RootOp::Log => "proxy_on_log",
        RootOp::HttpResponse(..) => "proxy_on_http_call_response",
        RootOp::Grpc(..) => "proxy_on_grpc_*",
    }
}

#[cold]
#[inline(never)]
fn report(export: &'static str, id: u32, busy: bool) {
    let line = Line::new("proxywasm: ").text(export).text(" for ");
    let line = if busy {
        line.text("context ").number(id.into()).text(
            " ignored: a callback of that context is still running (the host re-entered the plugin); \
             answered with the default",
        )
    } else {
        line.text("unknown context ")
            .number(id.into())
            .text(" ignored; answered with the default")
    };
    line.error();
}

#[cold]
#[inline(never)]
fn wrong_kind(export: &'static str, id: u32, what: &str) -> u32 {
    Line::new("proxywasm: ")
        .text(export)
        .text(" for context ")
        .number(id.into())
        .text(", which is ")
        .text(what)
        .text("; ignored")
        .error();
    0
}

#[cold]
#[inline(never)]
fn refused(what: &str, error: &crate::Error) -> u32 {
    crate::host::logging::error(&format!("proxywasm: {what} refused to start: {error}"));
    0
}

#[cold]
#[inline(never)]
fn no_context<H, T>(id: u32, tcp: bool) -> Stream<H, T> {
    let what = if tcp {
        "TCP connection "
    } else {
        "HTTP stream "
    };
    Line::new("proxywasm: the plugin creates no context for ")
        .text(what)
        .number(id.into())
        .text("; it passes through untouched")
        .debug();
    Stream::Unsupported
}

#[cold]
#[inline(never)]
fn dropped(export: &'static str, origin: u32) {
    Line::new("proxywasm: ")
        .text(export)
        .text(": context ")
        .number(origin.into())
        .text(", which made the call, is gone; event dropped")
        .debug();
}

impl<V: VmContext, F: FnOnce() -> V> Dispatch for Dispatcher<V, F> {
    fn context_create(&self, id: u32, parent: u32) {
        if parent != 0 && (HTTP_ONLY::<V>() || TCP_ONLY::<V>()) && self.streams.hot_is_free() {
            if let Some(stream) = self.create_fast(id, parent) {
                self.streams.fill_hot(id, stream);
                return;
            }
        }
        self.context_create_slow(id, parent);
    }

    fn root(&self, id: u32, event: RootEvent) -> u32 {
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
                self.run_root(id, RootOp::Event(event)).unwrap_or(0)
            }
            _ => self.run_root(id, RootOp::Event(event)).unwrap_or(0),
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

    fn callout(&self, id: u32, token: u32, event: CalloutEvent) {
        self.callout_slow(id, token, event);
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
        if hot == token && origin != 0 && self.streams.is_hot(origin) {
            self.hot_call.set((0, 0));
            if origin != id && crate::abi::calls::set_effective_context(origin).is_err() {
                dropped("proxy_on_http_call_response", origin);
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
                self.run_stream_op(origin, StreamOp::HttpResponse(token, response));
            }
            return;
        }
        self.http_call_response_slow(id, token, headers, body, trailers);
    }

    fn done(&self, id: u32) -> u32 {
        let fast = self.any_fast(id, |stream| match stream {
            Stream::Http(http) => http.on_done(),
            Stream::Tcp(tcp) => tcp.on_done(),
            _ => {}
        });
        if fast { 1 } else { self.done_slow(id) }
    }

    fn log(&self, id: u32) {
        let fast = self.any_fast(id, |stream| match stream {
            Stream::Http(http) => http.on_log(),
            Stream::Tcp(tcp) => tcp.on_log(),
            _ => {}
        });
        if !fast {
            self.log_slow(id);
        }
    }

    fn delete(&self, id: u32) {
        if self.streams.is_hot(id) {
            // (An empty hot slot has id 0 and holds nothing to drop.)
            drop(self.streams.clear_hot());
        } else {
            self.delete_slow(id);
        }
    }
}

impl<V: VmContext, F: FnOnce() -> V> Dispatcher<V, F> {
    /// The slow paths of [`Dispatch::http_call_response`], out of line so the
    /// fast path needs no stack frame.
    #[inline(never)]
    fn http_call_response_slow(
        &self,
        id: u32,
        token: u32,
        headers: usize,
        body: usize,
        trailers: usize,
    ) {
        let event = CalloutEvent::Http {
            headers,
            body,
            trailers,
        };
        self.callout_slow(id, token, event);
    }

    #[inline(never)]
    fn run_stream_op(&self, id: u32, op: StreamOp) {
        let _ = self.run_stream(id, op);
    }

    /// Routes any callout event to the context that made the call.
    #[inline(never)]
    fn callout_slow(&self, id: u32, token: u32, event: CalloutEvent) {
        let origin = self.callout_origin(token, event).unwrap_or(id);
        let (stream_op, root_op) = match event {
            CalloutEvent::Http {
                headers,
                body,
                trailers,
            } => {
                let token = HttpCallToken(token);
                let response = HttpCallResponse {
                    num_headers: headers,
                    body_size: body,
                    num_trailers: trailers,
                };
                (
                    StreamOp::HttpResponse(token, response),
                    RootOp::HttpResponse(token, response),
                )
            }
            CalloutEvent::Grpc(callback) => {
                let token = GrpcToken(token);
                let event = match callback {
                    GrpcCallback::InitialMetadata(count) => GrpcEvent::InitialMetadata { count },
                    GrpcCallback::Message(size) => GrpcEvent::Message { size },
                    GrpcCallback::TrailingMetadata(count) => GrpcEvent::TrailingMetadata { count },
                    GrpcCallback::Close(status) => GrpcEvent::Close { status },
                };
                (StreamOp::Grpc(token, event), RootOp::Grpc(token, event))
            }
        };
        if origin != id {
            let live = self.streams.contains(origin) || self.roots.contains(origin);
            if !live || crate::abi::calls::set_effective_context(origin).is_err() {
                dropped(stream_op.export(), origin);
                return;
            }
        }
        // (The common HTTP case took the fast path in `http_call_response`.)
        if self.streams.contains(origin) {
            let _ = self.run_stream(origin, stream_op);
        } else {
            let _ = self.run_root(origin, root_op);
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

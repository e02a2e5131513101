//! The generic dispatcher: one per VM instance, monomorphised for the plugin's
//! context types.
//!
//! Every export becomes an [`Event`], and every event takes one route,
//! [`Dispatcher::deliver`]: take the context out of the store, run the
//! callback of its kind ([`on_plugin`], [`on_http`], [`on_tcp`]), put it back.
//! Callout events first find the context that made the call
//! ([`Dispatcher::callout`]); context creation and deletion, and the VM
//! context, have their own short paths.

use super::store::{Lookup, Store};
use super::{CalloutEvent, Dispatch, Event, HttpEvent, PluginEvent, TcpEvent};
use crate::callout::{GrpcToken, HttpCallToken};
use crate::context::{
    Configuration, GrpcEvent, HttpCallResponse, HttpContext, PeerType, PluginContext, TcpContext,
    VmContext,
};
use crate::host::logging::{LogLevel, Piece, line};
use crate::runtime::{self, CalloutKind};
use crate::{ContextId, QueueId};
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

/// The dispatcher for one VM. Not public API (reachable for macro output).
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Dispatcher<V: VmContext, F> {
    factory: Cell<Option<F>>,
    vm: Cell<Option<V>>,
    /// Plugin contexts and streams alike.
    contexts: Store<CtxOf<V>>,
    /// Events that arrived while their context's callback was running (a
    /// host that re-enters the plugin), in arrival order: each runs when its
    /// context's callback returns.
    deferred: RefCell<Vec<(u32, Event)>>,
    /// Whether `deferred` holds anything (one load on the common path).
    has_deferred: Cell<bool>,
}

impl<V: VmContext, F> Dispatcher<V, F> {
    /// A dispatcher that creates its VM context with `factory` on first use.
    pub const fn new(factory: F) -> Self {
        Dispatcher {
            factory: Cell::new(Some(factory)),
            vm: Cell::new(None),
            contexts: Store::new(),
            deferred: RefCell::new(Vec::new()),
            has_deferred: Cell::new(false),
        }
    }
}

impl<V: VmContext, F: FnOnce() -> V> Dispatcher<V, F> {
    /// Delivers `event` to context `id` and returns the callback's answer.
    /// A context whose callback is running gets the event when it returns
    /// (the host gets the default answer now); an unknown context, or an
    /// event not of its kind, is logged and answered with the default.
    ///
    /// Inlined into each export is the common case only, measured to pay
    /// (the bench's sequential and interleaved cases alike): a created
    /// stream sitting in its place of the store runs there.
    #[inline(always)]
    fn deliver(&self, id: u32, event: Event) -> u32 {
        let in_place = self.contexts.with_near(id, |context| {
            let previous = runtime::set_active(id);
            let answer = match context {
                Ctx::Http(http) => on_http(http, event),
                Ctx::Tcp(tcp) => on_tcp(tcp, event),
                _ => None,
            };
            runtime::set_active(previous);
            answer
        });
        match in_place {
            Some(answer) => {
                if self.has_deferred.get() {
                    self.run_deferred(id);
                }
                answer
            }
            None => self.deliver_anywhere(id, event),
        }
    }

    /// [`Dispatcher::deliver`] for any context, wherever the store keeps it.
    #[inline(never)]
    fn deliver_anywhere(&self, id: u32, event: Event) -> u32 {
        let mut context = match self.contexts.take(id) {
            Lookup::Found(context) => context,
            Lookup::Busy => return self.defer(id, event),
            Lookup::Missing => return undelivered(Why::Unknown, id, event),
        };
        if let Ctx::Pending { root } = context {
            // (Only plugins with both stream kinds have pending streams.)
            if !HTTP_ONLY::<V>() && !TCP_ONLY::<V>() {
                context = self.create_pending(id, root, matches!(event, Event::Tcp(_)));
            }
        }
        let previous = runtime::set_active(id);
        let answer = match &mut context {
            Ctx::Plugin(plugin) => on_plugin(plugin, event),
            Ctx::Http(http) => on_http(http, event),
            Ctx::Tcp(tcp) => on_tcp(tcp, event),
            Ctx::Pending { .. } | Ctx::Unsupported => Some(event.default_answer()),
        };
        runtime::set_active(previous);
        self.contexts.put_back(id, context);
        if self.has_deferred.get() {
            self.run_deferred(id);
        }
        answer.unwrap_or_else(|| undelivered(Why::WrongKind, id, event))
    }

    /// Keeps `event` until the running callback of context `id` returns;
    /// the host gets the default answer now. (Inlined, so the event is
    /// written straight into the queue: no export needs a stack frame.)
    #[inline(always)]
    fn defer(&self, id: u32, event: Event) -> u32 {
        if let Ok(mut deferred) = self.deferred.try_borrow_mut() {
            deferred.push((id, event));
            self.has_deferred.set(true);
        }
        undelivered(Why::Deferred, id, event)
    }

    /// Runs the events deferred for context `id`, whose callback returned
    /// (or drops them, if the context was deleted meanwhile).
    #[cold]
    #[inline(never)]
    fn run_deferred(&self, id: u32) {
        let live = self.contexts.contains(id);
        loop {
            let next = {
                let Ok(mut deferred) = self.deferred.try_borrow_mut() else {
                    return;
                };
                let next = deferred
                    .iter()
                    .position(|(of, _)| *of == id)
                    .map(|at| deferred.remove(at));
                self.has_deferred.set(!deferred.is_empty());
                next
            };
            match next {
                Some((_, event)) if live => drop(self.deliver_anywhere(id, event)),
                Some(_) => {}
                None => return,
            }
        }
    }

    /// Delivers a callout event to the context that made the call, made
    /// effective first. The event of a callout whose context is gone (or
    /// was never noted) is dropped.
    #[inline(never)]
    fn callout(&self, id: u32, event: CalloutEvent) {
        let (http, token, last): (bool, u32, fn(CalloutKind) -> bool) = match event {
            CalloutEvent::HttpResponse(token, _) => (true, token.0, |_| true),
            CalloutEvent::Grpc(token, GrpcEvent::Close { .. }) => (false, token.0, |_| true),
            CalloutEvent::Grpc(token, GrpcEvent::Message { .. }) => {
                (false, token.0, |kind| kind == CalloutKind::GrpcCall)
            }
            CalloutEvent::Grpc(token, _) => (false, token.0, |_| false),
        };
        let event = Event::Callout(event);
        let Some(origin) = runtime::callout_origin(http, token, last) else {
            diag(Why::NoOrigin, event.export(), token);
            return;
        };
        if origin != id
            && (!self.contexts.contains(origin)
                || crate::abi::calls::set_effective_context(origin).is_err())
        {
            diag(Why::Gone, event.export(), origin);
            return;
        }
        self.deliver(origin, event);
    }

    /// Runs `f` on the VM context (created on first use).
    fn with_vm<R>(&self, id: u32, export: &str, f: impl FnOnce(&mut V) -> R) -> Option<R> {
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
        let previous = runtime::set_active(id);
        let result = f(&mut vm);
        runtime::set_active(previous);
        self.vm.set(Some(vm));
        Some(result)
    }

    /// `proxy_on_vm_start`: reads the log level, then runs the VM context's
    /// `on_vm_start`.
    fn start(&self, id: u32, size: usize) -> u32 {
        runtime::refresh_log_level();
        let started = self.with_vm(id, "proxy_on_vm_start", |vm| {
            vm.on_vm_start(Configuration::vm(size))
        });
        match started {
            Some(Ok(())) => 1,
            Some(Err(error)) => refused("the VM", &error),
            None => 0,
        }
    }

    /// `proxy_on_context_create`: a plugin context (no parent) from the VM
    /// context, or a stream from its plugin context.
    #[inline(always)]
    fn create_context(&self, id: u32, parent: u32) {
        let context = if parent == 0 {
            let made = self.with_vm(id, "proxy_on_context_create", |vm| {
                vm.new_plugin_context(ContextId(id))
            });
            match made {
                Some(plugin) => Ctx::Plugin(plugin),
                None => return,
            }
        } else if HTTP_ONLY::<V>() || TCP_ONLY::<V>() {
            // Only one stream kind exists for this plugin type (known at
            // compile time): create the context now.
            self.create(id, parent, TCP_ONLY::<V>())
        } else {
            Ctx::Pending { root: parent }
        };
        self.contexts.insert(id, context);
    }

    /// Makes the context of a pending stream, on its first callback.
    #[cold]
    #[inline(never)]
    fn create_pending(&self, id: u32, root: u32, tcp: bool) -> CtxOf<V> {
        self.create(id, root, tcp)
    }

    /// Makes the context of stream `id` with its plugin context `root`
    /// (which is the active context meanwhile).
    #[inline(always)]
    fn create(&self, id: u32, root: u32, tcp: bool) -> CtxOf<V> {
        let mut plugin = match self.contexts.take(root) {
            Lookup::Found(Ctx::Plugin(plugin)) => plugin,
            Lookup::Found(other) => {
                self.contexts.put_back(root, other);
                return no_context(id);
            }
            Lookup::Busy | Lookup::Missing => return no_context(id),
        };
        let previous = runtime::set_active(root);
        let made = if tcp {
            plugin.new_tcp_context(ContextId(id)).map(Ctx::Tcp)
        } else {
            plugin.new_http_context(ContextId(id)).map(Ctx::Http)
        };
        runtime::set_active(previous);
        self.contexts.put_back(root, Ctx::Plugin(plugin));
        made.unwrap_or_else(|| no_context(id))
    }

    /// `proxy_on_delete`: drops the context (when its callback returns, if
    /// one is running, with the events deferred for it) and forgets its
    /// callouts.
    #[inline(always)]
    fn delete_context(&self, id: u32) {
        match self.contexts.remove(id) {
            Lookup::Found(context) => drop(context),
            Lookup::Busy => {}
            Lookup::Missing => {
                diag(Why::Unknown, "proxy_on_delete", id);
            }
        }
        runtime::forget_callouts_of(id);
    }
}

/// Runs `event` on a plugin context; `None` if it is not a plugin's event.
#[inline(always)]
fn on_plugin<P: PluginContext>(plugin: &mut P, event: Event) -> Option<u32> {
    let answer = match event {
        Event::Plugin(PluginEvent::Configure { size }) => {
            match plugin.on_configure(Configuration::plugin(size)) {
                Ok(()) => 1,
                Err(error) => refused("the plugin", &error),
            }
        }
        Event::Plugin(PluginEvent::Tick) => {
            plugin.on_tick();
            0
        }
        Event::Plugin(PluginEvent::QueueReady(queue)) => {
            plugin.on_queue_ready(queue);
            0
        }
        Event::Plugin(PluginEvent::ForeignFunction { function, size }) => {
            plugin.on_foreign_function(function, size);
            0
        }
        Event::Plugin(PluginEvent::ResolveDns { token, size }) => {
            plugin.on_resolve_dns(token, size);
            0
        }
        Event::Callout(CalloutEvent::HttpResponse(token, response)) => {
            plugin.on_http_call_response(token, response);
            0
        }
        Event::Callout(CalloutEvent::Grpc(token, event)) => {
            plugin.on_grpc_event(token, event);
            0
        }
        Event::Done => u32::from(plugin.on_done()),
        Event::Log => {
            plugin.on_log();
            0
        }
        Event::Http(_) | Event::Tcp(_) => return None,
    };
    Some(answer)
}

/// Runs `event` on an HTTP stream; `None` if it is not an HTTP stream's.
#[inline(always)]
fn on_http<H: HttpContext>(http: &mut H, event: Event) -> Option<u32> {
    let answer = match event {
        Event::Http(event) => match event {
            HttpEvent::RequestHeaders {
                count,
                end_of_stream,
            } => http.on_request_headers(count, end_of_stream),
            HttpEvent::RequestBody {
                size,
                end_of_stream,
            } => http.on_request_body(size, end_of_stream),
            HttpEvent::RequestTrailers { count } => http.on_request_trailers(count),
            HttpEvent::ResponseHeaders {
                count,
                end_of_stream,
            } => http.on_response_headers(count, end_of_stream),
            HttpEvent::ResponseBody {
                size,
                end_of_stream,
            } => http.on_response_body(size, end_of_stream),
            HttpEvent::ResponseTrailers { count } => http.on_response_trailers(count),
        }
        .as_raw(),
        Event::Callout(CalloutEvent::HttpResponse(token, response)) => {
            http.on_http_call_response(token, response);
            0
        }
        Event::Callout(CalloutEvent::Grpc(token, event)) => {
            http.on_grpc_event(token, event);
            0
        }
        Event::Done => {
            http.on_done();
            1
        }
        Event::Log => {
            http.on_log();
            0
        }
        Event::Tcp(_) | Event::Plugin(_) => return None,
    };
    Some(answer)
}

/// Runs `event` on a TCP connection; `None` if it is not a connection's.
#[inline(always)]
fn on_tcp<T: TcpContext>(tcp: &mut T, event: Event) -> Option<u32> {
    let answer = match event {
        Event::Tcp(event) => match event {
            TcpEvent::NewConnection => tcp.on_new_connection().as_raw(),
            TcpEvent::DownstreamData {
                size,
                end_of_stream,
            } => tcp.on_downstream_data(size, end_of_stream).as_raw(),
            TcpEvent::UpstreamData {
                size,
                end_of_stream,
            } => tcp.on_upstream_data(size, end_of_stream).as_raw(),
            TcpEvent::DownstreamClose(peer) => {
                tcp.on_downstream_close(peer);
                0
            }
            TcpEvent::UpstreamClose(peer) => {
                tcp.on_upstream_close(peer);
                0
            }
        },
        Event::Callout(CalloutEvent::HttpResponse(token, response)) => {
            tcp.on_http_call_response(token, response);
            0
        }
        Event::Callout(CalloutEvent::Grpc(token, event)) => {
            tcp.on_grpc_event(token, event);
            0
        }
        Event::Done => {
            tcp.on_done();
            1
        }
        Event::Log => {
            tcp.on_log();
            0
        }
        Event::Http(_) | Event::Plugin(_) => return None,
    };
    Some(answer)
}

/// Why the dispatcher did not deliver an event at once: one message each,
/// built by one function.
#[derive(Clone, Copy)]
enum Why {
    /// No context has the id (error level).
    Unknown,
    /// The VM context is busy: the host re-entered its start-up (error
    /// level).
    Busy,
    /// The context's callback is still running: the host re-entered the
    /// plugin; the event runs when that callback returns (debug level).
    Deferred,
    /// The event is not one this kind of context takes (error level).
    WrongKind,
    /// A callout's origin context is gone (debug level).
    Gone,
    /// No outstanding callout has the token: its context was deleted, or it
    /// finished (debug level).
    NoOrigin,
    /// The plugin creates no context for a stream (debug level).
    NoContext,
}

/// Logs why `event` for context `id` was not delivered at once, returning
/// its default answer. (Inlined: only scalars reach `diag`.)
#[inline(always)]
fn undelivered(why: Why, id: u32, event: Event) -> u32 {
    diag(why, event.export(), id);
    event.default_answer()
}

/// Logs why the event of `export` for `id` (a context, or a callout token)
/// was not delivered at once.
#[cold]
#[inline(never)]
fn diag(why: Why, export: &str, id: u32) {
    let (middle, end) = match why {
        Why::Unknown => (
            " for unknown context ",
            " ignored; answered with the default",
        ),
        Why::Busy => (
            " for context ",
            " ignored: the VM context is busy (re-entered); answered with the default",
        ),
        Why::Deferred => (
            " for context ",
            " deferred until its running callback returns (re-entered); answered with the default",
        ),
        Why::WrongKind => (" for context ", " ignored: not a callback of its kind"),
        Why::Gone => (": context ", ", which made the call, is gone; dropped"),
        Why::NoOrigin => (
            ": no context waits for callout ",
            " (its context is gone); dropped",
        ),
        Why::NoContext => (
            ": the plugin creates no context for stream ",
            "; it passes through untouched",
        ),
    };
    let level = match why {
        Why::Unknown | Why::Busy | Why::WrongKind => LogLevel::Error,
        Why::Deferred | Why::Gone | Why::NoOrigin | Why::NoContext => LogLevel::Debug,
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

/// Each export builds its event and delivers it.
impl<V: VmContext, F: FnOnce() -> V> Dispatch for Dispatcher<V, F> {
    fn context_create(&self, id: u32, parent: u32) {
        self.create_context(id, parent);
    }

    fn vm_start(&self, id: u32, configuration_size: usize) -> u32 {
        self.start(id, configuration_size)
    }

    fn configure(&self, id: u32, configuration_size: usize) -> u32 {
        runtime::refresh_log_level();
        let size = configuration_size;
        self.deliver(id, Event::Plugin(PluginEvent::Configure { size }))
    }

    fn tick(&self, id: u32) {
        runtime::refresh_log_level();
        self.deliver(id, Event::Plugin(PluginEvent::Tick));
    }

    fn queue_ready(&self, id: u32, queue: u32) {
        self.deliver(id, Event::Plugin(PluginEvent::QueueReady(QueueId(queue))));
    }

    fn foreign_function(&self, id: u32, function: u32, arguments_size: usize) {
        let size = arguments_size;
        self.deliver(
            id,
            Event::Plugin(PluginEvent::ForeignFunction { function, size }),
        );
    }

    fn resolve_dns(&self, id: u32, token: u32, data_size: usize) {
        let size = data_size;
        self.deliver(id, Event::Plugin(PluginEvent::ResolveDns { token, size }));
    }

    fn new_connection(&self, id: u32) -> u32 {
        self.deliver(id, Event::Tcp(TcpEvent::NewConnection))
    }

    fn downstream_data(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        let event = TcpEvent::DownstreamData {
            size,
            end_of_stream,
        };
        self.deliver(id, Event::Tcp(event))
    }

    fn upstream_data(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        let event = TcpEvent::UpstreamData {
            size,
            end_of_stream,
        };
        self.deliver(id, Event::Tcp(event))
    }

    fn downstream_close(&self, id: u32, peer: u32) {
        let peer = PeerType::from_raw(peer);
        self.deliver(id, Event::Tcp(TcpEvent::DownstreamClose(peer)));
    }

    fn upstream_close(&self, id: u32, peer: u32) {
        let peer = PeerType::from_raw(peer);
        self.deliver(id, Event::Tcp(TcpEvent::UpstreamClose(peer)));
    }

    fn request_headers(&self, id: u32, count: usize, end_of_stream: bool) -> u32 {
        let event = HttpEvent::RequestHeaders {
            count,
            end_of_stream,
        };
        self.deliver(id, Event::Http(event))
    }

    fn request_body(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        let event = HttpEvent::RequestBody {
            size,
            end_of_stream,
        };
        self.deliver(id, Event::Http(event))
    }

    fn request_trailers(&self, id: u32, count: usize) -> u32 {
        self.deliver(id, Event::Http(HttpEvent::RequestTrailers { count }))
    }

    fn response_headers(&self, id: u32, count: usize, end_of_stream: bool) -> u32 {
        let event = HttpEvent::ResponseHeaders {
            count,
            end_of_stream,
        };
        self.deliver(id, Event::Http(event))
    }

    fn response_body(&self, id: u32, size: usize, end_of_stream: bool) -> u32 {
        let event = HttpEvent::ResponseBody {
            size,
            end_of_stream,
        };
        self.deliver(id, Event::Http(event))
    }

    fn response_trailers(&self, id: u32, count: usize) -> u32 {
        self.deliver(id, Event::Http(HttpEvent::ResponseTrailers { count }))
    }

    fn http_call_response(
        &self,
        id: u32,
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
        self.callout(
            id,
            CalloutEvent::HttpResponse(HttpCallToken(token), response),
        );
    }

    fn grpc_initial_metadata(&self, id: u32, token: u32, count: usize) {
        let event = GrpcEvent::InitialMetadata { count };
        self.callout(id, CalloutEvent::Grpc(GrpcToken(token), event));
    }

    fn grpc_message(&self, id: u32, token: u32, size: usize) {
        let event = GrpcEvent::Message { size };
        self.callout(id, CalloutEvent::Grpc(GrpcToken(token), event));
    }

    fn grpc_trailing_metadata(&self, id: u32, token: u32, count: usize) {
        let event = GrpcEvent::TrailingMetadata { count };
        self.callout(id, CalloutEvent::Grpc(GrpcToken(token), event));
    }

    fn grpc_close(&self, id: u32, token: u32, status: u32) {
        let event = GrpcEvent::Close { status };
        self.callout(id, CalloutEvent::Grpc(GrpcToken(token), event));
    }

    fn done(&self, id: u32) -> u32 {
        self.deliver(id, Event::Done)
    }

    fn log(&self, id: u32) {
        self.deliver(id, Event::Log);
    }

    fn delete(&self, id: u32) {
        self.delete_context(id);
    }
}

#[cfg(test)]
mod tests {
    use crate::callout::{HttpCall, HttpCallToken};
    use crate::mock::MockHost;
    use crate::{Action, HttpCallResponse, HttpContext, runtime};

    /// Makes a callout on every request, and logs its response.
    struct Caller;
    impl HttpContext for Caller {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
            let _ = HttpCall::new("slow")
                .header(":method", "GET")
                .header(":path", "/")
                .header(":authority", "s")
                .send();
            Action::Continue
        }
        fn on_http_call_response(&mut self, token: HttpCallToken, _r: HttpCallResponse) {
            crate::log::info!("response to {}", token.0);
        }
    }

    #[test]
    fn deleting_a_stream_forgets_its_unanswered_callouts() {
        let host = MockHost::builder().http(|_| Caller);
        let (mut a, mut b) = (host.http_stream(), host.http_stream());
        a.request_headers(&[(":path", "/")], true);
        b.request_headers(&[(":path", "/")], true);
        assert_eq!(host.run(runtime::outstanding_callouts), 2);
        let late = host
            .callouts()
            .http_from(a.id())
            .pop()
            .expect("a's callout");
        let answered = host
            .callouts()
            .http_from(b.id())
            .pop()
            .expect("b's callout");
        a.complete();
        assert_eq!(
            host.run(runtime::outstanding_callouts),
            1,
            "the deleted stream's callout is forgotten"
        );
        // Its late response is dropped, with a debug line; b's still arrives.
        host.callouts()
            .respond_http(late.token, &[(":status", "200")], b"", &[]);
        host.callouts()
            .respond_http(answered.token, &[(":status", "200")], b"", &[]);
        assert_eq!(
            host.logs().info(),
            vec![format!("response to {}", answered.token.0)]
        );
        let dropped = format!("no context waits for callout {}", late.token.0);
        assert!(
            host.logs().debug().iter().any(|l| l.contains(&dropped)),
            "{:?}",
            host.logs().debug()
        );
        assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
        assert_eq!(host.run(runtime::outstanding_callouts), 0);
        b.complete();
    }
}

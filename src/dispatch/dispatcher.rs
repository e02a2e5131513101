//! The generic dispatcher: one per VM instance, monomorphised for the plugin's
//! context types.
//!
//! Every export becomes an [`Event`], and every event takes one route,
//! [`Dispatcher::deliver`]: take the context out of its store (streams
//! first, then plugin contexts, which have a store of their own), run the
//! callback of its kind ([`on_plugin`], [`on_http`], [`on_tcp`]), put it back.
//! Callout events go to the callout layer first ([`Dispatcher::callout`],
//! `callout::route`), which finds the context that made the call and sends
//! a token call's event back here; context creation and deletion, and the
//! VM context, have their own short paths.

use super::store::{Lookup, Store};
use super::{CalloutEvent, Dispatch, Event, EventKind, HttpEvent, PluginEvent, TcpEvent};
use crate::callout::{self, Contexts, Routed};
use crate::callout::{GrpcToken, HttpCallToken};
use crate::context::{HttpContext, PluginContext, TcpContext, VmContext};
use crate::http::Phase;
use crate::logging::{LogLevel, Piece, line};
use crate::policy::{Failing, failed};
use crate::runtime::{self, IdHash, IdMap};
use crate::{Action, Configuration, GrpcEvent, HttpCallResponse, PeerType};
use crate::{ContextId, QueueId};
use core::any::Any;
use core::cell::{Cell, RefCell};
use proxywasm_abi::Export;

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

/// Per [`EventKind`] (by `kind as usize`): whether its events must reach
/// the plugin's contexts, because a context type writes its callback
/// ([`crate::Callbacks`]) or because the kind is not
/// [`EventKind::skippable`]. Everything reaches the contexts of a plugin
/// with both stream kinds: a stream's kind is known only at its first
/// callback, which creates its context.
#[allow(non_snake_case)]
const fn WRITTEN<V: VmContext>() -> [bool; EventKind::ALL.len()] {
    let mut written = [true; EventKind::ALL.len()];
    if !HTTP_ONLY::<V>() && !TCP_ONLY::<V>() {
        return written;
    }
    let mut at = 0;
    while at < written.len() {
        let kind = EventKind::ALL[at];
        let name = kind.callback_bytes();
        // Which context kinds receive it.
        let (plugin, http, tcp) = match kind {
            EventKind::RequestHeaders
            | EventKind::RequestBody
            | EventKind::RequestTrailers
            | EventKind::ResponseHeaders
            | EventKind::ResponseBody
            | EventKind::ResponseTrailers => (false, true, false),
            EventKind::NewConnection
            | EventKind::DownstreamData
            | EventKind::UpstreamData
            | EventKind::DownstreamClose
            | EventKind::UpstreamClose => (false, false, true),
            EventKind::Configure
            | EventKind::Tick
            | EventKind::QueueReady
            | EventKind::ForeignFunction
            | EventKind::ResolveDns => (true, false, false),
            _ => (true, true, true),
        };
        written[at] = !kind.skippable()
            || (plugin && <PluginOf<V> as PluginContext>::CALLBACKS.contains_bytes(name))
            || (http && <HttpOf<V> as HttpContext>::CALLBACKS.contains_bytes(name))
            || (tcp && <TcpOf<V> as TcpContext>::CALLBACKS.contains_bytes(name));
        at += 1;
    }
    written
}

/// A context as the stores hold it: the plugin store holds `Plugin`s, the
/// stream store the other kinds (one type for both, so that the two stores
/// share their code). The streams come first: their checks are the hot ones.
enum Context<P, H, T> {
    Http(H),
    Tcp(T),
    /// A stream of a plugin with both stream kinds, created on its first
    /// callback: only then does the host reveal whether it is an HTTP stream
    /// or a TCP connection. Its plugin context is noted in
    /// [`Dispatcher::pending`].
    Pending,
    /// A stream the plugin creates no context for.
    Unsupported,
    Plugin(P),
}

type ContextOf<V> = Context<PluginOf<V>, HttpOf<V>, TcpOf<V>>;

/// The dispatcher for one VM. Not public API (reachable for macro output).
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Dispatcher<V: VmContext, F> {
    factory: Cell<Option<F>>,
    vm: Cell<Option<V>>,
    /// The plugin contexts. Kept apart from the streams: every new stream
    /// needs its plugin context, which stream ids must not push out of its
    /// place in the store.
    plugins: Store<ContextOf<V>>,
    /// The streams (a place holds the stream alone: a pending stream's
    /// plugin context is noted apart).
    streams: Store<ContextOf<V>>,
    /// The plugin context of each pending stream.
    pending: RefCell<IdMap<u32>>,
    /// Events that arrived while their context's callback was running (a
    /// host that re-enters the plugin), in arrival order: each runs when its
    /// context's callback returns.
    deferred: RefCell<Vec<(u32, Event)>>,
    /// The event [`Dispatcher::deliver`] hands to its out-of-line path. Not
    /// an argument: on wasm an event is passed in memory, and an argument in
    /// memory costs every export a stack frame, fast path or not.
    handed: Cell<Event>,
}

impl<V: VmContext, F> Dispatcher<V, F> {
    /// A dispatcher that creates its VM context with `factory` on first use.
    pub const fn new(factory: F) -> Self {
        Dispatcher {
            factory: Cell::new(Some(factory)),
            vm: Cell::new(None),
            plugins: Store::new(),
            streams: Store::new(),
            pending: RefCell::new(IdMap::with_hasher(IdHash)),
            deferred: RefCell::new(Vec::new()),
            handed: Cell::new(Event::Log),
        }
    }
}

impl<V: VmContext, F: FnOnce() -> V> Dispatcher<V, F> {
    /// [`WRITTEN`], evaluated once per plugin type at compile time.
    const WRITTEN: [bool; EventKind::ALL.len()] = WRITTEN::<V>();

    /// Whether events of `kind` must reach the plugin's contexts (else they
    /// get their default answer at once). Known at compile time in each
    /// export.
    #[inline(always)]
    fn reaches(kind: EventKind) -> bool {
        Self::WRITTEN.get(kind as usize).copied().unwrap_or(true)
    }

    /// Delivers `event` to context `id` and returns the callback's answer.
    /// A context whose callback is running gets the event when it returns
    /// (the host gets the default answer now); an unknown context, or an
    /// event not of its kind, is logged and answered with the default.
    ///
    /// Inlined into each export is the common case only: a created stream
    /// sitting in its place of the store runs there (measured on sequential
    /// and interleaved streams alike).
    #[inline(always)]
    fn deliver(&self, id: u32, event: Event) -> u32 {
        // (Which contexts the callback takes is checked before the take-out:
        // a context of another kind is then not taken out and put back.)
        let wanted = |stream: &ContextOf<V>| match stream {
            Context::Http(_) => !TCP_ONLY::<V>(),
            Context::Tcp(_) => !HTTP_ONLY::<V>(),
            _ => false,
        };
        let in_place = self.streams.with_near(id, wanted, |stream| {
            // (The guards leave out, at compile time, a kind the plugin
            // type does not have: one compare fewer.)
            runtime::as_active(id, || match stream {
                Context::Http(http) if !TCP_ONLY::<V>() => on_http(http, id, event),
                Context::Tcp(tcp) if !HTTP_ONLY::<V>() => on_tcp(tcp, id, event),
                _ => None,
            })
        });
        match in_place {
            Some((answer, deferred)) => {
                if deferred {
                    self.run_deferred(id);
                }
                answer
            }
            None => {
                self.handed.set(event);
                self.deliver_handed(id)
            }
        }
    }

    /// [`Dispatcher::deliver`] of the event in `handed`, for any context.
    #[inline(never)]
    fn deliver_handed(&self, id: u32) -> u32 {
        self.deliver_anywhere(id, self.handed.get())
    }

    /// [`Dispatcher::deliver`] for any context, wherever the stores keep it:
    /// a stream, else a plugin context.
    fn deliver_anywhere(&self, id: u32, event: Event) -> u32 {
        let to_stream = self.streams.with(id, |stream| {
            if let Context::Pending = stream {
                // (Only plugins with both stream kinds have pending streams.)
                if !HTTP_ONLY::<V>() && !TCP_ONLY::<V>() {
                    *stream = self.create_pending(id, matches!(event, Event::Tcp(_)));
                }
            }
            runtime::as_active(id, || match stream {
                Context::Http(http) => on_http(http, id, event),
                Context::Tcp(tcp) => on_tcp(tcp, id, event),
                Context::Pending | Context::Unsupported => Some(event.default_answer()),
                Context::Plugin(_) => None,
            })
        });
        let delivered = match to_stream {
            Lookup::Missing => self.plugins.with(id, |context| match context {
                Context::Plugin(plugin) => runtime::as_active(id, || on_plugin(plugin, id, event)),
                _ => None,
            }),
            found_or_busy => found_or_busy,
        };
        match delivered {
            Lookup::Found((answer, deferred)) => {
                if deferred {
                    self.run_deferred(id);
                }
                answer.unwrap_or_else(|| undelivered(Why::WrongKind, id, event))
            }
            Lookup::Busy => self.defer(id, event),
            Lookup::Missing => undelivered(Why::Unknown, id, event),
        }
    }

    /// Whether context `id` is live.
    fn contains(&self, id: u32) -> bool {
        self.streams.contains(id) || self.plugins.contains(id)
    }

    /// Keeps `event` until the running callback of context `id` returns;
    /// the host gets the default answer now.
    fn defer(&self, id: u32, event: Event) -> u32 {
        if let Ok(mut deferred) = self.deferred.try_borrow_mut() {
            deferred.push((id, event));
            self.streams.mark_deferred(id);
            self.plugins.mark_deferred(id);
        }
        undelivered(Why::Deferred, id, event)
    }

    /// Runs the events deferred for context `id`, whose callback returned
    /// (or drops them, if the context was deleted meanwhile).
    #[cold]
    #[inline(never)]
    fn run_deferred(&self, id: u32) {
        let live = self.contains(id);
        loop {
            let next = {
                let Ok(mut deferred) = self.deferred.try_borrow_mut() else {
                    return;
                };
                deferred
                    .iter()
                    .position(|(of, _)| *of == id)
                    .map(|at| deferred.remove(at))
            };
            match next {
                Some((_, event)) if live => drop(self.deliver_anywhere(id, event)),
                Some(_) => {}
                None => return,
            }
        }
    }

    /// Delivers a callout event to the context that made the call, made
    /// effective first. The callout layer routes it ([`callout::route`]): a
    /// call's closure or awaiting task it runs itself; a token call's event
    /// comes back here for the context's callout callback. The event of a
    /// callout whose context is gone (or was never noted) is dropped.
    #[inline(never)]
    fn callout(&self, id: u32, callout: CalloutEvent) {
        let event = Event::Callout(callout);
        // (The answers of these paths go nowhere: a callout event has none.)
        match callout::route(self, id, callout) {
            // (The calling context is usually a stream in its place of the
            // store: `deliver`'s inlined path finds it there, 70 less per
            // token callout than `deliver_anywhere`.)
            Routed::Callback(origin) => {
                self.deliver(origin, event);
            }
            Routed::NotLast(token) => {
                undelivered(Why::NotLast, token, event);
            }
            Routed::Delivered => return,
            Routed::NoOrigin(token) => {
                undelivered(Why::NoOrigin, token, event);
                return;
            }
            Routed::Gone(origin) => {
                undelivered(Why::Gone, origin, event);
                return;
            }
        }
        runtime::run_due(runtime::active());
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
        let result = runtime::as_active(id, || f(&mut vm));
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
        if parent == 0 {
            let made = self.with_vm(id, "proxy_on_context_create", |vm| {
                vm.new_plugin_context(ContextId(id))
            });
            if let Some(plugin) = made {
                self.plugins.insert(id, Context::Plugin(plugin));
            }
        } else if HTTP_ONLY::<V>() || TCP_ONLY::<V>() {
            // Only one stream kind exists for this plugin type (known at
            // compile time): create the context now.
            self.streams
                .insert(id, self.create(id, parent, TCP_ONLY::<V>()));
        } else {
            if let Ok(mut pending) = self.pending.try_borrow_mut() {
                pending.insert(id, parent);
            }
            self.streams.insert(id, Context::Pending);
        }
    }

    /// Makes the context of a pending stream, on its first callback.
    #[cold]
    #[inline(never)]
    fn create_pending(&self, id: u32, tcp: bool) -> ContextOf<V> {
        let root = self
            .pending
            .try_borrow_mut()
            .ok()
            .and_then(|mut p| p.remove(&id));
        match root {
            Some(root) => self.create(id, root, tcp),
            None => no_context(id),
        }
    }

    /// Makes the context of stream `id` with its plugin context `root`
    /// (which is the active context meanwhile).
    #[inline(always)]
    fn create(&self, id: u32, root: u32, tcp: bool) -> ContextOf<V> {
        let made = self.plugins.with(root, |context| {
            let Context::Plugin(plugin) = context else {
                return None;
            };
            runtime::as_active(root, || {
                if tcp {
                    plugin.new_tcp_context(ContextId(id)).map(Context::Tcp)
                } else {
                    plugin.new_http_context(ContextId(id)).map(Context::Http)
                }
            })
        });
        match made {
            Lookup::Found((made, deferred)) => {
                if deferred {
                    self.run_deferred(root);
                }
                made.unwrap_or_else(|| no_context(id))
            }
            Lookup::Busy | Lookup::Missing => no_context(id),
        }
    }

    /// `proxy_on_delete`: drops the context (when its callback returns, if
    /// one is running, with the events deferred for it) and forgets its
    /// callouts.
    #[inline(always)]
    fn delete_context(&self, id: u32) {
        match self.streams.remove(id) {
            Lookup::Found(stream) => drop(stream),
            // Dropped when its callback returns; the events deferred for it
            // are dropped now.
            Lookup::Busy => self.run_deferred(id),
            Lookup::Missing => match self.plugins.remove(id) {
                Lookup::Found(plugin) => drop(plugin),
                Lookup::Busy => self.run_deferred(id),
                Lookup::Missing => diag(Why::Unknown, "proxy_on_delete", id),
            },
        }
        if !HTTP_ONLY::<V>() && !TCP_ONLY::<V>() {
            if let Ok(mut pending) = self.pending.try_borrow_mut() {
                pending.remove(&id);
            }
        }
        if runtime::any_outstanding() {
            forget_outstanding(id);
        }
    }
}

/// The dispatcher lends its contexts to the callout layer, which runs
/// callout closures on them.
impl<V: VmContext, F: FnOnce() -> V> Contexts for Dispatcher<V, F> {
    fn is_live(&self, id: u32) -> bool {
        self.contains(id)
    }

    fn lend(&self, id: u32, run: &mut dyn FnMut(&mut dyn Any, Failing) -> bool) -> bool {
        let mut lent = |context: &mut ContextOf<V>| match context {
            Context::Http(http) => run(http, Failing::Http(HttpOf::<V>::ON_ERROR)),
            Context::Tcp(tcp) => run(tcp, Failing::Tcp(TcpOf::<V>::ON_ERROR)),
            Context::Plugin(plugin) => run(plugin, Failing::Plugin),
            Context::Pending | Context::Unsupported => false,
        };
        let found = match self.streams.with(id, &mut lent) {
            Lookup::Missing => self.plugins.with(id, &mut lent),
            found_or_busy => found_or_busy,
        };
        match found {
            Lookup::Found((ran, deferred)) => {
                if deferred {
                    self.run_deferred(id);
                }
                ran
            }
            Lookup::Busy | Lookup::Missing => false,
        }
    }
}

/// Runs `event` on a plugin context; `None` if it is not a plugin's event.
#[inline(always)]
fn on_plugin<P: PluginContext>(plugin: &mut P, id: u32, event: Event) -> Option<u32> {
    let result = match event {
        Event::Plugin(PluginEvent::Configure { size }) => {
            return Some(match plugin.on_configure(Configuration::plugin(size)) {
                Ok(()) => 1,
                Err(error) => refused("the plugin", &error),
            });
        }
        Event::Plugin(PluginEvent::Tick) => plugin.on_tick(),
        Event::Plugin(PluginEvent::QueueReady(queue)) => plugin.on_queue_ready(queue),
        Event::Plugin(PluginEvent::ForeignFunction { function, size }) => {
            plugin.on_foreign_function(crate::foreign::FunctionId(function), size)
        }
        Event::Plugin(PluginEvent::ResolveDns { token, size }) => {
            plugin.on_resolve_dns(crate::dns::DnsToken(token), size)
        }
        Event::Callout(CalloutEvent::HttpResponse(token, response)) => {
            plugin.on_http_call_response(token, response)
        }
        Event::Callout(CalloutEvent::Grpc(token, event)) => plugin.on_grpc_event(token, event),
        Event::Done => return Some(u32::from(plugin.on_done())),
        Event::Log => plugin.on_log(),
        Event::Http(_) | Event::Tcp(_) => return None,
    };
    Some(match result {
        Ok(()) => 0,
        Err(error) => failed_callback(Failing::Plugin, id, event.kind(), &error),
    })
}

/// Runs `event` on an HTTP stream; `None` if it is not an HTTP stream's.
#[inline(always)]
fn on_http<H: HttpContext>(http: &mut H, id: u32, event: Event) -> Option<u32> {
    let result = match event {
        Event::Http(http_event) => match http_event {
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
        .map(Action::discriminant),
        Event::Callout(CalloutEvent::HttpResponse(token, response)) => {
            http.on_http_call_response(token, response).map(|()| 0)
        }
        Event::Callout(CalloutEvent::Grpc(token, event)) => {
            http.on_grpc_event(token, event).map(|()| 0)
        }
        Event::Done => http.on_done().map(|()| 1),
        Event::Log => http.on_log().map(|()| 0),
        Event::Tcp(_) | Event::Plugin(_) => return None,
    };
    let (discriminant, failed) = match result {
        Ok(answer) if answer <= 1 => return Some(answer),
        Ok(discriminant) => (discriminant, false),
        Err(error) => {
            runtime::hand_failure(error);
            (0, true)
        }
    };
    Some(unusual(
        Failing::Http(H::ON_ERROR),
        id,
        event.kind(),
        discriminant,
        failed,
    ))
}

/// Runs `event` on a TCP connection; `None` if it is not a connection's.
#[inline(always)]
fn on_tcp<T: TcpContext>(tcp: &mut T, id: u32, event: Event) -> Option<u32> {
    let result = match event {
        Event::Tcp(tcp_event) => match tcp_event {
            TcpEvent::NewConnection => tcp.on_new_connection().map(Action::discriminant),
            TcpEvent::DownstreamData {
                size,
                end_of_stream,
            } => tcp
                .on_downstream_data(size, end_of_stream)
                .map(Action::discriminant),
            TcpEvent::UpstreamData {
                size,
                end_of_stream,
            } => tcp
                .on_upstream_data(size, end_of_stream)
                .map(Action::discriminant),
            TcpEvent::DownstreamClose(peer) => tcp.on_downstream_close(peer).map(|()| 0),
            TcpEvent::UpstreamClose(peer) => tcp.on_upstream_close(peer).map(|()| 0),
        },
        Event::Callout(CalloutEvent::HttpResponse(token, response)) => {
            tcp.on_http_call_response(token, response).map(|()| 0)
        }
        Event::Callout(CalloutEvent::Grpc(token, event)) => {
            tcp.on_grpc_event(token, event).map(|()| 0)
        }
        Event::Done => tcp.on_done().map(|()| 1),
        Event::Log => tcp.on_log().map(|()| 0),
        Event::Http(_) | Event::Plugin(_) => return None,
    };
    let (discriminant, failed) = match result {
        Ok(answer) if answer <= 1 => return Some(answer),
        Ok(discriminant) => (discriminant, false),
        Err(error) => {
            runtime::hand_failure(error);
            (0, true)
        }
    };
    Some(unusual(
        Failing::Tcp(T::ON_ERROR),
        id,
        event.kind(),
        discriminant,
        failed,
    ))
}

/// A stream callback's answer that is not Continue or Pause (nor the 0/1
/// of a callback without an action): an error (`failed`: the callback
/// handed it over with [`runtime::hand_failure`]), for [`failed_callback`],
/// or else the `discriminant` of a finer [`Action`], answered with its wire value for
/// the callback's kind, or [`misplaced`] where it has none.
///
/// One out-of-line call on the branch errors already took, so that Continue
/// and Pause cost what they did with two variants; the discriminant is a
/// plain argument, 0 on the error path, so that in a plugin whose actions are
/// all Continue or Pause every call passes 0 and the compiler drops the
/// finer half (the bench's noop and add_header figures hold both).
#[cold]
#[inline(never)]
fn unusual(kind: Failing, id: u32, event: EventKind, discriminant: u32, failed: bool) -> u32 {
    if let Some(error) = failed.then(runtime::take_failure).flatten() {
        return failed_callback(kind, id, event, &error);
    }
    let phase = match event {
        EventKind::RequestHeaders | EventKind::ResponseHeaders => Phase::Headers,
        EventKind::RequestBody | EventKind::ResponseBody => Phase::Body,
        EventKind::RequestTrailers | EventKind::ResponseTrailers => Phase::Trailers,
        _ => Phase::TcpData,
    };
    let action = Action::from_discriminant(discriminant);
    match action.raw_for(phase) {
        Some(raw) => raw,
        None => misplaced(action, id, event),
    }
}

/// A callback returned an action it has no use for (a headers-only variant
/// from a body callback, say): logs it at error level, naming the callback,
/// the context and the variant, and answers [`Action::fallback`] (Continue for
/// the continues, Pause for every stop; both mean the same in every callback).
#[cold]
#[inline(never)]
fn misplaced(action: Action, id: u32, event: EventKind) -> u32 {
    let fallback = action.fallback();
    line(
        LogLevel::Error,
        &[
            Piece::Text("proxywasm: "),
            Piece::Text(event.callback()),
            Piece::Text(" of context "),
            Piece::Number(id),
            Piece::Text(" returned Action::"),
            Piece::Text(action.name()),
            Piece::Text(", which that callback does not have; answering Action::"),
            Piece::Text(fallback.name()),
        ],
    );
    fallback.as_raw()
}

/// A callback of context `id` returned `error`: logs it once and applies the
/// context's [`ErrorPolicy`](crate::ErrorPolicy) (see [`crate::policy::failed`]). Only the
/// callbacks a stream can still be stopped in get the policy (not `on_log`,
/// `on_done` or the close callbacks); the others answer their default.
#[cold]
#[inline(never)]
fn failed_callback(kind: Failing, id: u32, event: EventKind, error: &crate::Error) -> u32 {
    let stoppable = matches!(
        event,
        EventKind::RequestHeaders
            | EventKind::RequestBody
            | EventKind::RequestTrailers
            | EventKind::ResponseHeaders
            | EventKind::ResponseBody
            | EventKind::ResponseTrailers
            | EventKind::NewConnection
            | EventKind::DownstreamData
            | EventKind::UpstreamData
            | EventKind::HttpCallResponse
            | EventKind::GrpcInitialMetadata
            | EventKind::GrpcMessage
            | EventKind::GrpcTrailingMetadata
            | EventKind::GrpcClose
    );
    match failed(kind, id, event.callback(), error, stoppable) {
        Some(action) => action.as_raw(),
        None => event.default_answer(),
    }
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
    /// No outstanding callout has the token: its context was deleted, its
    /// future was dropped, or it finished (debug level).
    NoOrigin,
    /// An event of a call whose closure waits for its last event (debug
    /// level).
    NotLast,
    /// The plugin creates no context for a stream (debug level).
    NoContext,
}

/// Logs why `event` for `id` (a context, or a callout token) was not
/// delivered at once, returning its default answer. (Out of line: one copy of
/// the export names.)
#[cold]
#[inline(never)]
fn undelivered(why: Why, id: u32, event: Event) -> u32 {
    diag(why, event.kind().export(), id);
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
            " (its context ended, or its future was dropped); dropped",
        ),
        Why::NoContext => (
            ": the plugin creates no context for stream ",
            "; it passes through untouched",
        ),
        Why::NotLast => (
            ": callout ",
            " has a closure, which waits for the call's last event; dropped",
        ),
    };
    let level = match why {
        Why::Unknown | Why::Busy | Why::WrongKind => LogLevel::Error,
        Why::Deferred | Why::Gone | Why::NoOrigin | Why::NoContext | Why::NotLast => {
            LogLevel::Debug
        }
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

/// Forgets the outstanding callouts of deleted context `id` and drops its
/// pending tasks.
#[cold]
#[inline(never)]
fn forget_outstanding(id: u32) {
    callout::forget_callouts_of(id);
    let dropped = runtime::forget_tasks_of(id);
    if dropped != 0 {
        dropped_tasks(id, dropped);
    }
}

/// Context `id` ended with `count` tasks pending, now dropped.
#[cold]
#[inline(never)]
fn dropped_tasks(id: u32, count: usize) {
    let tasks = if count == 1 {
        " pending task; dropped"
    } else {
        " pending tasks; dropped"
    };
    line(
        LogLevel::Debug,
        &[
            Piece::Text("proxywasm: context "),
            Piece::Number(id),
            Piece::Text(" ended with "),
            Piece::Number(u32::try_from(count).unwrap_or(u32::MAX)),
            Piece::Text(tasks),
        ],
    );
}

fn no_context<P, H, T>(id: u32) -> Context<P, H, T> {
    diag(Why::NoContext, "proxy_on_context_create", id);
    Context::Unsupported
}

#[cold]
#[inline(never)]
fn refused(what: &str, error: &crate::Error) -> u32 {
    let [a, b, c, d, e, f] = error.pieces();
    line(
        LogLevel::Error,
        &[
            Piece::Text("proxywasm: "),
            Piece::Text(what),
            Piece::Text(" refused to start: "),
            a,
            b,
            c,
            d,
            e,
            f,
        ],
    );
    0
}

/// Each export becomes its event and is delivered: one arm per callback row
/// of the ABI table. (Inlined: on wasm each trampoline keeps its own arm.)
impl<V: VmContext, F: FnOnce() -> V> Dispatch for Dispatcher<V, F> {
    #[inline(always)]
    fn export(&self, export: Export) -> u32 {
        let size = |n: u32| n as usize;
        let (id, event) = match export {
            Export::ContextCreate {
                context_id,
                parent_id,
            } => {
                self.create_context(context_id, parent_id);
                return 0;
            }
            Export::VmStart {
                context_id,
                configuration_size,
            } => return self.start(context_id, size(configuration_size)),
            Export::Delete { context_id } => {
                self.delete_context(context_id);
                return 0;
            }
            Export::Configure {
                context_id,
                configuration_size,
            } => {
                runtime::refresh_log_level();
                let size = size(configuration_size);
                (context_id, Event::Plugin(PluginEvent::Configure { size }))
            }
            Export::Tick { context_id } => {
                runtime::refresh_log_level();
                let answer = if Self::reaches(EventKind::Tick) {
                    self.deliver(context_id, Event::Plugin(PluginEvent::Tick))
                } else {
                    0
                };
                runtime::run_due(context_id);
                return answer;
            }
            Export::QueueReady {
                context_id,
                queue_id,
            } => (
                context_id,
                Event::Plugin(PluginEvent::QueueReady(QueueId(queue_id))),
            ),
            Export::ForeignFunction {
                context_id,
                function_id,
                arguments_size,
            } => {
                let (function, size) = (function_id, size(arguments_size));
                let event = PluginEvent::ForeignFunction { function, size };
                (context_id, Event::Plugin(event))
            }
            Export::ResolveDns {
                context_id,
                token,
                data_size,
            } => {
                let size = size(data_size);
                (
                    context_id,
                    Event::Plugin(PluginEvent::ResolveDns { token, size }),
                )
            }
            Export::NewConnection { context_id } => {
                (context_id, Event::Tcp(TcpEvent::NewConnection))
            }
            Export::DownstreamData {
                context_id,
                data_size,
                end_of_stream,
            } => {
                let size = size(data_size);
                let event = TcpEvent::DownstreamData {
                    size,
                    end_of_stream,
                };
                (context_id, Event::Tcp(event))
            }
            Export::UpstreamData {
                context_id,
                data_size,
                end_of_stream,
            } => {
                let size = size(data_size);
                let event = TcpEvent::UpstreamData {
                    size,
                    end_of_stream,
                };
                (context_id, Event::Tcp(event))
            }
            Export::DownstreamConnectionClose {
                context_id,
                peer_type,
            } => {
                let peer = PeerType::from_raw(peer_type);
                (context_id, Event::Tcp(TcpEvent::DownstreamClose(peer)))
            }
            Export::UpstreamConnectionClose {
                context_id,
                peer_type,
            } => {
                let peer = PeerType::from_raw(peer_type);
                (context_id, Event::Tcp(TcpEvent::UpstreamClose(peer)))
            }
            Export::RequestHeaders {
                context_id,
                num_headers,
                end_of_stream,
            } => {
                let count = size(num_headers);
                let event = HttpEvent::RequestHeaders {
                    count,
                    end_of_stream,
                };
                (context_id, Event::Http(event))
            }
            Export::RequestBody {
                context_id,
                body_size,
                end_of_stream,
            } => {
                let size = size(body_size);
                let event = HttpEvent::RequestBody {
                    size,
                    end_of_stream,
                };
                (context_id, Event::Http(event))
            }
            Export::RequestTrailers {
                context_id,
                num_trailers,
            } => {
                let count = size(num_trailers);
                (
                    context_id,
                    Event::Http(HttpEvent::RequestTrailers { count }),
                )
            }
            Export::ResponseHeaders {
                context_id,
                num_headers,
                end_of_stream,
            } => {
                let count = size(num_headers);
                let event = HttpEvent::ResponseHeaders {
                    count,
                    end_of_stream,
                };
                (context_id, Event::Http(event))
            }
            Export::ResponseBody {
                context_id,
                body_size,
                end_of_stream,
            } => {
                let size = size(body_size);
                let event = HttpEvent::ResponseBody {
                    size,
                    end_of_stream,
                };
                (context_id, Event::Http(event))
            }
            Export::ResponseTrailers {
                context_id,
                num_trailers,
            } => {
                let count = size(num_trailers);
                (
                    context_id,
                    Event::Http(HttpEvent::ResponseTrailers { count }),
                )
            }
            Export::HttpCallResponse {
                context_id,
                token,
                num_headers,
                body_size,
                num_trailers,
            } => {
                let response = HttpCallResponse {
                    num_headers: size(num_headers),
                    body_size: size(body_size),
                    num_trailers: size(num_trailers),
                };
                let event = CalloutEvent::HttpResponse(HttpCallToken(token), response);
                self.callout(context_id, event);
                return 0;
            }
            Export::GrpcReceiveInitialMetadata {
                context_id,
                token,
                num_elements,
            } => {
                let event = GrpcEvent::InitialMetadata {
                    count: size(num_elements),
                };
                self.callout(context_id, CalloutEvent::Grpc(GrpcToken(token), event));
                return 0;
            }
            Export::GrpcReceive {
                context_id,
                token,
                message_size,
            } => {
                let event = GrpcEvent::Message {
                    size: size(message_size),
                };
                self.callout(context_id, CalloutEvent::Grpc(GrpcToken(token), event));
                return 0;
            }
            Export::GrpcReceiveTrailingMetadata {
                context_id,
                token,
                num_elements,
            } => {
                let event = GrpcEvent::TrailingMetadata {
                    count: size(num_elements),
                };
                self.callout(context_id, CalloutEvent::Grpc(GrpcToken(token), event));
                return 0;
            }
            Export::GrpcClose {
                context_id,
                token,
                status_code,
            } => {
                let event = GrpcEvent::Close {
                    status: crate::callout::GrpcStatus::new(status_code),
                };
                self.callout(context_id, CalloutEvent::Grpc(GrpcToken(token), event));
                return 0;
            }
            Export::Done { context_id } => (context_id, Event::Done),
            Export::Log { context_id } => (context_id, Event::Log),
            // `_initialize` is the attribute's own export (natively, the
            // test's set-up): there is nothing to deliver.
            Export::Initialize => return 0,
            // A row this SDK version does not know (the table is
            // `non_exhaustive`).
            _ => return 0,
        };
        if !Self::reaches(event.kind()) {
            return event.default_answer();
        }
        self.deliver(id, event)
    }
}

#[cfg(test)]
mod tests {
    use crate::callout::{HttpCall, HttpCallToken};
    use crate::mock::MockHost;
    use crate::{Action, HttpCallResponse, HttpContext, Result, runtime};

    /// Makes a callout on every request, and logs its response.
    struct Caller;
    impl HttpContext for Caller {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            HttpCall::new("slow")
                .header(":method", "GET")
                .header(":path", "/")
                .header(":authority", "s")
                .send()?;
            Ok(Action::Continue)
        }
        fn on_http_call_response(
            &mut self,
            token: HttpCallToken,
            _r: HttpCallResponse,
        ) -> Result<()> {
            crate::log::info!("response to {}", token.0);
            Ok(())
        }
    }

    /// Sends a callout whose closure takes a context of another type.
    struct Mismatched;
    impl HttpContext for Mismatched {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            HttpCall::new("slow")
                .header(":method", "GET")
                .header(":path", "/")
                .header(":authority", "s")
                .send_then(|_: &mut Caller, _| {
                    crate::log::info!("ran");
                    Ok(())
                })?;
            Ok(Action::Pause)
        }
    }

    #[test]
    fn a_closure_for_another_context_type_is_dropped_unrun_with_an_error_line() {
        let host = MockHost::builder().http(|_| Mismatched);
        let mut stream = host.http_stream();
        assert_eq!(
            stream.request_headers(&[(":path", "/")], true),
            Action::Pause
        );
        let call = host.callouts().http().pop().expect("one call");
        host.callouts()
            .respond_http(call.token, &[(":status", "200")], b"", &[]);
        assert!(host.logs().info().is_empty(), "{:?}", host.logs().info());
        let errors = host.logs().error();
        assert!(
            errors.iter().any(|l| l.contains("takes a `")
                && l.contains("Caller")
                && l.contains("dropped unrun")),
            "{errors:?}"
        );
        assert_eq!(host.run(runtime::outstanding_callouts), 0);
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

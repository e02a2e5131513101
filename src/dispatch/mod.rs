//! Routes every `proxy_on_*` export to the registered context objects.
//!
//! Each export (in [`crate::abi::exports`]) hands its
//! [`proxywasm_abi::Export`] to [`Dispatch::export`]; the dispatcher turns it
//! into a typed [`Event`] and delivers it to the context it is for. The
//! implementation, [`dispatcher::Dispatcher`], is generic over the plugin's
//! own context types, so every callback is monomorphised for them (no
//! per-callback `dyn` call into user code).
//!
//! Rules it keeps:
//! * no borrow is held across user code (contexts are taken out of the store
//!   and put back);
//! * a callback for a context whose callback is still running (a host that
//!   re-enters the plugin) is deferred, and runs when that callback returns;
//! * contexts are dropped on `proxy_on_delete`, and their outstanding
//!   callouts forgotten;
//! * an unknown context id is logged and answered with the default;
//! * callout events go to the context that made the call (or the one made
//!   effective with [`crate::plugin::set_effective_context`]), not to the
//!   root; events of a callout whose context is gone are dropped.
//!
//! The items here are `pub` (hidden) only so that macro output in the plugin
//! crate can name them; they are not API.

pub(crate) mod anon;
pub(crate) mod dispatcher;
mod store;

pub(crate) use crate::abi::exports::Dispatch;
pub(crate) use crate::callout::CalloutEvent;
use crate::context::{HttpContext, PluginContext, TcpContext, VmContext};
use crate::{ContextId, GrpcEvent, PeerType, QueueId};

/// A callback of an HTTP stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HttpEvent {
    RequestHeaders { count: usize, end_of_stream: bool },
    RequestBody { size: usize, end_of_stream: bool },
    RequestTrailers { count: usize },
    ResponseHeaders { count: usize, end_of_stream: bool },
    ResponseBody { size: usize, end_of_stream: bool },
    ResponseTrailers { count: usize },
}

/// A callback of a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TcpEvent {
    NewConnection,
    DownstreamData { size: usize, end_of_stream: bool },
    UpstreamData { size: usize, end_of_stream: bool },
    DownstreamClose(PeerType),
    UpstreamClose(PeerType),
}

/// A callback of a plugin context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PluginEvent {
    Configure { size: usize },
    Tick,
    QueueReady(QueueId),
    ForeignFunction { function: u32, size: usize },
    ResolveDns { token: u32, size: usize },
}

/// Every callback a context can receive, by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Http(HttpEvent),
    Tcp(TcpEvent),
    Plugin(PluginEvent),
    Callout(CalloutEvent),
    /// `proxy_on_done` (any context).
    Done,
    /// `proxy_on_log` (any context).
    Log,
}

impl Event {
    /// What the event is for, without its data (see [`EventKind`]).
    #[inline(always)]
    pub(crate) const fn kind(self) -> EventKind {
        match self {
            Event::Http(event) => match event {
                HttpEvent::RequestHeaders { .. } => EventKind::RequestHeaders,
                HttpEvent::RequestBody { .. } => EventKind::RequestBody,
                HttpEvent::RequestTrailers { .. } => EventKind::RequestTrailers,
                HttpEvent::ResponseHeaders { .. } => EventKind::ResponseHeaders,
                HttpEvent::ResponseBody { .. } => EventKind::ResponseBody,
                HttpEvent::ResponseTrailers { .. } => EventKind::ResponseTrailers,
            },
            Event::Tcp(event) => match event {
                TcpEvent::NewConnection => EventKind::NewConnection,
                TcpEvent::DownstreamData { .. } => EventKind::DownstreamData,
                TcpEvent::UpstreamData { .. } => EventKind::UpstreamData,
                TcpEvent::DownstreamClose(_) => EventKind::DownstreamClose,
                TcpEvent::UpstreamClose(_) => EventKind::UpstreamClose,
            },
            Event::Plugin(event) => match event {
                PluginEvent::Configure { .. } => EventKind::Configure,
                PluginEvent::Tick => EventKind::Tick,
                PluginEvent::QueueReady(_) => EventKind::QueueReady,
                PluginEvent::ForeignFunction { .. } => EventKind::ForeignFunction,
                PluginEvent::ResolveDns { .. } => EventKind::ResolveDns,
            },
            Event::Callout(CalloutEvent::HttpResponse(..)) => EventKind::HttpCallResponse,
            Event::Callout(CalloutEvent::Grpc(_, event)) => match event {
                GrpcEvent::InitialMetadata { .. } => EventKind::GrpcInitialMetadata,
                GrpcEvent::Message { .. } => EventKind::GrpcMessage,
                GrpcEvent::TrailingMetadata { .. } => EventKind::GrpcTrailingMetadata,
                GrpcEvent::Close { .. } => EventKind::GrpcClose,
            },
            Event::Done => EventKind::Done,
            Event::Log => EventKind::Log,
        }
    }

    /// What the host gets when the event is not delivered at once:
    /// `proxy_on_done` answers "done" (1), everything else Continue or
    /// nothing (0).
    #[inline(always)]
    pub(crate) const fn default_answer(self) -> u32 {
        matches!(self, Event::Done) as u32
    }
}

/// What an [`Event`] is for, without its data: the export that carried it
/// and the callback that receives it. The cold paths (an error, an action a
/// callback has no use for, an event not delivered) take this rather than
/// the event. An event passed out of line needs a copy in memory in every
/// export that might pass it, and with that copy LLVM no longer folds away
/// the context's take-out and put-back around a default callback: about 50
/// instructions a callback in a plugin whose other callbacks have code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    RequestHeaders,
    RequestBody,
    RequestTrailers,
    ResponseHeaders,
    ResponseBody,
    ResponseTrailers,
    NewConnection,
    DownstreamData,
    UpstreamData,
    DownstreamClose,
    UpstreamClose,
    Configure,
    Tick,
    QueueReady,
    ForeignFunction,
    ResolveDns,
    HttpCallResponse,
    GrpcInitialMetadata,
    GrpcMessage,
    GrpcTrailingMetadata,
    GrpcClose,
    Done,
    Log,
}

impl EventKind {
    /// The export that carries the event, for diagnostics. (Out of line:
    /// one copy of the names, shared by every diagnostic.)
    #[inline(never)]
    pub(crate) const fn export(self) -> &'static str {
        match self {
            EventKind::RequestHeaders => "proxy_on_request_headers",
            EventKind::RequestBody => "proxy_on_request_body",
            EventKind::RequestTrailers => "proxy_on_request_trailers",
            EventKind::ResponseHeaders => "proxy_on_response_headers",
            EventKind::ResponseBody => "proxy_on_response_body",
            EventKind::ResponseTrailers => "proxy_on_response_trailers",
            EventKind::NewConnection => "proxy_on_new_connection",
            EventKind::DownstreamData => "proxy_on_downstream_data",
            EventKind::UpstreamData => "proxy_on_upstream_data",
            EventKind::DownstreamClose => "proxy_on_downstream_connection_close",
            EventKind::UpstreamClose => "proxy_on_upstream_connection_close",
            EventKind::Configure => "proxy_on_configure",
            EventKind::Tick => "proxy_on_tick",
            EventKind::QueueReady => "proxy_on_queue_ready",
            EventKind::ForeignFunction => "proxy_on_foreign_function",
            EventKind::ResolveDns => "envoy_on_resolve_dns",
            EventKind::HttpCallResponse => "proxy_on_http_call_response",
            EventKind::GrpcInitialMetadata => "proxy_on_grpc_receive_initial_metadata",
            EventKind::GrpcMessage => "proxy_on_grpc_receive",
            EventKind::GrpcTrailingMetadata => "proxy_on_grpc_receive_trailing_metadata",
            EventKind::GrpcClose => "proxy_on_grpc_close",
            EventKind::Done => "proxy_on_done",
            EventKind::Log => "proxy_on_log",
        }
    }

    /// The trait method that receives the event, for diagnostics. (It
    /// repeats [`EventKind::callback_bytes`] on `&str`: deriving it from
    /// that with `str::from_utf8` links UTF-8 validation, +830 bytes in
    /// `add_header`, and a `const` `str::split_at_checked` needs Rust 1.86.)
    #[inline(never)]
    pub(crate) fn callback(self) -> &'static str {
        match self.renamed() {
            Some(callback) => callback,
            None => match self.export().split_at_checked(6) {
                Some((_, callback)) => callback,
                None => self.export(),
            },
        }
    }

    /// [`EventKind::callback`] as bytes, for `const` evaluation (checking
    /// [`Callbacks`](crate::Callbacks) at compile time).
    pub(crate) const fn callback_bytes(self) -> &'static [u8] {
        match self.renamed() {
            Some(callback) => callback.as_bytes(),
            None => match self.export().as_bytes().split_at_checked(6) {
                Some((_, callback)) => callback,
                None => self.export().as_bytes(),
            },
        }
    }

    /// The callback's name where it is not its export's without the
    /// `proxy_` (or `envoy_`) prefix.
    const fn renamed(self) -> Option<&'static str> {
        match self {
            EventKind::GrpcInitialMetadata
            | EventKind::GrpcMessage
            | EventKind::GrpcTrailingMetadata
            | EventKind::GrpcClose => Some("on_grpc_event"),
            EventKind::DownstreamClose => Some("on_downstream_close"),
            EventKind::UpstreamClose => Some("on_upstream_close"),
            _ => None,
        }
    }

    /// Whether the dispatcher may answer the event without its context when
    /// no context type of the plugin writes its callback: not a callout's
    /// event (the SDK routes those to closures and futures too), nor
    /// `on_configure` (whose default answer, success, is not the one an
    /// event that reaches no context gets).
    pub(crate) const fn skippable(self) -> bool {
        !matches!(
            self,
            EventKind::Configure
                | EventKind::HttpCallResponse
                | EventKind::GrpcInitialMetadata
                | EventKind::GrpcMessage
                | EventKind::GrpcTrailingMetadata
                | EventKind::GrpcClose
        )
    }

    /// Every kind, in declaration order (`kind as usize` indexes it).
    pub(crate) const ALL: [EventKind; 23] = [
        EventKind::RequestHeaders,
        EventKind::RequestBody,
        EventKind::RequestTrailers,
        EventKind::ResponseHeaders,
        EventKind::ResponseBody,
        EventKind::ResponseTrailers,
        EventKind::NewConnection,
        EventKind::DownstreamData,
        EventKind::UpstreamData,
        EventKind::DownstreamClose,
        EventKind::UpstreamClose,
        EventKind::Configure,
        EventKind::Tick,
        EventKind::QueueReady,
        EventKind::ForeignFunction,
        EventKind::ResolveDns,
        EventKind::HttpCallResponse,
        EventKind::GrpcInitialMetadata,
        EventKind::GrpcMessage,
        EventKind::GrpcTrailingMetadata,
        EventKind::GrpcClose,
        EventKind::Done,
        EventKind::Log,
    ];

    /// What the host gets when the event is not delivered (see
    /// [`Event::default_answer`]).
    pub(crate) const fn default_answer(self) -> u32 {
        matches!(self, EventKind::Done) as u32
    }
}

/// A plugin's dispatcher, type-erased (natively the mock host holds any
/// plugin's this way).
/// Built by `#[proxywasm::main]` (and by the mock host from a factory).
#[doc(hidden)]
pub struct BoxedDispatcher {
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    pub(crate) dispatch: Box<dyn Dispatch>,
}

impl core::fmt::Debug for BoxedDispatcher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BoxedDispatcher")
    }
}

impl BoxedDispatcher {
    /// From a VM context factory.
    pub fn vm<V: VmContext, F: FnOnce() -> V + 'static>(factory: F) -> BoxedDispatcher {
        BoxedDispatcher {
            dispatch: Box::new(dispatcher::Dispatcher::new(factory)),
        }
    }

    /// From a plugin context factory (anonymous VM context).
    pub fn plugin<P: PluginContext, F: FnMut(ContextId) -> P + 'static>(
        factory: F,
    ) -> BoxedDispatcher {
        BoxedDispatcher::vm(move || anon::AnonVm(anon::FnMake(factory)))
    }

    /// From an HTTP context factory (anonymous VM and plugin contexts).
    pub fn http<H: HttpContext, F: FnMut(ContextId) -> H + Clone + 'static>(
        factory: F,
    ) -> BoxedDispatcher {
        BoxedDispatcher::vm(move || anon::HttpVm::new(anon::FnMake(factory)))
    }

    /// From a TCP context factory (anonymous VM and plugin contexts).
    pub fn tcp<T: TcpContext, F: FnMut(ContextId) -> T + Clone + 'static>(
        factory: F,
    ) -> BoxedDispatcher {
        BoxedDispatcher::vm(move || anon::TcpVm::new(anon::FnMake(factory)))
    }

    /// The dispatcher, as the native exports hold it.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn into_handle(self) -> crate::abi::exports::Handle {
        std::rc::Rc::from(self.dispatch)
    }
}

/// Reactor start-up, called by the `_initialize` export that
/// `#[proxywasm::main]` emits: runs static constructors and installs the
/// logger and panic hook. Envoy allows no hostcall but logging here, and this
/// makes none.
#[cfg(target_family = "wasm")]
pub fn initialize() {
    crate::abi::exports::call_constructors();
    crate::logging::install();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callout::{GrpcStatus, GrpcToken, HttpCallToken};
    use crate::{HttpCallResponse, PeerType};

    /// One event of every kind.
    fn every_event() -> Vec<Event> {
        let (http, grpc) = (HttpCallToken(4), GrpcToken(5));
        let response = HttpCallResponse {
            num_headers: 1,
            body_size: 0,
            num_trailers: 0,
        };
        let (count, size, end_of_stream) = (1, 2, true);
        vec![
            Event::Http(HttpEvent::RequestHeaders {
                count,
                end_of_stream,
            }),
            Event::Http(HttpEvent::RequestBody {
                size,
                end_of_stream,
            }),
            Event::Http(HttpEvent::RequestTrailers { count }),
            Event::Http(HttpEvent::ResponseHeaders {
                count,
                end_of_stream,
            }),
            Event::Http(HttpEvent::ResponseBody {
                size,
                end_of_stream,
            }),
            Event::Http(HttpEvent::ResponseTrailers { count }),
            Event::Tcp(TcpEvent::NewConnection),
            Event::Tcp(TcpEvent::DownstreamData {
                size,
                end_of_stream,
            }),
            Event::Tcp(TcpEvent::UpstreamData {
                size,
                end_of_stream,
            }),
            Event::Tcp(TcpEvent::DownstreamClose(PeerType::Remote)),
            Event::Tcp(TcpEvent::UpstreamClose(PeerType::Local)),
            Event::Plugin(PluginEvent::Configure { size }),
            Event::Plugin(PluginEvent::Tick),
            Event::Plugin(PluginEvent::QueueReady(QueueId(1))),
            Event::Plugin(PluginEvent::ForeignFunction { function: 0, size }),
            Event::Plugin(PluginEvent::ResolveDns { token: 1, size }),
            Event::Callout(CalloutEvent::HttpResponse(http, response)),
            Event::Callout(CalloutEvent::Grpc(
                grpc,
                GrpcEvent::InitialMetadata { count },
            )),
            Event::Callout(CalloutEvent::Grpc(grpc, GrpcEvent::Message { size })),
            Event::Callout(CalloutEvent::Grpc(
                grpc,
                GrpcEvent::TrailingMetadata { count },
            )),
            Event::Callout(CalloutEvent::Grpc(
                grpc,
                GrpcEvent::Close {
                    status: GrpcStatus::OK,
                },
            )),
            Event::Done,
            Event::Log,
        ]
    }

    #[test]
    fn every_event_kind_names_its_own_export_of_the_abi_table() {
        let events = every_event();
        let mut exports: Vec<&str> = events.iter().map(|e| e.kind().export()).collect();
        for export in &exports {
            assert!(
                proxywasm_abi::export(export).is_some(),
                "{export} is not an export of the ABI table"
            );
        }
        exports.sort_unstable();
        exports.dedup();
        assert_eq!(exports.len(), events.len(), "two kinds name one export");
    }

    #[test]
    fn every_event_kind_names_the_callback_that_receives_it() {
        let callbacks: Vec<&str> = every_event().iter().map(|e| e.kind().callback()).collect();
        assert_eq!(
            callbacks,
            [
                "on_request_headers",
                "on_request_body",
                "on_request_trailers",
                "on_response_headers",
                "on_response_body",
                "on_response_trailers",
                "on_new_connection",
                "on_downstream_data",
                "on_upstream_data",
                "on_downstream_close",
                "on_upstream_close",
                "on_configure",
                "on_tick",
                "on_queue_ready",
                "on_foreign_function",
                "on_resolve_dns",
                "on_http_call_response",
                "on_grpc_event",
                "on_grpc_event",
                "on_grpc_event",
                "on_grpc_event",
                "on_done",
                "on_log",
            ]
        );
        // Only `proxy_on_done` answers 1 ("done") by default.
        for event in every_event() {
            assert_eq!(event.default_answer(), event.kind().default_answer());
        }
    }

    #[test]
    fn every_kind_is_listed_once_at_its_index_with_its_callback_as_bytes() {
        let kinds: Vec<EventKind> = every_event().iter().map(|e| e.kind()).collect();
        assert_eq!(kinds, EventKind::ALL);
        for (at, kind) in EventKind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, at);
            assert_eq!(kind.callback_bytes(), kind.callback().as_bytes());
        }
    }
}

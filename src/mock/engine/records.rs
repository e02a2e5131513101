//! What the emulator records for tests to inspect: logs, callouts, local
//! replies, violations, and the fidelity switches.

use crate::ContextId;
use crate::callout::{GrpcToken, HttpCallToken};
use crate::logging::LogLevel;
use core::fmt;
use core::time::Duration;

/// Converts stored byte pairs to text pairs (lossy) for test assertions.
pub(crate) fn lossy_pairs(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

/// One `proxy_log` record, as the host received it.
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::logging::LogLevel;
///
/// let host = MockHost::builder().http(|_| proxywasm::mock::Noop);
/// host.run(|| proxywasm::log::warn!("careful"));
/// let record = host.logs().records().pop().unwrap();
/// assert_eq!(record.level, LogLevel::Warn);
/// assert_eq!(record.message, "careful");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// The level the plugin logged at.
    pub level: LogLevel,
    /// The message (lossy UTF-8).
    pub message: String,
    /// The context whose callback was running (0 outside callbacks).
    pub context_id: ContextId,
}

impl fmt::Display for LogRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{:?} ctx {}] {}",
            self.level, self.context_id, self.message
        )
    }
}

/// An HTTP callout the plugin dispatched (`proxy_http_call`) and the test has
/// not answered yet. Go `proxytest`'s `HttpCalloutAttribute`, plus the
/// timeout and the calling context.
///
/// ```
/// use proxywasm::callout::HttpCall;
/// use proxywasm::mock::MockHost;
///
/// let host = MockHost::builder().http(|_| proxywasm::mock::Noop);
/// host.run(|| {
///     HttpCall::new("auth").header(":method", "GET").header(":path", "/x").header(":authority", "a").send()
/// })
/// .unwrap();
/// let call = &host.callouts().http()[0];
/// assert_eq!(call.upstream, "auth");
/// assert_eq!(call.header(":path"), Some("/x"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCallout {
    /// The token the host returned (`token % 4 == 0`, as Envoy).
    pub token: HttpCallToken,
    /// The cluster name.
    pub upstream: String,
    /// Request headers (keys lower-cased).
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
    /// Request trailers (keys lower-cased).
    pub trailers: Vec<(String, String)>,
    /// The timeout (`None` for Envoy's "0 = no timeout").
    pub timeout: Option<Duration>,
    /// The context that made the call (the effective context, if one was set).
    pub context_id: ContextId,
}

impl HttpCallout {
    /// The first value of request header `name`.
    ///
    /// ```
    /// # use proxywasm::mock::HttpCallout;
    /// # let call = HttpCallout { token: proxywasm::callout::HttpCallToken(4), upstream: "u".into(),
    /// #     headers: vec![(":path".into(), "/".into())], body: vec![], trailers: vec![], timeout: None,
    /// #     context_id: proxywasm::ContextId(1) };
    /// assert_eq!(call.header(":path"), Some("/"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        first_value(&self.headers, name)
    }
}

/// A buffer the host allocated in the plugin's memory for a hostcall's
/// result (a header value, a body, a property…), which the plugin owns and
/// must free. The leak check reports those still held after the context
/// that received them is gone
/// ([`MockHost::leaked_host_memory`](crate::mock::MockHost::leaked_host_memory)).
///
/// ```
/// use proxywasm::mock::MockHost;
/// let host = MockHost::builder().property(&["k"], "value").http(|_| proxywasm::mock::Noop);
/// let kept = host.run(|| proxywasm::property::get(&["k"]));
/// let held = host.live_host_memory();
/// assert_eq!(held[0].size, 5);
/// assert_eq!(held[0].hostcall, "proxy_get_property");
/// drop(kept);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostAllocation {
    /// Its size in bytes.
    pub size: usize,
    /// The hostcall whose result it holds (ABI name).
    pub hostcall: &'static str,
    /// The context that received it (the effective context, if one was set).
    pub context_id: ContextId,
    /// The callback that was running, e.g. `"proxy_on_request_headers"`.
    pub callback: &'static str,
}

impl fmt::Display for HostAllocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes from {} in {} (context {})",
            self.size, self.hostcall, self.callback, self.context_id
        )
    }
}

/// Whether a gRPC callout is a unary call or a stream.
///
/// ```
/// assert_ne!(proxywasm::mock::GrpcKind::Call, proxywasm::mock::GrpcKind::Stream);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrpcKind {
    /// `proxy_grpc_call` (`token % 4 == 1`).
    Call,
    /// `proxy_grpc_stream` (`token % 4 == 2`).
    Stream,
}

/// A gRPC call or stream the plugin opened and that is still open.
///
/// ```
/// use proxywasm::callout::GrpcCall;
/// use proxywasm::mock::{GrpcKind, MockHost};
///
/// let host = MockHost::builder().http(|_| proxywasm::mock::Noop);
/// host.run(|| GrpcCall::new("grpc_cluster", "pkg.Svc", "Get").send(b"req")).unwrap();
/// let call = &host.callouts().grpc()[0];
/// assert_eq!(call.kind, GrpcKind::Call);
/// assert_eq!((call.service_name.as_str(), call.method.as_str()), ("pkg.Svc", "Get"));
/// assert_eq!(call.messages, vec![b"req".to_vec()]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcCallout {
    /// The token the host returned.
    pub token: GrpcToken,
    /// Call or stream.
    pub kind: GrpcKind,
    /// The `GrpcService` bytes as given (a cluster name or a serialized proto).
    pub service: Vec<u8>,
    /// The fully qualified service name.
    pub service_name: String,
    /// The method name.
    pub method: String,
    /// Initial metadata (keys lower-cased).
    pub initial_metadata: Vec<(String, String)>,
    /// Messages the plugin sent, in order (the request of a unary call, then
    /// each `proxy_grpc_send` of a stream).
    pub messages: Vec<Vec<u8>>,
    /// The timeout of a unary call.
    pub timeout: Option<Duration>,
    /// Whether the plugin half-closed its side (`end_stream` or `proxy_grpc_close`).
    pub local_closed: bool,
    /// The context that opened it.
    pub context_id: ContextId,
}

/// A DNS lookup the plugin started with `envoy_resolve_dns`.
///
/// ```
/// use proxywasm::mock::MockHost;
/// let host = MockHost::builder().http(|_| proxywasm::mock::Noop);
/// let token = host.run(|| proxywasm::dns::resolve("example.com")).unwrap();
/// assert_eq!(host.callouts().dns()[0].name, "example.com");
/// assert_eq!(host.callouts().dns()[0].token, token.0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsLookup {
    /// The token the host returned.
    pub token: u32,
    /// The name to resolve.
    pub name: String,
    /// The context that asked.
    pub context_id: ContextId,
}

/// The local reply a plugin sent (`proxy_send_local_response`). Go
/// `proxytest`'s `LocalHttpResponse`.
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, HttpContext, http::LocalResponse, Result};
///
/// struct Deny;
/// impl HttpContext for Deny {
///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         LocalResponse::new(401).header("www-authenticate", "Basic").body("no").send()?;
///         Ok(Action::Pause)
///     }
/// }
/// let host = MockHost::builder().http(|_| Deny);
/// let mut stream = host.http_stream();
/// stream.request_headers(&[(":path", "/")], true);
/// let reply = stream.local_response().unwrap();
/// assert_eq!(reply.status_code, 401);
/// assert_eq!(reply.header("www-authenticate"), Some("Basic"));
/// assert_eq!(reply.grpc_status, None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalReply {
    /// HTTP status code.
    pub status_code: u32,
    /// Response code details (spaces replaced by `_`, as Envoy does).
    pub details: String,
    /// Body.
    pub body: Vec<u8>,
    /// Extra headers (keys lower-cased), in the order given.
    pub headers: Vec<(String, String)>,
    /// The gRPC status, if one in `0..=16` was given (others mean "none").
    pub grpc_status: Option<u32>,
}

impl LocalReply {
    /// The first value of header `name` among the extra headers.
    ///
    /// ```
    /// # let reply = proxywasm::mock::LocalReply { status_code: 200, details: String::new(), body: vec![],
    /// #     headers: vec![("a".into(), "1".into())], grpc_status: None };
    /// assert_eq!(reply.header("A"), Some("1"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        first_value(&self.headers, name)
    }
}

/// A breach of Envoy's rules the emulator detected: a hostcall during
/// start-up, a hostcall strict mode did not expect, an operation on a context
/// that is gone. In strict mode the first one fails the test.
///
/// ```
/// use proxywasm::mock::{Export, MockHost};
/// let host = MockHost::builder().http(|_| proxywasm::mock::Noop);
/// host.http_stream().complete();
/// host.call_export(Export::Log { context_id: 2 }); // Envoy never calls a deleted context
/// let violation = &host.violations()[0];
/// assert_eq!(violation.hostcall, None);
/// assert!(violation.to_string().contains("already deleted"), "{violation}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The hostcall involved, if any.
    pub hostcall: Option<&'static str>,
    /// The context whose callback was running.
    pub context_id: ContextId,
    /// The callback (export) that was running, e.g. `"proxy_on_request_headers"`.
    pub callback: &'static str,
    /// What went wrong and what Envoy does.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(call) = self.hostcall {
            write!(f, "{call} ")?;
        }
        let (callback, context, message) = (self.callback, self.context_id, &self.message);
        write!(f, "in {callback} (context {context}): {message}")
    }
}

/// Envoy fidelity rules (book: reference/README.md), each on by default and
/// switchable per test with
/// [`MockHostBuilder::fidelity`](crate::mock::MockHostBuilder::fidelity).
///
/// ```
/// use proxywasm::mock::{Fidelity, MockHost};
/// let mut lenient = Fidelity::default();
/// lenient.header_lifetime = false; // Go proxytest behaviour: headers readable any time
/// let host = MockHost::builder().fidelity(lenient).http(|_| proxywasm::mock::Noop);
/// assert!(!host.fidelity().header_lifetime);
/// assert!(Fidelity::lenient() != Fidelity::envoy());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Fidelity {
    /// Header and trailer maps live only as long as Envoy keeps them: request
    /// headers are unreadable once the request continued (`get` →
    /// `BAD_ARGUMENT`, `pairs` → empty, `request.*` properties → `NOT_FOUND`),
    /// until `on_log` makes them readable again
    /// (book: reference/hostcalls.md#header-maps). Off: every map of a stream
    /// is readable and writable in any of its callbacks.
    pub header_lifetime: bool,
    /// Only `proxy_log` is allowed during start-up (`_initialize`, `main`,
    /// static constructors; natively the builder's `on_initialize` code): any
    /// other hostcall traps, as in Envoy, which fails the VM. The test fails
    /// with the rule as its message, and the violation is recorded. Off: the
    /// hostcall is served.
    pub restricted_start_up: bool,
    /// Callout responses (HTTP, gRPC, DNS) arrive on the **root** context id of
    /// the context that made the call, even for a call made from a tick or
    /// from a stream (book: reference/hostcalls.md#http-callouts). Off: they
    /// arrive on the calling context's own id, as some other hosts do.
    pub callouts_on_root: bool,
    /// A local reply sent before the response started passes through this
    /// plugin's own `on_response_headers`/`on_response_body`
    /// (book: reference/hostcalls.md#local-responses).
    pub local_reply_through_filter: bool,
}

impl Fidelity {
    /// Every rule on (the default).
    ///
    /// ```
    /// assert_eq!(proxywasm::mock::Fidelity::envoy(), Default::default());
    /// ```
    pub const fn envoy() -> Fidelity {
        Fidelity {
            header_lifetime: true,
            restricted_start_up: true,
            callouts_on_root: true,
            local_reply_through_filter: true,
        }
    }

    /// Every rule off: closest to Go `proxytest`.
    ///
    /// ```
    /// assert!(!proxywasm::mock::Fidelity::lenient().header_lifetime);
    /// ```
    pub const fn lenient() -> Fidelity {
        Fidelity {
            header_lifetime: false,
            restricted_start_up: false,
            callouts_on_root: false,
            local_reply_through_filter: false,
        }
    }
}

impl Default for Fidelity {
    fn default() -> Fidelity {
        Fidelity::envoy()
    }
}

/// The first value of header `name` (any case) in `headers`.
pub(crate) fn first_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

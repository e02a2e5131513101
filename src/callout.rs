//! Outbound calls: HTTP callouts and gRPC calls/streams.
//!
//! A call returns a token at once; the response arrives later as a callback on
//! **the context that made the call** — the HTTP stream, TCP connection or
//! plugin — not only on the plugin context as the raw ABI does. The SDK makes
//! that context effective first, so `resume_request()` and header calls in
//! the callback act on the right stream. If that context is gone by then, the
//! response is dropped (and logged at debug level).
//!
//! Three ways to receive the response, side by side in the book's Callouts
//! chapter:
//! * **token**: [`HttpCall::send`] returns a token, and the context's
//!   `on_http_call_response` (or `on_grpc_event`) receives it with the
//!   response;
//! * **closure**: [`HttpCall::send_then`] and [`GrpcCall::send_then`] take
//!   the code to run with the context and the response;
//! * **async**: [`HttpCall::send_async`] and [`GrpcCall::send_async`] return
//!   a future to `.await` in a task the context spawned
//!   ([`HttpContext::spawn`](crate::HttpContext::spawn)).

use crate::Result;
use crate::abi::calls;
use crate::abi::memory::HostBytes;
use crate::abi::wire::{self, buffer, map};
use crate::buffer::Buffer;
use crate::error::{Piece, check};
use crate::map::{HeaderMap, HeaderPairs, StaticPairs};
use crate::policy::{Failing, failed};
use crate::runtime::{self, CalloutKind, Then};
use crate::time::millis;
use core::any::Any;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

/// What [`HttpContext::on_http_call_response`] and friends receive: the shape
/// of an HTTP callout's response. Read its parts with
/// [`crate::callout::response_headers`], [`crate::callout::response_body`] and
/// [`crate::callout::response_trailers`] while the callback runs.
///
/// [`HttpContext::on_http_call_response`]: crate::HttpContext::on_http_call_response
///
/// ```
/// let response = proxywasm::HttpCallResponse { num_headers: 0, body_size: 0, num_trailers: 0 };
/// assert!(response.is_failure());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpCallResponse {
    /// Number of response headers; `0` means the call failed without a
    /// response (the upstream reset the stream after its headers). A down or
    /// silent upstream is not that: Envoy answers 503 or 504 itself.
    pub num_headers: usize,
    /// Size of the response body in bytes.
    pub body_size: usize,
    /// Number of response trailers.
    pub num_trailers: usize,
}

impl HttpCallResponse {
    /// Whether the call failed without a response (Envoy signals this with
    /// zero headers, for a reset after the upstream's response headers). An
    /// unreachable upstream and a timeout are **not** failures here: they
    /// arrive as responses Envoy makes, `:status` 503 and 504
    /// (book: reference/envoy-1.40.md#http-callout-failures), so check the
    /// status too.
    ///
    /// ```
    /// let ok = proxywasm::HttpCallResponse { num_headers: 3, body_size: 2, num_trailers: 0 };
    /// assert!(!ok.is_failure());
    /// ```
    pub const fn is_failure(&self) -> bool {
        self.num_headers == 0
    }

    /// The response's `:status`, read from the host: `None` if it has none or
    /// it is not a number. Like every read of the response, valid only while
    /// the callback (or the task poll) that received it runs.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// use proxywasm::{Action, HttpContext, Result};
    ///
    /// struct Probe;
    /// impl HttpContext for Probe {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         HttpCall::new("b")
    ///             .headers(&[(":method", "GET"), (":path", "/"), (":authority", "b")])
    ///             .send_then(|_: &mut Self, response| {
    ///                 assert_eq!(response.status()?, Some(200));
    ///                 proxywasm::log::info!("checked");
    ///                 Ok(())
    ///             })?;
    ///         Ok(Action::Pause)
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().http(|_| Probe);
    /// host.http_stream().request_headers(&[(":path", "/")], true);
    /// let call = host.callouts().http().pop().expect("one call");
    /// host.callouts().respond_http(call.token, &[(":status", "200"), ("x-a", "1")], b"ok", &[("x-t", "2")]);
    /// assert!(host.logs().contain("checked"));
    /// ```
    pub fn status(&self) -> Result<Option<u16>> {
        let status = response_headers().get(":status")?;
        Ok(status.and_then(|s| core::str::from_utf8(&s).ok()?.parse().ok()))
    }

    /// The response headers ([`response_headers`]).
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// use proxywasm::{Action, HttpContext, Result};
    ///
    /// struct Probe;
    /// impl HttpContext for Probe {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         HttpCall::new("b")
    ///             .headers(&[(":method", "GET"), (":path", "/"), (":authority", "b")])
    ///             .send_then(|_: &mut Self, response| {
    ///                 assert_eq!(response.headers().get("x-a")?.as_deref(), Some(&b"1"[..]));
    ///                 proxywasm::log::info!("checked");
    ///                 Ok(())
    ///             })?;
    ///         Ok(Action::Pause)
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().http(|_| Probe);
    /// host.http_stream().request_headers(&[(":path", "/")], true);
    /// let call = host.callouts().http().pop().expect("one call");
    /// host.callouts().respond_http(call.token, &[(":status", "200"), ("x-a", "1")], b"ok", &[("x-t", "2")]);
    /// assert!(host.logs().contain("checked"));
    /// ```
    pub fn headers(&self) -> HeaderMap {
        response_headers()
    }

    /// The response body, read whole ([`response_body`]).
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// use proxywasm::{Action, HttpContext, Result};
    ///
    /// struct Probe;
    /// impl HttpContext for Probe {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         HttpCall::new("b")
    ///             .headers(&[(":method", "GET"), (":path", "/"), (":authority", "b")])
    ///             .send_then(|_: &mut Self, response| {
    ///                 assert_eq!(&*response.body()?, b"ok");
    ///                 proxywasm::log::info!("checked");
    ///                 Ok(())
    ///             })?;
    ///         Ok(Action::Pause)
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().http(|_| Probe);
    /// host.http_stream().request_headers(&[(":path", "/")], true);
    /// let call = host.callouts().http().pop().expect("one call");
    /// host.callouts().respond_http(call.token, &[(":status", "200"), ("x-a", "1")], b"ok", &[("x-t", "2")]);
    /// assert!(host.logs().contain("checked"));
    /// ```
    pub fn body(&self) -> Result<HostBytes> {
        if self.body_size == 0 {
            return Ok(HostBytes::default());
        }
        response_body().read_all()
    }

    /// The response trailers ([`response_trailers`]).
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// use proxywasm::{Action, HttpContext, Result};
    ///
    /// struct Probe;
    /// impl HttpContext for Probe {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         HttpCall::new("b")
    ///             .headers(&[(":method", "GET"), (":path", "/"), (":authority", "b")])
    ///             .send_then(|_: &mut Self, response| {
    ///                 assert_eq!(response.trailers().get("x-t")?.as_deref(), Some(&b"2"[..]));
    ///                 proxywasm::log::info!("checked");
    ///                 Ok(())
    ///             })?;
    ///         Ok(Action::Pause)
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().http(|_| Probe);
    /// host.http_stream().request_headers(&[(":path", "/")], true);
    /// let call = host.callouts().http().pop().expect("one call");
    /// host.callouts().respond_http(call.token, &[(":status", "200"), ("x-a", "1")], b"ok", &[("x-t", "2")]);
    /// assert!(host.logs().contain("checked"));
    /// ```
    pub fn trailers(&self) -> HeaderMap {
        response_trailers()
    }
}

/// A gRPC callout event, delivered to the context that made the call.
///
/// ```
/// use proxywasm::GrpcEvent;
/// use proxywasm::callout::GrpcStatus;
/// let event = GrpcEvent::Close { status: GrpcStatus::UNAVAILABLE };
/// assert!(matches!(event, GrpcEvent::Close { status: GrpcStatus::UNAVAILABLE }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrpcEvent {
    /// Initial metadata arrived (stream); read it with [`crate::callout::grpc_initial_metadata`].
    InitialMetadata {
        /// Number of entries.
        count: usize,
    },
    /// A message arrived; read it with [`crate::callout::grpc_message`]. For a
    /// unary call this is the (successful) response, and no `Close` follows.
    Message {
        /// Message size in bytes.
        size: usize,
    },
    /// Trailing metadata arrived (stream); read it with [`crate::callout::grpc_trailing_metadata`].
    TrailingMetadata {
        /// Number of entries.
        count: usize,
    },
    /// The call or stream closed with this gRPC status
    /// ([`GrpcStatus::OK`] for a stream that ended well); the message is
    /// available from [`crate::callout::grpc_status`].
    Close {
        /// The gRPC status.
        status: GrpcStatus,
    },
}

/// The token of an HTTP callout, from [`HttpCall::send`].
///
/// ```
/// use proxywasm::callout::HttpCallToken;
/// assert_eq!(HttpCallToken(4).0, 4);
/// assert_eq!(HttpCallToken::from(4), HttpCallToken(4));
/// assert_eq!(u32::from(HttpCallToken(4)), 4);
/// assert_eq!(HttpCallToken(4).to_string(), "4");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HttpCallToken(pub u32);

integer_newtype!(HttpCallToken(u32));

/// The token of a gRPC call or stream.
///
/// ```
/// use proxywasm::callout::GrpcToken;
/// assert_eq!(GrpcToken(5).0, 5);
/// assert_eq!(GrpcToken::from(5), GrpcToken(5));
/// assert_eq!(u32::from(GrpcToken(5)), 5);
/// assert_eq!(GrpcToken(5).to_string(), "5");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrpcToken(pub u32);

integer_newtype!(GrpcToken(u32));

/// A gRPC status code (book: reference/enumerations.md#grpc-status): what
/// [`GrpcEvent::Close`] carries and [`grpc_status`] returns, and what
/// [`LocalResponse::grpc_status`](crate::http::LocalResponse::grpc_status)
/// sends. A code outside 0–16 is kept as it came. It displays as the
/// number, as gRPC puts it in `grpc-status`.
///
/// ```
/// use proxywasm::callout::GrpcStatus;
///
/// assert_eq!(GrpcStatus::from(14), GrpcStatus::UNAVAILABLE);
/// assert_eq!(GrpcStatus::UNAVAILABLE.code(), 14);
/// assert_eq!(GrpcStatus::UNAVAILABLE.name(), Some("UNAVAILABLE"));
/// assert_eq!(GrpcStatus::new(99).name(), None);
/// assert!(GrpcStatus::default().is_ok());
/// assert_eq!(GrpcStatus::DEADLINE_EXCEEDED.to_string(), "4");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrpcStatus(u32);

codes! {
    callout::GrpcStatus(u32), fn code, fn name {
        /// `0`: success.
        OK = 0,
        /// `1`: cancelled, typically by the caller.
        CANCELLED = 1,
        /// `2`: an unknown error.
        UNKNOWN = 2,
        /// `3`: the client sent an invalid argument.
        INVALID_ARGUMENT = 3,
        /// `4`: the deadline passed before the call completed.
        DEADLINE_EXCEEDED = 4,
        /// `5`: an entity was not found.
        NOT_FOUND = 5,
        /// `6`: the entity to create already exists.
        ALREADY_EXISTS = 6,
        /// `7`: the caller may not do this.
        PERMISSION_DENIED = 7,
        /// `8`: a quota or resource ran out.
        RESOURCE_EXHAUSTED = 8,
        /// `9`: the system is not in a state the call needs.
        FAILED_PRECONDITION = 9,
        /// `10`: aborted, typically by a concurrency conflict.
        ABORTED = 10,
        /// `11`: past the valid range.
        OUT_OF_RANGE = 11,
        /// `12`: not implemented by the server.
        UNIMPLEMENTED = 12,
        /// `13`: an internal error.
        INTERNAL = 13,
        /// `14`: the service is unavailable (Envoy's status for a call it could
        /// not make).
        UNAVAILABLE = 14,
        /// `15`: data was lost.
        DATA_LOSS = 15,
        /// `16`: the caller is not authenticated.
        UNAUTHENTICATED = 16,
    }
}

impl GrpcStatus {
    /// Whether this is [`GrpcStatus::OK`].
    ///
    /// ```
    /// assert!(!proxywasm::callout::GrpcStatus::INTERNAL.is_ok());
    /// ```
    pub const fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// The gRPC status an error carries: a failed call's, as the closure and
    /// async forms report it ([`GrpcCall::send_then`],
    /// [`GrpcCall::send_async`]); `None` for any other error.
    ///
    /// ```
    /// use proxywasm::callout::GrpcStatus;
    /// assert_eq!(GrpcStatus::of(&proxywasm::Error::other("x")), None);
    /// ```
    pub fn of(error: &crate::Error) -> Option<GrpcStatus> {
        error.grpc_status().map(GrpcStatus)
    }
}

/// An HTTP callout to an Envoy cluster.
///
/// `:method`, `:path` and `:authority` are required by Envoy; set them with
/// [`HttpCall::header`]. Always set a timeout (Envoy's `0` means none): a
/// timeout arrives as a normal response with `:status` 504, an unreachable
/// upstream as one with `:status` 503, and only a reset after the upstream's
/// headers as a response with no headers ([`HttpCallResponse::is_failure`]).
///
/// [`HttpCallResponse::is_failure`]: crate::HttpCallResponse::is_failure
///
/// # Examples
///
/// ```
/// use proxywasm::callout::{self, HttpCall, HttpCallToken};
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, HttpCallResponse, HttpContext, http, Result};
/// use std::time::Duration;
///
/// struct Auth;
/// impl HttpContext for Auth {
///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         let call = HttpCall::new("auth")
///             .header(":method", "GET")
///             .header(":path", "/check")
///             .header(":authority", "auth.local")
///             .timeout(Duration::from_secs(1))
///             .send();
///         match call {
///             Ok(_) => Ok(Action::Pause),
///             Err(_) => Ok(Action::Continue),
///         }
///     }
///     fn on_http_call_response(&mut self, _token: HttpCallToken, response: HttpCallResponse) -> Result<()> {
///         let allowed = !response.is_failure()
///             && callout::response_headers().get(":status").ok().flatten().is_some_and(|s| s == "200");
///         if allowed {
///             http::resume_request()?;
///         } else {
///             http::LocalResponse::new(403).send()?;
///         }
///         Ok(())
///     }
/// }
///
/// let host = MockHost::builder().http(|_| Auth);
/// let mut stream = host.http_stream();
/// assert_eq!(stream.request_headers(&[(":path", "/")], true), Action::Pause);
/// let call = host.callouts().http().pop().expect("one callout");
/// assert_eq!(call.upstream, "auth");
/// host.callouts().respond_http(call.token, &[(":status", "200")], b"", &[]);
/// assert_eq!(stream.action(), Action::Continue);
/// ```
#[derive(Clone, Debug)]
pub struct HttpCall<'a> {
    upstream: &'a str,
    static_headers: StaticPairs,
    headers: &'a [(&'a str, &'a str)],
    extra_headers: Vec<(&'a [u8], &'a [u8])>,
    trailers: Vec<(&'a [u8], &'a [u8])>,
    body: &'a [u8],
    timeout: Duration,
}

impl<'a> HttpCall<'a> {
    /// A call to the Envoy cluster `upstream`, with a 5 s timeout.
    ///
    /// ```
    /// let call = proxywasm::callout::HttpCall::new("backend");
    /// # let _ = call;
    /// ```
    pub fn new(upstream: &'a str) -> HttpCall<'a> {
        HttpCall {
            upstream,
            static_headers: StaticPairs::EMPTY,
            headers: &[],
            extra_headers: Vec::new(),
            trailers: Vec::new(),
            body: &[],
            timeout: Duration::from_secs(5),
        }
    }

    setters! {
        /// Sets the request headers from a list (borrowed: nothing is copied until
        /// [`send`](HttpCall::send), which serializes once). The cheapest form when
        /// the headers are known up front.
        ///
        /// ```
        /// let call = proxywasm::callout::HttpCall::new("backend")
        ///     .headers(&[(":method", "GET"), (":path", "/"), (":authority", "backend")]);
        /// # let _ = call;
        /// ```
        fn headers(headers: &'a [(&'a str, &'a str)]) -> self.headers;

        /// Sets request headers serialized at compile time by
        /// [`pairs!`](crate::pairs!): sent as they are, with no copy and no
        /// allocation, when no other header is added (others go after them).
        /// The cheapest form for fixed headers.
        ///
        /// ```
        /// use proxywasm::http::StaticPairs;
        ///
        /// const CHECK: StaticPairs =
        ///     proxywasm::pairs![(":method", "GET"), (":path", "/check"), (":authority", "auth")];
        /// let call = proxywasm::callout::HttpCall::new("auth").static_headers(CHECK);
        /// # let _ = call;
        /// ```
        fn static_headers(headers: StaticPairs) -> self.static_headers;

        /// Adds one request header (after those of [`headers`](HttpCall::headers));
        /// names and values may be bytes.
        ///
        /// ```
        /// let call = proxywasm::callout::HttpCall::new("b").header(":method", "GET");
        /// # let _ = call;
        /// ```
        fn header(name, value) -> self.extra_headers.push;

        /// Adds a request trailer.
        ///
        /// ```
        /// let call = proxywasm::callout::HttpCall::new("b").trailer("x-checksum", "1");
        /// # let _ = call;
        /// ```
        fn trailer(name, value) -> self.trailers.push;

        /// Sets the request body (Envoy sets `content-length`).
        ///
        /// ```
        /// let call = proxywasm::callout::HttpCall::new("b").body("{}");
        /// # let _ = call;
        /// ```
        fn body(body: bytes) -> self.body;

        /// Sets the timeout (whole milliseconds; at least 1 ms is sent).
        ///
        /// ```
        /// let call = proxywasm::callout::HttpCall::new("b").timeout(std::time::Duration::from_millis(250));
        /// # let _ = call;
        /// ```
        fn timeout(timeout: Duration) -> self.timeout;
    }

    /// Dispatches the call (`proxy_http_call`).
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for an unknown cluster, a missing required header or a
    /// bad timeout; `INTERNAL_FAILURE` when Envoy refused or failed the call at
    /// once — in both cases no response callback will come.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// let token = proxywasm::callout::HttpCall::new("backend")
    ///     .header(":method", "GET").header(":path", "/").header(":authority", "b")
    ///     .send()?;
    /// # let _ = token;
    /// # Ok(()) });
    /// ```
    #[inline]
    pub fn send(&self) -> Result<HttpCallToken> {
        self.send_to(Then::Callback)
    }

    /// Dispatches the call; `then` runs with the context that made it (the
    /// type `C` it names: `|this: &mut Self, response| …` inside an `impl`)
    /// and the response, when it arrives, instead of the context's
    /// `on_http_call_response`. The context is the effective one meanwhile,
    /// as in the callback. An error from `then` is handled like a callback's
    /// (the context's [`ErrorPolicy`](crate::ErrorPolicy)). If the context is
    /// gone by then, `then` is dropped unrun; if it is of another type than
    /// `C`, `then` is dropped and an error logged.
    ///
    /// # Errors
    /// As [`HttpCall::send`] (and then `then` never runs).
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::{Action, HttpContext, Result, http};
    ///
    /// struct Auth {
    ///     checks: u32,
    /// }
    /// impl HttpContext for Auth {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         HttpCall::new("auth")
    ///             .headers(&[(":method", "GET"), (":path", "/check"), (":authority", "auth")])
    ///             .send_then(|this: &mut Self, response| {
    ///                 this.checks += 1;
    ///                 if response.status()? == Some(200) {
    ///                     http::resume_request()
    ///                 } else {
    ///                     http::LocalResponse::new(403).send()
    ///                 }
    ///             })?;
    ///         Ok(Action::Pause)
    ///     }
    /// }
    ///
    /// let host = MockHost::builder().http(|_| Auth { checks: 0 });
    /// let mut stream = host.http_stream();
    /// assert_eq!(stream.request_headers(&[(":path", "/")], true), Action::Pause);
    /// let call = host.callouts().http().pop().expect("one call");
    /// host.callouts().respond_http(call.token, &[(":status", "401")], b"", &[]);
    /// assert_eq!(stream.local_response().map(|r| r.status_code), Some(403));
    /// ```
    pub fn send_then<C: 'static>(
        &self,
        then: impl FnOnce(&mut C, HttpCallResponse) -> Result<()> + 'static,
    ) -> Result<HttpCallToken> {
        // (The context's type is erased here, where it is known: the
        // dispatcher hands any context, and a context of another type is
        // refused.)
        let closure: HttpThen = Box::new(move |context: &mut dyn Any, response| {
            Some(then(context.downcast_mut::<C>()?, response))
        });
        self.send_to(Then::Closure {
            expects: core::any::type_name::<C>(),
            closure: Box::new(closure),
        })
    }

    /// Dispatches the call and returns a future of its response, to
    /// `.await` in a task ([`HttpContext::spawn`](crate::HttpContext::spawn)).
    /// The response ([`HttpResponse`]) stays readable after later
    /// `.await`s.
    ///
    /// # Errors
    /// As [`HttpCall::send`].
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::{Action, HttpContext, Result, http};
    ///
    /// struct Auth;
    /// impl HttpContext for Auth {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         let check = HttpCall::new("auth")
    ///             .headers(&[(":method", "GET"), (":path", "/check"), (":authority", "auth")])
    ///             .send_async()?;
    ///         self.spawn(async move {
    ///             let response = check.await?;
    ///             if response.status()? == Some(200) {
    ///                 http::resume_request()
    ///             } else {
    ///                 http::LocalResponse::new(403).send()
    ///             }
    ///         });
    ///         Ok(Action::Pause)
    ///     }
    /// }
    ///
    /// let host = MockHost::builder().http(|_| Auth);
    /// let mut stream = host.http_stream();
    /// assert_eq!(stream.request_headers(&[(":path", "/")], true), Action::Pause);
    /// let call = host.callouts().http().pop().expect("one call");
    /// host.callouts().respond_http(call.token, &[(":status", "200")], b"", &[]);
    /// assert_eq!(stream.action(), Action::Continue);
    /// ```
    pub fn send_async(&self) -> Result<HttpResponseFuture> {
        let awaited = runtime::Await::new_http(read_response);
        let token = self.send_to(Then::Task(awaited.index()))?;
        Ok(HttpResponseFuture {
            token,
            awaited: Some(awaited),
        })
    }

    /// Dispatches the call, its events going to `then`.
    #[inline]
    fn send_to(&self, then: Then) -> Result<HttpCallToken> {
        if self.headers.is_empty() && self.extra_headers.is_empty() && self.trailers.is_empty() {
            // Only compile-time headers (or none): nothing to serialize.
            return self.dispatch(self.static_headers.as_bytes(), &[], then);
        }
        self.serialize_and_dispatch(then)
    }

    #[inline(never)]
    fn serialize_and_dispatch(&self, then: Then) -> Result<HttpCallToken> {
        let list = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()));
        let extra = self.extra_headers.iter().copied();
        let headers = wire::with_fixed(self.static_headers.as_bytes(), list.chain(extra));
        let trailers = wire::serialize_pairs(&self.trailers);
        self.dispatch(&headers, &trailers, then)
    }

    #[inline]
    fn dispatch(&self, headers: &[u8], trailers: &[u8], then: Then) -> Result<HttpCallToken> {
        let timeout = millis(self.timeout).max(1);
        http_call(
            self.upstream.as_bytes(),
            headers,
            self.body,
            trailers,
            timeout,
            then,
        )
    }
}

/// A closure given to [`HttpCall::send_then`], as the runtime keeps it: run
/// with the calling context (its type erased) and the response; `None`, not
/// run, when handed a context of another type.
pub(crate) type HttpThen = Box<dyn FnOnce(&mut dyn Any, HttpCallResponse) -> Option<Result<()>>>;

/// A closure given to [`GrpcCall::send_then`], as the runtime keeps it: run
/// with the calling context and the call's last event (`None`, not run, for
/// a context of another type).
pub(crate) type GrpcThen = Box<dyn FnOnce(&mut dyn Any, GrpcEvent) -> Option<Result<()>>>;

/// The response of an HTTP callout, as a future ([`HttpCall::send_async`]).
/// Dropping it before the response arrives drops the response.
///
/// ```
/// use proxywasm::callout::HttpCall;
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, HttpContext, Result};
///
/// /// Tells an audit service about each request, without waiting for it.
/// struct Audit;
/// impl HttpContext for Audit {
///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         let response = HttpCall::new("audit")
///             .headers(&[(":method", "POST"), (":path", "/seen"), (":authority", "audit")])
///             .send_async()?;
///         drop(response); // the call is sent; its response will be dropped
///         Ok(Action::Continue)
///     }
/// }
///
/// let host = MockHost::builder().http(|_| Audit);
/// let mut stream = host.http_stream();
/// assert_eq!(stream.request_headers(&[(":path", "/")], true), Action::Continue);
/// let call = host.callouts().http().pop().expect("the call was sent");
/// host.callouts().respond_http(call.token, &[(":status", "200")], b"", &[]);
/// assert!(host.logs().contain("no context waits for callout"));
/// ```
#[derive(Debug)]
#[must_use = "a future does nothing unless awaited"]
pub struct HttpResponseFuture {
    token: HttpCallToken,
    /// Where the response and this future's waker meet; handed to the
    /// [`HttpResponse`] once the response arrived (`None` then: there is
    /// nothing to forget on drop).
    awaited: Option<runtime::Await>,
}

impl HttpResponseFuture {
    /// The call's token.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// let call = proxywasm::callout::HttpCall::new("backend")
    ///     .headers(&[(":method", "GET"), (":path", "/"), (":authority", "b")])
    ///     .send_async()?;
    /// assert!(call.token().0 > 0);
    /// # Ok(()) });
    /// ```
    pub fn token(&self) -> HttpCallToken {
        self.token
    }
}

impl Future for HttpResponseFuture {
    type Output = Result<HttpResponse>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let arrived = match self.awaited.as_mut() {
            Some(awaited) => awaited.poll_in_place(cx.waker()),
            None => {
                return Poll::Ready(Err(crate::Error::other(
                    "proxywasm: HttpResponseFuture polled after it completed",
                )));
            }
        };
        match self.awaited.take() {
            Some(awaited) if arrived => Poll::Ready(Ok(HttpResponse { awaited })),
            awaited => {
                self.awaited = awaited;
                Poll::Pending
            }
        }
    }
}

impl Drop for HttpResponseFuture {
    fn drop(&mut self) {
        if self.awaited.is_some() {
            runtime::forget_await(true, self.token.0);
        }
    }
}

/// An HTTP callout's response, as [`HttpCall::send_async`]'s future gives
/// it. Unlike [`HttpCallResponse`] (token and closure forms), it stays
/// readable after later `.await`s: while the response's callback runs it
/// reads from the host, and if a task still holds it (or has not taken it
/// yet) when that callback returns, the SDK reads it whole then. So two
/// calls awaited together, or a response that arrived while its task was
/// awaiting something else, read correctly.
///
/// ```
/// use proxywasm::callout::HttpCall;
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, HttpContext, Result, http};
///
/// /// Asks two services; answers with both bodies.
/// struct Both;
/// impl HttpContext for Both {
///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         let ask = |host: &'static str| {
///             HttpCall::new(host)
///                 .headers(&[(":method", "GET"), (":path", "/"), (":authority", host)])
///                 .send_async()
///         };
///         let (a, b) = (ask("a")?, ask("b")?);
///         self.spawn(async move {
///             let a = a.await?; // arrived second: read from the host
///             let b = b.await?; // arrived first: kept for this task
///             let mut body = a.body()?.to_vec();
///             body.extend_from_slice(&b.body()?);
///             http::LocalResponse::new(a.status()?.unwrap_or(500)).body(&body).send()
///         });
///         Ok(Action::Pause)
///     }
/// }
///
/// let host = MockHost::builder().http(|_| Both);
/// let mut stream = host.http_stream();
/// stream.request_headers(&[(":path", "/")], true);
/// let calls = host.callouts().http();
/// let (a, b) = (calls[0].token, calls[1].token);
/// host.callouts().respond_http(b, &[(":status", "200")], b"-b", &[]);
/// host.callouts().respond_http(a, &[(":status", "200")], b"a", &[]);
/// let reply = stream.local_response().expect("answered");
/// assert_eq!((reply.status_code, &reply.body[..]), (200, &b"a-b"[..]));
/// ```
#[derive(Debug)]
pub struct HttpResponse {
    /// The entry that holds the response: live while its callback runs,
    /// read whole before that callback returns if this is still held.
    awaited: runtime::Await,
}

/// Where an [`HttpResponse`]'s part is read from.
enum Source<T> {
    /// The host: the response's callback is running.
    Host(runtime::HttpCounts),
    /// The part, from the copy read before that callback returned.
    Kept(T),
}

impl HttpResponse {
    /// Where to read from; from the kept copy, `part` takes only what the
    /// caller reads (not the whole response).
    fn source<T>(&self, part: impl FnOnce(&runtime::HttpReply) -> T) -> Result<Source<T>> {
        let source = self.awaited.with_reply(|reply| match reply {
            runtime::Reply::Http(counts) => Ok(Source::Host(*counts)),
            runtime::Reply::HttpRead(Ok(read)) => Ok(Source::Kept(part(read))),
            runtime::Reply::HttpRead(Err(e)) => Err(e.clone()),
            runtime::Reply::Grpc(_) => {
                Err(crate::Error::other("proxywasm: mismatched callout event"))
            }
        });
        source.unwrap_or_else(|| {
            Err(crate::Error::other(
                "proxywasm: the response is not in the runtime",
            ))
        })
    }

    /// Whether the call failed without a response: no headers (Envoy's
    /// signal for a reset after the upstream's response headers). An
    /// unreachable upstream and a timeout are responses Envoy makes, 503
    /// and 504 (book: reference/envoy-1.40.md#http-callout-failures), so
    /// check the status too.
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// use proxywasm::{Action, HttpContext, Result, http};
    ///
    /// struct Check;
    /// impl HttpContext for Check {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         let call = HttpCall::new("auth")
    ///             .headers(&[(":method", "GET"), (":path", "/"), (":authority", "auth")])
    ///             .send_async()?;
    ///         self.spawn(async move {
    ///             let failed = call.await?.is_failure();
    ///             proxywasm::log::info!("failed: {failed}");
    ///             http::resume_request()
    ///         });
    ///         Ok(Action::Pause)
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().http(|_| Check);
    /// host.http_stream().request_headers(&[(":path", "/")], true);
    /// let call = host.callouts().http().pop().expect("one call");
    /// host.callouts().reset_http(call.token);
    /// assert!(host.logs().contain("failed: true"));
    /// ```
    pub fn is_failure(&self) -> bool {
        match self.source(|reply| reply.headers.1 == 0) {
            Ok(Source::Host(counts)) => counts.num_headers == 0,
            Ok(Source::Kept(no_headers)) => no_headers,
            Err(_) => true,
        }
    }

    /// The `:status`: `None` if there is none or it is not a number.
    ///
    /// # Errors
    /// The hostcall's status, when read while the response's callback runs.
    ///
    /// See [`HttpResponse`] for an example.
    ///
    /// ```
    /// # use proxywasm::callout::HttpCall;
    /// # use proxywasm::{Action, HttpContext, Result, http};
    /// # struct Check;
    /// # impl HttpContext for Check {
    /// #     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    /// #         let call = HttpCall::new("auth")
    /// #             .headers(&[(":method", "GET"), (":path", "/"), (":authority", "auth")])
    /// #             .send_async()?;
    /// #         self.spawn(async move {
    /// let status = call.await?.status()?;
    /// proxywasm::log::info!("status {status:?}");
    /// #             http::resume_request()
    /// #         });
    /// #         Ok(Action::Pause)
    /// #     }
    /// # }
    /// # let host = proxywasm::mock::MockHost::builder().http(|_| Check);
    /// # host.http_stream().request_headers(&[(":path", "/")], true);
    /// # let call = host.callouts().http().pop().expect("one call");
    /// # host.callouts().respond_http(call.token, &[(":status", "204")], b"", &[]);
    /// # assert!(host.logs().contain("status Some(204)"));
    /// ```
    pub fn status(&self) -> Result<Option<u16>> {
        fn parse(status: &[u8]) -> Option<u16> {
            core::str::from_utf8(status).ok()?.parse().ok()
        }
        let kept = |reply: &runtime::HttpReply| {
            HeaderPairs::from_parts(reply.headers.clone())
                .get(":status")
                .and_then(parse)
        };
        Ok(match self.source(kept)? {
            Source::Host(_) => response_headers()
                .get(":status")?
                .as_deref()
                .and_then(parse),
            Source::Kept(status) => status,
        })
    }

    /// The response headers (`:status` among them).
    ///
    /// # Errors
    /// The hostcall's status, when read while the response's callback runs.
    ///
    /// ```
    /// # use proxywasm::callout::HttpCall;
    /// # use proxywasm::{Action, HttpContext, Result, http};
    /// # struct Check;
    /// # impl HttpContext for Check {
    /// #     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    /// #         let call = HttpCall::new("auth")
    /// #             .headers(&[(":method", "GET"), (":path", "/"), (":authority", "auth")])
    /// #             .send_async()?;
    /// #         self.spawn(async move {
    /// let headers = call.await?.headers()?;
    /// proxywasm::log::info!("x-user {:?}", headers.get("x-user"));
    /// #             http::resume_request()
    /// #         });
    /// #         Ok(Action::Pause)
    /// #     }
    /// # }
    /// # let host = proxywasm::mock::MockHost::builder().http(|_| Check);
    /// # host.http_stream().request_headers(&[(":path", "/")], true);
    /// # let call = host.callouts().http().pop().expect("one call");
    /// # host.callouts().respond_http(call.token, &[(":status", "200"), ("x-user", "ann")], b"", &[]);
    /// # assert!(host.logs().contain("x-user Some([97, 110, 110])"));
    /// ```
    pub fn headers(&self) -> Result<HeaderPairs> {
        match self.source(|reply| reply.headers.clone())? {
            Source::Host(counts) if counts.num_headers == 0 => Ok(HeaderPairs::default()),
            Source::Host(_) => response_headers().pairs(),
            Source::Kept(headers) => Ok(HeaderPairs::from_parts(headers)),
        }
    }

    /// The response body.
    ///
    /// # Errors
    /// The hostcall's status, when read while the response's callback runs.
    ///
    /// See [`HttpResponse`] for an example.
    ///
    /// ```
    /// # use proxywasm::callout::HttpCall;
    /// # use proxywasm::{Action, HttpContext, Result, http};
    /// # struct Check;
    /// # impl HttpContext for Check {
    /// #     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    /// #         let call = HttpCall::new("auth")
    /// #             .headers(&[(":method", "GET"), (":path", "/"), (":authority", "auth")])
    /// #             .send_async()?;
    /// #         self.spawn(async move {
    /// let body = call.await?.body()?;
    /// proxywasm::log::info!("{} bytes", body.len());
    /// #             http::resume_request()
    /// #         });
    /// #         Ok(Action::Pause)
    /// #     }
    /// # }
    /// # let host = proxywasm::mock::MockHost::builder().http(|_| Check);
    /// # host.http_stream().request_headers(&[(":path", "/")], true);
    /// # let call = host.callouts().http().pop().expect("one call");
    /// # host.callouts().respond_http(call.token, &[(":status", "200")], b"four", &[]);
    /// # assert!(host.logs().contain("4 bytes"));
    /// ```
    pub fn body(&self) -> Result<HostBytes> {
        match self.source(|reply| reply.body.clone())? {
            Source::Host(counts) if counts.body_size == 0 => Ok(HostBytes::default()),
            Source::Host(_) => response_body().read_all(),
            Source::Kept(body) => Ok(body),
        }
    }

    /// The response trailers.
    ///
    /// # Errors
    /// The hostcall's status, when read while the response's callback runs.
    ///
    /// ```
    /// # use proxywasm::callout::HttpCall;
    /// # use proxywasm::{Action, HttpContext, Result, http};
    /// # struct Check;
    /// # impl HttpContext for Check {
    /// #     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    /// #         let call = HttpCall::new("auth")
    /// #             .headers(&[(":method", "GET"), (":path", "/"), (":authority", "auth")])
    /// #             .send_async()?;
    /// #         self.spawn(async move {
    /// let trailers = call.await?.trailers()?;
    /// proxywasm::log::info!("{} trailers", trailers.len());
    /// #             http::resume_request()
    /// #         });
    /// #         Ok(Action::Pause)
    /// #     }
    /// # }
    /// # let host = proxywasm::mock::MockHost::builder().http(|_| Check);
    /// # host.http_stream().request_headers(&[(":path", "/")], true);
    /// # let call = host.callouts().http().pop().expect("one call");
    /// # host.callouts().respond_http(call.token, &[(":status", "200")], b"", &[("x-t", "1")]);
    /// # assert!(host.logs().contain("1 trailers"));
    /// ```
    pub fn trailers(&self) -> Result<HeaderPairs> {
        match self.source(|reply| reply.trailers.clone())? {
            Source::Host(counts) if counts.num_trailers == 0 => Ok(HeaderPairs::default()),
            Source::Host(_) => response_trailers().pairs(),
            Source::Kept(trailers) => Ok(HeaderPairs::from_parts(trailers)),
        }
    }
}

/// `proxy_http_call`, and the callout noted for routing its response.
#[inline(always)]
fn http_call(
    upstream: &[u8],
    headers: &[u8],
    body: &[u8],
    trailers: &[u8],
    timeout: u32,
    then: Then,
) -> Result<HttpCallToken> {
    check(
        "proxy_http_call",
        http_call_raw(upstream, headers, body, trailers, timeout, then),
    )
    .map(HttpCallToken)
}

/// The out-of-line part of [`http_call`]: a plain `Result<u32, u32>` (two
/// registers, no memory), so the `Error` is only built inline, on failure.
#[inline(never)]
fn http_call_raw(
    upstream: &[u8],
    headers: &[u8],
    body: &[u8],
    trailers: &[u8],
    timeout: u32,
    then: Then,
) -> core::result::Result<u32, u32> {
    use_route();
    runtime::start_callout(CalloutKind::Http, then, || {
        calls::http_call(upstream, headers, body, trailers, timeout)
    })
}

one_liners! {
    /// The headers of the HTTP callout response being delivered.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// let _status = proxywasm::callout::response_headers().get(":status");
    /// # Ok(()) });
    /// ```
    fn response_headers() -> HeaderMap(map::HTTP_CALL_RESPONSE_HEADERS);

    /// The trailers of the HTTP callout response being delivered.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::callout::response_trailers().pairs()?;
    /// # Ok(()) });
    /// ```
    fn response_trailers() -> HeaderMap(map::HTTP_CALL_RESPONSE_TRAILERS);

    /// The body of the HTTP callout response being delivered.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::callout::response_body().read_all()?;
    /// # Ok(()) });
    /// ```
    fn response_body() -> Buffer(buffer::HTTP_CALL_RESPONSE_BODY);
}

/// A gRPC unary call or a stream to open, on an Envoy cluster (or a
/// serialized `GrpcService` proto passed as the cluster).
///
/// ```
/// use proxywasm::callout::GrpcCall;
/// # proxywasm::mock::doc_http(&[], || {
/// let token = GrpcCall::new("grpc-backend", "helloworld.Greeter", "SayHello")
///     .metadata("x-id", b"42")
///     .timeout(std::time::Duration::from_secs(2))
///     .send(b"\x0a\x03bob")?;
/// # let _ = token;
/// # Ok(()) });
/// ```
#[derive(Clone, Debug)]
pub struct GrpcCall<'a> {
    cluster: &'a [u8],
    service: &'a str,
    method: &'a str,
    metadata: Vec<(&'a [u8], &'a [u8])>,
    timeout: Duration,
}

impl<'a> GrpcCall<'a> {
    /// A call of `service`/`method` on `cluster`, with a 5 s timeout.
    ///
    /// ```
    /// let call = proxywasm::callout::GrpcCall::new("c", "pkg.Svc", "Method");
    /// # let _ = call;
    /// ```
    pub fn new(
        cluster: &'a (impl AsRef<[u8]> + ?Sized),
        service: &'a str,
        method: &'a str,
    ) -> GrpcCall<'a> {
        GrpcCall {
            cluster: cluster.as_ref(),
            service,
            method,
            metadata: Vec::new(),
            timeout: Duration::from_secs(5),
        }
    }

    setters! {
        /// Adds initial metadata.
        ///
        /// ```
        /// let call = proxywasm::callout::GrpcCall::new("c", "s", "m").metadata("k", b"v");
        /// # let _ = call;
        /// ```
        fn metadata(key, value) -> self.metadata.push;

        /// Sets the timeout of a unary call (always set one: `0` is not "none").
        ///
        /// ```
        /// let call = proxywasm::callout::GrpcCall::new("c", "s", "m").timeout(std::time::Duration::from_secs(1));
        /// # let _ = call;
        /// ```
        fn timeout(timeout: Duration) -> self.timeout;
    }

    /// Sends a unary call with `message` (serialized protobuf).
    ///
    /// # Errors
    /// `PARSE_FAILURE` for an unknown cluster, `BAD_ARGUMENT` if the client
    /// cannot be created, `INTERNAL_FAILURE` if the send is refused.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::callout::GrpcCall::new("c", "s", "m").send(b"")?;
    /// # Ok(()) });
    /// ```
    pub fn send(&self, message: &[u8]) -> Result<GrpcToken> {
        self.call(message, Then::Callback)
    }

    /// Sends a unary call with `message`; `then` runs with the context that
    /// made it (of type `C`) and the reply instead of its `on_grpc_event`:
    /// `Ok` with the response message, or an error carrying the gRPC status
    /// ([`GrpcStatus::of`]) and message. Otherwise as
    /// [`HttpCall::send_then`].
    ///
    /// # Errors
    /// As [`GrpcCall::send`] (and then `then` never runs).
    ///
    /// ```
    /// use proxywasm::callout::{GrpcCall, GrpcStatus};
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::{Action, HttpContext, Result, http};
    ///
    /// struct Check;
    /// impl HttpContext for Check {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         GrpcCall::new("authz", "pkg.Authz", "Check").send_then(b"", |_: &mut Self, reply| {
    ///             match reply {
    ///                 Ok(_message) => http::resume_request(),
    ///                 Err(e) if GrpcStatus::of(&e) == Some(GrpcStatus::PERMISSION_DENIED) => {
    ///                     http::LocalResponse::new(403).send()
    ///                 }
    ///                 Err(e) => Err(e),
    ///             }
    ///         })?;
    ///         Ok(Action::Pause)
    ///     }
    /// }
    ///
    /// let host = MockHost::builder().http(|_| Check);
    /// let mut stream = host.http_stream();
    /// stream.request_headers(&[(":path", "/")], true);
    /// let call = host.callouts().grpc().pop().expect("one call");
    /// host.callouts().close_grpc(call.token, GrpcStatus::PERMISSION_DENIED.code(), "no");
    /// assert_eq!(stream.local_response().map(|r| r.status_code), Some(403));
    /// ```
    pub fn send_then<C: 'static>(
        &self,
        message: &[u8],
        then: impl FnOnce(&mut C, Result<HostBytes>) -> Result<()> + 'static,
    ) -> Result<GrpcToken> {
        let closure: GrpcThen = Box::new(move |context: &mut dyn Any, event| {
            let context = context.downcast_mut::<C>()?;
            Some(then(context, grpc_reply(event)?))
        });
        let then = Then::Closure {
            expects: core::any::type_name::<C>(),
            closure: Box::new(closure),
        };
        self.call(message, then)
    }

    /// Sends a unary call with `message` and returns a future of the reply,
    /// to `.await` in a task: the response message, or an error carrying the
    /// gRPC status ([`GrpcStatus::of`]) and message.
    ///
    /// # Errors
    /// As [`GrpcCall::send`].
    ///
    /// ```
    /// use proxywasm::callout::GrpcCall;
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::{Action, HttpContext, Result, http};
    ///
    /// struct Check;
    /// impl HttpContext for Check {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         let reply = GrpcCall::new("authz", "pkg.Authz", "Check").send_async(b"")?;
    ///         self.spawn(async move {
    ///             let message = reply.await?;
    ///             proxywasm::log::info!("reply of {} bytes", message.len());
    ///             http::resume_request()
    ///         });
    ///         Ok(Action::Pause)
    ///     }
    /// }
    ///
    /// let host = MockHost::builder().http(|_| Check);
    /// let mut stream = host.http_stream();
    /// stream.request_headers(&[(":path", "/")], true);
    /// let call = host.callouts().grpc().pop().expect("one call");
    /// host.callouts().respond_grpc(call.token, b"ok");
    /// assert_eq!(stream.action(), Action::Continue);
    /// assert!(host.logs().contain("reply of 2 bytes"));
    /// ```
    pub fn send_async(&self, message: &[u8]) -> Result<GrpcReplyFuture> {
        let awaited = runtime::Await::new();
        let token = self.call(message, Then::Task(awaited.index()))?;
        Ok(GrpcReplyFuture { token, awaited })
    }

    /// Sends a unary call, its events going to `then`.
    fn call(&self, message: &[u8], then: Then) -> Result<GrpcToken> {
        let timeout = millis(self.timeout).max(1);
        self.start(
            "proxy_grpc_call",
            CalloutKind::GrpcCall,
            then,
            |cluster, service, method, metadata| {
                calls::grpc_call(cluster, service, method, metadata, message, timeout)
            },
        )
    }

    /// Opens a stream; send messages with [`grpc_send`].
    ///
    /// # Errors
    /// As [`GrpcCall::send`].
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// let stream = proxywasm::callout::GrpcCall::new("c", "s", "m").open_stream()?;
    /// proxywasm::callout::grpc_send(stream, b"", false)?;
    /// # Ok(()) });
    /// ```
    pub fn open_stream(&self) -> Result<GrpcToken> {
        self.start(
            "proxy_grpc_stream",
            CalloutKind::GrpcStream,
            Then::Callback,
            calls::grpc_stream,
        )
    }

    /// Starts the call or stream with `raw`, the hostcall `call`, given the
    /// cluster, service, method and serialized metadata; notes the callout.
    fn start(
        &self,
        call: &'static str,
        kind: CalloutKind,
        then: Then,
        raw: impl FnOnce(&[u8], &[u8], &[u8], &[u8]) -> calls::Raw<u32>,
    ) -> Result<GrpcToken> {
        let metadata = wire::serialize_pairs(&self.metadata);
        let service = self.service.as_bytes();
        let method = self.method.as_bytes();
        use_route();
        let token =
            runtime::start_callout(kind, then, || raw(self.cluster, service, method, &metadata));
        check(call, token).map(GrpcToken)
    }
}

/// The reply of a unary gRPC call, as a future ([`GrpcCall::send_async`]).
/// A call that fails ends the future with an error that carries the gRPC
/// status ([`GrpcStatus::of`]).
///
/// ```
/// use proxywasm::callout::{GrpcCall, GrpcStatus};
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, HttpContext, Result, http};
///
/// struct Check;
/// impl HttpContext for Check {
///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         let reply = GrpcCall::new("authz", "pkg.Authz", "Check").send_async(b"")?;
///         self.spawn(async move {
///             match reply.await {
///                 Ok(_message) => http::resume_request(),
///                 Err(error) if GrpcStatus::of(&error) == Some(GrpcStatus::UNAVAILABLE) => {
///                     http::LocalResponse::new(503).send()
///                 }
///                 Err(error) => Err(error),
///             }
///         });
///         Ok(Action::Pause)
///     }
/// }
///
/// let host = MockHost::builder().http(|_| Check);
/// let mut stream = host.http_stream();
/// stream.request_headers(&[(":path", "/")], true);
/// let call = host.callouts().grpc().pop().expect("one call");
/// host.callouts().close_grpc(call.token, 14, "no healthy upstream");
/// assert_eq!(stream.local_response().map(|r| r.status_code), Some(503));
/// ```
#[derive(Debug)]
#[must_use = "a future does nothing unless awaited"]
pub struct GrpcReplyFuture {
    token: GrpcToken,
    /// Where the reply and this future's waker meet (and whether it was
    /// taken: then there is nothing to forget on drop).
    awaited: runtime::Await,
}

impl Future for GrpcReplyFuture {
    type Output = Result<HostBytes>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let reply = self.awaited.poll(cx.waker());
        match reply {
            Some(runtime::Reply::Grpc(reply)) => Poll::Ready(reply),
            Some(runtime::Reply::Http(_) | runtime::Reply::HttpRead(_)) => Poll::Ready(Err(
                crate::Error::other("proxywasm: mismatched callout event"),
            )),
            None => Poll::Pending,
        }
    }
}

impl Drop for GrpcReplyFuture {
    fn drop(&mut self) {
        if !self.awaited.taken() {
            runtime::forget_await(false, self.token.0);
        }
    }
}

/// An event of a callout, for the context that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CalloutEvent {
    HttpResponse(HttpCallToken, HttpCallResponse),
    Grpc(GrpcToken, GrpcEvent),
}

/// The contexts, as the callout layer reaches them: the dispatcher lends the
/// context that made a call to the code that delivers the call's events.
pub(crate) trait Contexts {
    /// Whether context `id` is live.
    fn is_live(&self, id: u32) -> bool;

    /// Runs `run` on context `id`, with its kind and error policy; `run`
    /// answers whether it took the context. False when it did not, or never
    /// ran: the context is gone or busy, or a stream with no context.
    fn lend(&self, id: u32, run: &mut dyn FnMut(&mut dyn Any, Failing) -> bool) -> bool;
}

/// Where [`route`] sent a callout event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routed {
    /// To the callout callback of context `origin` (a call made with
    /// `send`), which the dispatcher runs.
    Callback(u32),
    /// Delivered here: to the call's closure, or to the task awaiting it.
    Delivered,
    /// Dropped: no outstanding callout has this token (its context was
    /// deleted, or it finished).
    NoOrigin(u32),
    /// Dropped: the context `origin` that made the call is gone.
    Gone(u32),
    /// Dropped: an event of call `token` whose closure waits for the call's
    /// last event.
    NotLast(u32),
}

/// The callout layer's entry points for the dispatcher.
struct Route {
    route: fn(&dyn Contexts, u32, CalloutEvent) -> Routed,
    forget: fn(u32),
}

/// [`Route`], set by the first callout the module starts
/// ([`use_route`]), and read by the dispatcher only from here: a plugin
/// that never calls out links none of the routing, closure and reply code.
/// (A switch for the linker rather than state: natively, where every mock
/// VM shares it, a VM that never called out finds no origin for an event
/// either way.)
static ROUTE: std::sync::OnceLock<Route> = std::sync::OnceLock::new();

/// Sets [`ROUTE`]; every callout calls it as it starts.
#[inline(always)]
fn use_route() {
    ROUTE.get_or_init(|| Route {
        route: route_event,
        forget: runtime::forget_callouts_of,
    });
}

/// The entry points, once the module has started a callout.
#[inline(always)]
fn installed() -> Option<&'static Route> {
    ROUTE.get()
}

/// Routes callout `event`, delivered to context `id` (the host's effective
/// context), to what receives it: see [`Routed`]. A callout event in a
/// plugin that never started one has no origin.
#[inline(always)]
pub(crate) fn route(contexts: &dyn Contexts, id: u32, event: CalloutEvent) -> Routed {
    match installed() {
        Some(route) => (route.route)(contexts, id, event),
        None => Routed::NoOrigin(match event {
            CalloutEvent::HttpResponse(token, _) => token.0,
            CalloutEvent::Grpc(token, _) => token.0,
        }),
    }
}

/// Forgets the outstanding callouts of deleted context `id`.
#[inline(always)]
pub(crate) fn forget_callouts_of(id: u32) {
    if let Some(route) = installed() {
        (route.forget)(id);
    }
}

/// [`route`] once the plugin has started a callout: finds the context that
/// made the call (forgetting the call on its last event), makes it effective
/// if the host had another, and runs the call's closure or wakes its task
/// here; a token call's event goes back to the dispatcher.
fn route_event(contexts: &dyn Contexts, id: u32, event: CalloutEvent) -> Routed {
    let (http, token, last): (bool, u32, fn(CalloutKind) -> bool) = match event {
        CalloutEvent::HttpResponse(token, _) => (true, token.0, |_| true),
        CalloutEvent::Grpc(token, GrpcEvent::Close { .. }) => (false, token.0, |_| true),
        CalloutEvent::Grpc(token, GrpcEvent::Message { .. }) => {
            (false, token.0, |kind| kind == CalloutKind::GrpcCall)
        }
        CalloutEvent::Grpc(token, _) => (false, token.0, |_| false),
    };
    let Some((origin, then)) = runtime::callout_origin(http, token, last) else {
        return Routed::NoOrigin(token);
    };
    if origin != id && (!contexts.is_live(origin) || calls::set_effective_context(origin).is_err())
    {
        return Routed::Gone(origin);
    }
    match then {
        Then::Callback => Routed::Callback(origin),
        Then::NotLast => Routed::NotLast(token),
        Then::Closure { expects, closure } => {
            runtime::as_active(origin, || {
                run_closure(contexts, origin, event, expects, closure);
            });
            runtime::run_due(runtime::active());
            Routed::Delivered
        }
        Then::Task(at) => {
            let reply = match event {
                CalloutEvent::HttpResponse(_, response) => {
                    Some(runtime::Reply::Http(runtime::HttpCounts {
                        num_headers: response.num_headers,
                        body_size: response.body_size,
                        num_trailers: response.num_trailers,
                    }))
                }
                CalloutEvent::Grpc(_, grpc) => grpc_reply(grpc).map(runtime::Reply::Grpc),
            };
            if let Some(reply) = reply {
                runtime::callout_arrived(at, reply);
            }
            // The woken task is the origin's, which the host has as its
            // effective context already: polled with it active, it needs no
            // second switch.
            runtime::run_due(origin);
            if http {
                // Still held (not taken, or its `HttpResponse` kept across
                // an `.await`): read now, while the host has it.
                runtime::keep_http_reply(at);
            }
            Routed::Delivered
        }
    }
}

/// An HTTP callout's response read whole from the host while it is being
/// delivered (the parts it has), for a future or response that outlives
/// the callback.
fn read_response(response: runtime::HttpCounts) -> Result<runtime::HttpReply> {
    let mut reply = runtime::HttpReply::default();
    if response.num_headers != 0 {
        reply.headers = response_headers().pairs()?.into_parts();
    }
    if response.body_size != 0 {
        reply.body = response_body().read_all()?;
    }
    if response.num_trailers != 0 {
        reply.trailers = response_trailers().pairs()?.into_parts();
    }
    Ok(reply)
}

/// Runs the closure given with a callout ([`HttpCall::send_then`],
/// [`GrpcCall::send_then`]) on the context that made the call, if it is of
/// the type the closure takes (`expects`); an error it returns gets the
/// context's error policy.
fn run_closure(
    contexts: &dyn Contexts,
    origin: u32,
    event: CalloutEvent,
    expects: &'static str,
    closure: Box<dyn Any>,
) {
    let mut closure = Some(closure);
    let ran = contexts.lend(origin, &mut |context, failing| {
        let Some(closure) = closure.take() else {
            return false;
        };
        let result = match event {
            CalloutEvent::HttpResponse(_, response) => match closure.downcast::<HttpThen>() {
                Ok(then) => then(context, response),
                Err(_) => None,
            },
            CalloutEvent::Grpc(_, grpc) => match closure.downcast::<GrpcThen>() {
                Ok(then) => then(context, grpc),
                Err(_) => None,
            },
        };
        match result {
            Some(Ok(())) => true,
            Some(Err(error)) => {
                failed(failing, origin, "a callout's closure", &error, true);
                true
            }
            None => false,
        }
    });
    if !ran {
        crate::logging::line(
            crate::logging::LogLevel::Error,
            &[
                Piece::Text("proxywasm: the closure of a callout of context "),
                Piece::Number(origin),
                Piece::Text(" takes a `"),
                Piece::Text(expects),
                Piece::Text("`, which that context is not (or it is busy); dropped unrun"),
            ],
        );
    }
}

/// The reply of a unary call as closures and futures receive it, read from
/// the host while `event` (the call's last) is being delivered: the message,
/// or the gRPC status and message as an error. `None` for an event that is
/// not a unary call's last.
pub(crate) fn grpc_reply(event: GrpcEvent) -> Option<Result<HostBytes>> {
    match event {
        GrpcEvent::Message { size: 0 } => Some(Ok(HostBytes::default())),
        GrpcEvent::Message { .. } => Some(grpc_message().read_all()),
        GrpcEvent::Close { status } => {
            let message = grpc_status()
                .map(|(_, message)| message)
                .unwrap_or_default();
            Some(Err(crate::Error::grpc(
                status.0,
                &String::from_utf8_lossy(&message),
            )))
        }
        _ => None,
    }
}

/// Sends a message on a gRPC stream.
///
/// # Errors
/// `NOT_FOUND` for an unknown token, `BAD_ARGUMENT` for a non-stream token.
///
/// ```
/// # proxywasm::mock::doc_http(&[], || {
/// let stream = proxywasm::callout::GrpcCall::new("c", "s", "m").open_stream()?;
/// proxywasm::callout::grpc_send(stream, b"\x08\x01", true)?;
/// # Ok(()) });
/// ```
pub fn grpc_send(token: GrpcToken, message: &[u8], end_stream: bool) -> Result<()> {
    check(
        "proxy_grpc_send",
        calls::grpc_send(token.0, message, end_stream),
    )
}

/// Cancels a call or resets a stream; no further callbacks arrive.
///
/// # Errors
/// `NOT_FOUND` for an unknown token.
///
/// ```
/// # proxywasm::mock::doc_http(&[], || {
/// let call = proxywasm::callout::GrpcCall::new("c", "s", "m").send(b"")?;
/// proxywasm::callout::grpc_cancel(call)?;
/// # Ok(()) });
/// ```
pub fn grpc_cancel(token: GrpcToken) -> Result<()> {
    check("proxy_grpc_cancel", calls::grpc_cancel(token.0))
}

/// Half-closes a stream (the peer's close arrives as [`GrpcEvent::Close`]),
/// or cancels a call.
///
/// [`GrpcEvent::Close`]: crate::GrpcEvent::Close
///
/// # Errors
/// `NOT_FOUND` for an unknown token.
///
/// ```
/// # proxywasm::mock::doc_http(&[], || {
/// let stream = proxywasm::callout::GrpcCall::new("c", "s", "m").open_stream()?;
/// proxywasm::callout::grpc_close(stream)?;
/// # Ok(()) });
/// ```
pub fn grpc_close(token: GrpcToken) -> Result<()> {
    check("proxy_grpc_close", calls::grpc_close(token.0))
}

one_liners! {
    /// The message being delivered by [`GrpcEvent::Message`].
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::callout::grpc_message().read_all()?;
    /// # Ok(()) });
    /// ```
    fn grpc_message() -> Buffer(buffer::GRPC_RECEIVE_BUFFER);

    /// The initial metadata being delivered.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::callout::grpc_initial_metadata().pairs()?;
    /// # Ok(()) });
    /// ```
    fn grpc_initial_metadata() -> HeaderMap(map::GRPC_INITIAL_METADATA);

    /// The trailing metadata being delivered.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::callout::grpc_trailing_metadata().pairs()?;
    /// # Ok(()) });
    /// ```
    fn grpc_trailing_metadata() -> HeaderMap(map::GRPC_TRAILING_METADATA);
}

/// The last status of this plugin context (`proxy_get_status`): after a gRPC
/// close, the gRPC status and message; after a failed HTTP callout, `11` and
/// `"reset"`.
///
/// # Errors
/// The hostcall's status.
///
/// ```
/// # proxywasm::mock::doc_http(&[], || {
/// let (status, message) = proxywasm::callout::grpc_status()?;
/// assert_eq!(status, proxywasm::callout::GrpcStatus::OK);
/// assert!(message.is_empty());
/// # Ok(()) });
/// ```
pub fn grpc_status() -> Result<(GrpcStatus, HostBytes)> {
    let (code, message) = check("proxy_get_status", calls::get_status())?;
    Ok((GrpcStatus(code), message))
}

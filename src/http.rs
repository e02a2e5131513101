//! What an HTTP filter calls: header maps, bodies, stream control and local
//! replies. Use these while an [`HttpContext`](crate::HttpContext) callback
//! runs (or after making the stream effective).

use crate::Result;
use crate::abi::calls;
use crate::abi::wire::{self, buffer, map};
use crate::callout::GrpcStatus;
use crate::error::check;

pub use crate::abi::wire::PairsIter;
pub use crate::buffer::Buffer;
pub use crate::map::{HeaderMap, HeaderPairs, StaticPairs};

/// What a stream callback tells the host to do next.
///
/// Every callback that returns an action takes the same type; each variant
/// has a wire value in the callbacks where Envoy gives it a meaning
/// ([`Phase`], [`Action::raw_for`]). [`Continue`](Action::Continue) and
/// [`Pause`](Action::Pause) mean something everywhere and are what most
/// plugins need; the others are the finer statuses of Envoy's filter chain,
/// each documented with what Envoy 1.40 does with it (measured by the
/// project's Envoy probe; book: reference/callbacks.md#return-values).
///
/// Returning a variant from a callback where it has no meaning (a headers
/// status from a body callback, say) is a bug in the plugin, not in the
/// request: the SDK logs it at error level, naming the callback and the
/// variant, and answers the nearest action the callback has
/// ([`Action::fallback`]): [`Continue`](Action::Continue) for
/// [`ContinueAndEndStream`](Action::ContinueAndEndStream),
/// [`Pause`](Action::Pause) for every stop.
///
/// | variant | headers | body | trailers | TCP data |
/// |---|---|---|---|---|
/// | `Continue` | 0 | 0 | 0 | 0 |
/// | `Pause` | 1 | 1 | 1 | 1 |
/// | `ContinueAndEndStream` | 2 | (0) | (0) | (0) |
/// | `StopAllIterationAndBuffer` | 3 | (1) | (1) | (1) |
/// | `StopAllIterationAndWatermark` | 4 | (1) | (1) | (1) |
/// | `StopIterationAndWatermark` | (1) | 2 | (1) | (1) |
/// | `StopIterationNoBuffer` | (1) | 3 | (1) | (1) |
///
/// (In parentheses: the fallback, logged as an error.)
///
/// ```
/// use proxywasm::Action;
/// use proxywasm::http::Phase;
/// assert_eq!(Action::default(), Action::Continue);
/// assert_eq!(Action::Pause.as_raw(), 1);
/// assert_eq!(Action::StopIterationNoBuffer.raw_for(Phase::Body), Some(3));
/// assert_eq!(Action::StopIterationNoBuffer.raw_for(Phase::Headers), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Let the data through (`0` everywhere).
    #[default]
    Continue = 0,
    /// Hold the data until the plugin resumes the stream (`1` everywhere:
    /// the specification's Pause, Envoy's StopIteration in headers,
    /// trailers and TCP callbacks, StopIterationAndBuffer in body
    /// callbacks).
    ///
    /// What Envoy 1.40 does with it depends on the callback:
    /// - **headers**: by default Envoy turns it into
    ///   [`StopAllIterationAndWatermark`](Action::StopAllIterationAndWatermark):
    ///   headers, body and trailers are all held, and no body callback
    ///   arrives until [`crate::http::resume_request`] / `resume_response`.
    ///   Then the whole body so far arrives in one body callback. With
    ///   `allow_on_headers_stop_iteration: true` in the plugin's
    ///   configuration, only the headers are held: the body and trailers
    ///   callbacks keep arriving, and a [`Continue`](Action::Continue) from
    ///   them (or a resume) sends the headers on with the body, no resume
    ///   needed.
    /// - **body**: the chunk is buffered; the next body callback reports the
    ///   total buffered size and the body buffer holds all of it.
    /// - **trailers**: the trailers are held until the plugin resumes.
    /// - **TCP data**: the data is held in Envoy's read buffer; the next
    ///   callback reports the total.
    ///
    /// ```
    /// assert_eq!(proxywasm::Action::Pause.as_raw(), 1);
    /// ```
    Pause = 1,
    /// Headers only (`2`): Envoy's ContinueAndEndStream, which would end the
    /// message at its headers. Envoy 1.40 does **not** honour it from a
    /// Wasm plugin: it acts as [`Continue`](Action::Continue), and the body
    /// and trailers still go through (measured, with and without
    /// `allow_on_headers_stop_iteration`).
    ///
    /// ```
    /// use proxywasm::{Action, http::Phase};
    /// assert_eq!(Action::ContinueAndEndStream.raw_for(Phase::Headers), Some(2));
    /// assert_eq!(Action::ContinueAndEndStream.fallback(), Action::Continue);
    /// ```
    ContinueAndEndStream = 2,
    /// Headers only (`3`): hold the headers, and buffer the body and
    /// trailers in Envoy until the plugin resumes; no body callback arrives
    /// meanwhile, then the whole body so far comes in one. The same with and
    /// without `allow_on_headers_stop_iteration` (measured). A body larger
    /// than the connection's buffer limit ends the stream with a local reply
    /// (413 for a request; from Envoy's source, not measured).
    ///
    /// ```
    /// use proxywasm::{Action, http::Phase};
    /// assert_eq!(Action::StopAllIterationAndBuffer.raw_for(Phase::Headers), Some(3));
    /// ```
    StopAllIterationAndBuffer = 3,
    /// Headers only (`4`): hold the headers, body and trailers until the
    /// plugin resumes, as [`StopAllIterationAndBuffer`](Action::StopAllIterationAndBuffer),
    /// the same with and without `allow_on_headers_stop_iteration`
    /// (measured), but a body over the buffer limit makes Envoy stop reading
    /// from the client (flow control) instead of failing the stream (from
    /// Envoy's source, not measured). What Envoy does with
    /// [`Pause`](Action::Pause) from a headers callback by default.
    ///
    /// ```
    /// use proxywasm::{Action, http::Phase};
    /// assert_eq!(Action::StopAllIterationAndWatermark.raw_for(Phase::Headers), Some(4));
    /// ```
    StopAllIterationAndWatermark = 4,
    /// Body only (`2`): Envoy keeps the chunk, but the next body callback
    /// sees only the new chunk (its size, and the body buffer holds only
    /// it); on [`Continue`](Action::Continue) everything kept goes on, the
    /// earlier chunks first (measured, either setting of
    /// `allow_on_headers_stop_iteration`). Over the buffer limit Envoy
    /// applies flow control rather than failing the stream.
    ///
    /// ```
    /// use proxywasm::{Action, http::Phase};
    /// assert_eq!(Action::StopIterationAndWatermark.raw_for(Phase::Body), Some(2));
    /// ```
    StopIterationAndWatermark = 5,
    /// Body only (`3`): Envoy does not keep the chunk: it is dropped and
    /// never forwarded, unless the previous body callback returned
    /// [`Pause`](Action::Pause): then the chunk had joined the buffer before
    /// this callback and stays, unseen by the next one (both measured, either
    /// setting of `allow_on_headers_stop_iteration`). For plugins that
    /// rewrite the body themselves.
    ///
    /// ```
    /// use proxywasm::{Action, http::Phase};
    /// assert_eq!(Action::StopIterationNoBuffer.raw_for(Phase::Body), Some(3));
    /// ```
    StopIterationNoBuffer = 6,
}

/// The kind of callback an [`Action`] is returned from: each gives the
/// variants its own wire values ([`Action::raw_for`]).
///
/// ```
/// use proxywasm::{Action, http::Phase};
/// assert_eq!(Action::Pause.raw_for(Phase::Trailers), Some(1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// `on_request_headers`, `on_response_headers`.
    Headers,
    /// `on_request_body`, `on_response_body`.
    Body,
    /// `on_request_trailers`, `on_response_trailers`.
    Trailers,
    /// `on_new_connection`, `on_downstream_data`, `on_upstream_data`.
    TcpData,
}

impl Action {
    /// The wire value in the callbacks where the variant has a meaning
    /// (headers values for the headers-only variants, body values for the
    /// body-only ones).
    ///
    /// ```
    /// use proxywasm::Action;
    /// assert_eq!(Action::Continue.as_raw(), 0);
    /// assert_eq!(Action::StopAllIterationAndWatermark.as_raw(), 4);
    /// assert_eq!(Action::StopIterationAndWatermark.as_raw(), 2);
    /// ```
    pub const fn as_raw(self) -> u32 {
        match self {
            Action::Continue => 0,
            Action::Pause => 1,
            Action::ContinueAndEndStream | Action::StopIterationAndWatermark => 2,
            Action::StopAllIterationAndBuffer | Action::StopIterationNoBuffer => 3,
            Action::StopAllIterationAndWatermark => 4,
        }
    }

    /// The wire value a callback of `phase` answers, or `None` where the
    /// variant has no meaning (the dispatcher then logs an error and answers
    /// [`fallback`](Action::fallback)).
    ///
    /// ```
    /// use proxywasm::{Action, http::Phase};
    /// assert_eq!(Action::StopAllIterationAndBuffer.raw_for(Phase::Headers), Some(3));
    /// assert_eq!(Action::StopAllIterationAndBuffer.raw_for(Phase::Body), None);
    /// assert_eq!(Action::Pause.raw_for(Phase::TcpData), Some(1));
    /// ```
    #[inline(always)]
    pub const fn raw_for(self, phase: Phase) -> Option<u32> {
        // Arithmetic on the discriminants (0..=4 are the headers values,
        // 5 and 6 the body's 2 and 3): small enough to inline into every
        // export, and folded away for a constant action.
        let d = self as u32;
        match phase {
            Phase::Headers if d <= 4 => Some(d),
            Phase::Body if d <= 1 => Some(d),
            Phase::Body if d >= 5 => Some(d - 3),
            Phase::Trailers | Phase::TcpData if d <= 1 => Some(d),
            _ => None,
        }
    }

    /// The discriminant: the wire value of Continue (0) and Pause (1) in
    /// every callback; the dispatcher maps the others per callback kind.
    #[inline(always)]
    pub(crate) const fn discriminant(self) -> u32 {
        self as u32
    }

    /// The variant of a [`discriminant`](Action::discriminant) (Continue for
    /// an unknown one, which the SDK never makes).
    pub(crate) const fn from_discriminant(discriminant: u32) -> Action {
        match discriminant {
            1 => Action::Pause,
            2 => Action::ContinueAndEndStream,
            3 => Action::StopAllIterationAndBuffer,
            4 => Action::StopAllIterationAndWatermark,
            5 => Action::StopIterationAndWatermark,
            6 => Action::StopIterationNoBuffer,
            _ => Action::Continue,
        }
    }

    /// The action answered where this one has no meaning:
    /// [`Continue`](Action::Continue) for the continues, [`Pause`](Action::Pause)
    /// for every stop.
    ///
    /// ```
    /// use proxywasm::Action;
    /// assert_eq!(Action::StopIterationNoBuffer.fallback(), Action::Pause);
    /// assert_eq!(Action::ContinueAndEndStream.fallback(), Action::Continue);
    /// ```
    pub const fn fallback(self) -> Action {
        match self {
            Action::Continue | Action::ContinueAndEndStream => Action::Continue,
            _ => Action::Pause,
        }
    }

    /// The variant's name, for log lines.
    ///
    /// ```
    /// assert_eq!(proxywasm::Action::StopIterationNoBuffer.name(), "StopIterationNoBuffer");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Action::Continue => "Continue",
            Action::Pause => "Pause",
            Action::ContinueAndEndStream => "ContinueAndEndStream",
            Action::StopAllIterationAndBuffer => "StopAllIterationAndBuffer",
            Action::StopAllIterationAndWatermark => "StopAllIterationAndWatermark",
            Action::StopIterationAndWatermark => "StopIterationAndWatermark",
            Action::StopIterationNoBuffer => "StopIterationNoBuffer",
        }
    }
}

one_liners! {
    /// The request headers (readable in `on_request_headers`, while the request
    /// is paused, and in `on_log`).
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[(":method", "GET")], || {
    /// assert_eq!(proxywasm::http::request_headers().get(":method")?.unwrap(), "GET");
    /// # Ok(()) });
    /// ```
    fn request_headers() -> HeaderMap(map::REQUEST_HEADERS);

    /// The request trailers (in `on_request_trailers`; can be created from the
    /// last `on_request_body` when the request has none).
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// let trailers = proxywasm::http::request_trailers();
    /// let _ = trailers.get("grpc-status");
    /// # Ok(()) });
    /// ```
    fn request_trailers() -> HeaderMap(map::REQUEST_TRAILERS);

    /// The response headers (in `on_response_headers`, while the response is
    /// paused, and in `on_log`).
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// let _ = proxywasm::http::response_headers().add("x-served-by", "proxywasm");
    /// # Ok(()) });
    /// ```
    fn response_headers() -> HeaderMap(map::RESPONSE_HEADERS);

    /// The response trailers.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// let _ = proxywasm::http::response_trailers().get("grpc-status");
    /// # Ok(()) });
    /// ```
    fn response_trailers() -> HeaderMap(map::RESPONSE_TRAILERS);

    /// The request body buffered so far (in `on_request_body`).
    ///
    /// ```
    /// # proxywasm::mock::doc_http_body(b"{}", || {
    /// assert_eq!(proxywasm::http::request_body().read_all()?, "{}");
    /// # Ok(()) });
    /// ```
    fn request_body() -> Buffer(buffer::HTTP_REQUEST_BODY);

    /// The response body buffered so far (in `on_response_body`).
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::http::response_body().len()?;
    /// # Ok(()) });
    /// ```
    fn response_body() -> Buffer(buffer::HTTP_RESPONSE_BODY);

    /// Resumes a request this plugin paused. Envoy acts after the current callback
    /// returns; resume only what you paused, once.
    ///
    /// # Errors
    /// The hostcall's status (Envoy answers OK even when nothing is paused).
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::http::resume_request()?;
    /// # Ok(()) });
    /// ```
    fn resume_request() = continue_stream(HTTP_REQUEST);

    /// Resumes a response this plugin paused.
    ///
    /// # Errors
    /// As [`resume_request`].
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::http::resume_response()?;
    /// # Ok(()) });
    /// ```
    fn resume_response() = continue_stream(HTTP_RESPONSE);

    /// Resets the HTTP stream (Envoy resets it after the current callback).
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::http::reset()?;
    /// # Ok(()) });
    /// ```
    fn reset() = close_stream(HTTP_REQUEST);
}

/// An HTTP status code, as a local reply sends it (`200`, `403`, …).
///
/// [`LocalResponse::new`] takes one or a plain number, so both of these
/// build the same reply. The constants name the codes plugins send most; any
/// other code is kept as given (the host, not the SDK, judges whether it is a
/// valid HTTP status).
///
/// ```
/// use proxywasm::http::{LocalResponse, StatusCode};
///
/// assert_eq!(LocalResponse::new(StatusCode::FORBIDDEN), LocalResponse::new(403));
/// assert_eq!(StatusCode::from(429), StatusCode::TOO_MANY_REQUESTS);
/// assert_eq!(StatusCode::new(503).as_u16(), 503);
/// assert_eq!(u16::from(StatusCode::OK), 200);
/// assert_eq!(StatusCode::NOT_FOUND.to_string(), "404");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(u16);

codes! {
    http::StatusCode(u16), fn as_u16 {
        /// `200 OK`.
        OK = 200,
        /// `204 No Content`.
        NO_CONTENT = 204,
        /// `301 Moved Permanently`.
        MOVED_PERMANENTLY = 301,
        /// `302 Found`.
        FOUND = 302,
        /// `400 Bad Request`.
        BAD_REQUEST = 400,
        /// `401 Unauthorized`.
        UNAUTHORIZED = 401,
        /// `403 Forbidden`.
        FORBIDDEN = 403,
        /// `404 Not Found`.
        NOT_FOUND = 404,
        /// `429 Too Many Requests`.
        TOO_MANY_REQUESTS = 429,
        /// `500 Internal Server Error`.
        INTERNAL_SERVER_ERROR = 500,
        /// `502 Bad Gateway`.
        BAD_GATEWAY = 502,
        /// `503 Service Unavailable`.
        SERVICE_UNAVAILABLE = 503,
        /// `504 Gateway Timeout`.
        GATEWAY_TIMEOUT = 504,
    }
}

/// A local reply: the plugin answers the request itself.
///
/// Build it, then [`send`](LocalResponse::send). Envoy sends it after the
/// current callback returns and overrides that callback's action. Sent from
/// the request path, the reply also passes through this plugin's
/// `on_response_headers`/`on_response_body` (book: reference/hostcalls.md#local-responses).
///
/// # Examples
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, HttpContext, http::LocalResponse, Result};
///
/// struct Deny;
/// impl HttpContext for Deny {
///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         LocalResponse::new(403)
///             .header("content-type", "text/plain")
///             .body("denied\n")
///             .details("policy_denied")
///             .send()?;
///         Ok(Action::Pause)
///     }
/// }
///
/// let host = MockHost::builder().http(|_| Deny);
/// let mut stream = host.http_stream();
/// stream.request_headers(&[(":path", "/")], true);
/// let reply = stream.local_response().expect("a local reply");
/// assert_eq!(reply.status_code, 403);
/// assert_eq!(reply.body, b"denied\n");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalResponse<'a> {
    status: StatusCode,
    static_headers: StaticPairs,
    headers: Vec<(&'a [u8], &'a [u8])>,
    body: &'a [u8],
    details: &'a [u8],
    grpc_status: i32,
}

impl<'a> LocalResponse<'a> {
    /// A reply with this HTTP status code and no headers or body.
    ///
    /// ```
    /// use proxywasm::http::{LocalResponse, StatusCode};
    /// let reply = LocalResponse::new(204);
    /// let same = LocalResponse::new(StatusCode::NO_CONTENT);
    /// # assert_eq!(reply, same);
    /// ```
    pub fn new(status: impl Into<StatusCode>) -> LocalResponse<'a> {
        LocalResponse {
            status: status.into(),
            static_headers: StaticPairs::EMPTY,
            headers: Vec::new(),
            body: &[],
            details: &[],
            grpc_status: -1,
        }
    }

    setters! {
        /// Adds a header (added with add semantics: duplicates are possible).
        ///
        /// ```
        /// let reply = proxywasm::http::LocalResponse::new(200).header("x-a", "1");
        /// # let _ = reply;
        /// ```
        fn header(name, value) -> self.headers.push;

        /// Sets headers serialized at compile time by [`pairs!`](crate::pairs!)
        /// (sent uncopied unless [`header`](LocalResponse::header) adds more,
        /// which go after them).
        ///
        /// ```
        /// use proxywasm::http::{LocalResponse, StaticPairs};
        ///
        /// const JSON: StaticPairs = proxywasm::pairs![("content-type", "application/json")];
        /// let reply = LocalResponse::new(200).static_headers(JSON).body("{}");
        /// # let _ = reply;
        /// ```
        fn static_headers(headers: StaticPairs) -> self.static_headers;

        /// Sets the body.
        ///
        /// ```
        /// let reply = proxywasm::http::LocalResponse::new(200).body("ok");
        /// # let _ = reply;
        /// ```
        fn body(body: bytes) -> self.body;

        /// Sets Envoy's response code details (`%RESPONSE_CODE_DETAILS%`;
        /// spaces become `_`).
        ///
        /// ```
        /// let reply = proxywasm::http::LocalResponse::new(429).details("rate_limited");
        /// # let _ = reply;
        /// ```
        fn details(details: bytes) -> self.details;
    }

    /// The gRPC status (0–16) of the reply to a gRPC request (its
    /// `content-type` is `application/grpc…`): Envoy answers such a request
    /// trailers-only, with this status; for any other value it maps the
    /// HTTP status. A reply to a plain HTTP request never carries a
    /// `grpc-status` (book: reference/hostcalls.md#local-responses).
    ///
    /// ```
    /// use proxywasm::callout::GrpcStatus;
    /// use proxywasm::http::LocalResponse;
    /// let reply = LocalResponse::new(200).grpc_status(GrpcStatus::PERMISSION_DENIED);
    /// # assert_eq!(reply, LocalResponse::new(200).grpc_status(7));
    /// ```
    pub fn grpc_status(mut self, status: impl Into<GrpcStatus>) -> Self {
        self.grpc_status = i32::try_from(status.into().code()).unwrap_or(-1);
        self
    }

    /// Sends the reply (`proxy_send_local_response`). Envoy sends it once
    /// the callback returns, and overrides the callback's action.
    ///
    /// **One reply per callback.** A second `send` in the same callback of
    /// the same context sends nothing and returns an error
    /// ([`Error::is_refused`](crate::Error::is_refused)): Envoy 1.40 ignores
    /// a second reply from a request callback and **crashes** on a second
    /// from `on_response_headers` (book: reference/envoy-1.40.md#local-replies).
    /// A reply from the plugin's `on_response_headers` for its own earlier
    /// reply is a new callback, and replaces that reply.
    ///
    /// # Errors
    /// The hostcall's status (Envoy answers OK even when it cannot act, e.g.
    /// outside an HTTP stream), or the refusal of a second reply.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// proxywasm::http::LocalResponse::new(404).body("not here").send()?;
    /// # Ok(()) });
    /// ```
    pub fn send(&self) -> Result<()> {
        if crate::runtime::replied() {
            return Err(crate::Error::refused(
                "proxy_send_local_response",
                "this callback already sent a local reply (Envoy 1.40 ignores a second from a \
                 request callback and crashes on one from on_response_headers)",
            ));
        }
        let headers =
            wire::with_fixed(self.static_headers.as_bytes(), self.headers.iter().copied());
        check(
            "proxy_send_local_response",
            calls::send_local_response(
                u32::from(self.status.as_u16()),
                self.details,
                self.body,
                &headers,
                self.grpc_status,
            ),
        )?;
        crate::runtime::note_reply();
        Ok(())
    }
}

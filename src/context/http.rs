use super::Callbacks;
use crate::callout::{GrpcToken, HttpCallToken};
use crate::{Action, ErrorPolicy, GrpcEvent, HttpCallResponse, Result};
use core::future::Future;

/// An HTTP stream context: one per request/response exchange.
///
/// Callbacks receive sizes and counts; read and change the data itself with
/// [`crate::http`] (`request_headers()`, `response_body()`, …) while the
/// callback runs. Every callback has a default that does nothing and returns
/// `Ok(Action::Continue)` (or `Ok(())`).
///
/// Callbacks return [`Result`](crate::Result), so `?` works on every hostcall;
/// an error is logged once and the stream gets the type's
/// [`ON_ERROR`](HttpContext::ON_ERROR) policy (by default a 500 local reply).
///
/// # Lifecycle (Envoy; book: reference/lifecycle.md#http)
/// `on_request_headers` → `on_request_body`* → `on_request_trailers`? →
/// `on_response_headers` → `on_response_body`* → `on_response_trailers`? →
/// **`on_log` → `on_done`**, then the context is dropped. Request headers are
/// unreadable once the request has continued: copy what the response path needs.
///
/// # Examples
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, HttpContext, Result, http};
///
/// struct AddHeader;
/// impl HttpContext for AddHeader {
///     fn on_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Result<Action> {
///         http::response_headers().add("x-powered-by", "proxywasm")?;
///         Ok(Action::Continue)
///     }
/// }
///
/// let host = MockHost::builder().http(|_| AddHeader);
/// let mut stream = host.http_stream();
/// stream.request_headers(&[(":path", "/")], true);
/// assert_eq!(stream.response_headers(&[(":status", "200")], true), Action::Continue);
/// assert_eq!(stream.current_response_header("x-powered-by").as_deref(), Some("proxywasm"));
/// ```
pub trait HttpContext: 'static {
    /// What the SDK does when a callback of this type returns an error
    /// (default [`ErrorPolicy::FailClosed`]: a 500 local reply).
    const ON_ERROR: ErrorPolicy = ErrorPolicy::FailClosed;

    /// Which callbacks this type writes ([`Callbacks`]): the others are
    /// answered without reaching it. Leave it to
    /// [`#[proxywasm::callbacks]`][callbacks], which reads it off the
    /// `impl` block; the default, [`Callbacks::ALL`], is always right.
    ///
    #[cfg_attr(feature = "macros", doc = "[callbacks]: macro@crate::callbacks")]
    /// [callbacks]: crate#feature-flags
    const CALLBACKS: Callbacks = Callbacks::ALL;

    callbacks! {
        /// Request headers arrived. `end_of_stream` is true when there is no body.
        fn on_request_headers(&mut self, num_headers: usize, end_of_stream: bool) -> Result<Action>;

        /// A request body chunk arrived. After a [`Action::Pause`], `body_size` is
        /// the total buffered so far, and `request_body()` reads all of it.
        fn on_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Result<Action>;

        /// Request trailers arrived.
        fn on_request_trailers(&mut self, num_trailers: usize) -> Result<Action>;

        /// Response headers arrived (also for a local reply this plugin sent from
        /// the request path).
        fn on_response_headers(&mut self, num_headers: usize, end_of_stream: bool) -> Result<Action>;

        /// A response body chunk arrived; see [`HttpContext::on_request_body`].
        fn on_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Result<Action>;

        /// Response trailers arrived.
        fn on_response_trailers(&mut self, num_trailers: usize) -> Result<Action>;

        /// The stream completed (Envoy's access-log phase, before `on_done`).
        /// Request and response headers are readable again here.
        fn on_log(&mut self) -> Result<()>;

        /// The stream is finished; the context is dropped right after.
        fn on_done(&mut self) -> Result<()>;

        /// Response to an HTTP callout this stream made. The stream is the
        /// effective context, so `resume_request()` and header calls act on it.
        fn on_http_call_response(&mut self, token: HttpCallToken, response: HttpCallResponse) -> Result<()>;

        /// An event of a gRPC call or stream this stream made.
        fn on_grpc_event(&mut self, token: GrpcToken, event: GrpcEvent) -> Result<()>;
    }

    /// Spawns `task`, a future owned by this stream, on the SDK's
    /// single-threaded executor ([`crate::task`]). It is polled once at
    /// once, then whenever what it awaits is ready (a callout's response,
    /// a [`sleep`](crate::task::sleep)), always with this stream as the
    /// effective context, so `resume_request()` and header calls act on it.
    /// The task is dropped if the stream ends first (a debug line says so).
    /// An error ending the task is handled like a callback's (the
    /// [`ON_ERROR`](HttpContext::ON_ERROR) policy: by default a 500).
    ///
    /// Call it from this stream's own callbacks.
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// use proxywasm::{Action, HttpContext, Result, http};
    ///
    /// /// Two checks, one after the other: the second only if the first passed.
    /// struct TwoChecks;
    /// impl HttpContext for TwoChecks {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         self.spawn(async {
    ///             for service in ["quota", "auth"] {
    ///                 let response = HttpCall::new(service)
    ///                     .headers(&[(":method", "GET"), (":path", "/"), (":authority", service)])
    ///                     .send_async()?
    ///                     .await?;
    ///                 if response.status()? != Some(200) {
    ///                     return http::LocalResponse::new(403).send();
    ///                 }
    ///             }
    ///             http::resume_request()
    ///         });
    ///         Ok(Action::Pause)
    ///     }
    /// }
    ///
    /// let host = proxywasm::mock::MockHost::builder().http(|_| TwoChecks);
    /// let mut stream = host.http_stream();
    /// assert_eq!(stream.request_headers(&[(":path", "/")], true), Action::Pause);
    /// for service in ["quota", "auth"] {
    ///     let call = host.callouts().http().pop().expect("the next check");
    ///     assert_eq!(call.upstream, service);
    ///     host.callouts().respond_http(call.token, &[(":status", "200")], b"", &[]);
    /// }
    /// assert_eq!(stream.action(), Action::Continue);
    /// ```
    fn spawn(&self, task: impl Future<Output = Result<()>> + 'static)
    where
        Self: Sized,
    {
        crate::runtime::spawn(task, super::http_task_failed::<Self>);
    }
}

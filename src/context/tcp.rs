use super::Callbacks;
use crate::callout::{GrpcToken, HttpCallToken};
use crate::{Action, ErrorPolicy, GrpcEvent, HttpCallResponse, PeerType, Result};
use core::future::Future;

/// A TCP connection context (network filter): one per connection.
///
/// Read and change the data with [`crate::tcp`] while a data callback runs.
/// Callbacks return [`Result`](crate::Result); an error is logged once and
/// the connection gets the type's [`ON_ERROR`](TcpContext::ON_ERROR) policy
/// (by default it is closed).
///
/// # Lifecycle (Envoy; book: reference/lifecycle.md#tcp)
/// `on_new_connection` → interleaved `on_downstream_data`/`on_upstream_data` →
/// `on_upstream_close`/`on_downstream_close` → **`on_done` → `on_log`**, then
/// the context is dropped (note the order differs from HTTP).
///
/// # Examples
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, Result, TcpContext};
///
/// #[derive(Default)]
/// struct Count(usize);
/// impl TcpContext for Count {
///     fn on_downstream_data(&mut self, size: usize, _end_of_stream: bool) -> Result<Action> {
///         self.0 += size;
///         proxywasm::log::info!("seen {} bytes", self.0);
///         Ok(Action::Continue)
///     }
/// }
///
/// let host = MockHost::builder().tcp(|_| Count::default());
/// let mut conn = host.tcp_connection();
/// conn.downstream_data(b"hello", false);
/// assert!(host.logs().contain("seen 5 bytes"));
/// ```
pub trait TcpContext: 'static {
    /// What the SDK does when a callback of this type returns an error
    /// (default [`ErrorPolicy::FailClosed`]: the connection is closed).
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
        /// A new connection was accepted.
        fn on_new_connection(&mut self) -> Result<Action>;

        /// Data from the client (downstream) arrived.
        fn on_downstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Result<Action>;

        /// Data from the server (upstream) arrived.
        fn on_upstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Result<Action>;

        /// The downstream connection closed.
        fn on_downstream_close(&mut self, peer: PeerType) -> Result<()>;

        /// The upstream connection closed.
        fn on_upstream_close(&mut self, peer: PeerType) -> Result<()>;

        /// The connection is finished (before `on_log` for TCP).
        fn on_done(&mut self) -> Result<()>;

        /// The connection's access-log phase; the context is dropped right after.
        fn on_log(&mut self) -> Result<()>;

        /// Response to an HTTP callout this connection made.
        fn on_http_call_response(&mut self, token: HttpCallToken, response: HttpCallResponse) -> Result<()>;

        /// An event of a gRPC call or stream this connection made.
        fn on_grpc_event(&mut self, token: GrpcToken, event: GrpcEvent) -> Result<()>;
    }

    /// Spawns `task`, a future owned by this connection, on the SDK's
    /// single-threaded executor ([`crate::task`]). It is polled once at
    /// once, then whenever what it awaits is ready (a callout's response,
    /// a [`sleep`](crate::task::sleep)), always with this connection as the
    /// effective context, so `resume_downstream()` and data calls act on it.
    /// The task is dropped if the connection ends first (a debug line says so).
    /// An error ending the task is handled like a callback's (the
    /// [`ON_ERROR`](TcpContext::ON_ERROR) policy: by default the connection
    /// is closed).
    ///
    /// Call it from this connection's own callbacks.
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::{Action, Result, TcpContext, tcp};
    ///
    /// struct Gate;
    /// impl TcpContext for Gate {
    ///     fn on_new_connection(&mut self) -> Result<Action> {
    ///         let check = HttpCall::new("policy")
    ///             .headers(&[(":method", "GET"), (":path", "/"), (":authority", "policy")])
    ///             .send_async()?;
    ///         self.spawn(async move {
    ///             match check.await?.status()? {
    ///                 Some(200) => tcp::resume_downstream(),
    ///                 _ => tcp::close_downstream(),
    ///             }
    ///         });
    ///         Ok(Action::Pause)
    ///     }
    /// }
    ///
    /// let host = MockHost::builder().tcp(|_| Gate);
    /// let conn = host.tcp_connection();
    /// let call = host.callouts().http().pop().expect("one call");
    /// host.callouts().respond_http(call.token, &[(":status", "403")], b"", &[]);
    /// assert!(conn.is_downstream_closed());
    /// ```
    fn spawn(&self, task: impl Future<Output = Result<()>> + 'static)
    where
        Self: Sized,
    {
        crate::runtime::spawn(task, super::tcp_task_failed::<Self>);
    }
}

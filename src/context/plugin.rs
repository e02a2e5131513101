use super::Callbacks;
use super::{HttpContext, TcpContext};
use crate::callout::{GrpcToken, HttpCallToken};
use crate::dns::DnsToken;
use crate::foreign::FunctionId;
use crate::{Configuration, GrpcEvent, HttpCallResponse};
use crate::{ContextId, QueueId, Result};

/// A plugin context ("root context"): one per plugin configuration in a VM. It
/// receives the plugin configuration, timer ticks, queue notifications and
/// the responses of callouts it made, and it creates the stream contexts.
///
/// Callbacks return [`Result`]: an error is logged once (naming the callback
/// and the context) and nothing else happens, except in
/// [`on_configure`](PluginContext::on_configure), where it refuses the
/// configuration.
///
/// A plugin that serves only HTTP sets `type Tcp = NoContext` (and vice
/// versa); [`NoContext`](crate::NoContext) has no values, so the unused code
/// is compiled out.
///
/// # Examples
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Configuration, ContextId, HttpContext, NoContext, PluginContext, Result};
/// use std::rc::Rc;
///
/// struct Plugin {
///     header: Rc<str>,
/// }
/// struct Filter {
///     header: Rc<str>,
/// }
/// impl HttpContext for Filter {
///     fn on_response_headers(&mut self, _n: usize, _eos: bool) -> Result<proxywasm::Action> {
///         proxywasm::http::response_headers().add(&*self.header, "1")?;
///         Ok(proxywasm::Action::Continue)
///     }
/// }
///
/// impl PluginContext for Plugin {
///     type Http = Filter;
///     type Tcp = NoContext;
///     fn on_configure(&mut self, config: Configuration) -> Result<()> {
///         self.header = config.to_string_lossy()?.into();
///         proxywasm::time::set_tick_period(std::time::Duration::from_secs(1))?;
///         Ok(())
///     }
///     fn on_tick(&mut self) -> Result<()> {
///         proxywasm::log::info!("tick");
///         Ok(())
///     }
///     fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
///         Some(Filter { header: self.header.clone() })
///     }
/// }
///
/// let host = MockHost::builder().plugin_configuration("x-a").plugin(|_| Plugin { header: "".into() });
/// assert!(host.start());
/// host.time().advance(std::time::Duration::from_secs(1));
/// assert!(host.logs().contain("tick"));
/// ```
pub trait PluginContext: 'static {
    /// The HTTP stream context type ([`NoContext`](crate::NoContext) if none).
    type Http: HttpContext;
    /// The TCP connection context type ([`NoContext`](crate::NoContext) if none).
    type Tcp: TcpContext;

    /// Which callbacks this type writes ([`Callbacks`]): the others are
    /// answered without reaching it. Leave it to
    /// [`#[proxywasm::callbacks]`][callbacks], which reads it off the
    /// `impl` block; the default, [`Callbacks::ALL`], is always right.
    ///
    #[cfg_attr(feature = "macros", doc = "[callbacks]: macro@crate::callbacks")]
    /// [callbacks]: crate#feature-flags
    const CALLBACKS: Callbacks = Callbacks::ALL;

    /// Called with the plugin configuration when the plugin starts (in the
    /// canary VM, the main thread's VM and each worker's). Return an error to refuse to start: the
    /// SDK logs it at error level and Envoy rejects the configuration.
    ///
    /// # Errors
    /// Whatever the implementation returns.
    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let _ = configuration;
        Ok(())
    }

    callbacks! {
        /// Called every tick period (see [`crate::time::set_tick_period`]).
        fn on_tick(&mut self) -> Result<()>;

        /// Called when a shared queue this plugin registered has data.
        fn on_queue_ready(&mut self, queue: QueueId) -> Result<()>;
    }

    /// Called when the plugin is being torn down. Return `false` to keep it
    /// alive (ticks and callouts keep arriving) until it calls
    /// [`crate::plugin::done`].
    fn on_done(&mut self) -> bool {
        true
    }

    callbacks! {
        /// Called for each completed request when the plugin is an access logger.
        fn on_log(&mut self) -> Result<()>;

        /// Response to an HTTP callout this plugin context made.
        fn on_http_call_response(&mut self, token: HttpCallToken, response: HttpCallResponse) -> Result<()>;

        /// An event of a gRPC call or stream this plugin context made.
        fn on_grpc_event(&mut self, token: GrpcToken, event: GrpcEvent) -> Result<()>;

        /// A foreign-function callback (`proxy_on_foreign_function`). Envoy never
        /// calls it; other hosts may.
        fn on_foreign_function(&mut self, function_id: FunctionId, arguments_size: usize) -> Result<()>;

        /// The result of [`crate::dns::resolve`] (Envoy only); read it with
        /// [`crate::dns::results`].
        fn on_resolve_dns(&mut self, token: DnsToken, data_size: usize) -> Result<()>;

    }

    /// Spawns `task`, a future owned by this plugin context, on the SDK's
    /// single-threaded executor ([`crate::task`]): polled once at once, then
    /// whenever what it awaits is ready (a callout's response, a
    /// [`sleep`](crate::task::sleep), which the plugin's ticks drive), with
    /// this context as the effective one. An error ending the task is
    /// logged.
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::{Configuration, NoContext, PluginContext, Result};
    ///
    /// struct Warmup;
    /// impl PluginContext for Warmup {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_configure(&mut self, _c: Configuration) -> Result<()> {
    ///         let fetch = HttpCall::new("config")
    ///             .headers(&[(":method", "GET"), (":path", "/v1"), (":authority", "config")])
    ///             .send_async()?;
    ///         self.spawn(async move {
    ///             let response = fetch.await?;
    ///             proxywasm::log::info!("fetched {} bytes", response.body()?.len());
    ///             Ok(())
    ///         });
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let host = MockHost::builder().plugin(|_| Warmup);
    /// assert!(host.start());
    /// let call = host.callouts().http().pop().expect("one call");
    /// host.callouts().respond_http(call.token, &[(":status", "200")], b"{}", &[]);
    /// assert!(host.logs().contain("fetched 2 bytes"));
    /// ```
    fn spawn(&self, task: impl core::future::Future<Output = Result<()>> + 'static)
    where
        Self: Sized,
    {
        crate::runtime::spawn(task, super::plugin_task_failed);
    }

    /// Creates the context for a new HTTP stream, or `None` if this plugin
    /// does not filter HTTP.
    fn new_http_context(&mut self, id: ContextId) -> Option<Self::Http> {
        let _ = id;
        None
    }

    /// Creates the context for a new TCP connection, or `None` if this plugin
    /// does not filter TCP.
    fn new_tcp_context(&mut self, id: ContextId) -> Option<Self::Tcp> {
        let _ = id;
        None
    }
}

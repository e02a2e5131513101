//! The public face of the emulator: [`MockHost`], its builder, and the
//! [`HttpStream`] and [`TcpConnection`] handles.

use super::engine::{
    ConnState, Export, Fidelity, ForeignFunction, Guest, HostAllocation, HostState, LocalReply,
    MockWorld, Part, Pause, PluginConfig, Side, StreamState, Violation, Vm, VmConfig, first_value,
    from_bytes, from_text, lossy_pairs, map_get,
};
use super::handles::{Callouts, ForeignFunctions, Logs, Metrics, SharedData, Time};
use super::native::NativeGuest;
use crate::dispatch::BoxedDispatcher;
use crate::logging::LogLevel;
use crate::runtime::Runtime;
use crate::{
    Action, ContextId, HttpContext, PeerType, PluginContext, Status, TcpContext, VmContext,
};
use core::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

fn action(raw: u32) -> Action {
    if raw == 0 {
        Action::Continue
    } else {
        Action::Pause
    }
}

fn peer_raw(peer: PeerType) -> u32 {
    match peer {
        PeerType::Unknown => 0,
        PeerType::Local => 1,
        PeerType::Remote => 2,
    }
}

fn path_bytes(path: &[&str]) -> Vec<u8> {
    crate::abi::wire::serialize_path(path)
}

/// Configures a [`MockHost`]; get one from [`MockHost::builder`]. The last
/// call names the plugin's entry, in the same four shapes as
/// `#[proxywasm::main]`: [`vm`](MockHostBuilder::vm),
/// [`plugin`](MockHostBuilder::plugin), [`http`](MockHostBuilder::http) or
/// [`tcp`](MockHostBuilder::tcp).
///
/// # Examples
///
/// ```
/// use proxywasm::logging::LogLevel;
/// use proxywasm::mock::MockHost;
///
/// let host = MockHost::builder()
///     .vm_id("edge")
///     .vm_configuration(r#"{"mode": "strict"}"#)
///     .plugin_configuration("x-tenant")
///     .property(&["xds", "cluster_name"], "backend")
///     .log_level(LogLevel::Info)
///     .http(|_| proxywasm::mock::Noop);
/// assert!(host.start());
/// assert_eq!(host.vm_id(), "edge");
/// ```
pub struct MockHostBuilder {
    config: VmConfig,
    world: Option<MockWorld>,
    foreign: Vec<(String, ForeignFunction)>,
    initialize: Option<Box<dyn FnOnce()>>,
    leak_check: bool,
}

impl core::fmt::Debug for MockHostBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MockHostBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MockHostBuilder {
    fn first_plugin(&mut self) -> &mut PluginConfig {
        let plugins = &mut self.config.plugins;
        if plugins.is_empty() {
            plugins.push(PluginConfig::default());
        }
        &mut plugins[0]
    }

    /// The VM id (`vm_config.vm_id`): the scope of shared data and shared
    /// queues in the [`MockWorld`]. Default: empty.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().vm_id("receiver").http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.vm_id(), "receiver");
    /// ```
    pub fn vm_id(mut self, vm_id: impl Into<String>) -> Self {
        self.config.vm_id = vm_id.into();
        self
    }

    /// The VM configuration (buffer `VM_CONFIGURATION`, its size passed to
    /// `on_vm_start`). Default: empty.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().vm_configuration(vec![1, 2]).http(|_| proxywasm::mock::Noop);
    /// # let _ = host;
    /// ```
    pub fn vm_configuration(mut self, configuration: impl Into<Vec<u8>>) -> Self {
        self.config.vm_configuration = configuration.into();
        self
    }

    /// The first plugin's configuration (buffer `PLUGIN_CONFIGURATION`
    /// during `on_configure`). Default: empty.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().plugin_configuration("text").http(|_| proxywasm::mock::Noop);
    /// # let _ = host;
    /// ```
    pub fn plugin_configuration(mut self, configuration: impl Into<Vec<u8>>) -> Self {
        self.first_plugin().configuration = configuration.into();
        self
    }

    /// The first plugin's name (the `plugin_name` property). Default: empty.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().plugin_name("auth").http(|_| proxywasm::mock::Noop);
    /// let name = host.run(|| proxywasm::property::get_string(&["plugin_name"])).unwrap();
    /// assert_eq!(name.as_deref(), Some("auth"));
    /// ```
    pub fn plugin_name(mut self, name: impl Into<String>) -> Self {
        self.first_plugin().name = name.into();
        self
    }

    /// The first plugin's root id (the `plugin_root_id` property).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().root_id("main").http(|_| proxywasm::mock::Noop);
    /// let id = host.run(|| proxywasm::property::get_string(&["plugin_root_id"])).unwrap();
    /// assert_eq!(id.as_deref(), Some("main"));
    /// ```
    pub fn root_id(mut self, root_id: impl Into<String>) -> Self {
        self.first_plugin().root_id = root_id.into();
        self
    }

    /// The first plugin's `allow_on_headers_stop_iteration` (Envoy's plugin
    /// option, default false). Off, [`Action::Pause`] from a headers callback
    /// holds the whole direction (headers, body, trailers) until the plugin
    /// resumes, as Envoy 1.40 does; on, it holds only the headers, and the
    /// body callbacks keep arriving (book: reference/callbacks.md#return-values).
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::{Action, HttpContext, Result};
    /// struct HoldHeaders;
    /// impl HttpContext for HoldHeaders {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         Ok(Action::Pause)
    ///     }
    /// }
    /// let host = MockHost::builder().allow_on_headers_stop_iteration(true).http(|_| HoldHeaders);
    /// let mut stream = host.http_stream();
    /// stream.request_headers(&[(":method", "POST")], false);
    /// // The body reaches the plugin, whose Continue lets headers and body go on.
    /// assert_eq!(stream.request_body(b"abc", true), Action::Continue);
    /// assert!(!stream.is_request_paused());
    /// ```
    pub fn allow_on_headers_stop_iteration(mut self, allow: bool) -> Self {
        self.first_plugin().allow_on_headers_stop_iteration = allow;
        self
    }

    /// Adds another plugin (another root context, with its own
    /// configuration) to the VM, as Envoy does for several filters sharing a
    /// VM. [`MockHost::start`] starts them in order.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder()
    ///     .plugin_configuration("first")
    ///     .add_plugin("second")
    ///     .http(|_| proxywasm::mock::Noop);
    /// assert!(host.start());
    /// assert_eq!(host.root_context_ids().len(), 2);
    /// ```
    pub fn add_plugin(self, configuration: impl Into<Vec<u8>>) -> Self {
        self.add_plugin_with(PluginConfig {
            configuration: configuration.into(),
            ..PluginConfig::default()
        })
    }

    /// Adds another plugin with its whole identity: name, root id,
    /// configuration and options, as one `envoy.filters.http.wasm` entry
    /// gives them (the setters above configure the first plugin).
    ///
    /// ```
    /// use proxywasm::attribute::plugin::ROOT_ID;
    /// use proxywasm::mock::{MockHost, PluginConfig};
    /// use proxywasm::{Configuration, NoContext, PluginContext, Result};
    /// struct Named;
    /// impl PluginContext for Named {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_configure(&mut self, _config: Configuration) -> Result<()> {
    ///         log::info!("root id {}", ROOT_ID.get()?.unwrap_or_default());
    ///         Ok(())
    ///     }
    /// }
    /// let host = MockHost::builder()
    ///     .root_id("plugin1")
    ///     .add_plugin_with(PluginConfig {
    ///         root_id: "plugin2".into(),
    ///         ..PluginConfig::default()
    ///     })
    ///     .plugin(|_| Named);
    /// assert!(host.start());
    /// assert!(host.logs().contain("root id plugin1"));
    /// assert!(host.logs().contain("root id plugin2"));
    /// ```
    pub fn add_plugin_with(mut self, plugin: PluginConfig) -> Self {
        self.config.plugins.push(plugin);
        self
    }

    /// Seeds a property for every context (`proxy_get_property` on this
    /// exact path). Values are raw bytes as Envoy encodes them (strings as
    /// is, integers as 8 bytes little-endian, maps as pairs).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder()
    ///     .property(&["source", "port"], 8080i64.to_le_bytes().to_vec())
    ///     .http(|_| proxywasm::mock::Noop);
    /// let port = host.run(|| proxywasm::property::get_i64(&["source", "port"])).unwrap();
    /// assert_eq!(port, Some(8080));
    /// ```
    pub fn property(mut self, path: &[&str], value: impl Into<Vec<u8>>) -> Self {
        self.config
            .properties
            .insert(path_bytes(path), value.into());
        self
    }

    /// The emulated wall clock at start. Default: 2024-01-01T00:00:00Z.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let start = UNIX_EPOCH + Duration::from_secs(1_000_000);
    /// let host = proxywasm::mock::MockHost::builder().start_time(start).http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.run(proxywasm::time::now).unwrap(), start);
    /// ```
    pub fn start_time(mut self, time: SystemTime) -> Self {
        let nanos = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        self.config.start_time_nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        self
    }

    /// The host's log level: what `proxy_get_log_level` returns, and the
    /// lowest level the host records. Default: [`LogLevel::Trace`].
    ///
    /// ```
    /// use proxywasm::logging::LogLevel;
    /// let host = proxywasm::mock::MockHost::builder().log_level(LogLevel::Warn).http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.run(proxywasm::logging::log_level).unwrap(), LogLevel::Warn);
    /// ```
    pub fn log_level(mut self, level: LogLevel) -> Self {
        self.config.log_level = level;
        self
    }

    /// Registers a host foreign function (`proxy_call_foreign_function`),
    /// replacing a built-in of the same name (the emulator has Envoy's
    /// `compress`, `uncompress`, `clear_route_cache`, `declare_property` and
    /// `expr_*`; book: foreign-functions.md#testing). Unregistered names
    /// answer `NOT_FOUND`, as Envoy does.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder()
    ///     .foreign_function("compress", |args: &[u8]| Ok(args.to_ascii_uppercase()))
    ///     .http(|_| proxywasm::mock::Noop);
    /// let out = host.run(|| proxywasm::foreign::call("compress", b"abc")).unwrap().unwrap();
    /// assert_eq!(out, "ABC");
    /// ```
    pub fn foreign_function(
        mut self,
        name: &str,
        function: impl FnMut(&[u8]) -> Result<Vec<u8>, Status> + 'static,
    ) -> Self {
        self.foreign.push((name.to_owned(), Box::new(function)));
        self
    }

    /// Puts the host in `world`, where it shares shared data and queues (per
    /// `vm_id`) and metrics with the other hosts there.
    ///
    /// ```
    /// use proxywasm::mock::{MockHost, MockWorld};
    /// let world = MockWorld::new();
    /// let a = MockHost::builder().world(&world).vm_id("shared").http(|_| proxywasm::mock::Noop);
    /// let b = MockHost::builder().world(&world).vm_id("shared").http(|_| proxywasm::mock::Noop);
    /// a.run(|| proxywasm::shared::set("k", b"from a", None)).unwrap();
    /// assert_eq!(b.run(|| proxywasm::shared::get("k")).unwrap().unwrap().0, "from a");
    /// ```
    pub fn world(mut self, world: &MockWorld) -> Self {
        self.world = Some(world.clone());
        self
    }

    /// The Envoy fidelity rules (all on by default).
    ///
    /// ```
    /// use proxywasm::mock::{Fidelity, MockHost};
    /// let host = MockHost::builder().fidelity(Fidelity::lenient()).http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.fidelity(), Fidelity::lenient());
    /// ```
    pub fn fidelity(mut self, fidelity: Fidelity) -> Self {
        self.config.fidelity = fidelity;
        self
    }

    /// Strict mode: a hostcall the test did not list with
    /// [`expect_hostcalls`](MockHostBuilder::expect_hostcalls) (besides
    /// `proxy_log`, `proxy_get_log_level` and `proxy_set_effective_context`,
    /// which the SDK makes on its own), or a lifecycle violation, fails the
    /// test when the callback returns, naming the call.
    ///
    /// ```should_panic
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::{Action, HttpContext, Result};
    /// struct Peek;
    /// impl HttpContext for Peek {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         proxywasm::http::request_headers().get("host")?;
    ///         Ok(Action::Continue)
    ///     }
    /// }
    /// let host = MockHost::builder().strict().http(|_| Peek);
    /// host.http_stream().request_headers(&[("host", "a")], true); // panics: unexpected proxy_get_header_map_value
    /// ```
    pub fn strict(mut self) -> Self {
        self.config.strict = true;
        self
    }

    /// Hostcalls (ABI names, e.g. `"proxy_http_call"`) strict mode expects.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder()
    ///     .strict()
    ///     .expect_hostcalls(["proxy_get_current_time_nanoseconds"])
    ///     .http(|_| proxywasm::mock::Noop);
    /// host.run(proxywasm::time::now).unwrap();
    /// assert!(host.violations().is_empty());
    /// ```
    pub fn expect_hostcalls<S: Into<String>>(
        mut self,
        hostcalls: impl IntoIterator<Item = S>,
    ) -> Self {
        self.config
            .expected_hostcalls
            .extend(hostcalls.into_iter().map(Into::into));
        self
    }

    /// Whether to echo log records to stderr (shown by `cargo test` for
    /// failing tests). Default: on.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().echo_logs(false).http(|_| proxywasm::mock::Noop);
    /// # let _ = host;
    /// ```
    pub fn echo_logs(mut self, echo: bool) -> Self {
        self.config.echo_logs = echo;
        self
    }

    /// The clusters Envoy knows. When set, an HTTP call to another cluster
    /// fails with `BAD_ARGUMENT` and a gRPC call with `PARSE_FAILURE`, as in
    /// Envoy. Default: every cluster exists.
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// let host = proxywasm::mock::MockHost::builder().known_clusters(["auth"]).http(|_| proxywasm::mock::Noop);
    /// let sent = host.run(|| {
    ///     HttpCall::new("typo").header(":method", "GET").header(":path", "/").header(":authority", "a").send()
    /// });
    /// assert_eq!(sent.unwrap_err().status(), Some(proxywasm::Status::BadArgument));
    /// ```
    pub fn known_clusters<S: Into<String>>(
        mut self,
        clusters: impl IntoIterator<Item = S>,
    ) -> Self {
        self.config.known_clusters = Some(clusters.into_iter().map(Into::into).collect());
        self
    }

    /// Makes Envoy's async client refuse calls to `cluster` at once: the
    /// hostcall fails with `INTERNAL_FAILURE` and no callback ever comes.
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// let host = proxywasm::mock::MockHost::builder().refuse_calls_to("down").http(|_| proxywasm::mock::Noop);
    /// let sent = host.run(|| {
    ///     HttpCall::new("down").header(":method", "GET").header(":path", "/").header(":authority", "a").send()
    /// });
    /// assert_eq!(sent.unwrap_err().status(), Some(proxywasm::Status::InternalFailure));
    /// assert!(host.callouts().http().is_empty());
    /// ```
    pub fn refuse_calls_to(mut self, cluster: impl Into<String>) -> Self {
        self.config.refused_clusters.insert(cluster.into());
        self
    }

    /// The leak check (on by default): when a stream completes, or the
    /// plugins finish, the test fails if a buffer the host allocated in the
    /// plugin's memory for a hostcall result (a header value, a body, a
    /// property…) was handed to a context that is now gone and never freed
    /// ([`MockHost::leaked_host_memory`]). Natively only: a compiled module
    /// frees memory inside its own allocator, which the engine cannot see
    /// (there, watch memory growth over repeated requests instead).
    ///
    /// ```
    /// # // Miri reports the leak this example makes on purpose.
    /// # #[cfg(not(miri))] {
    /// use proxywasm::{Action, HttpContext, Result};
    /// struct Hoard;
    /// impl HttpContext for Hoard {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         std::mem::forget(proxywasm::http::request_headers().get(":path"));
    ///         Ok(Action::Continue)
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().leak_check(false).http(|_| Hoard);
    /// let mut stream = host.http_stream();
    /// stream.request_headers(&[(":path", "/")], true);
    /// stream.complete(); // no failure: the check is off
    /// assert_eq!(host.leaked_host_memory().len(), 1);
    /// # }
    /// ```
    pub fn leak_check(mut self, on: bool) -> Self {
        self.leak_check = on;
        self
    }

    /// Code that stands in for the module's start-up (`_initialize`, static
    /// constructors), run once before the first context is created. Envoy
    /// allows only logging there; see [`Fidelity::restricted_start_up`].
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder()
    ///     .on_initialize(|| proxywasm::log::info!("constructors ran"))
    ///     .http(|_| proxywasm::mock::Noop);
    /// assert!(host.start());
    /// assert!(host.logs().contain("constructors ran"));
    /// assert!(host.violations().is_empty());
    /// ```
    pub fn on_initialize(mut self, code: impl FnOnce() + 'static) -> Self {
        self.initialize = Some(Box::new(code));
        self
    }

    /// Builds the host around a plugin with a VM context factory (the
    /// `#[proxywasm::main]` form).
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::{ContextId, NoContext, PluginContext, VmContext};
    /// struct Vm;
    /// struct Plugin;
    /// impl PluginContext for Plugin { type Http = NoContext; type Tcp = NoContext; }
    /// impl VmContext for Vm {
    ///     type Plugin = Plugin;
    ///     fn new_plugin_context(&mut self, _id: ContextId) -> Plugin { Plugin }
    /// }
    /// assert!(MockHost::builder().vm(|| Vm).start());
    /// ```
    pub fn vm<V: VmContext, F: FnOnce() -> V + 'static>(self, factory: F) -> MockHost {
        self.entry(BoxedDispatcher::vm(factory))
    }

    /// Builds the host around a plugin with a plugin context factory (the
    /// `#[proxywasm::main(plugin)]` form).
    ///
    /// ```
    /// use proxywasm::{NoContext, PluginContext};
    /// struct Plugin;
    /// impl PluginContext for Plugin { type Http = NoContext; type Tcp = NoContext; }
    /// assert!(proxywasm::mock::MockHost::builder().plugin(|_| Plugin).start());
    /// ```
    pub fn plugin<P: PluginContext, F: FnMut(ContextId) -> P + 'static>(
        self,
        factory: F,
    ) -> MockHost {
        self.entry(BoxedDispatcher::plugin(factory))
    }

    /// Builds the host around an HTTP filter (the `#[proxywasm::main(http)]` form).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert!(host.start());
    /// ```
    pub fn http<H: HttpContext, F: FnMut(ContextId) -> H + Clone + 'static>(
        self,
        factory: F,
    ) -> MockHost {
        self.entry(BoxedDispatcher::http(factory))
    }

    /// Builds the host around a network filter (the `#[proxywasm::main(tcp)]` form).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
    /// assert!(host.start());
    /// ```
    pub fn tcp<T: TcpContext, F: FnMut(ContextId) -> T + Clone + 'static>(
        self,
        factory: F,
    ) -> MockHost {
        self.entry(BoxedDispatcher::tcp(factory))
    }

    /// Builds the host around an entry (what `#[proxywasm::main]` produces).
    #[doc(hidden)]
    pub fn entry(mut self, entry: BoxedDispatcher) -> MockHost {
        // The `log` backend and panic hook are process-wide; natively the max
        // level stays at Trace and each host filters by its own level.
        crate::logging::install_once();
        log::set_max_level(log::LevelFilter::Trace);
        let handle = entry.into_handle();
        let initialize = RefCell::new(self.initialize.take());
        self.with_guest(move |weak| {
            Box::new(NativeGuest {
                vm: weak,
                dispatch: handle,
                runtime: Rc::new(Runtime::new()),
                initialize,
            })
        })
    }

    /// Builds the host around another guest: the same emulator and API, with
    /// the plugin's exports called through the [`Guest`] that `make_guest`
    /// returns (given the VM, for the guest's hostcalls). This is how another
    /// front door, such as `proxywasm-wasmtime`, drives a compiled `.wasm`.
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::mock::engine::{Export, Guest};
    ///
    /// /// A guest whose every callback returns 1 (`on_vm_start` and
    /// /// `on_configure`: success).
    /// struct Agreeable;
    /// impl Guest for Agreeable {
    ///     fn call(&self, _export: Export) -> u32 {
    ///         1
    ///     }
    /// }
    /// let host = MockHost::builder().with_guest(|_vm| Box::new(Agreeable));
    /// assert!(host.start());
    /// assert!(host.callbacks().contains(&Export::Initialize));
    /// ```
    pub fn with_guest(self, make_guest: impl FnOnce(Weak<Vm>) -> Box<dyn Guest>) -> MockHost {
        let world = self.world.clone().unwrap_or_default();
        let mut state = HostState::new(self.config, world);
        state.leak_check = self.leak_check;
        for (name, function) in self.foreign {
            state.register_foreign_function(&name, function);
        }
        MockHost {
            vm: Vm::new(state, make_guest),
        }
    }
}

/// An in-process emulator of Envoy's Proxy-Wasm host, running one plugin
/// (one VM) natively so tests exercise it with `cargo test`.
///
/// The plugin is driven exactly as Envoy drives a `.wasm`: through the SDK's
/// export trampolines, with results handed over through the allocation
/// export. Each host is independent (tests run in parallel); context ids
/// start at 1 for each. Several hosts can share a [`MockWorld`].
///
/// Methods take `&self`, so the host stays usable while [`HttpStream`] and
/// [`TcpConnection`] handles are alive. Misusing the emulator (answering a
/// callout that was never made, sending a body before headers…) panics with
/// a message naming what was expected.
///
/// # Examples
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, HttpContext, http, Result};
///
/// struct AddHeader;
/// impl HttpContext for AddHeader {
///     fn on_response_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
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
/// stream.complete();
/// ```
pub struct MockHost {
    pub(super) vm: Rc<Vm>,
}

impl core::fmt::Debug for MockHost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MockHost").field("vm", &self.vm).finish()
    }
}

impl MockHost {
    /// Starts configuring a host.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// # let _ = host;
    /// ```
    pub fn builder() -> MockHostBuilder {
        MockHostBuilder {
            config: VmConfig::default(),
            world: None,
            foreign: Vec::new(),
            initialize: None,
            leak_check: true,
        }
    }

    pub(super) fn state(&self) -> core::cell::RefMut<'_, HostState> {
        self.vm.state()
    }

    /// The emulated VM behind this host: its state and lifecycles, for a
    /// front door of its own ([`MockHostBuilder::with_guest`]).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.vm().state().acting_context(), 0); // no callback running
    /// ```
    pub fn vm(&self) -> &Rc<Vm> {
        &self.vm
    }

    // ---- lifecycle -----------------------------------------------------------------------------

    /// Starts the VM and its plugins as Envoy does: start-up, then for each
    /// plugin `proxy_on_context_create`, `proxy_on_vm_start` and
    /// `proxy_on_configure`. True if every plugin started. Idempotent.
    ///
    /// ```
    /// use proxywasm::{Configuration, NoContext, PluginContext, Result};
    /// struct Picky;
    /// impl PluginContext for Picky {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_configure(&mut self, config: Configuration) -> Result<()> {
    ///         if config.is_empty() { Err(proxywasm::Error::config("a configuration is required")) } else { Ok(()) }
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| Picky);
    /// assert!(!host.start());
    /// assert!(host.logs().contain("a configuration is required"));
    /// ```
    pub fn start(&self) -> bool {
        self.vm.start()
    }

    /// Go `StartVM`: start-up, context creation and `proxy_on_vm_start` for
    /// every plugin, so a test can look between the two steps. True if all
    /// succeeded. (With several plugins Envoy configures each before it
    /// starts the next, as [`MockHost::start`] does; this runs every
    /// `on_vm_start` first.)
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert!(host.start_vm());
    /// assert!(!host.is_started()); // not configured yet
    /// assert!(host.start_plugin());
    /// assert!(host.is_started());
    /// ```
    pub fn start_vm(&self) -> bool {
        self.vm.start_vm()
    }

    /// Go `StartPlugin`: `proxy_on_configure` for every plugin not yet
    /// configured (on a fresh VM, the same as [`MockHost::start`]). True if
    /// all are configured.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert!(host.start_plugin());
    /// ```
    pub fn start_plugin(&self) -> bool {
        self.vm.start()
    }

    /// Whether every plugin started and was configured.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert!(!host.is_started());
    /// host.start();
    /// assert!(host.is_started());
    /// ```
    pub fn is_started(&self) -> bool {
        self.vm.started()
    }

    /// Go `FinishVM`: tears the plugins down (`proxy_on_done`, then
    /// `proxy_on_delete` for those that are done). False if a plugin asked
    /// to finish later; it is deleted when it calls `proxywasm::plugin::done()`.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.start();
    /// assert!(host.finish());
    /// assert!(host.root_context_ids().is_empty());
    /// ```
    pub fn finish(&self) -> bool {
        self.vm.finish()
    }

    /// The first plugin's context id (starting the host if needed).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.root_context_id(), proxywasm::ContextId(1));
    /// ```
    pub fn root_context_id(&self) -> ContextId {
        if self.state().roots.is_empty() {
            self.vm.start();
        }
        ContextId(self.vm.pick_root(None))
    }

    /// Every live plugin context id, in start order.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().add_plugin("b").http(|_| proxywasm::mock::Noop);
    /// host.start();
    /// assert_eq!(host.root_context_ids(), vec![proxywasm::ContextId(1), proxywasm::ContextId(2)]);
    /// ```
    pub fn root_context_ids(&self) -> Vec<ContextId> {
        self.state().roots.iter().map(|id| ContextId(*id)).collect()
    }

    /// Go `InitializeHttpContext`: a new HTTP stream on the first plugin
    /// (`proxy_on_context_create`). Starts the host first if needed, and
    /// panics if the plugin fails to start.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let stream = host.http_stream();
    /// assert_eq!(stream.id(), proxywasm::ContextId(2));
    /// ```
    pub fn http_stream(&self) -> HttpStream {
        let id = self.vm.new_http_stream(None);
        HttpStream {
            vm: self.vm.clone(),
            id,
        }
    }

    /// A new HTTP stream on the plugin `root`.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().add_plugin("b").http(|_| proxywasm::mock::Noop);
    /// host.start();
    /// let stream = host.http_stream_for(host.root_context_ids()[1]);
    /// assert_eq!(stream.id(), proxywasm::ContextId(3));
    /// ```
    pub fn http_stream_for(&self, root: ContextId) -> HttpStream {
        let id = self.vm.new_http_stream(Some(root.0));
        HttpStream {
            vm: self.vm.clone(),
            id,
        }
    }

    /// Go `InitializeConnection`: a new TCP connection
    /// (`proxy_on_context_create`, then `proxy_on_new_connection`; its
    /// action is [`TcpConnection::action`]).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
    /// let conn = host.tcp_connection();
    /// assert_eq!(conn.action(), proxywasm::Action::Continue);
    /// ```
    pub fn tcp_connection(&self) -> TcpConnection {
        let id = self.vm.new_tcp_connection(None);
        TcpConnection {
            vm: self.vm.clone(),
            id,
        }
    }

    /// A new TCP connection on the plugin `root`.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
    /// let conn = host.tcp_connection_for(host.root_context_id());
    /// # let _ = conn;
    /// ```
    pub fn tcp_connection_for(&self, root: ContextId) -> TcpConnection {
        let id = self.vm.new_tcp_connection(Some(root.0));
        TcpConnection {
            vm: self.vm.clone(),
            id,
        }
    }

    /// Runs `code` as plugin code inside a callback of the first plugin
    /// context (starting the host if needed), so SDK calls in it reach this
    /// host. Returns what `code` returns. Deferred effects apply afterwards.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let level = host.run(proxywasm::logging::log_level).unwrap();
    /// assert_eq!(level, proxywasm::logging::LogLevel::Trace);
    /// ```
    pub fn run<R>(&self, code: impl FnOnce() -> R) -> R {
        let root = self.root_context_id();
        self.vm.run_in(root.0, None, code)
    }

    /// Calls one export directly, outside the emulator's stream bookkeeping
    /// (e.g. to check what the SDK does with a callback for an unknown or
    /// deleted context). Returns its raw result.
    ///
    /// ```
    /// use proxywasm::mock::{Export, MockHost};
    /// let host = MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.start();
    /// assert_eq!(host.call_export(Export::RequestHeaders { context_id: 99, num_headers: 0, end_of_stream: true }), 0);
    /// assert!(host.logs().contain("unknown context 99"));
    /// ```
    pub fn call_export(&self, export: Export) -> u32 {
        self.vm.call_export(export)
    }

    // ---- the domains' sub-handles -----------------------------------------------------------

    /// The emulated clock and timers.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let start = host.time().now();
    /// host.time().advance(std::time::Duration::from_secs(1));
    /// assert_eq!(host.time().now(), start + std::time::Duration::from_secs(1));
    /// ```
    pub fn time(&self) -> Time<'_> {
        Time(self)
    }

    /// Shared data and queues.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.shared_data().set("k", b"v");
    /// assert_eq!(host.shared_data().get("k").unwrap().0, b"v");
    /// ```
    pub fn shared_data(&self) -> SharedData<'_> {
        SharedData(self)
    }

    /// Foreign functions.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert!(host.foreign_functions().calls().is_empty());
    /// ```
    pub fn foreign_functions(&self) -> ForeignFunctions<'_> {
        ForeignFunctions(self)
    }

    /// HTTP, gRPC and DNS callouts.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert!(host.callouts().http().is_empty());
    /// ```
    pub fn callouts(&self) -> Callouts<'_> {
        Callouts(self)
    }

    /// Metrics.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.metrics().counter("none"), None);
    /// ```
    pub fn metrics(&self) -> Metrics<'_> {
        Metrics(self)
    }

    /// Logs and the log level.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| proxywasm::log::info!("hello"));
    /// assert!(host.logs().contain("hello"));
    /// ```
    pub fn logs(&self) -> Logs<'_> {
        Logs(self)
    }

    // ---- properties -----------------------------------------------------------------------------

    /// Go `GetProperty`: a property seeded for every context.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().property(&["a", "b"], "v").http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.property(&["a", "b"]), Some(b"v".to_vec()));
    /// assert_eq!(host.property(&["a"]), None);
    /// ```
    pub fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        self.state()
            .config
            .properties
            .get(&path_bytes(path))
            .cloned()
    }

    /// Go `SetProperty`: seeds a property for every context.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.set_property(&["xds", "route_name"], "r1");
    /// let route = host.run(|| proxywasm::property::get_string(&["xds", "route_name"])).unwrap();
    /// assert_eq!(route.as_deref(), Some("r1"));
    /// ```
    pub fn set_property(&self, path: &[&str], value: impl Into<Vec<u8>>) {
        self.state()
            .config
            .properties
            .insert(path_bytes(path), value.into());
    }

    // ---- rules, strict mode, introspection -----------------------------------------------------------

    /// The fidelity rules in force.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.fidelity(), proxywasm::mock::Fidelity::envoy());
    /// ```
    pub fn fidelity(&self) -> Fidelity {
        self.state().config.fidelity
    }

    /// Changes the fidelity rules from now on.
    ///
    /// ```
    /// use proxywasm::mock::Fidelity;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.set_fidelity(Fidelity::lenient());
    /// assert!(!host.fidelity().callouts_on_root);
    /// ```
    pub fn set_fidelity(&self, fidelity: Fidelity) {
        self.state().config.fidelity = fidelity;
    }

    /// Adds hostcalls strict mode expects from now on.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().strict().http(|_| proxywasm::mock::Noop);
    /// host.expect_hostcalls(["proxy_get_current_time_nanoseconds"]);
    /// host.run(proxywasm::time::now).unwrap();
    /// ```
    pub fn expect_hostcalls<S: Into<String>>(&self, hostcalls: impl IntoIterator<Item = S>) {
        self.state()
            .config
            .expected_hostcalls
            .extend(hostcalls.into_iter().map(Into::into));
    }

    /// Every rule broken so far (start-up hostcalls, unexpected hostcalls in
    /// strict mode, callbacks on deleted contexts).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.start();
    /// assert!(host.violations().is_empty());
    /// ```
    pub fn violations(&self) -> Vec<Violation> {
        self.state().violations.clone()
    }

    /// Buffers the host allocated in the plugin's memory for hostcall
    /// results (header values, bodies, properties…) that the plugin still
    /// holds: not freed, not taken over as a `Vec`. A context may hold some
    /// while it lives; see [`leaked_host_memory`](MockHost::leaked_host_memory).
    /// Natively only (empty on a compiled module, whose allocator the engine
    /// cannot see).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().property(&["k"], "v").http(|_| proxywasm::mock::Noop);
    /// let kept = host.run(|| proxywasm::property::get(&["k"])).unwrap();
    /// assert_eq!(host.live_host_memory().len(), 1);
    /// drop(kept);
    /// assert!(host.live_host_memory().is_empty());
    /// ```
    pub fn live_host_memory(&self) -> Vec<HostAllocation> {
        self.vm.live_host_memory()
    }

    /// The host-allocated buffers never freed although the context that
    /// received them is gone (a completed stream, a finished plugin): leaks.
    /// With the [leak check](MockHostBuilder::leak_check) on, completing a
    /// stream or finishing the plugins fails the test when there are any.
    /// Natively only, as [`live_host_memory`](MockHost::live_host_memory).
    ///
    /// ```
    /// use proxywasm::{Action, HttpContext, Result};
    /// struct Tidy;
    /// impl HttpContext for Tidy {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         let path = proxywasm::http::request_headers().get(":path");
    ///         proxywasm::log::info!("{path:?}"); // dropped at the end of the callback
    ///         Ok(Action::Continue)
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().http(|_| Tidy);
    /// let mut stream = host.http_stream();
    /// stream.request_headers(&[(":path", "/")], true);
    /// stream.complete();
    /// assert!(host.leaked_host_memory().is_empty());
    /// ```
    pub fn leaked_host_memory(&self) -> Vec<HostAllocation> {
        self.vm.leaked_host_memory()
    }

    /// How many times the plugin made each hostcall, by ABI name.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(proxywasm::time::now).unwrap();
    /// assert_eq!(host.hostcall_counts().get("proxy_get_current_time_nanoseconds"), Some(&1));
    /// ```
    pub fn hostcall_counts(&self) -> BTreeMap<String, u64> {
        self.state()
            .hostcall_counts
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect()
    }

    /// Resets [`hostcall_counts`](MockHost::hostcall_counts) (e.g. to count
    /// one request).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.start();
    /// host.reset_hostcall_counts();
    /// assert!(host.hostcall_counts().is_empty());
    /// ```
    pub fn reset_hostcall_counts(&self) {
        self.state().hostcall_counts.clear();
    }

    /// Every export the host called, in order (Envoy's view of the lifecycle).
    ///
    /// ```
    /// use proxywasm::mock::Export;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.start();
    /// assert_eq!(host.callbacks()[1], Export::ContextCreate { context_id: 1, parent_id: 0 });
    /// ```
    pub fn callbacks(&self) -> Vec<Export> {
        self.state().trace.clone()
    }

    /// Arms a one-shot re-entry hook: the next time the plugin makes
    /// `hostcall`, the host calls `export` from inside that hostcall, before
    /// returning to the plugin. Real hosts only re-enter through the
    /// allocator; this probes the SDK's dispatcher. Results: [`reentries`](MockHost::reentries).
    ///
    /// ```
    /// use proxywasm::mock::{Export, MockHost};
    /// let host = MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.start();
    /// host.reenter_on("proxy_get_current_time_nanoseconds", Export::Tick { context_id: 1 });
    /// host.run(proxywasm::time::now).unwrap();
    /// assert_eq!(host.reentries(), vec![(Export::Tick { context_id: 1 }, 0)]);
    /// ```
    pub fn reenter_on(&self, hostcall: &str, export: Export) {
        self.vm.reenter_on(hostcall, export);
    }

    /// Arms one-shot test code: the next time this host's plugin makes
    /// `hostcall`, `code` runs before the hostcall returns to the plugin. It
    /// interleaves other workers, whose callbacks are otherwise atomic here:
    /// `code` may drive another host of the same [`MockWorld`], so that
    /// worker runs between this one's read and its write, as Envoy's worker
    /// threads may. Several arms for one hostcall run on its next calls, in
    /// order.
    ///
    /// ```
    /// use proxywasm::mock::{MockHost, MockWorld, Noop};
    /// use std::rc::Rc;
    ///
    /// let world = MockWorld::new();
    /// let a = MockHost::builder().world(&world).http(|_| Noop);
    /// let b = Rc::new(MockHost::builder().world(&world).http(|_| Noop));
    /// let other = b.clone();
    /// a.interleave_on("proxy_get_shared_data", move || {
    ///     other.run(|| proxywasm::shared::set("k", b"from b", None)).unwrap();
    /// });
    /// let seen = a.run(|| proxywasm::shared::get("k")).unwrap();
    /// assert!(seen.is_none(), "a read before b wrote");
    /// assert_eq!(world.shared_data("", "k").unwrap().0, b"from b");
    /// ```
    pub fn interleave_on(&self, hostcall: &str, code: impl FnOnce() + 'static) {
        self.vm.interleave_on(hostcall, Box::new(code));
    }

    /// The exports run by re-entry hooks, with their raw results.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert!(host.reentries().is_empty());
    /// ```
    pub fn reentries(&self) -> Vec<(Export, u32)> {
        self.vm.reentries()
    }

    /// This VM's id.
    ///
    /// ```
    /// assert_eq!(proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop).vm_id(), "");
    /// ```
    pub fn vm_id(&self) -> String {
        self.state().config.vm_id.clone()
    }

    /// The world this host lives in.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.shared_data().set("k", b"v");
    /// assert_eq!(host.world().shared_data("", "k").unwrap().0, b"v");
    /// ```
    pub fn world(&self) -> MockWorld {
        self.vm.world().clone()
    }
}

/// A plugin that does nothing: an [`HttpContext`] and a [`TcpContext`] whose
/// callbacks all keep their defaults, for tests (and examples) of what the
/// host does on its own.
///
/// ```
/// use proxywasm::mock::{MockHost, Noop};
/// let host = MockHost::builder().http(|_| Noop);
/// let mut stream = host.http_stream();
/// assert_eq!(stream.request_headers(&[(":path", "/")], true), proxywasm::Action::Continue);
/// assert_eq!(host.logs().records(), vec![]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Noop;

impl HttpContext for Noop {}
impl TcpContext for Noop {}

/// [`HttpStream`]'s methods for one direction, generated for the request and
/// for the response from one implementation: `$side`, its name in prose
/// (`$dir`) and in Go's method names (`$go`), where its data goes (`$goes`),
/// and what a doc example does first (`$first`, the request headers before
/// the response's).
macro_rules! direction {
    (
        $side:ident, $dir:literal, $go:literal, $goes:literal, $first:literal,
        $headers:ident, $body:ident, $trailers:ident, $paused:ident,
        $current_headers:ident, $current_header:ident, $current_trailers:ident, $current_body:ident,
        $headers_bytes:ident, $header_bytes:ident, $trailers_bytes:ident
    ) => {
        #[doc = concat!("Go `CallOn", $go, "Headers`: delivers the ", $dir, " headers (names are")]
        /// lower-cased, as Envoy does) and returns the action the callback
        /// chose ([`Action::Pause`] if it sent a local reply). Names and
        /// values are bytes (`&str`, `&[u8]`, `Vec<u8>`…): a value need not
        /// be UTF-8, as in Envoy, which passes such bytes through
        /// (book: reference/envoy-1.40.md#non-utf-8-header-values).
        ///
        /// # Panics
        /// If these headers were already sent, if they are the response's and
        /// the request's were not, or if the plugin already answered or reset
        /// the stream.
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        /// let mut stream = host.http_stream();
        #[doc = $first]
        #[doc = concat!("let action = stream.", stringify!($headers), "(&[(\"X-Tag\", \"a\")], true);")]
        /// assert_eq!(action, proxywasm::Action::Continue);
        #[doc = concat!("assert_eq!(stream.", stringify!($current_header), "(\"x-tag\").as_deref(), Some(\"a\"));")]
        /// ```
        pub fn $headers<K: AsRef<[u8]>, V: AsRef<[u8]>>(
            &mut self,
            headers: &[(K, V)],
            end_of_stream: bool,
        ) -> Action {
            action(self.vm.http_headers(self.id, Side::$side, from_bytes(headers), end_of_stream))
        }

        #[doc = concat!("Go `CallOn", $go, "Body`: delivers a ", $dir, " body chunk. After a")]
        /// [`Action::Pause`] the body is buffered and the next call reports the
        /// accumulated size; while the headers are paused, the chunk is held (the
        /// plugin sees it when it resumes) and `Pause` is returned, unless the
        /// headers callback returned `Pause` with
        /// [`allow_on_headers_stop_iteration`](crate::mock::MockHostBuilder::allow_on_headers_stop_iteration).
        /// The other variants act as in Envoy (book: reference/callbacks.md#return-values).
        ///
        /// # Panics
        #[doc = concat!("Before the ", $dir, " headers, after the ", $dir, " ended, or after the")]
        /// plugin answered or reset the stream.
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        /// let mut stream = host.http_stream();
        #[doc = $first]
        #[doc = concat!("stream.", stringify!($headers), "(&[(\"content-type\", \"text/plain\")], false);")]
        #[doc = concat!("assert_eq!(stream.", stringify!($body), "(b\"a\", false), proxywasm::Action::Continue);")]
        #[doc = concat!("stream.", stringify!($body), "(b\"b\", true);")]
        #[doc = concat!("assert_eq!(stream.", stringify!($current_body), "(), b\"ab\");")]
        /// ```
        pub fn $body(&mut self, body: &[u8], end_of_stream: bool) -> Action {
            action(self.vm.http_body(self.id, Side::$side, body, end_of_stream))
        }

        #[doc = concat!("Go `CallOn", $go, "Trailers`: delivers the ", $dir, " trailers (ending the ", $dir, ");")]
        /// names and values are bytes, as for the headers.
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        /// let mut stream = host.http_stream();
        #[doc = $first]
        #[doc = concat!("stream.", stringify!($headers), "(&[(\"te\", \"trailers\")], false);")]
        #[doc = concat!("assert_eq!(stream.", stringify!($trailers), "(&[(\"checksum\", \"1\")]), proxywasm::Action::Continue);")]
        #[doc = concat!("let trailers = stream.", stringify!($current_trailers), "();")]
        /// assert_eq!(trailers, vec![("checksum".to_string(), "1".to_string())]);
        /// ```
        pub fn $trailers<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, trailers: &[(K, V)]) -> Action {
            action(self.vm.http_trailers(self.id, Side::$side, from_bytes(trailers)))
        }

        #[doc = concat!("Whether the ", $dir, " is paused (headers held, body buffered, or trailers held).")]
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        #[doc = concat!("assert!(!host.http_stream().", stringify!($paused), "());")]
        /// ```
        pub fn $paused(&self) -> bool {
            self.view(|s| s.flow(Side::$side).paused != Pause::No)
        }

        #[doc = concat!("Go `GetCurrent", $go, "Headers`: the ", $dir, " headers after the plugin's")]
        #[doc = concat!("changes (what goes ", $goes, "), as text: bytes that are not UTF-8 show as")]
        #[doc = concat!("U+FFFD (the bytes themselves: [`", stringify!($headers_bytes), "`](HttpStream::", stringify!($headers_bytes), ")).")]
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        #[doc = concat!("assert!(host.http_stream().", stringify!($current_headers), "().is_empty());")]
        /// ```
        pub fn $current_headers(&self) -> Vec<(String, String)> {
            self.view(|s| lossy_pairs(s.flow(Side::$side).headers.as_deref().unwrap_or_default()))
        }

        #[doc = concat!("One ", $dir, " header after the plugin's changes (the first value; any")]
        #[doc = concat!("case), as text (the bytes: [`", stringify!($header_bytes), "`](HttpStream::", stringify!($header_bytes), ")).")]
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        #[doc = concat!("assert_eq!(host.http_stream().", stringify!($current_header), "(\":path\"), None);")]
        /// ```
        pub fn $current_header(&self, name: &str) -> Option<String> {
            first_value(&self.$current_headers(), name).map(str::to_owned)
        }

        #[doc = concat!("The ", $dir, " trailers after the plugin's changes (Go has no getter), as")]
        #[doc = concat!("text (the bytes: [`", stringify!($trailers_bytes), "`](HttpStream::", stringify!($trailers_bytes), ")).")]
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        #[doc = concat!("assert!(host.http_stream().", stringify!($current_trailers), "().is_empty());")]
        /// ```
        pub fn $current_trailers(&self) -> Vec<(String, String)> {
            self.view(|s| lossy_pairs(s.flow(Side::$side).trailers.as_deref().unwrap_or_default()))
        }

        #[doc = concat!("The ", $dir, " headers after the plugin's changes, as the bytes they are")]
        /// (names lower-cased).
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        /// let mut stream = host.http_stream();
        #[doc = $first]
        #[doc = concat!("stream.", stringify!($headers), "(&[(&b\"x-raw\"[..], &b\"a\\xffb\"[..])], true);")]
        #[doc = concat!("let headers = stream.", stringify!($headers_bytes), "();")]
        /// assert_eq!(headers.last(), Some(&(b"x-raw".to_vec(), b"a\xffb".to_vec())));
        /// ```
        pub fn $headers_bytes(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
            self.view(|s| s.flow(Side::$side).headers.clone().unwrap_or_default())
        }

        #[doc = concat!("One ", $dir, " header's bytes after the plugin's changes (the first value;")]
        /// any case).
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        /// let mut stream = host.http_stream();
        #[doc = $first]
        #[doc = concat!("stream.", stringify!($headers), "(&[(\"X-Raw\".as_bytes(), &b\"\\xfe\"[..])], true);")]
        #[doc = concat!("assert_eq!(stream.", stringify!($header_bytes), "(\"x-raw\"), Some(vec![0xfe]));")]
        /// ```
        pub fn $header_bytes(&self, name: impl AsRef<[u8]>) -> Option<Vec<u8>> {
            self.view(|s| {
                let headers = s.flow(Side::$side).headers.as_ref()?;
                map_get(headers, name.as_ref()).map(<[u8]>::to_vec)
            })
        }

        #[doc = concat!("The ", $dir, " trailers after the plugin's changes, as bytes.")]
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        #[doc = concat!("assert!(host.http_stream().", stringify!($trailers_bytes), "().is_empty());")]
        /// ```
        pub fn $trailers_bytes(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
            self.view(|s| s.flow(Side::$side).trailers.clone().unwrap_or_default())
        }

        #[doc = concat!("Go `GetCurrent", $go, "Body`: the whole ", $dir, " body so far after the")]
        /// plugin's changes (forwarded, buffered and held bytes).
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        #[doc = concat!("assert!(host.http_stream().", stringify!($current_body), "().is_empty());")]
        /// ```
        pub fn $current_body(&self) -> Vec<u8> {
            self.view(|s| s.flow(Side::$side).body())
        }
    };
}

/// One HTTP stream of a [`MockHost`]: drive its request and response, then
/// [`complete`](HttpStream::complete) it. Go `proxytest`'s `CallOn*` and
/// `GetCurrent*` methods, on a handle.
///
/// Envoy-faithful buffering: after a body callback returns
/// [`Action::Pause`], the next chunk is appended and the callback sees the
/// total size; while headers are paused, later data is held and delivered
/// when the plugin resumes.
///
/// # Examples
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, HttpContext, Result};
///
/// struct Collect;
/// impl HttpContext for Collect {
///     fn on_request_body(&mut self, size: usize, end_of_stream: bool) -> Result<Action> {
///         proxywasm::log::info!("body {size} {end_of_stream}");
///         if end_of_stream { Ok(Action::Continue) } else { Ok(Action::Pause) }
///     }
/// }
/// let host = MockHost::builder().http(|_| Collect);
/// let mut stream = host.http_stream();
/// stream.request_headers(&[(":method", "POST")], false);
/// assert_eq!(stream.request_body(b"abc", false), Action::Pause);
/// assert_eq!(stream.request_body(b"de", true), Action::Continue);
/// assert_eq!(host.logs().info(), vec!["body 3 false", "body 5 true"]);
/// assert_eq!(stream.current_request_body(), b"abcde");
/// ```
pub struct HttpStream {
    vm: Rc<Vm>,
    id: u32,
}

impl core::fmt::Debug for HttpStream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpStream").field("id", &self.id).finish()
    }
}

impl HttpStream {
    fn view<R>(&self, f: impl FnOnce(&StreamState) -> R) -> R {
        let state = self.vm.state();
        let stream = state
            .http(self.id)
            .unwrap_or_else(|| panic!("HTTP stream {} is gone (completed)", self.id));
        f(stream)
    }

    /// The stream's context id.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.http_stream().id(), proxywasm::ContextId(2));
    /// ```
    pub fn id(&self) -> ContextId {
        ContextId(self.id)
    }

    direction! {
        Request, "request", "Request", "upstream", "",
        request_headers, request_body, request_trailers, is_request_paused,
        current_request_headers, current_request_header, current_request_trailers, current_request_body,
        current_request_headers_bytes, current_request_header_bytes, current_request_trailers_bytes
    }

    direction! {
        Response, "response", "Response", "downstream", "stream.request_headers(&[(\":path\", \"/\")], true);",
        response_headers, response_body, response_trailers, is_response_paused,
        current_response_headers, current_response_header, current_response_trailers, current_response_body,
        current_response_headers_bytes, current_response_header_bytes, current_response_trailers_bytes
    }

    /// Makes this stream's route a `direct_response` route answering
    /// `status` with `body`, as Envoy does in front of one
    /// (book: reference/envoy-1.40.md#direct-response-routes): once the
    /// request headers go past the plugin (it continued from
    /// `on_request_headers`, resumed them later, or, having held them under
    /// `allow_on_headers_stop_iteration`, continued from `on_request_body`),
    /// Envoy answers from them, and
    /// the answer passes through the plugin's `on_response_headers` and
    /// `on_response_body` (`:status`, and for a body `content-length` and
    /// `content-type: text/plain`). The request body and trailers are
    /// **never delivered** to the plugin: [`request_body`](HttpStream::request_body)
    /// and [`request_trailers`](HttpStream::request_trailers) drop them and
    /// return [`Action::Continue`].
    ///
    /// # Panics
    /// After the request headers were sent.
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::{Action, HttpContext, Result};
    ///
    /// struct Validate;
    /// impl HttpContext for Validate {
    ///     fn on_request_body(&mut self, size: usize, _eos: bool) -> Result<Action> {
    ///         proxywasm::log::info!("validated {size} bytes");
    ///         Ok(Action::Continue)
    ///     }
    /// }
    /// let host = MockHost::builder().http(|_| Validate);
    /// let mut stream = host.http_stream();
    /// stream.direct_response(200, "from the route\n");
    /// stream.request_headers(&[(":method", "POST"), (":path", "/upload")], false);
    /// assert_eq!(stream.current_response_header(":status").as_deref(), Some("200"));
    /// assert_eq!(stream.current_response_body(), b"from the route\n");
    /// assert_eq!(stream.request_body(b"{}", true), proxywasm::Action::Continue);
    /// assert!(host.logs().info().is_empty(), "the body never reached the plugin");
    /// stream.complete();
    /// ```
    pub fn direct_response(&mut self, status: u32, body: impl Into<Vec<u8>>) {
        self.vm.set_direct_response(self.id, status, body.into());
    }

    /// Go `CompleteHttpContext`: ends the stream as Envoy does for HTTP —
    /// `proxy_on_log`, then `proxy_on_done`, then `proxy_on_delete`.
    ///
    /// ```
    /// use proxywasm::mock::Export;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let mut stream = host.http_stream();
    /// stream.request_headers(&[(":path", "/")], true);
    /// stream.complete();
    /// let tail: Vec<Export> = host.callbacks().into_iter().rev().take(3).collect();
    /// assert_eq!(tail, vec![Export::Delete { context_id: 2 }, Export::Done { context_id: 2 }, Export::Log { context_id: 2 }]);
    /// ```
    pub fn complete(self) {
        self.vm.complete_http(self.id);
    }

    /// Go `GetCurrentHttpStreamAction`: the last action a callback returned,
    /// turned to [`Action::Continue`] when the plugin resumes the stream.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let stream = host.http_stream();
    /// assert_eq!(stream.action(), proxywasm::Action::Continue);
    /// ```
    pub fn action(&self) -> Action {
        action(self.view(|s| s.action))
    }

    /// Go `GetSentLocalResponse`: the local reply the plugin sent, if any, as
    /// it sent it. What the client gets is in the current response headers and
    /// body: for a gRPC request Envoy's trailers-only shape (`:status 200`,
    /// `grpc-status`, the body as `grpc-message`; book:
    /// reference/envoy-1.40.md#grpc-local-replies).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.http_stream().local_response(), None);
    /// ```
    pub fn local_response(&self) -> Option<LocalReply> {
        self.view(|s| s.local_reply.clone())
    }

    /// Whether the plugin reset the stream (`proxy_close_stream`), or a local
    /// reply came after the response headers were sent.
    ///
    /// ```
    /// use proxywasm::{Action, HttpContext, Result};
    /// struct Reset;
    /// impl HttpContext for Reset {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         proxywasm::http::reset()?;
    ///         Ok(Action::Pause)
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().http(|_| Reset);
    /// let mut stream = host.http_stream();
    /// stream.request_headers(&[(":path", "/")], true);
    /// assert!(stream.is_reset());
    /// ```
    pub fn is_reset(&self) -> bool {
        self.view(|s| s.reset)
    }

    /// Seeds a property for this stream only (e.g. `xds.route_metadata`),
    /// overriding the host's.
    ///
    /// ```
    /// use proxywasm::{Action, HttpContext, Result};
    /// struct Route;
    /// impl HttpContext for Route {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         let name = proxywasm::property::get_string(&["xds", "route_name"]).ok().flatten();
    ///         proxywasm::log::info!("route {}", name.unwrap_or_default());
    ///         Ok(Action::Continue)
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().http(|_| Route);
    /// let mut stream = host.http_stream();
    /// stream.set_property(&["xds", "route_name"], "r7");
    /// stream.request_headers(&[(":path", "/")], true);
    /// assert!(host.logs().contain("route r7"));
    /// ```
    pub fn set_property(&mut self, path: &[&str], value: impl Into<Vec<u8>>) {
        let (path, value) = (path_bytes(path), value.into());
        self.vm.state().seed_property(self.id, path, value);
    }

    /// A property as the plugin left it on this stream (`proxy_set_property`
    /// stores the whole path as one key), or as the test seeded it.
    ///
    /// ```
    /// use proxywasm::{Action, HttpContext, Result};
    /// struct Tag;
    /// impl HttpContext for Tag {
    ///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
    ///         proxywasm::property::set(&["tenant"], b"acme")?;
    ///         Ok(Action::Continue)
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().http(|_| Tag);
    /// let mut stream = host.http_stream();
    /// stream.request_headers(&[(":path", "/")], true);
    /// assert_eq!(stream.property(&["tenant"]), Some(b"acme".to_vec()));
    /// ```
    pub fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        self.view(|s| s.properties.get(&path_bytes(path)).cloned())
    }
}

/// [`TcpConnection`]'s methods for one side, generated for the downstream
/// and the upstream from one implementation: whether it is the `$down`stream,
/// its name in prose (`$side`), in Go's method names (`$go`), who sends its
/// bytes (`$who`), its stream type (`$kind`) and what else Envoy does with
/// its data (`$more`).
macro_rules! side {
    (
        $down:literal, $side:literal, $go:literal, $who:literal, $kind:literal, $more:literal,
        $data:ident, $close:ident, $current:ident, $closed:ident, $on_data:ident, $close_fn:ident
    ) => {
        #[doc = concat!("Go `CallOn", $go, "Data`: ", $who, " bytes arrive. On [`Action::Pause`]")]
        /// Envoy keeps them and the next call reports the accumulated size;
        #[doc = concat!("on Continue they are forwarded.", $more)]
        ///
        /// # Panics
        #[doc = concat!("After the ", $side, " closed or ended.")]
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
        /// let mut conn = host.tcp_connection();
        #[doc = concat!("assert_eq!(conn.", stringify!($data), "(b\"ping\", false), proxywasm::Action::Continue);")]
        #[doc = concat!("assert_eq!(conn.", stringify!($current), "(), b\"ping\");")]
        /// ```
        pub fn $data(&mut self, data: &[u8], end_of_stream: bool) -> Action {
            action(self.vm.tcp_data(self.id, $down, data, end_of_stream))
        }

        #[doc = concat!("Go `Close", $go, "Connection`: `proxy_on_", $side, "_connection_close`.")]
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
        /// let mut conn = host.tcp_connection();
        #[doc = concat!("conn.", stringify!($close), "(proxywasm::PeerType::Remote);")]
        #[doc = concat!("assert!(!conn.", stringify!($closed), "()); // the peer closed it, not the plugin")]
        /// ```
        pub fn $close(&mut self, peer: PeerType) {
            self.vm.tcp_close(self.id, $down, peer_raw(peer));
        }

        #[doc = concat!("Everything the ", $side, " sent so far, after the plugin's changes.")]
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
        #[doc = concat!("assert!(host.tcp_connection().", stringify!($current), "().is_empty());")]
        /// ```
        pub fn $current(&self) -> Vec<u8> {
            self.view(|c| c.flow($down).body())
        }

        #[doc = concat!("Whether the plugin closed the ", $side, " connection (`proxy_close_stream(", $kind, ")`).")]
        ///
        /// ```
        /// use proxywasm::{Action, Result, TcpContext};
        /// struct Kick;
        /// impl TcpContext for Kick {
        #[doc = concat!("    fn ", stringify!($on_data), "(&mut self, _n: usize, _eos: bool) -> Result<Action> {")]
        #[doc = concat!("        proxywasm::tcp::", stringify!($close_fn), "()?;")]
        ///         Ok(Action::Pause)
        ///     }
        /// }
        /// let host = proxywasm::mock::MockHost::builder().tcp(|_| Kick);
        /// let mut conn = host.tcp_connection();
        #[doc = concat!("conn.", stringify!($data), "(b\"x\", false);")]
        #[doc = concat!("assert!(conn.", stringify!($closed), "());")]
        /// ```
        pub fn $closed(&self) -> bool {
            self.view(|c| c.flow($down).closed_by_plugin)
        }
    };
}

/// One TCP connection of a [`MockHost`]: drive data both ways and closes,
/// then [`complete`](TcpConnection::complete) it.
///
/// # Examples
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, PeerType, TcpContext, Result};
///
/// struct Log;
/// impl TcpContext for Log {
///     fn on_downstream_close(&mut self, peer: PeerType) -> Result<()> {
///         proxywasm::log::info!("closed by {}", peer.name());
///         Ok(())
///     }
/// }
/// let host = MockHost::builder().tcp(|_| Log);
/// let mut conn = host.tcp_connection();
/// assert_eq!(conn.downstream_data(b"ping", false), Action::Continue);
/// assert_eq!(conn.upstream_data(b"pong", false), Action::Continue);
/// conn.downstream_close(PeerType::Remote);
/// conn.complete();
/// assert!(host.logs().contain("closed by remote"));
/// ```
pub struct TcpConnection {
    vm: Rc<Vm>,
    id: u32,
}

impl core::fmt::Debug for TcpConnection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpConnection")
            .field("id", &self.id)
            .finish()
    }
}

impl TcpConnection {
    fn view<R>(&self, f: impl FnOnce(&ConnState) -> R) -> R {
        let state = self.vm.state();
        let conn = state
            .tcp(self.id)
            .unwrap_or_else(|| panic!("TCP connection {} is gone (completed)", self.id));
        f(conn)
    }

    /// The connection's context id.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.tcp_connection().id(), proxywasm::ContextId(2));
    /// ```
    pub fn id(&self) -> ContextId {
        ContextId(self.id)
    }

    /// The last action a callback returned (`on_new_connection` first),
    /// turned to Continue when the plugin resumes the downstream.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.tcp_connection().action(), proxywasm::Action::Continue);
    /// ```
    pub fn action(&self) -> Action {
        action(self.view(|c| c.action))
    }

    side! {
        true, "downstream", "Downstream", "client", "DOWNSTREAM", "",
        downstream_data, downstream_close, current_downstream_data, is_downstream_closed,
        on_downstream_data, close_downstream
    }

    side! {
        false, "upstream", "Upstream", "server", "UPSTREAM",
        " With `end_of_stream`, Envoy then reports an upstream close of unknown origin.",
        upstream_data, upstream_close, current_upstream_data, is_upstream_closed,
        on_upstream_data, close_upstream
    }

    /// Go `CompleteConnection`: ends the connection as Envoy does for TCP —
    /// `proxy_on_done`, then `proxy_on_log`, then `proxy_on_delete`.
    ///
    /// ```
    /// use proxywasm::mock::Export;
    /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
    /// host.tcp_connection().complete();
    /// let tail: Vec<Export> = host.callbacks().into_iter().rev().take(3).collect();
    /// assert_eq!(tail, vec![Export::Delete { context_id: 2 }, Export::Log { context_id: 2 }, Export::Done { context_id: 2 }]);
    /// ```
    pub fn complete(self) {
        self.vm.complete_tcp(self.id);
    }

    /// Whether downstream data is paused (held by the plugin).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
    /// assert!(!host.tcp_connection().is_downstream_paused());
    /// ```
    pub fn is_downstream_paused(&self) -> bool {
        self.view(|c| c.downstream.paused != Pause::No)
    }

    /// Seeds a property for this connection only (e.g. `upstream.address`).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
    /// let mut conn = host.tcp_connection();
    /// conn.set_property(&["upstream", "address"], "10.0.0.1:80");
    /// assert_eq!(conn.property(&["upstream", "address"]), Some(b"10.0.0.1:80".to_vec()));
    /// ```
    pub fn set_property(&mut self, path: &[&str], value: impl Into<Vec<u8>>) {
        let (path, value) = (path_bytes(path), value.into());
        self.vm.state().seed_property(self.id, path, value);
    }

    /// A property as the plugin set it on this connection, or as seeded.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().tcp(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.tcp_connection().property(&["x"]), None);
    /// ```
    pub fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        self.view(|c| c.properties.get(&path_bytes(path)).cloned())
    }
}

// ---- helpers for the SDK's own doc examples (not public API) -----------------------------------

fn doc_host() -> MockHost {
    MockHost::builder().echo_logs(false).http(|_| Noop)
}

fn expect_ok(result: crate::Result<()>) {
    if let Err(error) = result {
        panic!("the example failed: {error}");
    }
}

/// Runs `code` inside `on_request_headers` of a fresh stream whose request
/// headers are `headers`. Panics if `code` fails.
#[doc(hidden)]
pub fn doc_http(headers: &[(&str, &str)], code: impl FnOnce() -> crate::Result<()>) {
    doc_http_on(doc_host(), headers, code);
}

/// [`doc_http`] on a host with `properties` set (as
/// [`MockHostBuilder::property`] sets them), and no request headers.
#[doc(hidden)]
pub fn doc_http_properties(
    properties: &[(&[&str], &[u8])],
    code: impl FnOnce() -> crate::Result<()>,
) {
    let builder = properties
        .iter()
        .fold(MockHost::builder().echo_logs(false), |b, (path, value)| {
            b.property(path, value.to_vec())
        });
    doc_http_on(builder.http(|_| Noop), &[], code);
}

fn doc_http_on(host: MockHost, headers: &[(&str, &str)], code: impl FnOnce() -> crate::Result<()>) {
    let stream = host.http_stream();
    if let Some(s) = host.state().http_mut(stream.id) {
        s.request.started = true;
        s.request.headers = Some(from_text(headers));
    }
    let export = Side::Request.export(Part::Headers, stream.id, headers.len() as u32, false);
    expect_ok(host.vm.run_in(stream.id, Some(export), code));
}

/// Runs `code` inside `on_request_body` of a fresh stream whose body buffer
/// holds `body`. Panics if `code` fails.
#[doc(hidden)]
pub fn doc_http_body(body: &[u8], code: impl FnOnce() -> crate::Result<()>) {
    let host = doc_host();
    let stream = host.http_stream();
    if let Some(s) = host.state().http_mut(stream.id) {
        s.request.started = true;
        s.request.headers = Some(from_text(&[(":method", "POST"), (":path", "/")]));
        s.request.buffer = body.to_vec();
        s.request.ended = true;
    }
    let export = Side::Request.export(Part::Body, stream.id, body.len() as u32, true);
    expect_ok(host.vm.run_in(stream.id, Some(export), code));
}

/// Runs `code` inside `on_upstream_data` of a fresh connection whose
/// upstream buffer holds `data`. Panics if `code` fails.
#[doc(hidden)]
pub fn doc_tcp_upstream(data: &[u8], code: impl FnOnce() -> crate::Result<()>) {
    let host = MockHost::builder().echo_logs(false).tcp(|_| Noop);
    let conn = host.tcp_connection();
    if let Some(c) = host.state().tcp_mut(conn.id) {
        c.upstream.buffer = data.to_vec();
    }
    let export = Export::UpstreamData {
        context_id: conn.id,
        data_size: data.len() as u32,
        end_of_stream: false,
    };
    expect_ok(host.vm.run_in(conn.id, Some(export), code));
}

/// Runs `code` inside a callback of a started plugin context. Panics if
/// `code` fails.
#[doc(hidden)]
pub fn doc_plugin(code: impl FnOnce() -> crate::Result<()>) {
    let host = doc_host();
    expect_ok(host.run(code));
}

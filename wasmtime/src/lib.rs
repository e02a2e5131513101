//! # proxywasm-wasmtime
//!
//! Tests a Proxy-Wasm plugin's compiled `.wasm` under [wasmtime], against the
//! **same Envoy emulator** that `proxywasm`'s `mock-host` feature runs
//! natively: one implementation of the host, two front doors. The native mock
//! host calls the plugin's Rust code; this one loads the release `.wasm` and
//! links every ABI v0.2.1 import, so a test sees what Envoy sees: import
//! types, the allocator hand-off, `_initialize`, the restricted phases, traps.
//! A test body written for the native host runs unchanged on the `.wasm`.
//!
//! * [`Dual`] is a plugin crate's dual-run set-up, one `const` per test
//!   file: `DUAL.run(|host| …)` runs a test body natively and on the `.wasm`
//!   ([`dual_run`] is the same as a function);
//! * [`plugin_wasm`] builds a plugin crate's release `.wasm` (once per test
//!   process) and loads it;
//! * [`WasmPlugin`] is a module, loaded and checked as Envoy does at load time;
//! * [`WasmHost::wasm`] builds a [`MockHost`] (the very type a native test
//!   uses) whose plugin is that module, wrapped in an [`EngineHost`] that
//!   adds measurement: fuel per callback, hostcalls by name, memory pages.
//!
//! In a plugin crate, with `proxywasm` (feature `mock-host`) and
//! `proxywasm-wasmtime` as dev-dependencies and the `wasm32-wasip1` target
//! installed, a test is:
//!
//! ```
//! use proxywasm::mock::MockHost;
//! use proxywasm_wasmtime::{WasmHost, plugin_wasm};
//!
//! // `http_headers` is an example of this crate's workspace; in a plugin's
//! // own tests the package is `env!("CARGO_PKG_NAME")`.
//! let plugin = plugin_wasm("http_headers");
//! let host = MockHost::builder()
//!     .plugin_configuration(r#"{"header": "x-hello", "value": "world"}"#)
//!     .wasm(&plugin);
//! assert!(host.start());
//! let (_, cost) = host.measure(|host| {
//!     let mut stream = host.http_stream();
//!     stream.request_headers(&[(":path", "/")], true);
//!     stream.response_headers(&[(":status", "200")], true);
//!     assert_eq!(stream.current_response_header("x-hello").as_deref(), Some("world"));
//!     stream.complete();
//! });
//! assert!(cost.usage.fuel > 0);
//! assert_eq!(cost.pages_after, cost.pages_before, "no memory growth");
//! ```
//!
//! **What Envoy does, and so does this host:** the allocation export is
//! `malloc` if exported, else `proxy_on_memory_allocate`; empty results are
//! `(0, 0)` with no allocation; every other result is allocated in the plugin
//! with exactly its size and belongs to the plugin; a hostcall other than
//! `proxy_log` (and WASI) during start-up, or anything but
//! logging/`fd_write`/clocks inside the allocator, **traps**; statuses are
//! Envoy's; WASI is Envoy's small shim (see
//! [`WASI_IMPORTS`](crate::abi::WASI_IMPORTS)). A trap fails the test with the
//! wasm backtrace and the plugin's last log lines, and the VM gets no more
//! callbacks, as in Envoy.
//!
//! The crate's README explains the setup step by step (the dependency lines,
//! the release profile, where the `.wasm` is built).
//!
//! [wasmtime]: https://docs.rs/wasmtime
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod abi;
pub mod bench;
mod cargo;
mod dual;
mod env;
mod guest;
mod instance;
mod meter;
mod module;
mod wasi;

pub use cargo::{WASM_DIR_ENV, plugin_wasm, try_plugin_wasm};
pub use dual::{Dual, DualHost};
pub use meter::{CallbackFuel, ExportUsage, Usage};
pub use module::{AbiVersion, Import, LoadError, WasmPlugin};

use guest::{Instance, WasmGuest};
use proxywasm::mock::engine::Guest;
use proxywasm::mock::{MockHost, MockHostBuilder};
use std::ops::Deref;
use std::rc::Rc;

/// Fuel one callback may burn before the engine stops it (a trap: "all fuel
/// consumed"). About a second of wasm; raise it with
/// [`WasmHost::wasm_with_fuel_limit`] for heavy plugins.
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm_wasmtime::{DEFAULT_FUEL_LIMIT, WasmHost, WasmPlugin};
///
/// let plugin = WasmPlugin::from_bytes("minimal", br#"(module
///   (memory (export "memory") 1)
///   (func (export "proxy_abi_version_0_2_1"))
///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
/// // `.wasm(&plugin)` is this, with the default limit.
/// let host = MockHost::builder().try_wasm(&plugin, DEFAULT_FUEL_LIMIT)?;
/// assert!(host.start());
/// # Ok::<(), proxywasm_wasmtime::LoadError>(())
/// ```
pub const DEFAULT_FUEL_LIMIT: u64 = 1_000_000_000;

/// Builds a [`MockHost`] around a compiled module: the engine's front door.
/// Implemented for [`MockHostBuilder`], so configuration is shared with native
/// tests and only the last call differs (`.wasm(&plugin)` instead of
/// `.http(filter)`).
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm_wasmtime::{WasmHost, WasmPlugin};
///
/// // Adds `x-wasm: yes` to every response (map type 2: response headers).
/// let plugin = WasmPlugin::from_bytes("stamp", br#"(module
///   (import "env" "proxy_add_header_map_value"
///     (func $add (param i32 i32 i32 i32 i32) (result i32)))
///   (memory (export "memory") 1)
///   (data (i32.const 0) "x-wasmyes")
///   (func (export "proxy_abi_version_0_2_1"))
///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
///   (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
///     (drop (call $add (i32.const 2) (i32.const 0) (i32.const 6) (i32.const 6) (i32.const 3)))
///     (i32.const 0)))"#)?;
/// let host = MockHost::builder().wasm(&plugin);
/// let mut stream = host.http_stream();
/// stream.request_headers(&[(":path", "/")], true);
/// stream.response_headers(&[(":status", "200")], true);
/// assert_eq!(stream.current_response_header("x-wasm").as_deref(), Some("yes"));
/// # Ok::<(), proxywasm_wasmtime::LoadError>(())
/// ```
pub trait WasmHost {
    /// Builds the host with `plugin` as its guest.
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm_wasmtime::{WasmHost, WasmPlugin};
    ///
    /// let plugin = WasmPlugin::from_bytes("minimal", br#"(module
    ///   (memory (export "memory") 1)
    ///   (func (export "proxy_abi_version_0_2_1"))
    ///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
    /// let host = MockHost::builder().plugin_configuration("{}").wasm(&plugin);
    /// assert!(host.start());
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    ///
    /// # Panics
    /// If the module cannot be instantiated (its start function traps or it
    /// needs more memory than wasmtime allows): a test failure naming the module.
    fn wasm(self, plugin: &WasmPlugin) -> EngineHost;

    /// As [`WasmHost::wasm`], with another per-callback fuel limit.
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm_wasmtime::{WasmHost, WasmPlugin};
    ///
    /// // Loops forever on request headers.
    /// let plugin = WasmPlugin::from_bytes("runaway", br#"(module
    ///   (memory (export "memory") 1)
    ///   (func (export "proxy_abi_version_0_2_1"))
    ///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
    ///   (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ///     (loop $forever (br $forever))
    ///     (i32.const 0)))"#)?;
    /// let host = MockHost::builder().echo_logs(false).wasm_with_fuel_limit(&plugin, 10_000);
    /// let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     host.http_stream().request_headers(&[(":path", "/")], true);
    /// }));
    /// assert!(stopped.is_err(), "the callback ran out of fuel: a trap, so the test fails");
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    ///
    /// # Panics
    /// As [`WasmHost::wasm`].
    fn wasm_with_fuel_limit(self, plugin: &WasmPlugin, fuel_limit: u64) -> EngineHost;

    /// As [`WasmHost::wasm`], returning instantiation failures.
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm_wasmtime::{DEFAULT_FUEL_LIMIT, WasmHost, WasmPlugin};
    ///
    /// // Loads (its exports are right) but its start function traps.
    /// let plugin = WasmPlugin::from_bytes("bad_start", br#"(module
    ///   (memory (export "memory") 1)
    ///   (func (export "proxy_abi_version_0_2_1"))
    ///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
    ///   (func $boom unreachable)
    ///   (start $boom))"#)?;
    /// let error = MockHost::builder().try_wasm(&plugin, DEFAULT_FUEL_LIMIT).unwrap_err();
    /// assert!(error.to_string().contains("cannot instantiate bad_start"), "{error}");
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    ///
    /// # Errors
    /// The module could not be instantiated.
    fn try_wasm(self, plugin: &WasmPlugin, fuel_limit: u64) -> Result<EngineHost, LoadError>;
}

impl WasmHost for MockHostBuilder {
    fn wasm(self, plugin: &WasmPlugin) -> EngineHost {
        self.wasm_with_fuel_limit(plugin, DEFAULT_FUEL_LIMIT)
    }

    #[allow(
        clippy::panic,
        reason = "a test helper: failing to instantiate fails the test (try_wasm returns it)"
    )]
    fn wasm_with_fuel_limit(self, plugin: &WasmPlugin, fuel_limit: u64) -> EngineHost {
        match self.try_wasm(plugin, fuel_limit) {
            Ok(host) => host,
            Err(e) => panic!("{e}"),
        }
    }

    fn try_wasm(self, plugin: &WasmPlugin, fuel_limit: u64) -> Result<EngineHost, LoadError> {
        let instance = Instance::new(plugin, fuel_limit).map_err(|reason| LoadError {
            module: plugin.name().to_owned(),
            reason,
        })?;
        let guest = instance.clone();
        let host = self.with_guest(move |vm| {
            guest.attach(vm);
            Box::new(WasmGuest(guest)) as Box<dyn Guest>
        });
        Ok(EngineHost { host, instance })
    }
}

/// A [`MockHost`] whose plugin is a wasm module. It dereferences to the
/// `MockHost`, so every test-facing method (start, streams, callouts, logs…)
/// is the native host's, and adds the engine's measurements.
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm_wasmtime::{EngineHost, WasmHost};
///
/// # let plugin = proxywasm_wasmtime::WasmPlugin::from_bytes("minimal", br#"(module
/// #   (memory (export "memory") 1)
/// #   (func (export "proxy_abi_version_0_2_1"))
/// #   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
/// let host: EngineHost = MockHost::builder().wasm(&plugin);
/// assert!(host.start()); // a MockHost method
/// assert_eq!(host.memory_pages(), 1); // an engine one
/// # Ok::<(), proxywasm_wasmtime::LoadError>(())
/// ```
pub struct EngineHost {
    host: MockHost,
    instance: Rc<Instance>,
}

impl std::fmt::Debug for EngineHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHost")
            .field("host", &self.host)
            .field("pages", &self.memory_pages())
            .finish()
    }
}

impl Deref for EngineHost {
    type Target = MockHost;
    fn deref(&self) -> &MockHost {
        &self.host
    }
}

/// So the engine's hosts can be the VMs of a
/// [`proxywasm::mock::EnvoyVms`], as native hosts are.
///
/// ```
/// use proxywasm::mock::EnvoyVms;
/// use proxywasm_wasmtime::{WasmHost, plugin_wasm};
///
/// let plugin = plugin_wasm("http_headers");
/// let config = r#"{"header": "x-a", "value": "1"}"#;
/// let envoy = EnvoyVms::new(1, |b| b.plugin_configuration(config).wasm(&plugin));
/// assert!(envoy.start());
/// assert_eq!(envoy.all().len(), 3);
/// ```
impl std::borrow::Borrow<MockHost> for EngineHost {
    fn borrow(&self) -> &MockHost {
        &self.host
    }
}

/// What [`EngineHost::measure`] observed.
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm_wasmtime::WasmHost;
///
/// # let plugin = proxywasm_wasmtime::WasmPlugin::from_bytes("minimal", br#"(module
/// #   (memory (export "memory") 1)
/// #   (func (export "proxy_abi_version_0_2_1"))
/// #   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
/// let host = MockHost::builder().wasm(&plugin);
/// let (_, cost) = host.measure(|host| host.start());
/// // Start-up calls `proxy_on_context_create`, `proxy_on_vm_start` and
/// // `proxy_on_configure`; this module exports none of them.
/// assert!(cost.callbacks.is_empty());
/// assert_eq!((cost.usage.fuel, cost.pages_before, cost.pages_after), (0, 1, 1));
/// # Ok::<(), proxywasm_wasmtime::LoadError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Measurement {
    /// Fuel and hostcalls spent while the closure ran.
    pub usage: Usage,
    /// Every export call, in order, with its fuel.
    pub callbacks: Vec<CallbackFuel>,
    /// Linear-memory pages (64 KiB) before the closure.
    pub pages_before: u64,
    /// Linear-memory pages after the closure.
    pub pages_after: u64,
}

impl EngineHost {
    /// The `MockHost` itself (what `*host` gives too).
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm_wasmtime::WasmHost;
    ///
    /// # let plugin = proxywasm_wasmtime::WasmPlugin::from_bytes("minimal", br#"(module
    /// #   (memory (export "memory") 1)
    /// #   (func (export "proxy_abi_version_0_2_1"))
    /// #   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
    /// let engine = MockHost::builder().wasm(&plugin);
    /// let host: &MockHost = engine.host();
    /// assert!(host.start());
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    pub fn host(&self) -> &MockHost {
        &self.host
    }

    /// Cumulative fuel and hostcall counters since the host was built.
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm_wasmtime::{WasmHost, WasmPlugin};
    ///
    /// // Answers every request headers callback with Pause (1), in three instructions.
    /// let plugin = WasmPlugin::from_bytes("pause", br#"(module
    ///   (memory (export "memory") 1)
    ///   (func (export "proxy_abi_version_0_2_1"))
    ///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
    ///   (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ///     (i32.const 1)))"#)?;
    /// let host = MockHost::builder().wasm(&plugin);
    /// host.http_stream().request_headers(&[(":path", "/")], true);
    /// host.http_stream().request_headers(&[(":path", "/")], true);
    /// let usage = host.usage();
    /// assert_eq!(usage.by_export["proxy_on_request_headers"].calls, 2);
    /// assert_eq!(usage.hostcall_total(), 0);
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    pub fn usage(&self) -> Usage {
        self.instance.meter.borrow().usage.clone()
    }

    /// Runs `f` and reports the fuel, hostcalls, callbacks and memory it cost.
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm_wasmtime::{WasmHost, WasmPlugin};
    ///
    /// // Logs "hi" at info level (2) on every request headers callback.
    /// let plugin = WasmPlugin::from_bytes("hi", br#"(module
    ///   (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
    ///   (memory (export "memory") 1)
    ///   (data (i32.const 0) "hi")
    ///   (func (export "proxy_abi_version_0_2_1"))
    ///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
    ///   (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ///     (drop (call $log (i32.const 2) (i32.const 0) (i32.const 2)))
    ///     (i32.const 0)))"#)?;
    /// let host = MockHost::builder().echo_logs(false).wasm(&plugin);
    /// let (_, cost) = host.measure(|host| {
    ///     host.http_stream().request_headers(&[(":path", "/")], true);
    /// });
    /// assert_eq!(host.logs().info(), ["hi"]);
    /// assert_eq!(cost.usage.hostcalls["proxy_log"], 1);
    /// assert_eq!(cost.callbacks.len(), 1);
    /// assert_eq!(cost.callbacks[0].export, "proxy_on_request_headers");
    /// assert!(cost.usage.fuel > 0);
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    pub fn measure<R>(&self, f: impl FnOnce(&MockHost) -> R) -> (R, Measurement) {
        let before = self.usage();
        let pages_before = self.memory_pages();
        let outer = self.instance.meter.borrow_mut().record.replace(Vec::new());
        let result = f(&self.host);
        let callbacks = {
            let mut meter = self.instance.meter.borrow_mut();
            let mut mine = std::mem::replace(&mut meter.record, outer).unwrap_or_default();
            if let Some(outer) = &mut meter.record {
                outer.extend(mine.iter().cloned());
            }
            std::mem::take(&mut mine)
        };
        let measurement = Measurement {
            usage: self.usage().since(&before),
            callbacks,
            pages_before,
            pages_after: self.memory_pages(),
        };
        (result, measurement)
    }

    /// The plugin's linear memory, in 64 KiB pages.
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm_wasmtime::{WasmHost, WasmPlugin};
    ///
    /// let plugin = WasmPlugin::from_bytes("two_pages", br#"(module
    ///   (memory (export "memory") 2)
    ///   (func (export "proxy_abi_version_0_2_1"))
    ///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
    /// assert_eq!(MockHost::builder().wasm(&plugin).memory_pages(), 2);
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    pub fn memory_pages(&self) -> u64 {
        self.instance.memory_pages()
    }

    /// The trap report, if the plugin trapped (the test has then already
    /// failed, unless it caught the panic).
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm_wasmtime::{WasmHost, WasmPlugin};
    ///
    /// let plugin = WasmPlugin::from_bytes("trap", br#"(module
    ///   (memory (export "memory") 1)
    ///   (func (export "proxy_abi_version_0_2_1"))
    ///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
    ///   (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ///     unreachable))"#)?;
    /// let host = MockHost::builder().echo_logs(false).wasm(&plugin);
    /// assert_eq!(host.trap(), None);
    /// let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     host.http_stream().request_headers(&[(":path", "/")], true);
    /// }));
    /// assert!(failed.is_err());
    /// let report = host.trap().unwrap_or_default();
    /// assert!(report.contains("proxy_on_request_headers"), "{report}");
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    pub fn trap(&self) -> Option<String> {
        self.instance.trap()
    }
}

/// Runs one test body twice: against the plugin compiled natively (the mock
/// host) and against its release `.wasm` (the engine host), with the same
/// configuration. This is the dual-run switch of the testing chapter.
///
/// * `package` names the plugin's cargo package, whose `.wasm` the engine
///   runs: usually the crate under test, `env!("CARGO_PKG_NAME")` (built once
///   per process by [`plugin_wasm`]);
/// * `configure` returns the builder both hosts start from (called once per
///   run: a builder is consumed by its last call);
/// * `native` finishes it with the native entry (`|b| b.plugin(my_plugin)`);
/// * `body` is the test.
///
/// A failure says which run failed (a line on stderr before each run).
/// [`Dual`] is the same set-up written once as a `const`, for a crate whose
/// tests all dual-run the one plugin.
///
/// ```
/// use proxywasm::mock::MockHost;
///
/// // In `http_headers`' own tests, the package is `env!("CARGO_PKG_NAME")`.
/// proxywasm_wasmtime::dual_run(
///     "http_headers",
///     || MockHost::builder().plugin_configuration(r#"{"header": "x-a", "value": "1"}"#),
///     |builder| builder.plugin(http_headers::plugin),
///     |host| {
///         let mut stream = host.http_stream();
///         stream.request_headers(&[(":path", "/")], true);
///         stream.response_headers(&[(":status", "200")], true);
///         assert_eq!(stream.current_response_header("x-a").as_deref(), Some("1"));
///         stream.complete();
///     },
/// );
/// ```
///
/// # Panics
/// When the body fails in either run, or the `.wasm` cannot be built.
pub fn dual_run(
    package: &str,
    configure: impl Fn() -> MockHostBuilder,
    native: impl FnOnce(MockHostBuilder) -> MockHost,
    body: impl Fn(&MockHost),
) {
    eprintln!("dual-run {package}: native (mock host)");
    body(&native(configure()));
    let plugin = plugin_wasm(package);
    eprintln!(
        "dual-run {package}: engine ({} under wasmtime)",
        plugin.name()
    );
    let host = configure().wasm(&plugin);
    body(&host);
}

/// The guide's testing and performance pages use this crate as well as
/// proxywasm's mock host: their Rust blocks run as this crate's doctests.
#[cfg(doctest)]
mod book {
    #[doc = include_str!("../../book/src/testing.md")]
    struct Testing;
    #[doc = include_str!("../../book/src/performance.md")]
    struct Performance;
}

//! [`Dual`]: a plugin crate's dual-run set-up, written once as a `const`.

use crate::{EngineHost, WasmHost, plugin_wasm};
use proxywasm::mock::{MockHost, MockHostBuilder};
use std::borrow::Borrow;
use std::ops::Deref;

/// How a plugin crate's tests dual-run: its package, its native entry, the
/// host configuration they share. A `const`, so each test file declares it
/// in one statement and its tests read `DUAL.run(|host| …)`; every run goes
/// natively on the mock host, then on the package's release `.wasm` (as
/// [`dual_run`](crate::dual_run), which it calls).
///
/// * [`Dual::new`] takes the package (usually `env!("CARGO_PKG_NAME")`) and
///   the native entry, `|b| b.plugin(my_plugin)` (or `.http`, `.tcp`, `.vm`);
/// * [`Dual::configure`] sets the builder every run starts from (default
///   `MockHost::builder`);
/// * [`Dual::started`] starts the plugin before the body, asserting it
///   started (the log shows why not); [`Dual::log_cleared`] then clears the
///   log, so that the body reads only its own lines;
/// * [`Dual::run`] runs a body, [`Dual::run_with`] with another
///   configuration, [`Dual::run_hosts`] with hosts the body builds itself
///   (several VMs, one Envoy's worker threads).
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm_wasmtime::Dual;
///
/// // In `http_headers`' own tests, the package is `env!("CARGO_PKG_NAME")`.
/// const DUAL: Dual = Dual::new("http_headers", |b| b.plugin(http_headers::plugin))
///     .configure(|| MockHost::builder().plugin_configuration(r#"{"header": "x-a", "value": "1"}"#))
///     .started();
///
/// DUAL.run(|host| {
///     let mut stream = host.http_stream();
///     stream.request_headers(&[(":path", "/")], true);
///     stream.response_headers(&[(":status", "200")], true);
///     assert_eq!(stream.current_response_header("x-a").as_deref(), Some("1"));
///     stream.complete();
/// });
/// // The same plugin, another configuration, started as well.
/// DUAL.run_with(
///     || MockHost::builder().plugin_configuration(r#"{"header": "x-b", "value": "2"}"#),
///     |host| {
///         let mut stream = host.http_stream();
///         stream.request_headers(&[(":path", "/")], true);
///         stream.response_headers(&[(":status", "200")], true);
///         assert_eq!(stream.current_response_header("x-b").as_deref(), Some("2"));
///         stream.complete();
///     },
/// );
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Dual {
    package: &'static str,
    native: fn(MockHostBuilder) -> MockHost,
    configure: fn() -> MockHostBuilder,
    started: bool,
    log_cleared: bool,
}

impl Dual {
    /// The dual run of `package`, whose native entry `native` finishes a
    /// builder (`|b| b.plugin(my_plugin)`); configured with
    /// `MockHost::builder`, not started.
    ///
    /// ```
    /// use proxywasm_wasmtime::Dual;
    ///
    /// const DUAL: Dual = Dual::new("hello_world", |b| b.plugin(hello_world::plugin));
    /// DUAL.run(|host| assert!(host.start()));
    /// ```
    pub const fn new(package: &'static str, native: fn(MockHostBuilder) -> MockHost) -> Dual {
        Dual {
            package,
            native,
            configure: MockHost::builder,
            started: false,
            log_cleared: false,
        }
    }

    /// The same, each run's host built from `configure()` (called once per
    /// run).
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm_wasmtime::Dual;
    ///
    /// const DUAL: Dual = Dual::new("hello_world", |b| b.plugin(hello_world::plugin))
    ///     .configure(|| MockHost::builder().plugin_configuration("from the test"));
    /// DUAL.run(|host| {
    ///     assert!(host.start());
    ///     assert!(host.logs().contain("from the test"), "{:?}", host.logs().records());
    /// });
    /// ```
    pub const fn configure(self, configure: fn() -> MockHostBuilder) -> Dual {
        Dual { configure, ..self }
    }

    /// The same, each run's plugin started before the body; the run fails,
    /// showing the log, if it does not start.
    ///
    /// ```
    /// use proxywasm_wasmtime::Dual;
    ///
    /// const DUAL: Dual = Dual::new("hello_world", |b| b.plugin(hello_world::plugin)).started();
    /// DUAL.run(|host| assert!(!host.logs().records().is_empty(), "hello_world logs its start"));
    /// ```
    pub const fn started(self) -> Dual {
        Dual {
            started: true,
            ..self
        }
    }

    /// The same, the log cleared before the body (after the start, with
    /// [`Dual::started`]): the body reads only the lines it caused.
    ///
    /// ```
    /// use proxywasm_wasmtime::Dual;
    ///
    /// const DUAL: Dual = Dual::new("hello_world", |b| b.plugin(hello_world::plugin))
    ///     .started()
    ///     .log_cleared();
    /// DUAL.run(|host| assert!(host.logs().records().is_empty()));
    /// ```
    pub const fn log_cleared(self) -> Dual {
        Dual {
            log_cleared: true,
            ..self
        }
    }

    /// Runs `body` natively, then on the `.wasm`, each host configured,
    /// started and its log cleared as this value says.
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm_wasmtime::Dual;
    ///
    /// const DUAL: Dual = Dual::new("tcp_logger", |b| b.tcp(tcp_logger::connection))
    ///     .configure(|| MockHost::builder().property(&["source", "address"], "127.0.0.1:40000"));
    /// DUAL.run(|host| {
    ///     let mut connection = host.tcp_connection();
    ///     connection.downstream_data(b"ping", true);
    ///     connection.complete();
    ///     assert!(host.logs().contain("4 bytes from downstream"), "{:?}", host.logs().records());
    /// });
    /// ```
    ///
    /// # Panics
    /// When the body fails in either run, the plugin does not start (with
    /// [`Dual::started`]), or the `.wasm` cannot be built.
    pub fn run(&self, body: impl Fn(&MockHost)) {
        self.run_with(self.configure, body);
    }

    /// As [`Dual::run`], each host built from `configure()` instead of the
    /// configuration of this value (started and cleared as it says).
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm_wasmtime::Dual;
    ///
    /// const DUAL: Dual = Dual::new("hello_world", |b| b.plugin(hello_world::plugin));
    /// for configuration in ["one", "two"] {
    ///     DUAL.run_with(
    ///         || MockHost::builder().plugin_configuration(configuration),
    ///         |host| {
    ///             assert!(host.start());
    ///             assert!(host.logs().contain(configuration));
    ///         },
    ///     );
    /// }
    /// ```
    ///
    /// # Panics
    /// As [`Dual::run`].
    pub fn run_with(&self, configure: impl Fn() -> MockHostBuilder, body: impl Fn(&MockHost)) {
        crate::dual_run(self.package, configure, self.native, |host| {
            if self.started {
                assert!(host.start(), "{:?}", host.logs().records());
            }
            if self.log_cleared {
                host.logs().clear();
            }
            body(host);
        });
    }

    /// Runs `body` twice with a function that finishes a builder into a
    /// host: natively, then on the `.wasm`. The body builds every host it
    /// needs, each from its own builder (one [`MockWorld`] for several VMs,
    /// [`EnvoyVms`]); the configuration, start and log clearing of this value
    /// do not apply.
    ///
    /// ```
    /// use proxywasm::mock::EnvoyVms;
    /// use proxywasm_wasmtime::Dual;
    ///
    /// const DUAL: Dual = Dual::new("hello_world", |b| b.plugin(hello_world::plugin));
    /// DUAL.run_hosts(|host| {
    ///     let envoy = EnvoyVms::new(2, |b| host(b.echo_logs(false)));
    ///     assert!(envoy.start());
    ///     assert_eq!(envoy.workers().count(), 2);
    /// });
    /// ```
    ///
    /// [`MockWorld`]: proxywasm::mock::MockWorld
    /// [`EnvoyVms`]: proxywasm::mock::EnvoyVms
    ///
    /// # Panics
    /// When the body fails in either run, or the `.wasm` cannot be built.
    pub fn run_hosts(&self, body: impl Fn(&dyn Fn(MockHostBuilder) -> DualHost)) {
        eprintln!("dual-run {}: native (mock host)", self.package);
        body(&|builder| DualHost::Native((self.native)(builder)));
        let plugin = plugin_wasm(self.package);
        eprintln!(
            "dual-run {}: engine ({} under wasmtime)",
            self.package,
            plugin.name()
        );
        body(&|builder| DualHost::Engine(builder.wasm(&plugin)));
    }
}

/// A host of [`Dual::run_hosts`]: native or on the engine, a [`MockHost`]
/// either way (by `Deref` and `Borrow`).
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm_wasmtime::{Dual, DualHost};
///
/// const DUAL: Dual = Dual::new("hello_world", |b| b.plugin(hello_world::plugin));
/// DUAL.run_hosts(|host| {
///     let vm: DualHost = host(MockHost::builder().vm_id("one"));
///     assert_eq!(vm.vm_id(), "one");
/// });
/// ```
#[derive(Debug)]
pub enum DualHost {
    /// The plugin compiled natively.
    Native(MockHost),
    /// The plugin's `.wasm` under wasmtime.
    Engine(EngineHost),
}

impl Deref for DualHost {
    type Target = MockHost;
    fn deref(&self) -> &MockHost {
        match self {
            DualHost::Native(host) => host,
            DualHost::Engine(host) => host,
        }
    }
}

impl Borrow<MockHost> for DualHost {
    fn borrow(&self) -> &MockHost {
        self
    }
}

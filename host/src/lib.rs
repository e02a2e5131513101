//! # proxywasm-host
//!
//! Runs a compiled Proxy-Wasm plugin (`.wasm`) under [wasmtime] against the
//! **same Envoy emulator** as `proxywasm`'s `mock-host` feature: one
//! implementation of the host (`proxywasm::mock::core`), two front doors.
//! The native mock host calls the plugin's Rust code; this one loads the
//! release `.wasm` and links every ABI v0.2.1 import, so tests see what Envoy
//! sees: import types, the allocator hand-off, `_initialize`, the restricted
//! phases, traps.
//!
//! * [`WasmPlugin`] loads and checks a module as Envoy does at load time;
//! * [`WasmHost::wasm`] builds a [`MockHost`] (the very same type a native
//!   test uses) whose plugin is that module, wrapped in an [`EngineHost`]
//!   that adds measurement: fuel per callback, hostcalls by name, memory pages;
//! * [`dual_run`] runs one test body against the native plugin and against
//!   its `.wasm`; [`example_wasm`] builds an example's `.wasm` once per process.
//!
//! ```no_run
//! use proxywasm::mock::MockHost;
//! use proxywasm_host::{WasmHost, WasmPlugin};
//!
//! let plugin = WasmPlugin::load("target/wasm32-wasip1/release/http_headers.wasm")?;
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
//! println!("{} instructions, {} hostcalls", cost.usage.fuel, cost.usage.hostcall_total());
//! # Ok::<(), proxywasm_host::LoadError>(())
//! ```
//!
//! **What Envoy does, and so does this host** (`../shared/reference/abi.md`):
//! the allocation export is `malloc` if exported, else
//! `proxy_on_memory_allocate`; empty results are `(0, 0)` with no allocation;
//! every other result is allocated in the plugin with exactly its size and
//! belongs to the plugin; a hostcall other than `proxy_log` (and WASI) during
//! start-up, or anything but logging/`fd_write`/clocks inside the allocator,
//! **traps**; statuses are Envoy's; WASI is Envoy's small shim (see
//! [`wasi`](crate::abi::WASI_IMPORTS)). A trap fails the test with the wasm
//! backtrace and the plugin's last log lines, and the VM gets no more
//! callbacks, as in Envoy.
//!
//! [wasmtime]: https://docs.rs/wasmtime
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod abi;
pub mod bench;
mod ctx;
mod env;
mod guest;
mod meter;
mod module;
mod wasi;

pub use meter::{CallbackFuel, ExportUsage, Usage};
pub use module::{AbiVersion, Import, LoadError, WasmPlugin};

use guest::{Instance, WasmGuest};
use proxywasm::mock::core::Guest;
use proxywasm::mock::{MockHost, MockHostBuilder};
use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};

/// Fuel one callback may burn before the engine stops it (a trap: "all fuel
/// consumed"). About a second of wasm; raise it with
/// [`WasmHost::wasm_with_fuel_limit`] for heavy plugins.
pub const DEFAULT_FUEL_LIMIT: u64 = 1_000_000_000;

/// Builds a [`MockHost`] around a compiled module: the engine's front door.
/// Implemented for [`MockHostBuilder`], so configuration is shared with native
/// tests and only the last call differs (`.wasm(&plugin)` instead of
/// `.http(filter)`).
pub trait WasmHost {
    /// Builds the host with `plugin` as its guest.
    ///
    /// # Panics
    /// If the module cannot be instantiated (its start function traps or it
    /// needs more memory than wasmtime allows): a test failure naming the module.
    fn wasm(self, plugin: &WasmPlugin) -> EngineHost;

    /// As [`WasmHost::wasm`], with another per-callback fuel limit.
    ///
    /// # Panics
    /// As [`WasmHost::wasm`].
    fn wasm_with_fuel_limit(self, plugin: &WasmPlugin, fuel_limit: u64) -> EngineHost;

    /// As [`WasmHost::wasm`], returning instantiation failures.
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

/// What [`EngineHost::measure`] observed.
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
    /// The `MockHost` itself.
    pub fn host(&self) -> &MockHost {
        &self.host
    }

    /// Cumulative fuel and hostcall counters since the host was built.
    pub fn usage(&self) -> Usage {
        self.instance.meter.borrow().usage.clone()
    }

    /// Runs `f` and reports the fuel, hostcalls, callbacks and memory it cost.
    ///
    /// ```no_run
    /// # let plugin = proxywasm_host::WasmPlugin::load("noop.wasm").unwrap();
    /// use proxywasm_host::WasmHost;
    /// let host = proxywasm::mock::MockHost::builder().wasm(&plugin);
    /// let (started, cost) = host.measure(|host| host.start());
    /// assert!(started);
    /// println!("start-up: {} instructions", cost.usage.fuel);
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
    pub fn memory_pages(&self) -> u64 {
        self.instance.memory_pages()
    }

    /// The trap report, if the plugin trapped (the test has then already
    /// failed, unless it caught the panic).
    pub fn trap(&self) -> Option<String> {
        self.instance.trap()
    }
}

/// The workspace this crate belongs to (where `cargo` builds the examples).
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

/// The environment variable naming a directory of prebuilt release `.wasm`
/// files (`<package>.wasm`): set it to test modules built elsewhere, so no
/// test builds anything. Unset (as in `cargo xtask test`), each test process
/// builds what it needs once, into `target/engine-wasm/`.
pub const WASM_DIR_ENV: &str = "PROXYWASM_WASM_DIR";

/// Builds (once per process) and loads the release `.wasm` of workspace
/// package `package` (an example such as `"http_headers"`).
///
/// With [`WASM_DIR_ENV`] set, loads `$PROXYWASM_WASM_DIR/<package>.wasm` and
/// builds nothing. Otherwise runs `cargo rustc --release --target
/// wasm32-wasip1 -p <package> --lib --crate-type cdylib` (the cdylib alone, so
/// the release LTO applies, as in `cargo xtask`) into
/// `target/engine-wasm/` (a target directory of its own, so a `cargo test`
/// that holds the main one cannot deadlock it), once per package per process;
/// cargo makes later runs no-ops while the sources are unchanged.
///
/// # Errors
/// The build or the load failed (the message includes cargo's output).
pub fn try_example_wasm(package: &str) -> Result<WasmPlugin, LoadError> {
    static BUILT: OnceLock<Mutex<BTreeMap<String, Result<PathBuf, String>>>> = OnceLock::new();
    let error = |reason: String| LoadError {
        module: package.to_owned(),
        reason,
    };
    if let Some(dir) = std::env::var_os(WASM_DIR_ENV) {
        return WasmPlugin::load(Path::new(&dir).join(format!("{package}.wasm")));
    }
    let built = BUILT.get_or_init(|| Mutex::new(BTreeMap::new()));
    let mut built = built
        .lock()
        .map_err(|_| error("a previous build panicked".to_owned()))?;
    let path = built
        .entry(package.to_owned())
        .or_insert_with(|| build_wasm(package))
        .clone()
        .map_err(error)?;
    drop(built);
    WasmPlugin::load(path)
}

/// [`try_example_wasm`] for tests.
///
/// # Panics
/// When the build or the load fails, with the reason.
#[allow(
    clippy::panic,
    reason = "a test helper: a build failure fails the test (try_example_wasm returns it)"
)]
pub fn example_wasm(package: &str) -> WasmPlugin {
    match try_example_wasm(package) {
        Ok(plugin) => plugin,
        Err(e) => panic!("{e}"),
    }
}

fn build_wasm(package: &str) -> Result<PathBuf, String> {
    let root = workspace_root();
    let target_dir = root.join("target").join("engine-wasm");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .current_dir(&root)
        // The cdylib alone, like `cargo xtask`: with the examples' two crate
        // types (cdylib + rlib) rustc skips the release profile's LTO, and
        // the tests would run a larger module than the one shipped.
        .args([
            "rustc",
            "--release",
            "--target",
            "wasm32-wasip1",
            "-p",
            package,
            "--lib",
            "--crate-type",
            "cdylib",
            "--target-dir",
        ])
        .arg(&target_dir)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo rustc --release --target wasm32-wasip1 -p {package} --lib --crate-type cdylib` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target_dir
        .join("wasm32-wasip1")
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_"))))
}

/// Runs one test body twice: against the plugin compiled natively (the mock
/// host) and against its release `.wasm` (the engine host), with the same
/// configuration. This is the dual-run switch of the testing chapter.
///
/// * `configure` returns the builder both hosts start from;
/// * `native` finishes it with the native entry (`|b| b.plugin(my_plugin)`);
/// * `package` names the workspace package whose `.wasm` the engine runs
///   (built once per process by [`example_wasm`]);
/// * `body` is the test.
///
/// A failure says which run failed (a line on stderr before each run).
///
/// ```no_run
/// use proxywasm::mock::MockHost;
/// # fn plugin(_: proxywasm::ContextId) -> P { P }
/// # struct P; impl proxywasm::PluginContext for P { type Http = proxywasm::NoContext; type Tcp = proxywasm::NoContext; }
/// proxywasm_host::dual_run(
///     "http_headers",
///     || MockHost::builder().plugin_configuration(r#"{"header": "x-a", "value": "1"}"#),
///     |builder| builder.plugin(plugin),
///     |host| assert!(host.start()),
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
    let plugin = example_wasm(package);
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

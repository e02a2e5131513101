//! The benchmark's request lifecycles and measurement (`cargo xtask bench`,
//! the book's Performance page).
//!
//! Each plugin of `bench/` (written three ways) is loaded in an
//! [`EngineHost`](crate::EngineHost), started, warmed up, and driven through
//! the same request lifecycle many times: context creation, request headers,
//! the request body for `body_rewrite` (two chunks, the first paused), the
//! callout response for the callout plugins, response headers, then `on_log`,
//! `on_done` and `on_delete`; then the same lifecycles [`INTERLEAVED`] at a
//! time, round-robin.

use crate::{WasmHost, WasmPlugin};
use proxywasm::mock::{HttpStream, MockHost};
use std::collections::BTreeMap;
use std::path::Path;

/// The benchmark plugins, in table order.
///
/// ```
/// assert_eq!(proxywasm_wasmtime::bench::PLUGINS[0], "noop");
/// ```
pub const PLUGINS: [&str; 11] = [
    "noop",
    "add_header",
    "read_headers",
    "log_headers",
    "body_rewrite",
    "callout",
    "callout_closure",
    "callout_async",
    "callout_plain",
    "callout_async_by_hand",
    "callout_future_by_hand",
];

/// The plugins written with this SDK only: `callout` with a closure and with
/// async/await, forms the raw ABI and the official SDK do not have (they are
/// compared with proxywasm's own token form, `callout`), `callout`
/// without `#[proxywasm::callbacks]` (every callback reaches the
/// dispatcher), and two references for the async form: a future polled by
/// its context with no executor, boxed and unboxed.
///
/// ```
/// use proxywasm_wasmtime::bench::{OURS_ONLY, PLUGINS};
/// assert!(OURS_ONLY.iter().all(|p| PLUGINS.contains(p)));
/// ```
pub const OURS_ONLY: [&str; 5] = [
    "callout_closure",
    "callout_async",
    "callout_plain",
    "callout_async_by_hand",
    "callout_future_by_hand",
];

/// The three ways each plugin is written (`bench/<variant>`), in table order.
///
/// ```
/// assert!(proxywasm_wasmtime::bench::VARIANTS.contains(&"official"));
/// ```
pub const VARIANTS: [&str; 3] = ["raw", "official", "proxywasm"];

/// The request headers of every lifecycle: a typical browser-less request.
///
/// ```
/// use proxywasm_wasmtime::bench::REQUEST_HEADERS;
/// assert!(REQUEST_HEADERS.contains(&(":path", "/bench")));
/// ```
pub const REQUEST_HEADERS: [(&str, &str); 8] = [
    (":authority", "example.com"),
    (":path", "/bench"),
    (":method", "GET"),
    (":scheme", "http"),
    ("user-agent", "bench/1.0"),
    ("accept", "*/*"),
    ("x-request-id", "0123456789abcdef"),
    ("x-forwarded-proto", "http"),
];

/// The response headers of every lifecycle.
///
/// ```
/// use proxywasm_wasmtime::bench::RESPONSE_HEADERS;
/// assert_eq!(RESPONSE_HEADERS[0], (":status", "200"));
/// ```
pub const RESPONSE_HEADERS: [(&str, &str); 3] = [
    (":status", "200"),
    ("content-type", "text/plain"),
    ("content-length", "2"),
];

/// How many streams the interleaved case runs side by side.
pub const INTERLEAVED: usize = 16;

/// Runs one request lifecycle of `plugin` on `host`, and checks that the
/// plugin did its job (so a broken variant cannot post good figures).
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm_wasmtime::{WasmHost, bench};
///
/// # let plugin = proxywasm_wasmtime::WasmPlugin::from_bytes("noop", br#"(module
/// #   (memory (export "memory") 1)
/// #   (func (export "proxy_abi_version_0_2_1"))
/// #   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
/// let host = MockHost::builder().wasm(&plugin); // a module with no callback
/// assert_eq!(bench::lifecycle("noop", &host), Ok(()));
/// assert!(bench::lifecycle("add_header", &host).is_err(), "no x-bench header");
/// # Ok::<(), proxywasm_wasmtime::LoadError>(())
/// ```
///
/// # Errors
/// What the plugin failed to do, or an unknown plugin name.
pub fn lifecycle(plugin: &str, host: &MockHost) -> Result<(), String> {
    lifecycles(plugin, host, 1)
}

/// Runs `n` request lifecycles of `plugin` side by side: all `n` streams are
/// created first, then each step of the lifecycle runs on every stream in
/// turn (round-robin), as a proxy serving concurrent requests calls the
/// plugin. With `n = 1` it is one sequential lifecycle.
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm_wasmtime::{WasmHost, bench};
///
/// # let plugin = proxywasm_wasmtime::WasmPlugin::from_bytes("noop", br#"(module
/// #   (memory (export "memory") 1)
/// #   (func (export "proxy_abi_version_0_2_1"))
/// #   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
/// let host = MockHost::builder().wasm(&plugin); // a module with no callback
/// assert_eq!(bench::lifecycles("noop", &host, bench::INTERLEAVED), Ok(()));
/// assert!(bench::lifecycles("callout", &host, 2).is_err(), "it made no HTTP call");
/// # Ok::<(), proxywasm_wasmtime::LoadError>(())
/// ```
///
/// # Errors
/// What the plugin failed to do, or an unknown plugin name.
pub fn lifecycles(plugin: &str, host: &MockHost, n: usize) -> Result<(), String> {
    let mut streams: Vec<HttpStream> = (0..n).map(|_| host.http_stream()).collect();
    let with_body = plugin == "body_rewrite";
    for stream in &mut streams {
        stream.request_headers(&REQUEST_HEADERS, !with_body);
    }
    if with_body {
        for stream in &mut streams {
            stream.request_body(b"hello ", false);
        }
        for stream in &mut streams {
            stream.request_body(b"world", true);
        }
    }
    if plugin.starts_with("callout") {
        let calls = host.callouts().http();
        if calls.is_empty() {
            return Err(format!("{plugin}: the plugin made no HTTP call"));
        }
        if calls.len() != n {
            return Err(format!(
                "{plugin}: the plugin made {} HTTP calls for {n} requests",
                calls.len()
            ));
        }
        for call in calls {
            host.callouts()
                .respond_http(call.token, &[(":status", "200")], b"ok", &[]);
        }
        if streams.iter().any(HttpStream::is_request_paused) {
            return Err(format!(
                "{plugin}: the request is still paused after the response"
            ));
        }
    }
    for stream in &mut streams {
        stream.response_headers(&RESPONSE_HEADERS, true);
    }
    let checked = streams.iter().try_for_each(|stream| check(plugin, stream));
    for stream in streams {
        stream.complete();
    }
    checked
}

/// Whether `plugin` did its job on `stream`.
fn check(plugin: &str, stream: &HttpStream) -> Result<(), String> {
    match plugin {
        "noop"
        | "log_headers"
        | "callout"
        | "callout_closure"
        | "callout_async"
        | "callout_plain"
        | "callout_async_by_hand"
        | "callout_future_by_hand" => Ok(()),
        "add_header" => expect(stream.current_response_header("x-bench"), "proxywasm-bench"),
        "read_headers" => {
            let sum: usize = REQUEST_HEADERS.iter().map(|(k, v)| k.len() + v.len()).sum();
            expect(
                stream.current_response_header("x-header-bytes"),
                &sum.to_string(),
            )
        }
        "body_rewrite" => {
            let body = stream.current_request_body();
            if body == b"HELLO WORLD" {
                Ok(())
            } else {
                Err(format!(
                    "body_rewrite: request body is {:?}",
                    String::from_utf8_lossy(&body)
                ))
            }
        }
        other => Err(format!("unknown benchmark plugin `{other}`")),
    }
}

fn expect(found: Option<String>, wanted: &str) -> Result<(), String> {
    match found {
        Some(value) if value == wanted => Ok(()),
        other => Err(format!(
            "expected response header value {wanted:?}, found {other:?}"
        )),
    }
}

/// The figures of one variant of one plugin.
///
/// ```
/// let figures = proxywasm_wasmtime::bench::Figures {
///     requests: 4,
///     fuel: 480,
///     pages: (2, 2),
///     ..Default::default()
/// };
/// assert_eq!(figures.fuel_per_request(), 120.0);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    /// `.wasm` size in bytes.
    pub wasm_bytes: usize,
    /// Fuel of start-up: `_initialize`, the plugin context's creation,
    /// `on_vm_start` and `on_configure`.
    pub start_fuel: u64,
    /// Measured lifecycles (after warm-up).
    pub requests: u64,
    /// Fuel of all measured lifecycles.
    pub fuel: u64,
    /// The cheapest and the dearest single lifecycle.
    pub fuel_min_max: (u64, u64),
    /// Hostcalls of all measured lifecycles, by name.
    pub hostcalls: BTreeMap<&'static str, u64>,
    /// Fuel of all measured lifecycles, by export.
    pub by_export: BTreeMap<&'static str, u64>,
    /// Memory pages after warm-up, and after the measured lifecycles.
    pub pages: (u64, u64),
    /// Lifecycles measured [`INTERLEAVED`] at a time, and their fuel.
    pub interleaved: (u64, u64),
}

impl Figures {
    /// Mean fuel per request.
    ///
    /// ```
    /// let figures = proxywasm_wasmtime::bench::Figures { requests: 3, fuel: 300, ..Default::default() };
    /// assert_eq!(figures.fuel_per_request(), 100.0);
    /// ```
    pub fn fuel_per_request(&self) -> f64 {
        self.fuel as f64 / self.requests.max(1) as f64
    }

    /// Mean fuel per request of the interleaved case.
    ///
    /// ```
    /// let figures = proxywasm_wasmtime::bench::Figures { interleaved: (16, 2_400), ..Default::default() };
    /// assert_eq!(figures.interleaved_fuel_per_request(), 150.0);
    /// ```
    pub fn interleaved_fuel_per_request(&self) -> f64 {
        self.interleaved.1 as f64 / self.interleaved.0.max(1) as f64
    }

    /// Mean hostcalls per request.
    ///
    /// ```
    /// let mut figures = proxywasm_wasmtime::bench::Figures { requests: 2, ..Default::default() };
    /// figures.hostcalls.insert("proxy_log", 3);
    /// figures.hostcalls.insert("proxy_add_header_map_value", 1);
    /// assert_eq!(figures.hostcalls_per_request(), 2.0);
    /// ```
    pub fn hostcalls_per_request(&self) -> f64 {
        self.hostcalls.values().sum::<u64>() as f64 / self.requests.max(1) as f64
    }

    /// Memory growth in pages over the measured lifecycles.
    ///
    /// ```
    /// let figures = proxywasm_wasmtime::bench::Figures { pages: (2, 3), ..Default::default() };
    /// assert_eq!(figures.growth_pages(), 1);
    /// ```
    pub fn growth_pages(&self) -> i64 {
        self.pages.1 as i64 - self.pages.0 as i64
    }
}

/// Loads the module at `path` and measures `plugin` on it: start-up, then
/// `warmup` unmeasured lifecycles, then `requests` measured ones one at a
/// time, then about as many [`INTERLEAVED`] at a time (whole rounds, at least
/// one).
///
/// ```
/// let dir = std::env::temp_dir().join(format!("proxywasm-bench-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("noop.wat");
/// std::fs::write(&path, r#"(module
///   (memory (export "memory") 1)
///   (func (export "proxy_abi_version_0_2_1"))
///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
/// let figures = proxywasm_wasmtime::bench::measure(&path, "noop", 2, 10)?;
/// std::fs::remove_dir_all(&dir)?;
/// assert_eq!(figures.requests, 10);
/// assert_eq!(figures.fuel, 0, "no callback exported, no instruction run");
/// assert_eq!(figures.growth_pages(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// The module does not load, does not start, traps, or misbehaves.
pub fn measure(path: &Path, plugin: &str, warmup: u64, requests: u64) -> Result<Figures, String> {
    let module = WasmPlugin::load(path).map_err(|e| e.to_string())?;
    let host = MockHost::builder()
        .echo_logs(false)
        .try_wasm(&module, crate::DEFAULT_FUEL_LIMIT)
        .map_err(|e| e.to_string())?;
    let (started, start) = host.measure(MockHost::start);
    if !started {
        return Err(format!("{}: the plugin did not start", module.name()));
    }
    for _ in 0..warmup {
        lifecycle(plugin, &host)?;
        host.logs().clear();
    }
    lifecycles(plugin, &host, INTERLEAVED)?;
    host.logs().clear();
    let before = host.usage();
    let pages_before = host.memory_pages();
    let (mut min, mut max) = (u64::MAX, 0);
    for _ in 0..requests {
        let (result, cost) = host.measure(|h| lifecycle(plugin, h));
        result?;
        min = min.min(cost.usage.fuel);
        max = max.max(cost.usage.fuel);
        host.logs().clear();
    }
    let usage = host.usage().since(&before);
    let rounds = (requests / INTERLEAVED as u64).max(1);
    let mut interleaved_fuel = 0;
    for _ in 0..rounds {
        let (result, cost) = host.measure(|h| lifecycles(plugin, h, INTERLEAVED));
        result?;
        interleaved_fuel += cost.usage.fuel;
        host.logs().clear();
    }
    Ok(Figures {
        wasm_bytes: module.size(),
        start_fuel: start.usage.fuel,
        requests,
        fuel: usage.fuel,
        fuel_min_max: if requests == 0 { (0, 0) } else { (min, max) },
        hostcalls: usage.hostcalls,
        by_export: usage.by_export.iter().map(|(k, v)| (*k, v.fuel)).collect(),
        pages: (pages_before, host.memory_pages()),
        interleaved: (rounds * INTERLEAVED as u64, interleaved_fuel),
    })
}

//! What the engine counts: fuel (wasm instructions) per callback, and
//! hostcalls by name.

use std::collections::BTreeMap;

/// Fuel and hostcall counters of one engine host, cumulative since it was
/// built. Take two with [`EngineHost::usage`](crate::EngineHost::usage) and
/// subtract them ([`Usage::since`]), or use
/// [`EngineHost::measure`](crate::EngineHost::measure).
///
/// Fuel is wasmtime's: one unit per wasm instruction executed (a few
/// structural instructions such as `nop`, `drop`, `block` and `end` are free)
/// and one per function entered. It
/// includes instructions the plugin runs inside its allocation export while
/// the host hands it a result.
///
/// ```
/// use proxywasm_wasmtime::Usage;
///
/// let before = Usage::default();
/// let mut after = Usage::default();
/// after.fuel = 120;
/// after.callbacks = 2;
/// after.hostcalls.insert("proxy_log", 3);
/// let delta = after.since(&before);
/// assert_eq!(delta.fuel, 120);
/// assert_eq!(delta.hostcall_total(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Fuel consumed by every export call.
    pub fuel: u64,
    /// Number of export calls (callbacks, start-up and allocator calls made
    /// by the host are not counted here; the allocator's fuel is).
    pub callbacks: u64,
    /// Fuel and calls per export name.
    pub by_export: BTreeMap<&'static str, ExportUsage>,
    /// Hostcalls by ABI name (`proxy_*`, `envoy_*`, and WASI function names),
    /// including the rejected ones.
    pub hostcalls: BTreeMap<&'static str, u64>,
}

/// Calls and fuel of one export.
///
/// ```
/// use proxywasm_wasmtime::{ExportUsage, Usage};
///
/// let mut usage = Usage::default();
/// usage.by_export.insert("proxy_on_request_headers", ExportUsage { calls: 4, fuel: 400 });
/// let per_call = usage.by_export["proxy_on_request_headers"];
/// assert_eq!(per_call.fuel / per_call.calls, 100);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportUsage {
    /// How many times the host called it.
    pub calls: u64,
    /// Fuel consumed by those calls.
    pub fuel: u64,
}

impl Usage {
    /// The counters accumulated since `earlier` (a previous snapshot of the
    /// same host).
    ///
    /// ```
    /// let usage = proxywasm_wasmtime::Usage::default();
    /// assert_eq!(usage.since(&usage).fuel, 0);
    /// ```
    pub fn since(&self, earlier: &Usage) -> Usage {
        let by_export = self
            .by_export
            .iter()
            .filter_map(|(name, now)| {
                let then = earlier.by_export.get(name).copied().unwrap_or_default();
                let delta = ExportUsage {
                    calls: now.calls.saturating_sub(then.calls),
                    fuel: now.fuel.saturating_sub(then.fuel),
                };
                (delta.calls > 0).then_some((*name, delta))
            })
            .collect();
        let hostcalls = self
            .hostcalls
            .iter()
            .filter_map(|(name, now)| {
                let delta = now.saturating_sub(earlier.hostcalls.get(name).copied().unwrap_or(0));
                (delta > 0).then_some((*name, delta))
            })
            .collect();
        Usage {
            fuel: self.fuel.saturating_sub(earlier.fuel),
            callbacks: self.callbacks.saturating_sub(earlier.callbacks),
            by_export,
            hostcalls,
        }
    }

    /// The number of hostcalls of every name.
    ///
    /// ```
    /// let mut usage = proxywasm_wasmtime::Usage::default();
    /// usage.hostcalls.insert("proxy_log", 2);
    /// usage.hostcalls.insert("fd_write", 1);
    /// assert_eq!(usage.hostcall_total(), 3);
    /// ```
    pub fn hostcall_total(&self) -> u64 {
        self.hostcalls.values().sum()
    }
}

/// One export call, as recorded while [`EngineHost::measure`](crate::EngineHost::measure) runs.
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm_wasmtime::{CallbackFuel, WasmHost, WasmPlugin};
///
/// let plugin = WasmPlugin::from_bytes("pass", br#"(module
///   (memory (export "memory") 1)
///   (func (export "proxy_abi_version_0_2_1"))
///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
///   (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
///     (i32.const 0)))"#)?;
/// let host = MockHost::builder().wasm(&plugin);
/// let mut stream = host.http_stream();
/// let (_, cost) = host.measure(|_| stream.request_headers(&[(":path", "/")], true));
/// let CallbackFuel { export, context_id, fuel } = cost.callbacks[0].clone();
/// assert_eq!((export, context_id), ("proxy_on_request_headers", stream.id().0));
/// assert!(fuel > 0);
/// # Ok::<(), proxywasm_wasmtime::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackFuel {
    /// The export (`"proxy_on_request_headers"`).
    pub export: &'static str,
    /// The context id it was called with (0 for start-up).
    pub context_id: u32,
    /// Fuel it consumed.
    pub fuel: u64,
}

/// The live counters (shared by the guest, the hostcalls and the handle).
#[derive(Debug, Default)]
pub(crate) struct Meter {
    pub(crate) usage: Usage,
    /// Per-call records, kept only while measuring.
    pub(crate) record: Option<Vec<CallbackFuel>>,
}

impl Meter {
    pub(crate) fn count_hostcall(&mut self, name: &'static str) {
        *self.usage.hostcalls.entry(name).or_insert(0) += 1;
    }

    pub(crate) fn count_call(&mut self, export: &'static str, context_id: u32, fuel: u64) {
        self.usage.fuel += fuel;
        self.usage.callbacks += 1;
        let entry = self.usage.by_export.entry(export).or_default();
        entry.calls += 1;
        entry.fuel += fuel;
        if let Some(record) = &mut self.record {
            record.push(CallbackFuel {
                export,
                context_id,
                fuel,
            });
        }
    }
}

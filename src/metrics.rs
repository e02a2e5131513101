//! Metrics: counters, gauges and histograms. Envoy names them
//! `wasmcustom.<name>` in `/stats` (without the prefix in Prometheus output).
//! Define them once (in `on_configure`) and keep the handle; ids are per VM.

use crate::Result;
use crate::abi::calls;
use crate::error::check;

fn define(kind: u32, name: &str) -> Result<u32> {
    check(
        "proxy_define_metric",
        calls::define_metric(kind, name.as_bytes()),
    )
}

/// A monotonically increasing counter.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let requests = proxywasm::metrics::Counter::define("requests_total")?;
/// requests.increment(1)?;
/// assert_eq!(requests.value()?, 1);
/// # Ok(()) });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counter(u32);

impl Counter {
    /// Defines (or re-binds) the counter `name`.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// let _ = proxywasm::metrics::Counter::define("c")?;
    /// # Ok(()) });
    /// ```
    pub fn define(name: &str) -> Result<Counter> {
        define(0, name).map(Counter)
    }

    /// Adds `by` (Envoy rejects 0 with `BAD_ARGUMENT`).
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// proxywasm::metrics::Counter::define("c")?.increment(2)?;
    /// # Ok(()) });
    /// ```
    pub fn increment(&self, by: u64) -> Result<()> {
        check(
            "proxy_increment_metric",
            calls::increment_metric(self.0, i64::try_from(by).unwrap_or(i64::MAX)),
        )
    }

    /// The current value.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// assert_eq!(proxywasm::metrics::Counter::define("fresh")?.value()?, 0);
    /// # Ok(()) });
    /// ```
    pub fn value(&self) -> Result<u64> {
        check("proxy_get_metric", calls::get_metric(self.0))
    }
}

/// A value that goes up and down.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let active = proxywasm::metrics::Gauge::define("active")?;
/// active.add(3)?;
/// active.add(-1)?;
/// assert_eq!(active.value()?, 2);
/// active.set(10)?;
/// assert_eq!(active.value()?, 10);
/// # Ok(()) });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gauge(u32);

impl Gauge {
    /// Defines (or re-binds) the gauge `name`.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// let _ = proxywasm::metrics::Gauge::define("g")?;
    /// # Ok(()) });
    /// ```
    pub fn define(name: &str) -> Result<Gauge> {
        define(1, name).map(Gauge)
    }

    /// Adds `delta` (negative to subtract).
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// proxywasm::metrics::Gauge::define("g")?.add(-2)?;
    /// # Ok(()) });
    /// ```
    pub fn add(&self, delta: i64) -> Result<()> {
        check(
            "proxy_increment_metric",
            calls::increment_metric(self.0, delta),
        )
    }

    /// Sets the value.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// proxywasm::metrics::Gauge::define("g")?.set(5)?;
    /// # Ok(()) });
    /// ```
    pub fn set(&self, value: u64) -> Result<()> {
        check("proxy_record_metric", calls::record_metric(self.0, value))
    }

    /// The current value.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// assert_eq!(proxywasm::metrics::Gauge::define("g0")?.value()?, 0);
    /// # Ok(()) });
    /// ```
    pub fn value(&self) -> Result<u64> {
        check("proxy_get_metric", calls::get_metric(self.0))
    }
}

/// A distribution of recorded values.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let latency = proxywasm::metrics::Histogram::define("latency_ms")?;
/// latency.record(12)?;
/// # Ok(()) });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Histogram(u32);

impl Histogram {
    /// Defines (or re-binds) the histogram `name`.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// let _ = proxywasm::metrics::Histogram::define("h")?;
    /// # Ok(()) });
    /// ```
    pub fn define(name: &str) -> Result<Histogram> {
        define(2, name).map(Histogram)
    }

    /// Records a sample.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// proxywasm::metrics::Histogram::define("h")?.record(3)?;
    /// # Ok(()) });
    /// ```
    pub fn record(&self, value: u64) -> Result<()> {
        check("proxy_record_metric", calls::record_metric(self.0, value))
    }
}

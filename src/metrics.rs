//! Metrics: counters, gauges and histograms. Envoy names them
//! `wasmcustom.<name>` in `/stats` (without the prefix in Prometheus output).
//! Define them once (in `on_configure`) and keep the handle; ids are per VM.

use crate::Result;
use crate::abi::calls;
use crate::error::check;

/// A metric type: the handle (a metric id), its `define`, which makes the
/// hostcall `proxy_define_metric` with the type's wire kind, and `value` where
/// the row names it (histograms have none).
macro_rules! metric {
    ($(#[$doc:meta])* $name:ident = $kind:literal, $noun:literal $(, $value:ident)?) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(u32);

        impl $name {
            #[doc = concat!("Defines (or re-binds) the ", $noun, " `name`.")]
            ///
            /// # Errors
            /// The hostcall's status.
            ///
            /// ```
            /// # proxywasm::mock::doc_plugin(|| {
            #[doc = concat!("let _ = proxywasm::metrics::", stringify!($name), "::define(\"m\")?;")]
            /// # Ok(()) });
            /// ```
            pub fn define(name: &str) -> Result<$name> {
                check(
                    "proxy_define_metric",
                    calls::define_metric($kind, name.as_bytes()),
                )
                .map($name)
            }

            $(
                /// The current value.
                ///
                /// # Errors
                /// The hostcall's status.
                ///
                /// ```
                /// # proxywasm::mock::doc_plugin(|| {
                #[doc = concat!("assert_eq!(proxywasm::metrics::", stringify!($name), "::define(\"fresh\")?.value()?, 0);")]
                /// # Ok(()) });
                /// ```
                pub fn $value(&self) -> Result<u64> {
                    check("proxy_get_metric", calls::get_metric(self.0))
                }
            )?
        }
    };
}

metric! {
    /// A monotonically increasing counter.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// let requests = proxywasm::metrics::Counter::define("requests_total")?;
    /// requests.increment(1)?;
    /// assert_eq!(requests.value()?, 1);
    /// # Ok(()) });
    /// ```
    Counter = 0, "counter", value
}

impl Counter {
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
}

metric! {
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
    Gauge = 1, "gauge", value
}

impl Gauge {
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
}

metric! {
    /// A distribution of recorded values.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// let latency = proxywasm::metrics::Histogram::define("latency_ms")?;
    /// latency.record(12)?;
    /// # Ok(()) });
    /// ```
    Histogram = 2, "histogram"
}

impl Histogram {
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

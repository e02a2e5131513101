//! Metrics: counters, gauges and histograms, per name in the [`MockWorld`],
//! with Envoy's rules for each kind (book: reference/hostcalls.md).

use super::state::status::*;
use super::state::{HostState, text};
use super::world::MetricKind;

impl HostState {
    pub(super) fn metric(&self, id: u32) -> Result<(MetricKind, String), u32> {
        self.metric_ids.get(&id).cloned().ok_or(NOT_FOUND)
    }

    /// `proxy_define_metric`: a new id (type in the low two bits) bound to the
    /// world-wide stat of that name.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for a type above 2.
    pub fn define_metric(&mut self, kind: u32, name: &[u8]) -> Result<u32, u32> {
        self.enter("proxy_define_metric")?;
        let metric_kind = match kind {
            0 => MetricKind::Counter,
            1 => MetricKind::Gauge,
            2 => MetricKind::Histogram,
            _ => return Err(BAD_ARGUMENT),
        };
        self.next_metric += 1;
        let id = (self.next_metric << 2) | kind;
        let name = text(name);
        self.world.with(|w| {
            w.metrics.entry((metric_kind, name.clone())).or_default();
        });
        self.metric_ids.insert(id, (metric_kind, name));
        Ok(id)
    }

    /// `proxy_increment_metric`: counters need `offset > 0`; gauges add
    /// (or subtract) in unsigned 64 bits, wrapping below 0 as Envoy's do.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown id; `BAD_ARGUMENT` for a histogram or a
    /// non-positive counter offset.
    pub fn increment_metric(&mut self, id: u32, offset: i64) -> Result<(), u32> {
        self.enter("proxy_increment_metric")?;
        let key = self.metric(id)?;
        if key.0 == MetricKind::Histogram || (key.0 == MetricKind::Counter && offset <= 0) {
            return Err(BAD_ARGUMENT);
        }
        self.world.with(|w| {
            let metric = w.metrics.entry(key).or_default();
            metric.value = metric.value.wrapping_add_signed(offset);
        });
        Ok(())
    }

    /// `proxy_record_metric`: counters **add** (Envoy), gauges set, histograms
    /// record a sample.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown id.
    pub fn record_metric(&mut self, id: u32, value: u64) -> Result<(), u32> {
        self.enter("proxy_record_metric")?;
        let key = self.metric(id)?;
        self.world.with(|w| {
            let kind = key.0;
            let metric = w.metrics.entry(key).or_default();
            match kind {
                MetricKind::Counter => metric.value = metric.value.wrapping_add(value),
                MetricKind::Gauge => metric.value = value,
                MetricKind::Histogram => metric.samples.push(value),
            }
        });
        Ok(())
    }

    /// `proxy_get_metric`.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown id; `BAD_ARGUMENT` for a histogram.
    pub fn get_metric(&mut self, id: u32) -> Result<u64, u32> {
        self.enter("proxy_get_metric")?;
        let key = self.metric(id)?;
        if key.0 == MetricKind::Histogram {
            return Err(BAD_ARGUMENT);
        }
        Ok(self
            .world
            .with(|w| w.metrics.get(&key).map_or(0, |m| m.value)))
    }
}

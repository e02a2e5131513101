//! Time and timers: the emulated clocks, `proxy_set_tick_period_milliseconds`,
//! and advancing time, which fires ticks and callout timeouts
//! (book: reference/hostcalls.md#logging-time-and-timers).

use super::callouts::HttpOutcome;
use super::state::{HostState, Payload};
use super::vm::Vm;
use core::time::Duration;
use proxywasm_abi::Export;

impl HostState {
    /// `proxy_get_current_time_nanoseconds`: the emulated wall clock.
    pub fn get_current_time_nanoseconds(&mut self) -> Result<u64, u32> {
        self.enter("proxy_get_current_time_nanoseconds")?;
        Ok(self.now)
    }

    /// `proxy_set_tick_period_milliseconds`: sets the timer of the root of the
    /// acting context; 0 disables it. Always OK.
    pub fn set_tick_period_milliseconds(&mut self, period: u32) -> Result<(), u32> {
        self.enter("proxy_set_tick_period_milliseconds")?;
        let root = self.root_of(self.acting_context());
        let now = self.now;
        if let Some(root) = self.root_mut(root) {
            root.tick_period_ms = period;
            root.next_tick = (period > 0).then(|| now + u64::from(period) * 1_000_000);
        }
        Ok(())
    }

    /// WASI `clock_time_get`: clock 0 is the emulated wall clock, 1 the
    /// monotonic clock (ns since the host was created); others `Err(58)` (NOTSUP).
    ///
    /// # Errors
    /// WASI errno 58 for clocks other than 0 and 1.
    pub fn wasi_clock_time_get(&mut self, clock: u32) -> Result<u64, u16> {
        match clock {
            0 => Ok(self.now),
            1 => Ok(self.monotonic),
            _ => Err(58),
        }
    }
}

impl Vm {
    pub(super) fn fire_tick(&self, root: u32) {
        let (_, deferred) = self.invoke(Export::Tick { context_id: root }, Payload::None);
        {
            let mut s = self.state();
            let now = s.now;
            if let Some(r) = s.root_mut(root) {
                r.next_tick =
                    (r.tick_period_ms > 0).then(|| now + u64::from(r.tick_period_ms) * 1_000_000);
            }
        }
        self.apply(deferred);
    }

    pub(crate) fn tick(&self) {
        self.op(|| {
            let due: Vec<u32> = {
                let s = self.state.borrow();
                s.roots.iter().copied().filter(|r| s.root(*r).is_some_and(|root| root.tick_period_ms > 0)).collect()
            };
            assert!(
                !due.is_empty(),
                "tick(): no plugin context set a tick period (proxy_set_tick_period_milliseconds), so Envoy would \
                 never call proxy_on_tick"
            );
            for root in due {
                self.fire_tick(root);
            }
        })
    }

    pub(crate) fn advance_time(&self, by: Duration) {
        self.op(|| {
            let target = {
                let s = self.state.borrow();
                s.now
                    .saturating_add(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX))
            };
            loop {
                let next = {
                    let s = self.state.borrow();
                    let ticks = s.roots.iter().filter_map(|r| {
                        s.root(*r)
                            .and_then(|root| root.next_tick)
                            .map(|t| (t, 0, *r))
                    });
                    let timeouts = s
                        .http_calls
                        .iter()
                        .filter_map(|(token, call)| call.deadline.map(|t| (t, 1, *token)));
                    ticks.chain(timeouts).filter(|(t, _, _)| *t <= target).min()
                };
                let Some((time, kind, id)) = next else { break };
                self.set_now(time);
                if kind == 0 {
                    self.fire_tick(id);
                } else {
                    self.deliver_http(id, HttpOutcome::Timeout);
                }
            }
            self.set_now(target);
        })
    }

    /// The emulated clock now (ns since the Unix epoch).
    pub(crate) fn now(&self) -> u64 {
        self.state.borrow().now
    }

    /// When the next tick or callout timeout of this VM is due, if any.
    pub(crate) fn next_due(&self) -> Option<u64> {
        let s = self.state.borrow();
        let ticks = s
            .roots
            .iter()
            .filter_map(|r| s.root(*r).and_then(|root| root.next_tick));
        let timeouts = s.http_calls.values().filter_map(|call| call.deadline);
        ticks.chain(timeouts).min()
    }

    /// Whether a plugin of this VM set a tick period.
    pub(crate) fn ticks(&self) -> bool {
        let s = self.state.borrow();
        s.roots
            .iter()
            .any(|r| s.root(*r).is_some_and(|root| root.tick_period_ms > 0))
    }

    pub(super) fn set_now(&self, time: u64) {
        let mut s = self.state();
        if time > s.now {
            let step = time - s.now;
            s.now = time;
            s.monotonic = s.monotonic.saturating_add(step);
        }
    }
}

//! Time and timers.

use crate::Result;
use crate::abi::calls;
use crate::error::check;
use core::time::Duration;
use std::time::SystemTime;

/// The host's wall-clock time (`proxy_get_current_time_nanoseconds`; Envoy
/// gives live time). `std::time::SystemTime::now()` also works (WASI clock).
///
/// # Errors
/// The hostcall's status.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let now = proxywasm::time::now()?;
/// assert!(now > std::time::UNIX_EPOCH);
/// # Ok(()) });
/// ```
pub fn now() -> Result<SystemTime> {
    let nanos = check(
        "proxy_get_current_time_nanoseconds",
        calls::get_current_time_nanoseconds(),
    )?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// Sets the tick period of the current plugin context; zero stops ticks.
/// Each worker's VM, and the main thread's, ticks independently; the canary
/// VM never ticks (book: reference/envoy-1.40.md#which-vms-run-and-tick).
///
/// # Errors
/// The hostcall's status.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// proxywasm::time::set_tick_period(std::time::Duration::from_millis(500))?;
/// # Ok(()) });
/// ```
pub fn set_tick_period(period: Duration) -> Result<()> {
    check(
        "proxy_set_tick_period_milliseconds",
        calls::set_tick_period_milliseconds(millis(period)),
    )
}

/// Converts a duration to whole milliseconds for the ABI (saturating).
#[inline]
pub(crate) fn millis(duration: Duration) -> u32 {
    // In u64, not `as_millis`'s u128 (a multiply call on wasm32).
    let millis = duration
        .as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(duration.subsec_millis()));
    u32::try_from(millis).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_saturate_to_the_abi_width() {
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::from_secs(u64::MAX)), u32::MAX);
    }
}

//! Layer 1: safe wrappers over the whole import set, grouped by domain. Each
//! returns [`crate::Result`]; "not found" is `Ok(None)`; every status the host
//! can return (known or not) becomes an [`Error`] naming the call.
//!
//! The domain modules are re-exported at the crate root: [`crate::http`],
//! [`crate::tcp`], [`crate::callout`], [`crate::shared`], [`crate::metrics`],
//! [`crate::property`], [`crate::time`], [`crate::plugin`], [`crate::foreign`],
//! [`crate::dns`] and [`crate::logging`].

use crate::abi::calls::Raw;
use crate::{Error, Result, Status};

pub(crate) mod buffer;
pub mod callout;
pub mod dns;
pub mod foreign;
pub mod http;
#[cfg(feature = "json")]
pub(crate) mod json;
pub mod logging;
pub(crate) mod map;
pub mod metrics;
pub mod plugin;
pub mod property;
pub mod shared;
pub mod tcp;
pub mod time;

/// Maps a raw result: every non-zero status is an error naming `call`.
#[inline]
pub(crate) fn check<T>(call: &'static str, raw: Raw<T>) -> Result<T> {
    raw.map_err(|code| Error::host(call, Status::from_raw(code)))
}

/// Maps a raw result where `NOT_FOUND` means "absent".
#[inline]
pub(crate) fn optional<T>(call: &'static str, raw: Raw<T>) -> Result<Option<T>> {
    match raw {
        Ok(value) => Ok(Some(value)),
        Err(1) => Ok(None),
        Err(code) => Err(Error::host(call, Status::from_raw(code))),
    }
}

/// Converts a duration to whole milliseconds for the ABI (saturating).
#[inline]
pub(crate) fn millis(duration: core::time::Duration) -> u32 {
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

    /// Every non-zero code any hostcall can return — the 13 the host knows, and
    /// any other — becomes an `Err` naming the call and keeping the code.
    #[test]
    fn every_status_code_becomes_an_error_with_the_code() {
        for code in (1..=40u32).chain([255, 4096, u32::MAX]) {
            let err = check::<()>("proxy_example", Err(code)).unwrap_err();
            assert_eq!(err.status().map(Status::as_raw), Some(code), "code {code}");
            assert_eq!(err.call(), Some("proxy_example"));
            assert!(
                err.to_string().starts_with("proxy_example failed: "),
                "{err}"
            );
        }
        assert_eq!(check("proxy_example", Ok(7)), Ok(7));
        assert_eq!(Status::from_raw(12), Status::Unimplemented);
        assert_eq!(Status::from_raw(99), Status::Unknown(99));
    }

    /// `NOT_FOUND` means "absent" where absence is legal; every other code is
    /// still an error.
    #[test]
    fn not_found_is_none_and_other_codes_stay_errors() {
        assert_eq!(optional::<u32>("proxy_example", Err(1)), Ok(None));
        assert_eq!(optional("proxy_example", Ok(3)), Ok(Some(3)));
        for code in (2..=40u32).chain([u32::MAX]) {
            let err = optional::<u32>("proxy_example", Err(code)).unwrap_err();
            assert_eq!(err.status().map(Status::as_raw), Some(code));
        }
    }

    #[test]
    fn durations_saturate_to_the_abi_width() {
        assert_eq!(millis(core::time::Duration::from_millis(1500)), 1500);
        assert_eq!(millis(core::time::Duration::from_secs(u64::MAX)), u32::MAX);
    }
}

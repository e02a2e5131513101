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
pub(crate) fn millis(duration: core::time::Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}

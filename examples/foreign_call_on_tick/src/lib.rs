//! `foreign_call_on_tick`: call one of Envoy's foreign functions on every
//! tick (the Go SDK's scenario).
//!
//! Each tick compresses [`MESSAGE`] with Envoy's `compress` (the typed
//! helper [`foreign::compress`]) and logs the call's count and the zlib
//! stream in hex; then it inflates that stream with `uncompress` and logs
//! whether the message came back. A failing call is an error of `on_tick`:
//! the SDK logs it and the next tick tries again.

use proxywasm::foreign;
use proxywasm::log::info;
use proxywasm::{Configuration, ContextId, Error, NoContext, PluginContext, Result};
use std::fmt::Write as _;
use std::time::Duration;

/// What each tick compresses.
pub const MESSAGE: &[u8] = b"hello world!";

/// How often the plugin ticks.
pub const TICK_PERIOD: Duration = Duration::from_millis(100);

/// The plugin context: how many calls it made.
#[derive(Debug, Default)]
pub struct Plugin {
    calls: u64,
}

/// `bytes` as lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

impl PluginContext for Plugin {
    type Http = NoContext;
    type Tcp = NoContext;

    fn on_configure(&mut self, _configuration: Configuration) -> Result<()> {
        proxywasm::time::set_tick_period(TICK_PERIOD)
    }

    fn on_tick(&mut self) -> Result<()> {
        self.calls += 1;
        let packed = foreign::compress(MESSAGE)?;
        info!(
            "foreign function (compress) called: {}, result: {}",
            self.calls,
            hex(&packed)
        );
        let unpacked = foreign::uncompress(&packed)?;
        if &*unpacked != MESSAGE {
            return Err(Error::other(format!(
                "uncompress gave {:?}",
                String::from_utf8_lossy(&unpacked)
            )));
        }
        info!(
            "foreign function (uncompress) gave back {:?}",
            String::from_utf8_lossy(&unpacked)
        );
        Ok(())
    }
}

/// The entry point: one `Plugin` per plugin configuration.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

//! `hello_world`: a plugin that logs when it starts, reads its configuration,
//! and logs on every timer tick.
//!
//! Envoy runs it as an HTTP filter (see `envoy.yaml`); it creates no HTTP
//! contexts, so requests pass through untouched.

use proxywasm::log::info;
use proxywasm::{Configuration, ContextId, NoContext, PluginContext, Result};
use std::time::Duration;

/// How often the plugin ticks.
pub const TICK_PERIOD: Duration = Duration::from_millis(500);

/// The plugin context: its configuration and how many ticks it has seen.
#[derive(Debug, Default)]
pub struct HelloWorld {
    configuration: String,
    ticks: u64,
}

impl PluginContext for HelloWorld {
    type Http = NoContext;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        self.configuration = configuration.to_string_lossy()?;
        info!(
            "hello_world: started, configuration: {}",
            self.configuration
        );
        proxywasm::time::set_tick_period(TICK_PERIOD)?;
        Ok(())
    }

    fn on_tick(&mut self) -> Result<()> {
        self.ticks += 1;
        info!("hello_world: tick {}", self.ticks);
        Ok(())
    }
}

/// The entry point: one `HelloWorld` per plugin configuration.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> HelloWorld {
    HelloWorld::default()
}

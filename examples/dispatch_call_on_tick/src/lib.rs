//! `dispatch_call_on_tick`: HTTP callouts from a timer, several in flight at
//! once, each answered in its own closure, from two plugins sharing one VM.
//!
//! * The plugin's name is its configuration, or else its root id (Envoy's
//!   `envoy.yaml` runs two filters, root ids `plugin1` and `plugin2`, with
//!   the same `vm_id` and code: one VM, two plugin contexts).
//! * Every tick (500 ms) each plugin sends one `GET` per path of [`PATHS`]
//!   to the cluster `web_service` with `HttpCall::send_then`, then logs how
//!   many of its calls are in flight.
//! * Each closure gets its own call's answer and the plugin context that
//!   made the call; it logs the plugin, the tick, the call and the status:
//!   `plugin1 tick 2 call 1 /fail: status 503, 1 in flight`.

use proxywasm::attribute::plugin::ROOT_ID;
use proxywasm::callout::HttpCall;
use proxywasm::log::info;
use proxywasm::{Configuration, ContextId, NoContext, PluginContext, Result, time};
use std::time::Duration;

/// The cluster called.
pub const CLUSTER: &str = "web_service";

/// The paths called on each tick, in this order.
pub const PATHS: [&str; 3] = ["/ok", "/fail", "/ok"];

/// The tick period.
pub const TICK: Duration = Duration::from_millis(500);

/// The plugin context: its name, its ticks and its calls in flight.
#[derive(Debug, Default)]
pub struct Plugin {
    name: String,
    ticks: u32,
    in_flight: u32,
}

impl PluginContext for Plugin {
    type Http = NoContext;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let name = configuration.to_string_lossy()?;
        self.name = match name.trim() {
            "" => ROOT_ID.get()?.unwrap_or_default(),
            name => name.to_string(),
        };
        info!("{} ticks every {} ms", self.name, TICK.as_millis());
        time::set_tick_period(TICK)
    }

    fn on_tick(&mut self) -> Result<()> {
        self.ticks += 1;
        let tick = self.ticks;
        for (call, path) in PATHS.into_iter().enumerate() {
            HttpCall::new(CLUSTER)
                .header(":method", "GET")
                .header(":path", path)
                .header(":authority", CLUSTER)
                .timeout(Duration::from_secs(1))
                .send_then(move |plugin: &mut Plugin, response| {
                    plugin.in_flight = plugin.in_flight.saturating_sub(1);
                    let status = response.status()?.unwrap_or_default();
                    info!(
                        "{} tick {tick} call {call} {path}: status {status}, {} in flight",
                        plugin.name, plugin.in_flight
                    );
                    Ok(())
                })?;
            self.in_flight += 1;
        }
        info!(
            "{} tick {tick}: {} calls in flight",
            self.name, self.in_flight
        );
        Ok(())
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

//! `vm_plugin_configuration`: the two configurations a plugin gets.
//!
//! * The **VM configuration** (`vm_config.configuration` in Envoy) reaches
//!   [`VmContext::on_vm_start`]: settings shared by every plugin of the VM.
//!   It needs the full entry form, `#[proxywasm::main]` on a function
//!   returning the VM context.
//! * The **plugin configuration** (`config.configuration`) reaches
//!   [`PluginContext::on_configure`] of the plugin context the VM creates.
//!
//! Both are logged as text. Envoy calls `on_vm_start` once per plugin
//! context, in every VM (canary, main thread, each worker), so it must be
//! safe to run more than once.

use proxywasm::log::info;
use proxywasm::{Configuration, ContextId, NoContext, PluginContext, Result, VmContext};

/// The VM context: logs the VM configuration.
#[derive(Debug, Default)]
pub struct Vm;

impl VmContext for Vm {
    type Plugin = Plugin;

    fn on_vm_start(&mut self, configuration: Configuration) -> Result<()> {
        info!(
            "vm_plugin_configuration: vm configuration: {}",
            configuration.to_string_lossy()?
        );
        Ok(())
    }

    fn new_plugin_context(&mut self, _id: ContextId) -> Plugin {
        Plugin
    }
}

/// The plugin context: logs the plugin configuration.
#[derive(Debug)]
pub struct Plugin;

impl PluginContext for Plugin {
    type Http = NoContext;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        info!(
            "vm_plugin_configuration: plugin configuration: {}",
            configuration.to_string_lossy()?
        );
        Ok(())
    }
}

/// The entry point: the VM form, since the VM configuration matters.
#[proxywasm::main]
pub fn vm() -> Vm {
    Vm
}

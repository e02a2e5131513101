use super::PluginContext;
use crate::Configuration;
use crate::{ContextId, Result};

/// The VM context: one per VM instance (per Envoy worker, one on the main
/// thread, and a throwaway "canary" VM at configuration load), created lazily
/// before the first plugin.
///
/// Implement it when the VM configuration matters, or to share state between
/// plugins of one VM; otherwise use the short forms of
#[cfg_attr(feature = "macros", doc = "[`#[proxywasm::main]`](crate::main),")]
#[cfg_attr(not(feature = "macros"), doc = "`#[proxywasm::main]`,")]
/// which supply an anonymous VM context.
///
/// # Lifecycle
/// Envoy calls [`on_vm_start`](VmContext::on_vm_start) **once per plugin
/// context**, not once per VM (book: reference/lifecycle.md#vms-and-plugin-contexts),
/// and again in every worker's VM.
/// Keep it idempotent. Hostcalls other than logging are not allowed before it
/// (during module start-up), which this SDK never does.
///
/// # Examples
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Configuration, ContextId, NoContext, PluginContext, Result, VmContext};
///
/// struct Vm {
///     greeting: String,
/// }
/// struct Plugin;
/// impl PluginContext for Plugin {
///     type Http = NoContext;
///     type Tcp = NoContext;
/// }
/// impl VmContext for Vm {
///     type Plugin = Plugin;
///     fn on_vm_start(&mut self, config: Configuration) -> Result<()> {
///         self.greeting = config.to_string_lossy()?;
///         Ok(())
///     }
///     fn new_plugin_context(&mut self, _id: ContextId) -> Plugin {
///         Plugin
///     }
/// }
///
/// let host = MockHost::builder().vm_configuration("hi").vm(|| Vm { greeting: String::new() });
/// assert!(host.start());
/// ```
pub trait VmContext: 'static {
    /// The plugin context type this VM creates.
    type Plugin: PluginContext;

    /// Called with the VM configuration (`vm_config.configuration`) for each
    /// new plugin context. Return an error to refuse to start: the SDK logs it
    /// and Envoy rejects the configuration.
    ///
    /// # Errors
    /// Whatever the implementation returns.
    fn on_vm_start(&mut self, configuration: Configuration) -> Result<()> {
        let _ = configuration;
        Ok(())
    }

    /// Creates the plugin context for a new plugin configuration.
    fn new_plugin_context(&mut self, id: ContextId) -> Self::Plugin;
}

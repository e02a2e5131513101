//! Calls about contexts: the effective context and deferred plugin shutdown.

use crate::Result;
use crate::abi::calls;
use crate::error::check;
use crate::runtime::{self, ContextId};

/// Makes `context` the target of the following hostcalls until the current
/// callback returns — e.g. to resume a paused stream from `on_tick`. Callouts
/// made afterwards answer to that context.
///
/// # Errors
/// `BAD_ARGUMENT` when `context` is not live (the stream ended).
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let err = proxywasm::plugin::set_effective_context(proxywasm::ContextId(999)).unwrap_err();
/// assert_eq!(err.status(), Some(proxywasm::Status::BadArgument));
/// # Ok(()) });
/// ```
pub fn set_effective_context(context: ContextId) -> Result<()> {
    check(
        "proxy_set_effective_context",
        calls::set_effective_context(context.0),
    )?;
    runtime::set_active(context.0);
    Ok(())
}

/// Finishes a plugin whose `on_done` returned `false`.
///
/// # Errors
/// `NOT_FOUND` when the plugin is not pending shutdown.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// assert!(proxywasm::plugin::done().is_err()); // not shutting down
/// # Ok(()) });
/// ```
pub fn done() -> Result<()> {
    check("proxy_done", calls::done())
}

/// The context whose callback is running (or that was made effective), or
/// `ContextId(0)` outside callbacks.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// assert_ne!(proxywasm::plugin::current_context(), proxywasm::ContextId(0));
/// # Ok(()) });
/// ```
pub fn current_context() -> ContextId {
    ContextId(runtime::active())
}

/// The VM configuration (`vm_config.configuration`), readable at any time
/// (Envoy does not restrict it), e.g. from `on_configure` or `on_tick` when the
/// VM context kept nothing. Empty when none is set.
///
/// # Errors
/// The hostcall's status, if it fails.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let config = proxywasm::plugin::vm_configuration()?;
/// assert!(config.is_empty()); // the doc host sets none
/// # Ok(()) });
/// ```
pub fn vm_configuration() -> Result<crate::HostBytes> {
    crate::buffer::Buffer::new(crate::abi::wire::buffer::VM_CONFIGURATION).read_all()
}

//! The context model: one [`VmContext`] per VM, N [`PluginContext`]s per VM
//! (one per plugin configuration), and N [`HttpContext`]s or [`TcpContext`]s
//! per plugin (one per HTTP stream or TCP connection).
//!
//! The traits carry **callbacks only**: what the host calls. What a plugin
//! calls (headers, bodies, callouts, shared data…) lives in free functions and
//! handle types ([`crate::http`], [`crate::tcp`], …), so a plugin pulls in only
//! the hostcalls it uses.

/// Declares trait callbacks with their defaults: each method ignores its
/// arguments and returns the `Default` of its result (`()`,
/// [`Action::Continue`](crate::Action::Continue), `None`). Callbacks with any
/// other default are written out in their trait.
macro_rules! callbacks {
    ($($(#[$doc:meta])* fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) $(-> $ret:ty)?;)*) => {
        $(
            $(#[$doc])*
            fn $name(&mut self $(, $arg: $ty)*) $(-> $ret)? {
                $(let _ = $arg;)*
                $(<$ret>::default())?
            }
        )*
    };
}

mod http;
mod plugin;
mod tcp;
mod vm;

pub use http::HttpContext;
pub use plugin::PluginContext;
pub use tcp::TcpContext;
pub use vm::VmContext;

/// The context type of a plugin that has no HTTP or no TCP streams. It has no
/// values, so the code for the unused kind is compiled out.
///
/// ```
/// use proxywasm::{NoContext, PluginContext};
/// struct OnlyTicks;
/// impl PluginContext for OnlyTicks {
///     type Http = NoContext;
///     type Tcp = NoContext;
/// }
/// # let _ = OnlyTicks;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoContext {}

impl crate::HttpContext for NoContext {}
impl crate::TcpContext for NoContext {}

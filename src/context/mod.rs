//! The context model: one [`VmContext`] per VM, N [`PluginContext`]s per VM
//! (one per plugin configuration), and N [`HttpContext`]s or [`TcpContext`]s
//! per plugin (one per HTTP stream or TCP connection).
//!
//! The traits carry **callbacks only**: what the host calls. What a plugin
//! calls (headers, bodies, callouts, shared data…) lives in free functions and
//! handle types ([`crate::http`], [`crate::tcp`], …), so a plugin pulls in only
//! the hostcalls it uses.

/// Declares trait callbacks with their defaults: each method ignores its
/// arguments and returns `Ok` of the `Default` of its value (`()`,
/// [`Action::Continue`](crate::Action::Continue)). Callbacks with any other
/// default are written out in their trait.
macro_rules! callbacks {
    ($($(#[$doc:meta])* fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) -> Result<$ok:ty>;)*) => {
        $(
            $(#[$doc])*
            ///
            /// # Errors
            /// Whatever the implementation returns; see
            /// [`ErrorPolicy`](crate::ErrorPolicy) for what the SDK then does.
            fn $name(&mut self $(, $arg: $ty)*) -> crate::Result<$ok> {
                $(let _ = $arg;)*
                Ok(<$ok>::default())
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

use crate::policy::{Failing, failed};

/// A task of an HTTP stream of type `H` failed.
fn http_task_failed<H: HttpContext>(id: u32, error: &crate::Error) {
    failed(Failing::Http(H::ON_ERROR), id, "a task", error, true);
}

/// A task of a TCP connection of type `T` failed.
fn tcp_task_failed<T: TcpContext>(id: u32, error: &crate::Error) {
    failed(Failing::Tcp(T::ON_ERROR), id, "a task", error, true);
}

/// A task of a plugin context failed.
fn plugin_task_failed(id: u32, error: &crate::Error) {
    failed(Failing::Plugin, id, "a task", error, false);
}

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

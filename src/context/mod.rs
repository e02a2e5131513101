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

/// Which callbacks a context type writes itself. The dispatcher answers a
/// callback that no context type receiving it writes at once, with the
/// default's answer, without finding the context.
///
/// Set it with [`#[proxywasm::callbacks]`][callbacks] on the type's
/// `impl` block, which lists the methods written there; without it a type
/// has [`Callbacks::ALL`], and every callback reaches the context (the ones
/// it does not write run their default, which does nothing). A callback
/// that several context kinds receive (`on_done`, `on_log`) is answered
/// early only if none of the plugin's types writes it, so mark the plugin
/// context's block too. Answering at once saves about 16 wasm instructions
/// per callback and request: an HTTP filter with one callback gets three of
/// the six calls of a request without a body (request headers, `on_log`,
/// `on_done`) that way.
///
/// Callout events (responses, gRPC messages), `on_configure` and context
/// creation and deletion always reach the SDK, which has work of its own
/// there; so does every callback of a plugin with both HTTP and TCP types
/// (its streams' kind is known only at their first callback).
///
/// ```
/// use proxywasm::Callbacks;
///
/// let only = Callbacks::only(&["on_response_headers"]);
/// assert!(only.contains("on_response_headers"));
/// assert!(!only.contains("on_request_headers"));
/// assert!(Callbacks::ALL.contains("on_request_headers"));
/// assert!(!Callbacks::NONE.contains("on_log"));
/// ```
///
#[cfg_attr(feature = "macros", doc = "[callbacks]: macro@crate::callbacks")]
/// [callbacks]: crate#feature-flags
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Callbacks(Option<&'static [&'static str]>);

impl Callbacks {
    /// Every callback (the default: nothing is answered without the context).
    pub const ALL: Callbacks = Callbacks(None);

    /// No callback (the SDK's contexts that have none of their own).
    pub const NONE: Callbacks = Callbacks(Some(&[]));

    /// The callbacks named, by trait method (`"on_request_headers"`, …);
    /// names of other methods are ignored.
    pub const fn only(names: &'static [&'static str]) -> Callbacks {
        Callbacks(Some(names))
    }

    /// Whether the callback named `callback` is in the set. The name is not
    /// checked against the trait's callbacks: [`Callbacks::ALL`] answers
    /// yes to any name.
    pub const fn contains(self, callback: &str) -> bool {
        self.contains_bytes(callback.as_bytes())
    }

    /// [`Callbacks::contains`] of a name as bytes.
    pub(crate) const fn contains_bytes(self, callback: &[u8]) -> bool {
        let Some(names) = self.0 else {
            return true;
        };
        let mut at = 0;
        while at < names.len() {
            if same(names[at].as_bytes(), callback) {
                return true;
            }
            at += 1;
        }
        false
    }
}

/// Byte equality, usable in `const` evaluation.
const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut at = 0;
    while at < a.len() {
        if a[at] != b[at] {
            return false;
        }
        at += 1;
    }
    true
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

impl crate::HttpContext for NoContext {
    const CALLBACKS: Callbacks = Callbacks::NONE;
}
impl crate::TcpContext for NoContext {
    const CALLBACKS: Callbacks = Callbacks::NONE;
}

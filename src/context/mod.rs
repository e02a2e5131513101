//! The context model: one [`VmContext`] per VM, N [`PluginContext`]s per VM
//! (one per plugin configuration), and N [`HttpContext`]s or [`TcpContext`]s
//! per plugin (one per HTTP stream or TCP connection).
//!
//! The traits carry **callbacks only**: what the host calls. What a plugin
//! calls (headers, bodies, callouts, shared data…) lives in free functions and
//! handle types ([`crate::http`], [`crate::tcp`], …), so a plugin pulls in only
//! the hostcalls it uses.

mod http;
mod plugin;
mod tcp;
mod types;
mod vm;

pub use http::HttpContext;
pub use plugin::PluginContext;
pub use tcp::TcpContext;
pub use types::{Action, Configuration, GrpcEvent, HttpCallResponse, NoContext, PeerType};
pub use vm::VmContext;

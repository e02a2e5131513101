//! The emulator's **memory-agnostic core**: all host state and behaviour,
//! with hostcalls as methods on plain Rust values. Not public API (exempt
//! from semver); it is `pub` so that another front door — the engine host,
//! which runs the compiled `.wasm` — can share it.
//!
//! * [`HostState`]: one VM's state; every hostcall as a method taking `&[u8]`
//!   and returning `Vec<u8>`/integers or a raw status (`Err(code)`);
//! * [`MockWorld`]: what VMs share (shared data and queues per `vm_id`, metrics);
//! * [`Vm`] and [`Guest`]: the lifecycles, and the seam through which a front
//!   door calls the plugin's exports ([`Export`]);
//! * the records tests inspect ([`LogRecord`], [`HttpCallout`], …).
//!
//! A front door (see `backend.rs` for the native one) does three things per
//! hostcall: read the plugin's arguments from its memory, call the
//! [`HostState`] method through [`Vm::state`], and hand results back by
//! calling the plugin's allocation export (empty results as `(0, 0)`, no
//! allocation). Then it calls [`Vm::after_hostcall`].
#![forbid(unsafe_code)]

mod driver;
mod records;
mod state;
mod stream;
mod world;

pub use driver::{Export, Guest, Vm};
pub use records::{
    DnsLookup, Fidelity, GrpcCallout, GrpcKind, HttpCallout, LocalReply, LogRecord, Violation,
};
pub use state::{AMBIENT_HOSTCALLS, ForeignFunction, HostState, PluginConfig, VmConfig, status};
pub use world::MockWorld;

pub(crate) use driver::GrpcDelivery;
pub(crate) use records::lossy_pairs;
pub(crate) use state::Callback;
pub(crate) use stream::{
    HttpStream as StreamState, Pause, Side, TcpConnection as ConnState, from_text,
};
pub(crate) use world::MetricKind;

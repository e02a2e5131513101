//! The **emulator**: all host state and behaviour, with hostcalls as methods
//! on plain Rust values, free of pointers and `unsafe`. This is the public,
//! semver-covered API for a front door other than [`MockHost`](super::MockHost):
//! `proxywasm-wasmtime`, which runs the compiled `.wasm` under wasmtime, is
//! one.
//!
//! * [`HostState`]: one VM's state; every hostcall as a method taking `&[u8]`
//!   and returning `Vec<u8>`/integers or a raw status (`Err(code)`);
//! * [`MockWorld`]: what VMs share (shared data and queues per `vm_id`, metrics);
//! * [`Vm`] and [`Guest`]: the lifecycles, and the seam through which a front
//!   door calls the plugin's exports ([`Export`]);
//! * the records tests inspect ([`LogRecord`], [`HttpCallout`], …).
//!
//! * [`hostcalls`]: one entry point per import, generated from the ABI table
//!   and written once for every front door over a [`hostcalls::GuestMemory`]:
//!   it reads the plugin's arguments from its memory, calls the [`HostState`]
//!   method, and hands results back through the plugin's allocation export.
//!
//! A front door (see `backend.rs` for the native one, `proxywasm-wasmtime`
//! for the engine) implements [`hostcalls::GuestMemory`] over its memory,
//! serves each import by calling the entry point of the same name, and
//! implements [`Guest`] to call the plugin's exports.
#![forbid(unsafe_code)]

mod driver;
pub mod hostcalls;
mod records;
mod state;
mod stream;
mod world;

pub use driver::{Guest, Vm};
pub use proxywasm_abi::Export;
pub use records::{
    DnsLookup, Fidelity, GrpcCallout, GrpcKind, HttpCallout, LocalReply, LogRecord, Violation,
};
pub use state::{
    AMBIENT_HOSTCALLS, ForeignFunction, HostState, PluginConfig, START_UP_HOSTCALLS, VmConfig,
    status,
};
pub use world::MockWorld;

pub(crate) use driver::GrpcDelivery;
pub(crate) use records::lossy_pairs;
pub(crate) use stream::{
    HttpStream as StreamState, Pause, Side, TcpConnection as ConnState, from_text,
};
pub(crate) use world::MetricKind;

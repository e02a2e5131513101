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
//! * [`hostcalls`]: one entry point per import, generated from the ABI table
//!   and written once for every front door over a [`hostcalls::GuestMemory`]:
//!   it asks the [policy](HostState::admit), reads the plugin's arguments from
//!   its memory, calls the [`HostState`] method, and hands results back
//!   through the plugin's allocation export;
//! * the records tests inspect ([`LogRecord`], [`HttpCallout`], …).
//!
//! # By domain
//! Each domain's source file holds its hostcalls (the `HostState` methods
//! the ABI table's rows name) and its lifecycle steps (the `Vm` methods that
//! deliver its callbacks): `http` (HTTP streams), `tcp`, `callouts` (HTTP,
//! gRPC, DNS, the foreign-function call), `foreign` (Envoy's built-in foreign
//! functions), `shared` (shared data and queues),
//! `metrics`, `properties`, `time` (clocks and timers), `logs`; `buffers`
//! serves the buffer and map hostcalls for all of them. `policy` decides what
//! is allowed when; `state` and `vm` hold the VM itself and its start-up and
//! teardown.
//!
//! # A front door
//! A front door (`backend.rs` for the native one, `proxywasm-wasmtime` for
//! the engine) implements [`hostcalls::GuestMemory`] over its memory, serves
//! each import by calling the entry point of the same name, and implements
//! [`Guest`] to call the plugin's exports.
#![forbid(unsafe_code)]

mod buffers;
mod callouts;
mod foreign;
pub mod hostcalls;
mod http;
mod logs;
mod metrics;
mod policy;
mod properties;
mod records;
mod shared;
mod state;
mod stream;
mod tcp;
#[cfg(test)]
mod tests;
mod time;
mod vm;
mod world;

pub use foreign::ForeignAnswer;
pub use policy::{ALLOCATOR_HOSTCALLS, AMBIENT_HOSTCALLS, Phase, Policy, START_UP_HOSTCALLS};
pub use proxywasm_abi::Export;
pub use records::{
    DnsLookup, Fidelity, GrpcCallout, GrpcKind, HostAllocation, HttpCallout, LocalReply, LogRecord,
    Violation,
};
pub use state::{ForeignFunction, HostState, PluginConfig, VmConfig, status};
pub use vm::{Guest, Vm};
pub use world::MockWorld;

pub(crate) use callouts::{GrpcDelivery, HttpOutcome};
pub(crate) use records::{first_value, lossy_pairs};
pub(crate) use stream::{
    HttpStream as StreamState, Part, Pause, Side, TcpConnection as ConnState, from_bytes,
    from_text, map_get,
};
pub(crate) use world::MetricKind;

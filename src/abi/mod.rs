//! Layer 0: the raw ABI. **The only module with `unsafe`** (besides the mock
//! backend), every block with a `// SAFETY:` line.
//!
//! * [`imports`]: every host function, generated from the ABI table
//!   (`proxywasm_abi::for_each_import!`) with exact wasm types;
//! * [`calls`]: safe 1:1 wrappers (slices in, owned values out), generated
//!   from the same table;
//! * [`memory`]: the allocation export and [`memory::HostBytes`];
//! * [`exports`]: the `proxy_on_*` trampolines into [`crate::dispatch`],
//!   generated from `proxywasm_abi::for_each_export!` (natively,
//!   `call_native` hands each `Export` to the installed dispatcher);
//! * [`wire`]: integer enums and the pairs format.
//!
//! Contract for the whole module: the host follows ABI v0.2.1 as Envoy
//! implements it (book: reference/memory.md): pointers it returns with status OK point to
//! buffers allocated through our allocation export with exactly the reported
//! size, and it reads/writes only the ranges we pass.
#![allow(unsafe_code)]

pub(crate) mod calls;
pub(crate) mod exports;
pub(crate) mod imports;
pub(crate) mod memory;
pub(crate) mod wire;

/// The status native stubs answer when no host is present: `UNIMPLEMENTED`.
#[cfg(all(not(target_family = "wasm"), not(feature = "mock-host")))]
const NO_HOST: u32 = 12;

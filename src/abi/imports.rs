//! Every host function Envoy registers for ABI v0.2.1, generated from the
//! ABI table ([`proxywasm_abi::for_each_import!`]) into one of three
//! backends, chosen by one cfg:
//!
//! * on `wasm`: `extern "C"` imports from module `env` (the real host);
//! * native with `mock-host`: entry points of the emulator, over native
//!   pointers (`crate::mock::backend`);
//! * native without it: stubs that answer `UNIMPLEMENTED` (12), so a plugin's
//!   pure logic still links and runs natively.
//!
//! [`sdk_type!`] gives each argument role a Rust type that compiles to the
//! exact wasm32 type Envoy expects: pointers, `usize` and `u32` are `i32`;
//! only metric values are `i64`. Statuses and enums come back as raw `u32`
//! and are decoded later, never declared as Rust enums (an unknown code would
//! be undefined behaviour).

/// The SDK's Rust type for an argument role of the ABI table.
#[rustfmt::skip]
macro_rules! sdk_type {
    (u32) => { u32 };
    (i32) => { i32 };
    (u64) => { u64 };
    (i64) => { i64 };
    (bool) => { u32 };
    (usize) => { usize };
    (in_ptr) => { *const u8 };
    (in_size) => { usize };
    (out_ptr) => { *mut *mut u8 };
    (out_size) => { *mut usize };
    (out_u32) => { *mut u32 };
    (out_u64) => { *mut u64 };
    (out_usize) => { *mut usize };
}

macro_rules! imports {
    ($( $(#[$doc:meta])* fn $name:ident = $op:ident($($arg:ident: $role:ident),*); )*) => {
        // No `#[link(wasm_import_module = "env")]`: undefined symbols are
        // imported from `env` by default, and without the attribute rustc
        // keeps the plain symbol names (the attribute mangles them, which
        // costs ~50 bytes of name section per import).
        #[cfg(target_family = "wasm")]
        unsafe extern "C" {
            $( $(#[$doc])* pub(crate) fn $name($($arg: sdk_type!($role)),*) -> u32; )*
        }

        $(
            $(#[$doc])*
            /// Served by the mock host's emulator.
            ///
            /// # Safety
            /// Same contract as the real import: every pointer/length pair is
            /// readable, and every out-pointer is writable and aligned.
            #[cfg(all(not(target_family = "wasm"), feature = "mock-host"))]
            #[allow(clippy::too_many_arguments)]
            pub(crate) unsafe fn $name($($arg: sdk_type!($role)),*) -> u32 {
                // SAFETY: the caller upholds the import's contract, which is
                // what `serve` requires of the addresses it is given.
                unsafe {
                    crate::mock::backend::serve(|vm, memory| {
                        crate::mock::engine::hostcalls::$name(
                            vm,
                            memory,
                            $(crate::mock::backend::native_arg!($role, $arg)),*
                        )
                    })
                }
            }

            $(#[$doc])*
            /// Native stub without a host: answers `UNIMPLEMENTED`.
            ///
            /// # Safety
            /// Touches no memory; `unsafe` only to match the real import.
            #[cfg(all(not(target_family = "wasm"), not(feature = "mock-host")))]
            #[allow(clippy::too_many_arguments)]
            pub(crate) unsafe fn $name($(_: sdk_type!($role)),*) -> u32 {
                super::NO_HOST
            }
        )*
    };
}

proxywasm_abi::for_each_import!(imports);

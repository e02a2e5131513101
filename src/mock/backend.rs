//! The native front door: the plugin's memory is this process's memory, and
//! an address is a native pointer. Every import of `abi/imports.rs` becomes,
//! natively, a call of the emulator's entry point of the same name
//! ([`hostcalls`](super::engine::hostcalls)) through [`serve`], with the
//! arguments converted by [`native_arg!`] and a [`NativeMemory`].
//!
//! Results are handed back through the SDK's own allocation export
//! (`proxy_on_memory_allocate`), as a real host does, so the SDK's ownership
//! hand-off (`HostBytes::from_raw`) is exercised.
//!
//! The only `unsafe` of the mock host lives here: reading input ranges and
//! writing out-parameters through native pointers.

use super::engine::hostcalls::GuestMemory;
use super::engine::{Vm, status::UNIMPLEMENTED};
use super::native;
use crate::abi::memory::proxy_on_memory_allocate;
use core::ptr;

/// Saturates a native size to the ABI's 32 bits (sizes are `i32` on wasm32).
pub(crate) fn wire(size: usize) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

/// Converts an argument of an import, as the SDK passes it natively (its
/// `sdk_type!`), to the emulator's type for its role.
#[rustfmt::skip]
macro_rules! native_arg {
    (bool, $x:expr) => { $x != 0 };
    (usize, $x:expr) => { $crate::mock::backend::wire($x) };
    (in_size, $x:expr) => { $crate::mock::backend::wire($x) };
    (in_ptr, $x:expr) => { $x.cast_mut() };
    (out_ptr, $x:expr) => { $x.cast::<u8>() };
    (out_size, $x:expr) => { $x.cast::<u8>() };
    (out_u32, $x:expr) => { $x.cast::<u8>() };
    (out_u64, $x:expr) => { $x.cast::<u8>() };
    (out_usize, $x:expr) => { $x.cast::<u8>() };
    ($plain:ident, $x:expr) => { $x };
}
pub(crate) use native_arg;

/// The plugin's memory natively. Only [`serve`] makes one, for the duration
/// of one hostcall; it notes the buffers it allocates for the plugin (address
/// and size), which `serve` records for the leak check.
pub(crate) struct NativeMemory(Vec<(usize, usize)>);

/// Serves one hostcall on this thread's current host (`UNIMPLEMENTED`
/// without one). A trap (a hostcall Envoy refuses outright, e.g. during
/// start-up) fails the test, as a trap fails Envoy's VM.
///
/// # Safety
/// Every address and length `call` passes to the memory is an argument of
/// the hostcall and meets the import's contract: input ranges are readable
/// for their length, out-pointers are writable for their type.
#[allow(
    clippy::panic,
    reason = "a trap: the test fails with the host's reason, as Envoy fails the VM"
)]
pub(crate) unsafe fn serve(
    call: impl FnOnce(&Vm, &mut NativeMemory) -> Result<u32, String>,
) -> u32 {
    let Some(vm) = native::current() else {
        return UNIMPLEMENTED;
    };
    let mut memory = NativeMemory(Vec::new());
    let outcome = call(&vm, &mut memory);
    if !memory.0.is_empty() {
        if let Some(mut state) = vm.try_state() {
            for (at, size) in memory.0 {
                if let Some(serial) = crate::abi::memory::handed::serial(at) {
                    state.handed_to_plugin(at, serial, size);
                }
            }
        }
    }
    match outcome {
        Ok(status) => status,
        Err(trap) => panic!("{trap}"),
    }
}

impl GuestMemory for NativeMemory {
    type Addr = *mut u8;
    type Trap = String;
    const NULL: *mut u8 = ptr::null_mut();

    fn trap(reason: String) -> String {
        reason
    }

    fn read(&self, at: *mut u8, len: u32) -> Option<Vec<u8>> {
        if len == 0 {
            return Some(Vec::new());
        }
        if at.is_null() {
            return None;
        }
        // SAFETY: a non-null input range of the hostcall, readable for `len`
        // bytes (`serve`'s contract).
        Some(unsafe { core::slice::from_raw_parts(at, len as usize) }.to_vec())
    }

    fn write(&mut self, at: *mut u8, bytes: &[u8]) -> Option<()> {
        if at.is_null() {
            return None;
        }
        // SAFETY: `at` is a buffer the plugin's allocator returned for exactly
        // `bytes.len()` bytes (the only bytes the emulator writes), which
        // cannot overlap the host's own `bytes`.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), at, bytes.len()) };
        Some(())
    }

    fn write_u32(&mut self, at: *mut u8, value: u32) -> Option<()> {
        // SAFETY: an `out_u32` argument of the hostcall (`serve`'s contract).
        unsafe { put(at.cast::<u32>(), value) }
    }

    fn write_u64(&mut self, at: *mut u8, value: u64) -> Option<()> {
        // SAFETY: an `out_u64` argument of the hostcall (`serve`'s contract).
        unsafe { put(at.cast::<u64>(), value) }
    }

    fn write_usize(&mut self, at: *mut u8, value: u32) -> Option<()> {
        // SAFETY: an `out_size`/`out_usize` argument of the hostcall, a
        // `*mut usize` in the SDK (`serve`'s contract).
        unsafe { put(at.cast::<usize>(), value as usize) }
    }

    fn write_addr(&mut self, at: *mut u8, value: *mut u8) -> Option<()> {
        // SAFETY: an `out_ptr` argument of the hostcall, a `*mut *mut u8` in
        // the SDK (`serve`'s contract).
        unsafe { put(at.cast::<*mut u8>(), value) }
    }

    fn allocate(&mut self, size: u32) -> Result<*mut u8, String> {
        let at = proxy_on_memory_allocate(size as usize);
        if !at.is_null() && size > 0 {
            self.0.push((at as usize, size as usize));
        }
        Ok(at)
    }
}

/// Writes an out-parameter; `None` for a null pointer.
///
/// # Safety
/// `at` is null or writable for a `T` (alignment is not needed).
unsafe fn put<T>(at: *mut T, value: T) -> Option<()> {
    if at.is_null() {
        return None;
    }
    // SAFETY: non-null and writable for a `T` (this function's contract);
    // written unaligned, so no alignment is assumed.
    unsafe { at.write_unaligned(value) };
    Some(())
}

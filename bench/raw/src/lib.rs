//! The raw ABI, written by hand: what every raw benchmark plugin needs and
//! nothing more. The imports are declared with the exact wasm types Envoy
//! registers for ABI v0.2.1; only the ones a plugin references are linked.
//!
//! * the ABI marker `proxy_abi_version_0_2_1`;
//! * `_initialize`, which runs the static constructors (reactor start-up);
//! * `proxy_on_memory_allocate`: exact-size, align-1 allocations from the
//!   global allocator (a boxed slice), freed by [`HostBuf`];
//! * [`header_map_pairs`] and [`u32_at`], for the plugins that read headers;
//! * [`Slots`], a tiny per-context store for plugins that carry state.
#![allow(clippy::missing_safety_doc)]

use std::alloc::{Layout, dealloc};
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr::null_mut;

/// Map type: request headers.
pub const REQUEST_HEADERS: u32 = 0;
/// Map type: response headers.
pub const RESPONSE_HEADERS: u32 = 2;
/// Buffer type: request body.
pub const REQUEST_BODY: u32 = 0;
/// Stream type: HTTP request.
pub const STREAM_REQUEST: u32 = 0;
/// Log level: info.
pub const LOG_INFO: u32 = 2;
/// Status OK.
pub const OK: u32 = 0;
/// Action: continue.
pub const CONTINUE: u32 = 0;
/// Action: pause.
pub const PAUSE: u32 = 1;

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    pub fn proxy_log(level: u32, data: *const u8, size: usize) -> u32;
    pub fn proxy_get_header_map_pairs(
        map: u32,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    pub fn proxy_add_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    pub fn proxy_get_buffer_bytes(
        buffer: u32,
        start: usize,
        max_size: usize,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    pub fn proxy_set_buffer_bytes(
        buffer: u32,
        start: usize,
        size: usize,
        data: *const u8,
        data_size: usize,
    ) -> u32;
    pub fn proxy_http_call(
        upstream: *const u8,
        upstream_size: usize,
        headers: *const u8,
        headers_size: usize,
        body: *const u8,
        body_size: usize,
        trailers: *const u8,
        trailers_size: usize,
        timeout_ms: u32,
        ret_token: *mut u32,
    ) -> u32;
    pub fn proxy_set_effective_context(context_id: u32) -> u32;
    pub fn proxy_continue_stream(stream: u32) -> u32;
}

unsafe extern "C" {
    fn __wasm_call_ctors();
}

/// The ABI version marker.
#[unsafe(no_mangle)]
pub extern "C" fn proxy_abi_version_0_2_1() {}

/// Reactor start-up: static constructors only.
#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    // SAFETY: called once by the host before any other export.
    unsafe { __wasm_call_ctors() }
}

/// The allocation export: exactly `size` bytes, alignment 1, from the global
/// allocator — written the conventional way (as the official SDK does), with a
/// boxed slice. That links std's allocation-failure and panic machinery
/// (about 27 KB), which every plugin that grows a `Vec` links anyway; the issue's
/// raw anchor (34,554 bytes for `add_header`) was measured this way.
/// `bench/README.md` gives the size of a raw plugin without it.
#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    let mut buf: Vec<MaybeUninit<u8>> = Vec::with_capacity(size);
    // SAFETY: capacity is `size`; the bytes stay uninitialised until the host
    // writes them, which MaybeUninit allows.
    unsafe { buf.set_len(size) };
    Box::into_raw(buf.into_boxed_slice()).cast::<u8>()
}

/// A buffer the host allocated through `proxy_on_memory_allocate`; freed on drop.
pub struct HostBuf {
    ptr: *mut u8,
    len: usize,
}

impl HostBuf {
    /// An empty out-parameter pair for a hostcall to fill.
    pub const fn empty() -> HostBuf {
        HostBuf {
            ptr: null_mut(),
            len: 0,
        }
    }

    /// The out-pointers to pass to the hostcall.
    pub fn out(&mut self) -> (*mut *mut u8, *mut usize) {
        (&mut self.ptr, &mut self.len)
    }

    /// The bytes (empty for a null/zero-length result).
    pub fn bytes(&self) -> &[u8] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: the host wrote `len` bytes at `ptr`, allocated for us.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// The pairs of header map `map`, serialized (`None` when the hostcall fails).
pub fn header_map_pairs(map: u32) -> Option<HostBuf> {
    let mut pairs = HostBuf::empty();
    let (data, size) = pairs.out();
    // SAFETY: valid out-pointers.
    if unsafe { proxy_get_header_map_pairs(map, data, size) } != OK {
        return None;
    }
    Some(pairs)
}

/// The little-endian `u32` at byte `at` of `bytes` (the pairs format's
/// count and lengths), if `bytes` has it.
pub fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl Drop for HostBuf {
    fn drop(&mut self) {
        if !self.ptr.is_null() && self.len > 0 {
            // SAFETY: allocated by proxy_on_memory_allocate(len) with layout (len, 1).
            unsafe { dealloc(self.ptr, Layout::from_size_align_unchecked(self.len, 1)) }
        }
    }
}

/// A per-context `u32` store (context id or token → value), for plugins that
/// carry state between callbacks. Wasm is single-threaded.
pub struct Slots(UnsafeCell<Vec<(u32, u32)>>);

// SAFETY: wasm32-wasip1 modules run on one thread; no reference escapes a call.
unsafe impl Sync for Slots {}

impl Slots {
    /// An empty store.
    pub const fn new() -> Slots {
        Slots(UnsafeCell::new(Vec::new()))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Vec<(u32, u32)>) -> R) -> R {
        // SAFETY: single-threaded and not re-entered while `f` runs (no hostcalls in it).
        f(unsafe { &mut *self.0.get() })
    }

    /// Sets `key` to `value`.
    pub fn set(&self, key: u32, value: u32) {
        self.with(|v| match v.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => v.push((key, value)),
        })
    }

    /// Removes `key`, returning its value.
    pub fn take(&self, key: u32) -> Option<u32> {
        self.with(|v| {
            let i = v.iter().position(|(k, _)| *k == key)?;
            Some(v.swap_remove(i).1)
        })
    }

    /// Removes every entry whose value is `value`.
    pub fn remove_value(&self, value: u32) {
        self.with(|v| v.retain(|(_, x)| *x != value))
    }
}

impl Default for Slots {
    fn default() -> Slots {
        Slots::new()
    }
}

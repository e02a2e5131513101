//! Memory hand-off between host and plugin (book: reference/memory.md).
//!
//! The host obtains memory for every variable-length result by calling the
//! allocation export, copies the data in, and hands the guest `(ptr, len)`.
//! [`HostBytes`] takes ownership of such a buffer the moment it arrives; it is
//! the only place that turns host pointers into Rust values.
//!
//! **Allocator choice.** Envoy looks up `malloc` first, then
//! `proxy_on_memory_allocate`. We export only `proxy_on_memory_allocate`
//! (wasi-libc's `malloc` stays internal to the module), backed by Rust's global
//! allocator with alignment 1 and exactly the requested size, so [`HostBytes`]
//! can free it with the same layout. The engine and Envoy tests check that no
//! `malloc` export exists and that data returned through this export round-trips.

use core::ptr::NonNull;
use std::alloc::{Layout, alloc, dealloc};
use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::str::Utf8Error;

/// The allocation export the host calls to place results in plugin memory.
///
/// Returns null when the allocator fails (the host then returns
/// `INVALID_MEMORY_ACCESS` from the hostcall). Runs in the host's restricted
/// mode, so it touches no SDK state and makes no hostcalls.
#[cfg_attr(target_family = "wasm", unsafe(no_mangle))]
pub(crate) extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    if size == 0 {
        // Never dereferenced or freed: HostBytes treats length 0 as "no allocation".
        return NonNull::<u8>::dangling().as_ptr();
    }
    let at = match Layout::from_size_align(size, 1) {
        // SAFETY: the layout has a non-zero size (checked above).
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => core::ptr::null_mut(),
    };
    #[cfg(all(feature = "mock-host", not(target_family = "wasm")))]
    handed::allocated(at);
    at
}

/// The emulator's leak check, natively only (feature `mock-host`): which
/// buffers the host allocated through [`proxy_on_memory_allocate`] are still
/// owned by a [`HostBytes`] (not freed, not turned into a `Vec`). The
/// emulator records what it handed to whom and asks here; nothing else
/// reads it, and a `.wasm` has none of it.
#[cfg(all(feature = "mock-host", not(target_family = "wasm")))]
pub(crate) mod handed {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    std::thread_local! {
        /// Address → serial of each live host-allocated buffer (the serial
        /// tells a reused address from the buffer that had it before).
        static LIVE: RefCell<(BTreeMap<usize, u64>, u64)> = const { RefCell::new((BTreeMap::new(), 0)) };
    }

    pub(super) fn allocated(at: *mut u8) {
        if at.is_null() {
            return;
        }
        let _ = LIVE.try_with(|live| {
            if let Ok(mut live) = live.try_borrow_mut() {
                live.1 += 1;
                let serial = live.1;
                live.0.insert(at as usize, serial);
            }
        });
    }

    pub(super) fn released(at: *mut u8) {
        let _ = LIVE.try_with(|live| {
            if let Ok(mut live) = live.try_borrow_mut() {
                live.0.remove(&(at as usize));
            }
        });
    }

    /// The serial of the live buffer at `at`, if one is live there.
    pub(crate) fn serial(at: usize) -> Option<u64> {
        LIVE.try_with(|live| live.try_borrow().ok()?.0.get(&at).copied())
            .ok()
            .flatten()
    }
}

/// Bytes the host placed in plugin memory, owned by the plugin.
///
/// Returned by every hostcall wrapper that reads variable-length data: header
/// values, bodies, properties, shared data, queue items. It dereferences to
/// `[u8]` without copying; [`to_str`](HostBytes::to_str) and
/// [`to_string_lossy`](HostBytes::to_string_lossy) are the text views and never
/// panic on non-UTF-8 data. Dropping it frees the host's allocation.
///
/// # Examples
///
/// ```
/// use proxywasm::HostBytes;
///
/// let value = HostBytes::from(b"caf\xe9".to_vec());
/// assert_eq!(value.as_bytes(), b"caf\xe9");
/// assert!(value.to_str().is_err());
/// assert_eq!(value.to_string_lossy(), "caf\u{fffd}");
/// assert_eq!(HostBytes::default().len(), 0);
/// ```
pub struct HostBytes {
    ptr: NonNull<u8>,
    len: usize,
}

impl HostBytes {
    /// Takes ownership of a buffer the host returned.
    ///
    /// A null pointer or a zero length is the empty value: empty results are
    /// never allocated (book: reference/memory.md#empty-results).
    ///
    /// # Safety
    /// When `ptr` is non-null and `len > 0`, `ptr` must come from
    /// [`proxy_on_memory_allocate`]`(len)` (or an equivalent global-allocator
    /// allocation with layout `(len, 1)`), must be initialised for `len` bytes,
    /// and must not be owned by anything else.
    pub(crate) unsafe fn from_raw(ptr: *mut u8, len: usize) -> HostBytes {
        match NonNull::new(ptr) {
            Some(ptr) if len > 0 => HostBytes { ptr, len },
            _ => HostBytes::default(),
        }
    }

    /// The bytes.
    ///
    /// ```
    /// assert_eq!(proxywasm::HostBytes::from(vec![1, 2]).as_bytes(), &[1, 2]);
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: len > 0, so `ptr` is an owned allocation initialised for `len`
        // bytes (from_raw's contract, or a leaked boxed slice in From<Vec<u8>>),
        // and it lives as long as `self`.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes as UTF-8 text, or the UTF-8 error. Never panics.
    ///
    /// ```
    /// assert_eq!(proxywasm::HostBytes::from(b"ok".to_vec()).to_str(), Ok("ok"));
    /// ```
    pub fn to_str(&self) -> Result<&str, Utf8Error> {
        core::str::from_utf8(self.as_bytes())
    }

    /// The bytes as text, with invalid UTF-8 replaced by U+FFFD.
    ///
    /// ```
    /// assert_eq!(proxywasm::HostBytes::from(b"a\xffb".to_vec()).to_string_lossy(), "a\u{fffd}b");
    /// ```
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }

    /// Converts into a `Vec<u8>` without copying.
    ///
    /// ```
    /// assert_eq!(proxywasm::HostBytes::from(vec![7]).into_vec(), vec![7]);
    /// ```
    pub fn into_vec(self) -> Vec<u8> {
        if self.len == 0 {
            return Vec::new();
        }
        let this = core::mem::ManuallyDrop::new(self);
        // The plugin owns it as a Vec from here: released from the leak check.
        #[cfg(all(feature = "mock-host", not(target_family = "wasm")))]
        handed::released(this.ptr.as_ptr());
        // SAFETY: the buffer was allocated by the global allocator with layout
        // (len, 1) — exactly a Vec<u8> of capacity len — and ownership moves
        // into the Vec (ManuallyDrop keeps our Drop from freeing it too).
        unsafe { Vec::from_raw_parts(this.ptr.as_ptr(), this.len, this.len) }
    }

    /// Converts into a `String` when the bytes are UTF-8, without copying;
    /// otherwise returns the bytes unchanged.
    ///
    /// ```
    /// let text = proxywasm::HostBytes::from(b"hi".to_vec()).into_string();
    /// assert_eq!(text.unwrap(), "hi");
    /// ```
    pub fn into_string(self) -> Result<String, HostBytes> {
        if self.to_str().is_err() {
            return Err(self);
        }
        String::from_utf8(self.into_vec()).map_err(|e| HostBytes::from(e.into_bytes()))
    }
}

impl Default for HostBytes {
    fn default() -> HostBytes {
        HostBytes {
            ptr: NonNull::dangling(),
            len: 0,
        }
    }
}

impl Drop for HostBytes {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        #[cfg(all(feature = "mock-host", not(target_family = "wasm")))]
        handed::released(self.ptr.as_ptr());
        // SAFETY: len > 0 means `ptr` is an allocation we own with layout (len, 1).
        unsafe {
            dealloc(
                self.ptr.as_ptr(),
                Layout::from_size_align_unchecked(self.len, 1),
            )
        }
    }
}

impl From<Vec<u8>> for HostBytes {
    fn from(bytes: Vec<u8>) -> HostBytes {
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        let ptr = Box::into_raw(boxed).cast::<u8>();
        // SAFETY: a boxed [u8] of length len is a global-allocator allocation
        // with layout (len, 1), initialised, and now owned only by us.
        unsafe { HostBytes::from_raw(ptr, len) }
    }
}

impl From<&[u8]> for HostBytes {
    fn from(bytes: &[u8]) -> HostBytes {
        HostBytes::from(bytes.to_vec())
    }
}

impl From<&str> for HostBytes {
    fn from(text: &str) -> HostBytes {
        HostBytes::from(text.as_bytes())
    }
}

impl Deref for HostBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for HostBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Clone for HostBytes {
    fn clone(&self) -> HostBytes {
        HostBytes::from(self.as_bytes())
    }
}

impl PartialEq for HostBytes {
    fn eq(&self, other: &HostBytes) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for HostBytes {}

impl PartialEq<[u8]> for HostBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&[u8]> for HostBytes {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_bytes() == *other
    }
}

impl PartialEq<str> for HostBytes {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for HostBytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for HostBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_bytes().escape_ascii())
    }
}

impl fmt::Display for HostBytes {
    /// Text as-is when it is UTF-8, otherwise with non-ASCII bytes escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_str() {
            Ok(text) => f.write_str(text),
            Err(_) => write!(f, "{}", self.as_bytes().escape_ascii()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_export_round_trips_through_host_bytes() {
        let ptr = proxy_on_memory_allocate(5);
        assert!(!ptr.is_null());
        // SAFETY: ptr is a fresh 5-byte allocation from the export.
        unsafe { core::ptr::copy_nonoverlapping(b"hello".as_ptr(), ptr, 5) };
        // SAFETY: ptr came from proxy_on_memory_allocate(5) and is initialised.
        let bytes = unsafe { HostBytes::from_raw(ptr, 5) };
        assert_eq!(bytes, "hello");
        assert_eq!(bytes.clone().into_vec(), b"hello");
    }

    #[test]
    fn null_and_zero_length_are_empty() {
        // SAFETY: null/zero-length inputs are never dereferenced.
        let empty = unsafe { HostBytes::from_raw(core::ptr::null_mut(), 9) };
        assert!(empty.is_empty());
        let zero = proxy_on_memory_allocate(0);
        // SAFETY: a zero-length result is the empty value; nothing is freed.
        let empty = unsafe { HostBytes::from_raw(zero, 0) };
        assert_eq!(empty.as_bytes(), b"");
        assert_eq!(empty.into_vec(), Vec::<u8>::new());
    }

    #[test]
    fn text_views_never_panic() {
        let bad = HostBytes::from(&b"\xff\xfe"[..]);
        assert!(bad.to_str().is_err());
        assert_eq!(bad.to_string(), "\\xff\\xfe");
        assert!(bad.into_string().is_err());
        assert_eq!(HostBytes::from("ok").into_string().unwrap(), "ok");
    }
}

//! Safe 1:1 wrappers over [`super::imports`]: slices in, owned values out,
//! generated from the ABI table (`proxywasm_abi::for_each_import!`): one
//! `calls::operation` per row, named by the row's operation.
//!
//! Each returns `Ok` on status 0 and `Err(code)` with the raw non-zero code
//! otherwise; the hostcall API decodes codes into `Status`. The arguments
//! follow the row: an `in_ptr`/`in_size` pair is one `&[u8]`, a `bool` is a
//! `bool`, any other plain role is its own type. The results are the row's
//! out-parameters in order (one value, a tuple, or `()`): an
//! `out_ptr`/`out_size` pair is a [`HostBytes`], `out_u32`/`out_u64`/`out_usize`
//! the integer. Out-parameters are read only on success, and every returned
//! buffer is owned by a [`HostBytes`] immediately.

use super::imports as sys;
use super::memory::HostBytes;
use core::ptr::null_mut;

/// A raw call result: `Err` holds the non-zero status code.
pub(crate) type Raw<T> = Result<T, u32>;

#[inline(always)]
fn status(code: u32) -> Raw<()> {
    if code == 0 { Ok(()) } else { Err(code) }
}

/// One wrapper per row of the table.
macro_rules! calls {
    ($( $(#[$doc:meta])* fn $name:ident = $op:ident($($arg:ident: $role:ident),*); )*) => {
        $( call! { [$(#[$doc])* $name $op] [] [] [] [] $($arg: $role,)* } )*
    };
}

/// Builds one wrapper, taking the row's arguments one role at a time into
/// four lists after the head `[docs import operation]`: `[parameters]
/// [locals] [import arguments] [{result} {type}…]`.
macro_rules! call {
    // One result is itself, more are a tuple.
    (@tuple $one:tt) => { $one };
    (@tuple $($many:tt),+) => { ($($many),+) };
    // An `out_u32`/`out_u64`/`out_usize` of type `$t`.
    (@int $t:ty, $h:tt $p:tt [$($l:tt)*] [$($a:tt)*] [$($o:tt)*] $value:ident, $($r:tt)*) => {
        call! { $h $p [$($l)* let mut $value: $t = 0;] [$($a)* &mut $value,] [$($o)* {$value} {$t}] $($r)* }
    };
    ($h:tt [$($p:tt)*] $l:tt [$($a:tt)*] $o:tt $data:ident: in_ptr, $size:ident: in_size, $($r:tt)*) => {
        call! { $h [$($p)* $data: &[u8],] $l [$($a)* $data.as_ptr(), $data.len(),] $o $($r)* }
    };
    ($h:tt $p:tt [$($l:tt)*] [$($a:tt)*] [$($o:tt)*] $data:ident: out_ptr, $size:ident: out_size, $($r:tt)*) => {
        call! { $h $p [$($l)* let mut $data: *mut u8 = null_mut(); let mut $size = 0usize;]
            [$($a)* &mut $data, &mut $size,]
            // SAFETY: the call returned OK, so the host wrote the address and length of a
            // buffer it obtained from our proxy_on_memory_allocate(len) and filled, or (0, 0)
            // for an empty result; ownership passes to us (book: reference/memory.md#results-from-the-host).
            [$($o)* {unsafe { HostBytes::from_raw($data, $size) }} {HostBytes}] $($r)* }
    };
    ($h:tt $p:tt $l:tt $a:tt $o:tt $value:ident: out_u32, $($r:tt)*) => { call! { @int u32, $h $p $l $a $o $value, $($r)* } };
    ($h:tt $p:tt $l:tt $a:tt $o:tt $value:ident: out_u64, $($r:tt)*) => { call! { @int u64, $h $p $l $a $o $value, $($r)* } };
    ($h:tt $p:tt $l:tt $a:tt $o:tt $value:ident: out_usize, $($r:tt)*) => { call! { @int usize, $h $p $l $a $o $value, $($r)* } };
    ($h:tt [$($p:tt)*] $l:tt [$($a:tt)*] $o:tt $value:ident: bool, $($r:tt)*) => {
        call! { $h [$($p)* $value: bool,] $l [$($a)* u32::from($value),] $o $($r)* }
    };
    // A plain value (`u32`, `i32`, `u64`, `i64`, `usize`): the role is its type.
    ($h:tt [$($p:tt)*] $l:tt [$($a:tt)*] $o:tt $value:ident: $role:ident, $($r:tt)*) => {
        call! { $h [$($p)* $value: $role,] $l [$($a)* $value,] $o $($r)* }
    };
    // All arguments taken: the wrapper, by the number of results.
    ([$(#[$doc:meta])* $name:ident $op:ident] [$($p:tt)*] [] [$($a:tt)*] []) => {
        $(#[$doc])*
        pub(crate) fn $op($($p)*) -> Raw<()> {
            // SAFETY: every pointer passed is a slice argument, live for the
            // duration of the call, with its exact length.
            status(unsafe { sys::$name($($a)*) })
        }
    };
    ([$(#[$doc:meta])* $name:ident $op:ident] [$($p:tt)*] [$($l:tt)*] [$($a:tt)*] [$({$o:expr} {$t:ty})+]) => {
        $(#[$doc])*
        pub(crate) fn $op($($p)*) -> Raw<call!(@tuple $($t),+)> {
            $($l)*
            // SAFETY: every slice is live for the duration of the call, and
            // every out-pointer is a live, aligned local the host writes once.
            status(unsafe { sys::$name($($a)*) })?;
            Ok(call!(@tuple $($o),+))
        }
    };
}

proxywasm_abi::for_each_import!(calls);

/// The generated wrapper of `proxy_call_foreign_function` reads the result
/// words only on success; the SDK calls [`call_foreign_function_told`]
/// instead, which also reads them after a failure.
const _: fn(&[u8], &[u8]) -> Raw<HostBytes> = call_foreign_function;

/// A failed `proxy_call_foreign_function`: the status, and whether the host
/// got as far as the function (it wrote the result words).
pub(crate) struct ForeignFailure {
    pub(crate) code: u32,
    pub(crate) ran: bool,
}

/// `proxy_call_foreign_function`, telling a name the host has no function
/// for from the function's own failure. Envoy looks the name up first and
/// answers `NOT_FOUND` without touching the result words; once a function
/// ran, it writes both words (`(0, 0)` when nothing was allocated) whatever
/// the function's status (book: reference/hostcalls.md#not-found-or-not-registered).
/// The size word starts at `usize::MAX`, which no result can have, so a
/// word still holding it was never written.
pub(crate) fn call_foreign_function_told(
    name: &[u8],
    arguments: &[u8],
) -> Result<HostBytes, ForeignFailure> {
    let mut data: *mut u8 = null_mut();
    let mut size = usize::MAX;
    // SAFETY: both slices are live for the duration of the call, and both
    // out-pointers are live, aligned locals the host writes at most once.
    let code = unsafe {
        sys::proxy_call_foreign_function(
            name.as_ptr(),
            name.len(),
            arguments.as_ptr(),
            arguments.len(),
            &mut data,
            &mut size,
        )
    };
    if size == usize::MAX {
        return match code {
            0 => Ok(HostBytes::default()),
            code => Err(ForeignFailure { code, ran: false }),
        };
    }
    // SAFETY: the host wrote the words, so they hold the address and length
    // of a buffer it obtained from our proxy_on_memory_allocate(len) and
    // filled, or (0, 0); ownership passes to us (book:
    // reference/memory.md#results-from-the-host). A failed function's buffer
    // is owned here too, and freed when dropped.
    let result = unsafe { HostBytes::from_raw(data, size) };
    match code {
        0 => Ok(result),
        code => Err(ForeignFailure { code, ran: true }),
    }
}

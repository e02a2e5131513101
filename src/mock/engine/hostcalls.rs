//! The hostcalls' entry points, written once for every front door.
//!
//! A front door reaches the plugin's memory through a [`GuestMemory`] (native
//! pointers in `mock/backend.rs`, linear memory in the wasmtime engine) and
//! serves import `proxy_x` by calling the function of the same name here,
//! with the import's arguments in table order. Each of these functions is
//! generated from its row of the ABI table
//! ([`proxywasm_abi::for_each_import!`]) and does what Envoy does around the
//! hostcall:
//!
//! 1. the [policy](super::Policy) ([`Vm::admit`]): a hostcall restricted
//!    mode refuses **traps**;
//! 2. the input ranges (`in_ptr`/`in_size`) are read (a bad range:
//!    `INVALID_MEMORY_ACCESS`);
//! 3. the [`HostState`](super::HostState) method the row names runs, with
//!    the inputs as `&[u8]` and the plain values, in table order (with the
//!    state busy: `INTERNAL_FAILURE`);
//! 4. what it returns is written to the out-parameters in table order: a
//!    scalar as a little-endian word, bytes through the plugin's allocation
//!    export, in [`Phase::Allocating`](super::Phase) (an empty result as
//!    `(0, 0)` without allocating; `0` for both out-pointers discards the
//!    result);
//! 5. [`Vm::after_hostcall`] runs the re-entry hooks.
//!
//! So a new hostcall needs its row in the table and its `HostState` method;
//! both front doors pick it up.

use super::Vm;
use super::status::{INTERNAL_FAILURE, INVALID_MEMORY_ACCESS, OK};

/// The plugin's memory as a front door reaches it: the emulator reads
/// hostcall inputs and writes results through it. The default methods write
/// wasm32 words (4-byte little-endian; `u64` values 8 bytes).
///
/// ```
/// use proxywasm::mock::engine::hostcalls::GuestMemory;
///
/// /// A toy linear memory.
/// struct Bytes(Vec<u8>);
///
/// impl GuestMemory for Bytes {
///     type Addr = u32;
///     type Trap = String;
///     const NULL: u32 = 0;
///     fn trap(reason: String) -> String { reason }
///     fn read(&self, at: u32, len: u32) -> Option<Vec<u8>> {
///         self.0.get(at as usize..at as usize + len as usize).map(<[u8]>::to_vec)
///     }
///     fn write(&mut self, at: u32, bytes: &[u8]) -> Option<()> {
///         self.0.get_mut(at as usize..at as usize + bytes.len())?.copy_from_slice(bytes);
///         Some(())
///     }
///     fn write_addr(&mut self, at: u32, value: u32) -> Option<()> {
///         self.write_u32(at, value)
///     }
///     fn allocate(&mut self, size: u32) -> Result<u32, String> {
///         let at = self.0.len() as u32;
///         self.0.resize(self.0.len() + size as usize, 0);
///         Ok(at)
///     }
/// }
///
/// let mut memory = Bytes(vec![0; 8]);
/// memory.write_u32(4, 7).unwrap();
/// assert_eq!(memory.read(4, 4), Some(vec![7, 0, 0, 0]));
/// ```
pub trait GuestMemory {
    /// An address in the plugin's memory: a native pointer, or an offset in
    /// linear memory.
    type Addr: Copy + PartialEq;
    /// How the front door fails the plugin (a trap).
    type Trap;
    /// The null address (0).
    const NULL: Self::Addr;

    /// The trap for a hostcall Envoy refuses outright; `reason` says why.
    fn trap(reason: String) -> Self::Trap;

    /// Copies `len` bytes at `at`; `None` if they are not all readable. A
    /// zero length reads nothing, whatever the address.
    fn read(&self, at: Self::Addr, len: u32) -> Option<Vec<u8>>;

    /// Copies `bytes` to `at` (a buffer [`GuestMemory::allocate`] returned).
    fn write(&mut self, at: Self::Addr, bytes: &[u8]) -> Option<()>;

    /// Writes an address (the value of an `out_ptr`).
    fn write_addr(&mut self, at: Self::Addr, value: Self::Addr) -> Option<()>;

    /// Calls the plugin's allocation export for `size` bytes: the buffer's
    /// address, or [`GuestMemory::NULL`] if the allocator returned 0.
    ///
    /// # Errors
    /// The allocator trapped.
    fn allocate(&mut self, size: u32) -> Result<Self::Addr, Self::Trap>;

    /// Writes a 4-byte value (an `out_u32`).
    fn write_u32(&mut self, at: Self::Addr, value: u32) -> Option<()> {
        self.write(at, &value.to_le_bytes())
    }

    /// Writes an 8-byte value (an `out_u64`).
    fn write_u64(&mut self, at: Self::Addr, value: u64) -> Option<()> {
        self.write(at, &value.to_le_bytes())
    }

    /// Writes a size (an `out_size` or `out_usize`: pointer-sized in the
    /// plugin).
    fn write_usize(&mut self, at: Self::Addr, value: u32) -> Option<()> {
        self.write_u32(at, value)
    }
}

/// Why a hostcall ends early: a status for the plugin, or a trap.
enum Stop<T> {
    Status(u32),
    Trap(T),
}

impl<T> From<u32> for Stop<T> {
    fn from(code: u32) -> Stop<T> {
        Stop::Status(code)
    }
}

const BAD_MEMORY: u32 = INVALID_MEMORY_ACCESS;

/// A word out-parameter (`out_u32`, `out_u64`, `out_usize`): its address
/// and the [`GuestMemory`] method that writes it.
struct OutWord<M: GuestMemory, V>(M::Addr, fn(&mut M, M::Addr, V) -> Option<()>);
/// An `out_ptr` and its `out_size`.
struct OutBytes<A>(A, A);

/// An out-parameter that takes a value of type `V`.
trait Slot<M: GuestMemory, V> {
    fn fill(self, memory: &mut M, value: V) -> Result<(), Stop<M::Trap>>;
}

impl<M: GuestMemory, V> Slot<M, V> for OutWord<M, V> {
    fn fill(self, memory: &mut M, value: V) -> Result<(), Stop<M::Trap>> {
        (self.1)(memory, self.0, value).ok_or(Stop::Status(BAD_MEMORY))
    }
}

impl<M: GuestMemory> Slot<M, Vec<u8>> for OutBytes<M::Addr> {
    /// Hands `bytes` to the plugin as Envoy does: allocated through the
    /// plugin's allocation export for exactly their length, copied, then
    /// address and length written; an empty result is `(0, 0)` with no
    /// allocation. `0` for both out-pointers discards the result.
    fn fill(self, memory: &mut M, bytes: Vec<u8>) -> Result<(), Stop<M::Trap>> {
        let OutBytes(data, size) = self;
        if data == M::NULL && size == M::NULL {
            return Ok(());
        }
        let len = u32::try_from(bytes.len()).map_err(|_| BAD_MEMORY)?;
        let at = if bytes.is_empty() {
            M::NULL
        } else {
            let at = memory.allocate(len).map_err(Stop::Trap)?;
            if at == M::NULL {
                return Err(Stop::Status(BAD_MEMORY));
            }
            memory.write(at, &bytes).ok_or(BAD_MEMORY)?;
            at
        };
        memory.write_addr(data, at).ok_or(BAD_MEMORY)?;
        memory
            .write_usize(size, len)
            .ok_or(Stop::Status(BAD_MEMORY))
    }
}

impl<M: GuestMemory> Slot<M, super::ForeignAnswer> for OutBytes<M::Addr> {
    /// A foreign function's answer: the result words first, as for any
    /// result, then the function's status (book:
    /// reference/hostcalls.md#not-found-or-not-registered).
    fn fill(self, memory: &mut M, answer: super::ForeignAnswer) -> Result<(), Stop<M::Trap>> {
        Slot::<M, Vec<u8>>::fill(self, memory, answer.bytes)?;
        match answer.status {
            OK => Ok(()),
            code => Err(Stop::Status(code)),
        }
    }
}

/// A hostcall's result written to its out-parameters (`Slots`, a tuple in
/// table order).
trait Reply<M: GuestMemory, Slots> {
    fn reply(self, memory: &mut M, slots: Slots) -> Result<(), Stop<M::Trap>>;
}

impl<M: GuestMemory> Reply<M, ()> for () {
    fn reply(self, _: &mut M, (): ()) -> Result<(), Stop<M::Trap>> {
        Ok(())
    }
}

impl<M: GuestMemory, A, S: Slot<M, A>> Reply<M, (S,)> for A {
    fn reply(self, memory: &mut M, (slot,): (S,)) -> Result<(), Stop<M::Trap>> {
        slot.fill(memory, self)
    }
}

impl<M: GuestMemory, A, B, SA: Slot<M, A>, SB: Slot<M, B>> Reply<M, (SA, SB)> for (A, B) {
    fn reply(self, memory: &mut M, (first, second): (SA, SB)) -> Result<(), Stop<M::Trap>> {
        first.fill(memory, self.0)?;
        second.fill(memory, self.1)
    }
}

/// Steps 1 and 5 around a hostcall's `call`, which does 2 to 4.
fn serve<M: GuestMemory>(
    vm: &Vm,
    name: &'static str,
    call: impl FnOnce() -> Result<(), Stop<M::Trap>>,
) -> Result<u32, M::Trap> {
    vm.admit(name).map_err(M::trap)?;
    let status = match call() {
        Ok(()) => OK,
        Err(Stop::Status(code)) => code,
        Err(Stop::Trap(trap)) => return Err(trap),
    };
    vm.after_hostcall(name);
    Ok(status)
}

/// The emulator's type for an argument role (a macro stands in type position).
#[rustfmt::skip]
macro_rules! arg_type {
    ($m:ident, bool) => { bool };
    ($m:ident, usize) => { u32 };
    ($m:ident, in_size) => { u32 };
    ($m:ident, in_ptr) => { $m::Addr };
    ($m:ident, out_ptr) => { $m::Addr };
    ($m:ident, out_size) => { $m::Addr };
    ($m:ident, out_u32) => { $m::Addr };
    ($m:ident, out_u64) => { $m::Addr };
    ($m:ident, out_usize) => { $m::Addr };
    ($m:ident, $plain:ident) => { $plain };
}

/// Steps 2 to 4 of one hostcall, from its arguments and roles. Sorts the
/// arguments, one at a time, into reads, inputs of the `HostState` method
/// (`$op`) and out-parameters, then runs them.
macro_rules! body {
    (@memory [$memory:ident $vm:ident $op:ident]) => { $memory };
    ([$memory:ident $vm:ident $op:ident] [$($read:tt)*] [$($input:tt)*] [$($out:tt)*]) => {{
        $($read)*
        let result = match $vm.try_state() {
            Some(mut state) => state.$op($($input)*),
            // A hostcall from inside a host callback (e.g. a foreign
            // function that calls back into the plugin).
            None => Err(INTERNAL_FAILURE),
        };
        let result = result?;
        $vm.handing_over(|| Reply::reply(result, $memory, ($($out)*)))
    }};
    ($ctx:tt [$($read:tt)*] [$($input:tt)*] $out:tt $data:ident: in_ptr, $size:ident: in_size, $($rest:tt)*) => {
        body!(
            $ctx
            [$($read)* let $data = body!(@memory $ctx).read($data, $size).ok_or(BAD_MEMORY)?;]
            [$($input)* &$data,]
            $out
            $($rest)*
        )
    };
    ($ctx:tt $read:tt $input:tt [$($out:tt)*] $data:ident: out_ptr, $size:ident: out_size, $($rest:tt)*) => {
        body!($ctx $read $input [$($out)* OutBytes($data, $size),] $($rest)*)
    };
    ($ctx:tt $read:tt $input:tt [$($out:tt)*] $at:ident: out_u32, $($rest:tt)*) => {
        body!($ctx $read $input [$($out)* OutWord($at, GuestMemory::write_u32),] $($rest)*)
    };
    ($ctx:tt $read:tt $input:tt [$($out:tt)*] $at:ident: out_u64, $($rest:tt)*) => {
        body!($ctx $read $input [$($out)* OutWord($at, GuestMemory::write_u64),] $($rest)*)
    };
    ($ctx:tt $read:tt $input:tt [$($out:tt)*] $at:ident: out_usize, $($rest:tt)*) => {
        body!($ctx $read $input [$($out)* OutWord($at, GuestMemory::write_usize),] $($rest)*)
    };
    ($ctx:tt $read:tt [$($input:tt)*] $out:tt $value:ident: $role:ident, $($rest:tt)*) => {
        body!($ctx $read [$($input)* $value,] $out $($rest)*)
    };
}

macro_rules! entry_points {
    ($( $(#[$doc:meta])* fn $name:ident = $op:ident($($arg:ident: $role:ident),*); )*) => {$(
        $(#[$doc])*
        ///
        /// The emulator's entry point for this import (see the module
        /// documentation). `Err` is a trap.
        #[allow(clippy::too_many_arguments)]
        pub fn $name<M: GuestMemory>(
            vm: &Vm,
            memory: &mut M,
            $($arg: arg_type!(M, $role)),*
        ) -> Result<u32, M::Trap> {
            serve::<M>(vm, stringify!($name), || {
                body!([memory vm $op] [] [] [] $($arg: $role,)*)
            })
        }
    )*};
}

proxywasm_abi::for_each_import!(entry_points);

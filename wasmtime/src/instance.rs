//! The store's data, [`InstanceState`] (one plugin instance's link to the
//! emulator and the engine's bookkeeping), and what every hostcall does around the
//! emulator call: counting, the emulator's policy, and
//! guest-memory access ([`Linear`], the emulator's view of linear memory).

use crate::meter::Meter;
use proxywasm::mock::engine::Vm;
use proxywasm::mock::engine::hostcalls::GuestMemory;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasmtime::{Caller, Memory, TypedFunc};

/// WASI `EFAULT`.
pub(crate) const WASI_FAULT: i32 = 21;

/// A hostcall's view of the plugin instance that made it.
pub(crate) type PluginCaller<'c> = Caller<'c, InstanceState>;

/// The store's data for one plugin instance: its link to the emulator and
/// the engine's bookkeeping.
pub(crate) struct InstanceState {
    /// The emulated VM whose state the hostcalls act on.
    pub(crate) vm: Weak<Vm>,
    /// The module's `memory` export (set right after instantiation).
    pub(crate) memory: Option<Memory>,
    /// The allocation export Envoy would use (`malloc`, else
    /// `proxy_on_memory_allocate`).
    pub(crate) alloc: Option<TypedFunc<i32, i32>>,
    /// xorshift64* state behind `random_get`: deterministic, so fuel figures
    /// are reproducible.
    pub(crate) rng: u64,
    /// The code the plugin passed to WASI `proc_exit`, if it did.
    pub(crate) exit_code: Option<i32>,
    pub(crate) meter: Rc<RefCell<Meter>>,
}

impl InstanceState {
    pub(crate) fn new(vm: Weak<Vm>, meter: Rc<RefCell<Meter>>) -> InstanceState {
        InstanceState {
            vm,
            memory: None,
            alloc: None,
            rng: 0x9E37_79B9_7F4A_7C15,
            exit_code: None,
            meter,
        }
    }
}

/// Starts serving hostcall `name`: counts it and returns the VM. The
/// generated `env` imports go on to the emulator's entry point, which asks the
/// emulator's policy itself.
pub(crate) fn count(caller: &mut PluginCaller<'_>, name: &'static str) -> wasmtime::Result<Rc<Vm>> {
    let instance = caller.data();
    instance.meter.borrow_mut().count_hostcall(name);
    let Some(vm) = instance.vm.upgrade() else {
        wasmtime::bail!("hostcall {name}: the mock host that ran this plugin was dropped");
    };
    Ok(vm)
}

/// Starts serving a hostcall that has no entry point in the emulator (WASI,
/// the emscripten shims): [`count`], then the emulator's policy (restricted
/// mode at start-up and inside the allocator traps, as in Envoy).
pub(crate) fn enter(caller: &mut PluginCaller<'_>, name: &'static str) -> wasmtime::Result<Rc<Vm>> {
    let vm = count(caller, name)?;
    vm.admit(name).map_err(wasmtime::Error::msg)?;
    Ok(vm)
}

fn range(ptr: i32, len: i32) -> Option<core::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len as u32 as usize)?;
    Some(start..end)
}

/// Copies `len` bytes at `ptr` out of guest memory. A zero length is empty
/// whatever the pointer.
pub(crate) fn read(caller: &PluginCaller<'_>, ptr: i32, len: i32) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let memory = caller.data().memory?;
    memory
        .data(caller)
        .get(range(ptr, len)?)
        .map(<[u8]>::to_vec)
}

/// Writes `bytes` at `ptr` in guest memory.
pub(crate) fn write(caller: &mut PluginCaller<'_>, ptr: i32, bytes: &[u8]) -> Option<()> {
    let memory = caller.data().memory?;
    let len = i32::try_from(bytes.len()).ok()?;
    memory
        .data_mut(caller)
        .get_mut(range(ptr, len)?)?
        .copy_from_slice(bytes);
    Some(())
}

/// Writes a little-endian `u32` (pointers, sizes, ids, statuses).
pub(crate) fn write_u32(caller: &mut PluginCaller<'_>, ptr: i32, value: u32) -> Option<()> {
    write(caller, ptr, &value.to_le_bytes())
}

/// Writes a little-endian `u64` (time, metric values).
pub(crate) fn write_u64(caller: &mut PluginCaller<'_>, ptr: i32, value: u64) -> Option<()> {
    write(caller, ptr, &value.to_le_bytes())
}

/// Reads a little-endian `u32`.
pub(crate) fn read_u32(caller: &PluginCaller<'_>, ptr: i32) -> Option<u32> {
    let bytes = read(caller, ptr, 4)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// The plugin's linear memory during one hostcall, as the emulator's entry
/// points see it: addresses are offsets, words are 4-byte little-endian, and
/// results go through the allocation export Envoy would use.
pub(crate) struct Linear<'a, 'c>(pub(crate) &'a mut PluginCaller<'c>);

impl GuestMemory for Linear<'_, '_> {
    type Addr = u32;
    type Trap = wasmtime::Error;
    const NULL: u32 = 0;

    fn trap(reason: String) -> wasmtime::Error {
        wasmtime::Error::msg(reason)
    }

    fn read(&self, at: u32, len: u32) -> Option<Vec<u8>> {
        read(self.0, at as i32, len as i32)
    }

    fn write(&mut self, at: u32, bytes: &[u8]) -> Option<()> {
        write(self.0, at as i32, bytes)
    }

    fn write_addr(&mut self, at: u32, value: u32) -> Option<()> {
        self.write_u32(at, value)
    }

    /// Calls the allocation export (the emulator has put the policy in
    /// its allocator phase).
    fn allocate(&mut self, size: u32) -> wasmtime::Result<u32> {
        let (Some(alloc), Ok(size)) = (self.0.data().alloc.clone(), i32::try_from(size)) else {
            return Ok(0);
        };
        Ok(alloc.call(&mut *self.0, size)? as u32)
    }
}

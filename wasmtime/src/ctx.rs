//! The store's data ([`Ctx`]) and what every hostcall does around the
//! emulator call: counting, the restricted phases, guest-memory access and the
//! hand-off of results through the plugin's allocation export.

use crate::meter::Meter;
use proxywasm::mock::core::Vm;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasmtime::{Caller, Memory, TypedFunc};

/// `INVALID_MEMORY_ACCESS` (book: reference/enumerations.md#status-codes).
pub(crate) const INVALID_MEMORY_ACCESS: i32 = 6;
/// WASI `EFAULT`.
pub(crate) const WASI_FAULT: i32 = 21;

/// What the plugin is running, for Envoy's restrictions
/// (book: reference/lifecycle.md#start-up-and-the-restricted-phase,
/// book: reference/memory.md#the-allocation-export).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A normal callback: every hostcall allowed.
    Callback,
    /// `_initialize`/`main`/`_start`: only `proxy_log`,
    /// `emscripten_notify_memory_growth` and WASI.
    StartUp,
    /// Inside the allocation export, called by the host during a hostcall:
    /// only `proxy_log`, `fd_write`, `clock_time_get` and `poll_oneoff`.
    Allocating,
}

/// Hostcalls Envoy allows during start-up (besides every WASI function).
const START_UP_ALLOWED: [&str; 2] = ["proxy_log", "emscripten_notify_memory_growth"];
/// Hostcalls Envoy allows inside the allocation export.
const ALLOCATOR_ALLOWED: [&str; 4] = ["proxy_log", "fd_write", "clock_time_get", "poll_oneoff"];

/// The store's data: the link to the emulator and the engine's bookkeeping.
pub(crate) struct Ctx {
    /// The emulated VM whose state the hostcalls act on.
    pub(crate) vm: Weak<Vm>,
    /// The module's `memory` export (set right after instantiation).
    pub(crate) memory: Option<Memory>,
    /// The allocation export Envoy would use (`malloc`, else
    /// `proxy_on_memory_allocate`).
    pub(crate) alloc: Option<TypedFunc<i32, i32>>,
    pub(crate) phase: Phase,
    /// xorshift64* state behind `random_get`: deterministic, so fuel figures
    /// are reproducible.
    pub(crate) rng: u64,
    /// The plugin's last log lines (`proxy_log`, stdout, stderr), for trap
    /// reports; kept whatever the host's log level.
    pub(crate) recent_logs: VecDeque<String>,
    /// The code the plugin passed to WASI `proc_exit`, if it did.
    pub(crate) exit_code: Option<i32>,
    pub(crate) meter: Rc<RefCell<Meter>>,
}

impl Ctx {
    pub(crate) fn new(vm: Weak<Vm>, meter: Rc<RefCell<Meter>>) -> Ctx {
        Ctx {
            vm,
            memory: None,
            alloc: None,
            phase: Phase::Callback,
            rng: 0x9E37_79B9_7F4A_7C15,
            recent_logs: VecDeque::new(),
            exit_code: None,
            meter,
        }
    }
}

/// How many log lines a trap report shows.
pub(crate) const RECENT_LOG_LINES: usize = 10;

/// Remembers a log line of the plugin for a possible trap report.
pub(crate) fn remember_log(caller: &mut Caller<'_, Ctx>, source: &str, message: &[u8]) {
    let text = String::from_utf8_lossy(message);
    let logs = &mut caller.data_mut().recent_logs;
    if logs.len() == RECENT_LOG_LINES {
        logs.pop_front();
    }
    logs.push_back(format!("[{source}] {}", text.trim_end_matches('\n')));
}

/// Starts serving hostcall `name`: counts it, applies the restricted phases
/// (a forbidden hostcall traps, as in Envoy), and returns the VM.
pub(crate) fn enter(
    caller: &mut Caller<'_, Ctx>,
    name: &'static str,
    wasi: bool,
) -> wasmtime::Result<Rc<Vm>> {
    let ctx = caller.data();
    ctx.meter.borrow_mut().count_hostcall(name);
    let Some(vm) = ctx.vm.upgrade() else {
        wasmtime::bail!("hostcall {name}: the mock host that ran this plugin was dropped");
    };
    match ctx.phase {
        Phase::Callback => {}
        Phase::StartUp => {
            let enforced = vm
                .try_state()
                .is_none_or(|s| s.config().fidelity.restricted_start_up);
            if !wasi && enforced && !START_UP_ALLOWED.contains(&name) {
                wasmtime::bail!(
                    "restricted_callback: {name} called during module start-up (_initialize/main/static \
                     constructors); Envoy allows only proxy_log and WASI there and fails the VM \
                     (book: reference/lifecycle.md#start-up-and-the-restricted-phase)"
                );
            }
        }
        Phase::Allocating => {
            if !ALLOCATOR_ALLOWED.contains(&name) {
                wasmtime::bail!(
                    "restricted_callback: {name} called from inside the allocation export while the host was \
                     handing over a result; Envoy allows only proxy_log, fd_write, clock_time_get and poll_oneoff \
                     there and fails the VM (book: reference/memory.md#the-allocation-export)"
                );
            }
        }
    }
    Ok(vm)
}

fn range(ptr: i32, len: i32) -> Option<core::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len as u32 as usize)?;
    Some(start..end)
}

/// Copies `len` bytes at `ptr` out of guest memory. A zero length is empty
/// whatever the pointer.
pub(crate) fn read(caller: &Caller<'_, Ctx>, ptr: i32, len: i32) -> Option<Vec<u8>> {
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
pub(crate) fn write(caller: &mut Caller<'_, Ctx>, ptr: i32, bytes: &[u8]) -> Option<()> {
    let memory = caller.data().memory?;
    let len = i32::try_from(bytes.len()).ok()?;
    memory
        .data_mut(caller)
        .get_mut(range(ptr, len)?)?
        .copy_from_slice(bytes);
    Some(())
}

/// Writes a little-endian `u32` (pointers, sizes, ids, statuses).
pub(crate) fn write_u32(caller: &mut Caller<'_, Ctx>, ptr: i32, value: u32) -> Option<()> {
    write(caller, ptr, &value.to_le_bytes())
}

/// Writes a little-endian `u64` (time, metric values).
pub(crate) fn write_u64(caller: &mut Caller<'_, Ctx>, ptr: i32, value: u64) -> Option<()> {
    write(caller, ptr, &value.to_le_bytes())
}

/// Reads a little-endian `u32`.
pub(crate) fn read_u32(caller: &Caller<'_, Ctx>, ptr: i32) -> Option<u32> {
    let bytes = read(caller, ptr, 4)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Hands `bytes` to the plugin the way Envoy does
/// (book: reference/memory.md#results-from-the-host): an empty result is
/// `(0, 0)` with no allocation; otherwise the allocation export is called (in
/// the restricted allocator phase) for exactly `bytes.len()`, the bytes are
/// copied there, and pointer and size are written to the out-parameters.
/// Returns the status for the plugin: OK, or `INVALID_MEMORY_ACCESS` when the
/// allocator returned 0 or a write failed.
///
/// # Errors
/// A trap inside the allocator.
pub(crate) fn hand_over(
    caller: &mut Caller<'_, Ctx>,
    bytes: &[u8],
    ptr_out: i32,
    size_out: i32,
) -> wasmtime::Result<i32> {
    if bytes.is_empty() {
        let ok = write_u32(caller, ptr_out, 0).and_then(|()| write_u32(caller, size_out, 0));
        return Ok(if ok.is_some() {
            0
        } else {
            INVALID_MEMORY_ACCESS
        });
    }
    let Ok(size) = i32::try_from(bytes.len()) else {
        return Ok(INVALID_MEMORY_ACCESS);
    };
    let Some(alloc) = caller.data().alloc.clone() else {
        return Ok(INVALID_MEMORY_ACCESS);
    };
    let before = caller.data().phase;
    caller.data_mut().phase = Phase::Allocating;
    let result = alloc.call(&mut *caller, size);
    caller.data_mut().phase = before;
    let ptr = result?;
    if ptr == 0 {
        return Ok(INVALID_MEMORY_ACCESS);
    }
    let ok = write(caller, ptr, bytes)
        .and_then(|()| write_u32(caller, ptr_out, ptr as u32))
        .and_then(|()| write_u32(caller, size_out, size as u32));
    Ok(if ok.is_some() {
        0
    } else {
        INVALID_MEMORY_ACCESS
    })
}

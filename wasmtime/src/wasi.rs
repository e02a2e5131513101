//! WASI preview 1 as Envoy provides it (book: reference/hostcalls.md#wasi), in both
//! `wasi_snapshot_preview1` and `wasi_unstable`.
//!
//! Envoy does not run a general-purpose WASI: it has a small shim with no
//! filesystem, no preopens, no stdin, stdout/stderr turned into log records,
//! and clocks. This is that shim, so a module behaves here as it does in
//! Envoy: `fd_write` to fd 1/2 becomes an info/error log record of the
//! emulator (one per call, trailing newline removed), `clock_time_get` reads
//! the emulator's clock (the one tests advance), `random_get` is a seeded
//! generator (so fuel figures are reproducible), `environ`/`args` are empty,
//! `poll_oneoff` returns at once, and `proc_exit` only records the code (the
//! guest then traps on its `unreachable`, as in Envoy).

use crate::abi::{WASI_IMPORTS, WASI_MODULES, WasmType};
use crate::instance::{
    InstanceState, PluginCaller, WASI_FAULT, enter, read, read_u32, write, write_u32, write_u64,
};
use wasmtime::{FuncType, Linker, ValType};

type Res = wasmtime::Result<i32>;

/// WASI errno values Envoy's shim returns (book: reference/enumerations.md#wasi-errno).
mod errno {
    pub(super) const BADF: i32 = 8;
    pub(super) const INVAL: i32 = 28;
    pub(super) const NOENT: i32 = 44;
    pub(super) const NOSYS: i32 = 52;
    pub(super) const NOTSUP: i32 = 58;
}

/// The most bytes one `random_get` may ask for.
const MAX_RANDOM: i32 = 65_536;

macro_rules! fault {
    ($e:expr) => {
        match $e {
            Some(value) => value,
            None => return Ok(WASI_FAULT),
        }
    };
}

fn next_random(state: &mut u64) -> u64 {
    // xorshift64*
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// Defines every WASI function of [`WASI_IMPORTS`] in both WASI modules.
pub(crate) fn define(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    for module in WASI_MODULES {
        define_module(linker, module)?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

/// Defines every WASI function of module `m` as Envoy's stub does: a fixed
/// errno (the functions Envoy implements are defined over these).
fn define_stubs(linker: &mut Linker<InstanceState>, m: &str) -> wasmtime::Result<()> {
    for (name, sig) in WASI_IMPORTS {
        let name: &'static str = name;
        let answer = stub_errno(name);
        let ty = FuncType::new(
            linker.engine(),
            sig.params.iter().map(|v| val_type(*v)),
            sig.results.iter().map(|v| val_type(*v)),
        );
        linker.func_new(m, name, ty, move |mut c, params, results| {
            enter(&mut c, name)?;
            let fd = params.first().and_then(wasmtime::Val::i32).unwrap_or(-1);
            let value = answer(fd);
            if let Some(result) = results.first_mut() {
                *result = wasmtime::Val::I32(value);
            }
            Ok(())
        })?;
    }
    Ok(())
}

#[allow(clippy::too_many_lines)]
fn define_module(linker: &mut Linker<InstanceState>, m: &str) -> wasmtime::Result<()> {
    define_stubs(linker, m)?;
    linker.allow_shadowing(true);
    linker.func_wrap(
        m,
        "fd_write",
        |mut c: PluginCaller<'_>, fd: i32, iovs: i32, iovs_len: i32, written_out: i32| -> Res {
            let vm = enter(&mut c, "fd_write")?;
            let mut bytes = Vec::new();
            for i in 0..iovs_len.max(0) {
                let at = iovs.wrapping_add(i.wrapping_mul(8));
                let ptr = fault!(read_u32(&c, at));
                let len = fault!(read_u32(&c, at.wrapping_add(4)));
                bytes.extend_from_slice(&fault!(read(&c, ptr as i32, len as i32)));
            }
            let result = vm.state().wasi_fd_write(fd as u32, &bytes);
            Ok(match result {
                Ok(()) => {
                    write_u32(&mut c, written_out, bytes.len() as u32).map_or(WASI_FAULT, |()| 0)
                }
                Err(errno) => i32::from(errno),
            })
        },
    )?;
    linker.func_wrap(
        m,
        "clock_time_get",
        |mut c: PluginCaller<'_>, clock: i32, _precision: i64, out: i32| -> Res {
            let vm = enter(&mut c, "clock_time_get")?;
            let result = vm.state().wasi_clock_time_get(clock as u32);
            Ok(match result {
                Ok(nanos) => write_u64(&mut c, out, nanos).map_or(WASI_FAULT, |()| 0),
                Err(errno) => i32::from(errno),
            })
        },
    )?;
    linker.func_wrap(
        m,
        "clock_res_get",
        |mut c: PluginCaller<'_>, clock: i32, out: i32| -> Res {
            enter(&mut c, "clock_res_get")?;
            if clock != 0 && clock != 1 {
                return Ok(errno::NOTSUP);
            }
            Ok(write_u64(&mut c, out, 1).map_or(WASI_FAULT, |()| 0))
        },
    )?;
    linker.func_wrap(
        m,
        "random_get",
        |mut c: PluginCaller<'_>, buf: i32, len: i32| -> Res {
            enter(&mut c, "random_get")?;
            if !(0..=MAX_RANDOM).contains(&len) {
                return Ok(errno::INVAL);
            }
            let mut state = c.data().rng;
            let bytes: Vec<u8> = (0..len).map(|_| next_random(&mut state) as u8).collect();
            c.data_mut().rng = state;
            Ok(write(&mut c, buf, &bytes).map_or(WASI_FAULT, |()| 0))
        },
    )?;
    for name in ["environ_sizes_get", "args_sizes_get"] {
        linker.func_wrap(
            m,
            name,
            move |mut c: PluginCaller<'_>, count_out: i32, size_out: i32| -> Res {
                enter(&mut c, name)?;
                Ok(write_u32(&mut c, count_out, 0)
                    .and_then(|()| write_u32(&mut c, size_out, 0))
                    .map_or(WASI_FAULT, |()| 0))
            },
        )?;
    }
    linker.func_wrap(
        m,
        "fd_fdstat_get",
        |mut c: PluginCaller<'_>, fd: i32, out: i32| -> Res {
            enter(&mut c, "fd_fdstat_get")?;
            if fd != 1 && fd != 2 {
                return Ok(errno::BADF);
            }
            // fdstat: filetype u8 (2 = character device), flags u16, rights_base u64
            // (FD_WRITE), rights_inheriting u64.
            let mut stat = [0u8; 24];
            stat[0] = 2;
            stat[8..16].copy_from_slice(&(1u64 << 6).to_le_bytes());
            Ok(write(&mut c, out, &stat).map_or(WASI_FAULT, |()| 0))
        },
    )?;
    linker.func_wrap(
        m,
        "poll_oneoff",
        |mut c: PluginCaller<'_>,
         _subscriptions: i32,
         _events: i32,
         _count: i32,
         events_out: i32|
         -> Res {
            enter(&mut c, "poll_oneoff")?;
            Ok(write_u32(&mut c, events_out, 0).map_or(WASI_FAULT, |()| 0))
        },
    )?;
    linker.func_wrap(
        m,
        "proc_exit",
        |mut c: PluginCaller<'_>, code: i32| -> wasmtime::Result<()> {
            enter(&mut c, "proc_exit")?;
            c.data_mut().exit_code = Some(code);
            Ok(())
        },
    )?;

    Ok(())
}

fn val_type(val: WasmType) -> ValType {
    match val {
        WasmType::I64 => ValType::I64,
        _ => ValType::I32,
    }
}

fn is_std(fd: i32) -> bool {
    fd == 1 || fd == 2
}

/// The errno Envoy's stub answers, given the first argument (usually an fd).
fn stub_errno(name: &str) -> fn(i32) -> i32 {
    match name {
        "fd_read" | "fd_fdstat_set_flags" | "fd_prestat_dir_name" => |_| errno::NOSYS,
        "fd_seek" | "fd_close" | "environ_get" | "args_get" | "sched_yield" => |_| 0,
        "fd_prestat_get" | "fd_filestat_get" => |_| errno::BADF,
        "path_open" => |_| errno::NOENT,
        "path_filestat_get" => |_| errno::NOTSUP,
        "fd_sync" | "fd_datasync" => |fd| if is_std(fd) { 0 } else { errno::BADF },
        name if name.starts_with("fd_") => |fd| {
            if is_std(fd) {
                errno::NOTSUP
            } else {
                errno::BADF
            }
        },
        name if name.starts_with("path_") => |_| errno::BADF,
        _ => |_| errno::NOTSUP,
    }
}

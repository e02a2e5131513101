//! Module `env`: every import of the ABI table
//! ([`proxywasm_abi::for_each_import!`]) with its exact wasm type, each
//! served by the emulator's entry point of the same name over the plugin's
//! linear memory ([`Linear`]), plus the two emscripten shims Envoy registers.

use crate::instance::{InstanceState, Linear, PluginCaller, count, enter};
use proxywasm::mock::engine::hostcalls;
use wasmtime::Linker;

const ENV: &str = "env";

/// The wasm type of an argument role.
#[rustfmt::skip]
macro_rules! wasm_type {
    (u64) => { i64 };
    (i64) => { i64 };
    ($other:ident) => { i32 };
}

/// Converts a wasm argument to the emulator's type for its role.
#[rustfmt::skip]
macro_rules! arg {
    (bool, $x:ident) => { $x != 0 };
    (i32, $x:ident) => { $x };
    (i64, $x:ident) => { $x };
    (u64, $x:ident) => { $x as u64 };
    ($other:ident, $x:ident) => { $x as u32 };
}

macro_rules! define_env {
    ($( $(#[$doc:meta])* fn $name:ident = $op:ident($($arg:ident: $role:ident),*); )*) => {
        /// Defines every import of the ABI table on `linker`: count it
        /// ([`count`]), then the emulator's entry point (which applies the
        /// policy). Its `Err` (a refused or trapping hostcall) is a trap.
        fn define_imports(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
            $(
                linker.func_wrap(
                    ENV,
                    stringify!($name),
                    |mut caller: PluginCaller<'_>, $($arg: wasm_type!($role)),*| -> wasmtime::Result<i32> {
                        let vm = count(&mut caller, stringify!($name))?;
                        let status = hostcalls::$name(&vm, &mut Linear(&mut caller), $(arg!($role, $arg)),*)?;
                        Ok(status as i32)
                    },
                )?;
            )*
            Ok(())
        }
    };
}

proxywasm_abi::for_each_import!(define_env);

/// Defines the whole `env` set on `linker`: the ABI's imports and the
/// emscripten shims of [`proxywasm_abi::ENV_SHIMS`].
pub(crate) fn define(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    define_imports(linker)?;
    linker.func_wrap(
        ENV,
        "pthread_equal",
        |mut c: PluginCaller<'_>, a: i32, b: i32| -> wasmtime::Result<i32> {
            enter(&mut c, "pthread_equal")?;
            Ok(i32::from(a == b))
        },
    )?;
    linker.func_wrap(
        ENV,
        "emscripten_notify_memory_growth",
        |mut c: PluginCaller<'_>, _index: i32| -> wasmtime::Result<()> {
            enter(&mut c, "emscripten_notify_memory_growth")?;
            Ok(())
        },
    )?;
    Ok(())
}

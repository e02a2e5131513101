//! The linking surface of Envoy's Proxy-Wasm host for ABI v0.2.1: the tables
//! of [`proxywasm_abi`] (every `env` import with its exact wasm type, the
//! emscripten shims, the WASI set, the exports Envoy looks up), re-exported,
//! and lookups over them.
//!
//! The engine links exactly these. A module that imports anything else, or
//! one of these with another type, fails to load — as it does in Envoy.

pub use proxywasm_abi::{
    ABI_0_1_0_ONLY, ABI_MARKERS, ENV_SHIMS, EXPORTS, Function, IMPORTS, Signature, WASI_IMPORTS,
    WASI_MODULES, WasmType,
};
use wasmtime::{FuncType, ValType};

/// The type of `env.<name>`, if Envoy registers it for ABI v0.2.1 (a
/// Proxy-Wasm import or an emscripten shim).
///
/// ```
/// let sig = proxywasm_wasmtime::abi::env_import("proxy_increment_metric").unwrap();
/// assert_eq!(sig.to_string(), "(i32, i64) -> i32");
/// assert!(proxywasm_wasmtime::abi::env_import("pthread_equal").is_some());
/// assert!(proxywasm_wasmtime::abi::env_import("proxy_continue_request").is_none());
/// ```
pub fn env_import(name: &str) -> Option<Signature> {
    proxywasm_abi::import(name)
        .map(|f| f.signature)
        .or_else(|| lookup(ENV_SHIMS, name))
}

/// The type of WASI function `name`, if Envoy registers it.
///
/// ```
/// let sig = proxywasm_wasmtime::abi::wasi_import("proc_exit").unwrap();
/// assert_eq!(sig.to_string(), "(i32) -> ()");
/// ```
pub fn wasi_import(name: &str) -> Option<Signature> {
    lookup(WASI_IMPORTS, name)
}

/// The type Envoy requires of export `name`, if it looks the export up to
/// call it. (It finds the ABI marker by name but never calls it, so does not
/// check its type.)
///
/// ```
/// let sig = proxywasm_wasmtime::abi::export("proxy_on_tick").unwrap();
/// assert_eq!(sig.to_string(), "(i32) -> ()");
/// assert!(proxywasm_wasmtime::abi::export("proxy_abi_version_0_2_1").is_none());
/// ```
pub fn export(name: &str) -> Option<Signature> {
    if ABI_MARKERS.contains(&name) {
        return None;
    }
    proxywasm_abi::export(name).map(|f| f.signature)
}

fn lookup(table: &[(&str, Signature)], name: &str) -> Option<Signature> {
    table.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Whether `ty` is exactly `sig`.
pub(crate) fn matches(sig: &Signature, ty: &FuncType) -> bool {
    let same = |t: ValType, w: &WasmType| {
        matches!(
            (t, w),
            (ValType::I32, WasmType::I32) | (ValType::I64, WasmType::I64)
        )
    };
    ty.params().len() == sig.params.len()
        && ty.results().len() == sig.results.len()
        && ty.params().zip(sig.params).all(|(t, w)| same(t, w))
        && ty.results().zip(sig.results).all(|(t, w)| same(t, w))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_function_envoy_links_for_0_2_1_is_found() {
        for f in IMPORTS {
            assert_eq!(env_import(f.name), Some(f.signature));
        }
        for (name, sig) in ENV_SHIMS {
            assert_eq!(env_import(name), Some(*sig));
        }
        assert_eq!(env_import("proxy_done").unwrap().to_string(), "() -> i32");
        for name in ABI_0_1_0_ONLY {
            assert!(env_import(name).is_none(), "{name}");
        }
    }
}

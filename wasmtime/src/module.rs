//! Loading a plugin module and checking it the way Envoy does at load time:
//! the ABI marker, `memory`, the allocation export, the exact type of every
//! import and of every callback export.

use crate::abi::{self, ABI_0_1_0_ONLY, ABI_MARKERS, Signature, WASI_MODULES};
use crate::instance::InstanceState;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;
use wasmtime::{Config, Engine, ExternType, InstancePre, Linker, Module};

/// Why a module could not be loaded. The message names the file and the
/// failing check, in Envoy's terms where Envoy has one.
///
/// ```
/// let err = proxywasm_wasmtime::WasmPlugin::from_bytes("empty", b"\0asm\x01\0\0\0").unwrap_err();
/// assert!(err.to_string().contains("ABI version"), "{err}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The module's name or path.
    pub module: String,
    /// What failed.
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot load {}: {}", self.module, self.reason)
    }
}

impl std::error::Error for LoadError {}

/// The Proxy-Wasm ABI a module declares with its marker export.
///
/// ```
/// use proxywasm_wasmtime::{AbiVersion, WasmPlugin};
///
/// let plugin = WasmPlugin::from_bytes("old_marker", br#"(module
///   (memory (export "memory") 1)
///   (func (export "proxy_abi_version_0_2_0"))
///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
/// assert_eq!(plugin.abi_version(), AbiVersion::V0_2_0);
/// # Ok::<(), proxywasm_wasmtime::LoadError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiVersion {
    /// `proxy_abi_version_0_2_0`.
    V0_2_0,
    /// `proxy_abi_version_0_2_1`.
    V0_2_1,
}

/// One import of a module, as linked.
///
/// ```
/// use proxywasm_wasmtime::WasmPlugin;
///
/// let plugin = WasmPlugin::from_bytes("logs", br#"(module
///   (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
///   (memory (export "memory") 1)
///   (func (export "proxy_abi_version_0_2_1"))
///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
/// let import = &plugin.imports()[0];
/// assert_eq!((import.module.as_str(), import.name.as_str()), ("env", "proxy_log"));
/// assert_eq!(import.sig.to_string(), "(i32, i32, i32) -> i32");
/// # Ok::<(), proxywasm_wasmtime::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// `env`, `wasi_snapshot_preview1` or `wasi_unstable`.
    pub module: String,
    /// The function name.
    pub name: String,
    /// Its exact type, which equals the host's.
    pub sig: Signature,
}

/// A compiled, checked Proxy-Wasm module, ready to run in any number of
/// [`EngineHost`](crate::EngineHost)s. Cheap to clone.
///
/// ```
/// use proxywasm_wasmtime::{AbiVersion, WasmPlugin};
///
/// // The smallest module Envoy loads: the ABI marker, memory, an allocator.
/// let plugin = WasmPlugin::from_bytes("minimal", br#"(module
///   (memory (export "memory") 1)
///   (func (export "proxy_abi_version_0_2_1"))
///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
/// assert_eq!(plugin.abi_version(), AbiVersion::V0_2_1);
/// assert_eq!(plugin.allocator(), "proxy_on_memory_allocate");
/// # Ok::<(), proxywasm_wasmtime::LoadError>(())
/// ```
#[derive(Clone)]
pub struct WasmPlugin {
    pub(crate) name: String,
    pub(crate) module: Module,
    pub(crate) pre: InstancePre<InstanceState>,
    abi: AbiVersion,
    allocator: &'static str,
    size: usize,
    imports: Vec<Import>,
}

impl fmt::Debug for WasmPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmPlugin")
            .field("name", &self.name)
            .field("abi", &self.abi)
            .field("allocator", &self.allocator)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The process-wide engine: Cranelift with fuel metering on.
pub(crate) fn engine() -> Result<&'static Engine, String> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut config = Config::new();
            config.consume_fuel(true);
            Engine::new(&config).map_err(|e| format!("cannot create the wasmtime engine: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

type CacheKey = (PathBuf, SystemTime, u64);

fn cache() -> &'static Mutex<HashMap<CacheKey, WasmPlugin>> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, WasmPlugin>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

impl WasmPlugin {
    /// Reads, compiles and checks the module at `path`. Compiled modules are
    /// cached per process (keyed by path, modification time and size), so
    /// many tests can load the same file cheaply. The file may be in the
    /// binary or the text format.
    ///
    /// ```
    /// use proxywasm_wasmtime::WasmPlugin;
    ///
    /// let dir = std::env::temp_dir().join(format!("proxywasm-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("minimal.wat");
    /// std::fs::write(&path, r#"(module
    ///   (memory (export "memory") 1)
    ///   (func (export "proxy_abi_version_0_2_1"))
    ///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
    /// let plugin = WasmPlugin::load(&path)?;
    /// assert_eq!(plugin.name(), "minimal");
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The file cannot be read or compiled, or fails one of Envoy's load
    /// checks: no (or an unknown) ABI marker, no `memory` export, no
    /// allocation export, an import Envoy does not register or registers with
    /// another type, or a callback export of the wrong type.
    pub fn load(path: impl AsRef<Path>) -> Result<WasmPlugin, LoadError> {
        let path = path.as_ref();
        let module_name = path.display().to_string();
        let error = |reason: String| LoadError {
            module: module_name.clone(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| error(format!("cannot read it: {e}")))?;
        let key = (
            path.to_path_buf(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        );
        // Compile under the lock: tests running in parallel then compile a
        // module once, not once each.
        let mut cache = cache()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(plugin) = cache.get(&key) {
            return Ok(plugin.clone());
        }
        let bytes = std::fs::read(path).map_err(|e| error(format!("cannot read it: {e}")))?;
        let name = path
            .file_stem()
            .map_or_else(|| module_name.clone(), |s| s.to_string_lossy().into_owned());
        let mut plugin = WasmPlugin::from_bytes(&name, &bytes).map_err(|e| error(e.reason))?;
        plugin.name = name;
        cache.insert(key, plugin.clone());
        Ok(plugin)
    }

    /// Compiles and checks a module from its bytes (binary or text format).
    ///
    /// ```
    /// use proxywasm_wasmtime::WasmPlugin;
    ///
    /// // Envoy registers no `env.proxy_continue_request` for ABI v0.2.1.
    /// let error = WasmPlugin::from_bytes("v0_1_import", br#"(module
    ///   (import "env" "proxy_continue_request" (func (result i32)))
    ///   (memory (export "memory") 1)
    ///   (func (export "proxy_abi_version_0_2_1"))
    ///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)
    ///     .unwrap_err();
    /// assert!(error.reason.contains("proxy_continue_request"), "{error}");
    /// ```
    ///
    /// # Errors
    /// As [`WasmPlugin::load`].
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<WasmPlugin, LoadError> {
        let error = |reason: String| LoadError {
            module: name.to_owned(),
            reason,
        };
        let engine = engine().map_err(error)?;
        let module =
            Module::new(engine, bytes).map_err(|e| error(format!("invalid module: {e:#}")))?;
        let (abi, allocator) = check_exports(&module).map_err(error)?;
        let imports = check_imports(&module, abi).map_err(error)?;
        let mut linker = Linker::new(engine);
        crate::env::define(&mut linker)
            .map_err(|e| error(format!("cannot define the host functions: {e:#}")))?;
        crate::wasi::define(&mut linker)
            .map_err(|e| error(format!("cannot define WASI: {e:#}")))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| error(format!("cannot link: {e:#}")))?;
        Ok(WasmPlugin {
            name: name.to_owned(),
            module,
            pre,
            abi,
            allocator,
            size: bytes.len(),
            imports,
        })
    }

    /// The module's name (the file stem for [`WasmPlugin::load`]).
    ///
    /// ```
    /// # let plugin = proxywasm_wasmtime::WasmPlugin::from_bytes("minimal", br#"(module
    /// #   (memory (export "memory") 1)
    /// #   (func (export "proxy_abi_version_0_2_1"))
    /// #   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
    /// assert_eq!(plugin.name(), "minimal");
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ABI version its marker declares.
    ///
    /// ```
    /// # let plugin = proxywasm_wasmtime::WasmPlugin::from_bytes("minimal", br#"(module
    /// #   (memory (export "memory") 1)
    /// #   (func (export "proxy_abi_version_0_2_1"))
    /// #   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#)?;
    /// assert_eq!(plugin.abi_version(), proxywasm_wasmtime::AbiVersion::V0_2_1);
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    pub fn abi_version(&self) -> AbiVersion {
        self.abi
    }

    /// The allocation export Envoy would call: `malloc` if exported, else
    /// `proxy_on_memory_allocate`.
    ///
    /// ```
    /// let plugin = proxywasm_wasmtime::WasmPlugin::from_bytes("both", br#"(module
    ///   (memory (export "memory") 1)
    ///   (func (export "proxy_abi_version_0_2_1"))
    ///   (func (export "malloc") (param i32) (result i32) (i32.const 1024))
    ///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 2048)))"#)?;
    /// assert_eq!(plugin.allocator(), "malloc");
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    pub fn allocator(&self) -> &'static str {
        self.allocator
    }

    /// The module's size in bytes (of the text, for a module in the text
    /// format).
    ///
    /// ```
    /// let text = r#"(module
    ///   (memory (export "memory") 1)
    ///   (func (export "proxy_abi_version_0_2_1"))
    ///   (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#;
    /// let plugin = proxywasm_wasmtime::WasmPlugin::from_bytes("minimal", text.as_bytes())?;
    /// assert_eq!(plugin.size(), text.len());
    /// # Ok::<(), proxywasm_wasmtime::LoadError>(())
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// Every import, with the type it was linked with (always the host's
    /// exact type: anything else fails the load).
    ///
    /// ```
    /// let plugin = proxywasm_wasmtime::plugin_wasm("http_headers");
    /// let names: Vec<&str> = plugin.imports().iter().map(|i| i.name.as_str()).collect();
    /// assert!(names.contains(&"proxy_add_header_map_value"), "{names:?}");
    /// ```
    pub fn imports(&self) -> &[Import] {
        &self.imports
    }

    /// The names of the module's function exports.
    ///
    /// ```
    /// let plugin = proxywasm_wasmtime::plugin_wasm("http_headers");
    /// let exports = plugin.exports();
    /// assert!(exports.iter().any(|e| e == "proxy_on_request_headers"));
    /// assert!(exports.iter().any(|e| e == "_initialize"));
    /// ```
    pub fn exports(&self) -> Vec<String> {
        self.module
            .exports()
            .filter(|e| matches!(e.ty(), ExternType::Func(_)))
            .map(|e| e.name().to_owned())
            .collect()
    }
}

fn check_exports(module: &Module) -> Result<(AbiVersion, &'static str), String> {
    let marker = module
        .exports()
        .find(|e| ABI_MARKERS.contains(&e.name()) && matches!(e.ty(), ExternType::Func(_)))
        .map(|e| e.name().to_owned());
    let abi = match marker.as_deref() {
        Some("proxy_abi_version_0_2_1") => AbiVersion::V0_2_1,
        Some("proxy_abi_version_0_2_0") => AbiVersion::V0_2_0,
        Some(other) => {
            return Err(format!(
                "{other}: ABI v0.1.0 modules are not supported by this host (Envoy 1.40 runs v0.2.x)"
            ));
        }
        None => {
            return Err(
                "Missing or unknown Proxy-Wasm ABI version: export proxy_abi_version_0_2_1"
                    .to_owned(),
            );
        }
    };
    if !module
        .exports()
        .any(|e| e.name() == "memory" && matches!(e.ty(), ExternType::Memory(_)))
    {
        return Err("no `memory` export".to_owned());
    }
    for export in module.exports() {
        let (Some(sig), ExternType::Func(ty)) = (abi::export(export.name()), export.ty()) else {
            continue;
        };
        if !abi::matches(&sig, &ty) {
            return Err(format!(
                "Bad function signature for export {}: expected {sig}, found {ty}",
                export.name()
            ));
        }
    }
    let has = |name: &str| {
        module
            .exports()
            .any(|e| e.name() == name && matches!(e.ty(), ExternType::Func(_)))
    };
    let allocator = if has("malloc") {
        "malloc"
    } else if has("proxy_on_memory_allocate") {
        "proxy_on_memory_allocate"
    } else {
        return Err(
            "MissingFunction: neither `malloc` nor `proxy_on_memory_allocate` is exported"
                .to_owned(),
        );
    };
    Ok((abi, allocator))
}

fn check_imports(module: &Module, abi: AbiVersion) -> Result<Vec<Import>, String> {
    let mut imports = Vec::new();
    for import in module.imports() {
        let (module_name, name) = (import.module(), import.name());
        let ExternType::Func(ty) = import.ty() else {
            return Err(format!(
                "missing import: {module_name}.{name} is not a function; Envoy provides only functions"
            ));
        };
        let sig = if module_name == "env" {
            if ABI_0_1_0_ONLY.contains(&name) {
                return Err(format!(
                    "missing import: env.{name} exists only for ABI v0.1.0"
                ));
            }
            if name == "proxy_get_log_level" && abi != AbiVersion::V0_2_1 {
                return Err("missing import: env.proxy_get_log_level needs the proxy_abi_version_0_2_1 marker".into());
            }
            abi::env_import(name)
        } else if WASI_MODULES.contains(&module_name) {
            abi::wasi_import(name)
        } else {
            None
        };
        let Some(sig) = sig else {
            return Err(format!(
                "missing import: {module_name}.{name} is not provided by Envoy"
            ));
        };
        if !abi::matches(&sig, &ty) {
            return Err(format!(
                "import type mismatch: {module_name}.{name} is {sig} in Envoy, the module wants {ty}"
            ));
        }
        imports.push(Import {
            module: module_name.to_owned(),
            name: name.to_owned(),
            sig,
        });
    }
    Ok(imports)
}

//! ABI-surface check of a compiled plugin (`.wasm`), against what Envoy 1.40's
//! Proxy-Wasm host links for ABI 0.2.1.
//!
//! Envoy (proxy-wasm-cpp-host) refuses to load a module when one of its imports is not
//! registered by the host, or is registered with a different wasm function type, and it
//! fails the VM when a callback it looks up by name is exported with the wrong type
//! (`/work/shared/reference/abi.md` §1.2, §2, §3.1). This module holds those tables and
//! checks a module against them, so that a wrong `extern` declaration in the SDK is
//! caught by the gate instead of by a VM that will not start.
//!
//! The checks, one [`CheckOutcome`] each (see [`check`]):
//! * `abi marker`: exports the function `proxy_abi_version_0_2_1: () -> ()` and no other
//!   `proxy_abi_version_*` marker;
//! * `memory export`: exports a memory named `memory`;
//! * `allocator`: exports `proxy_on_memory_allocate: (i32) -> i32` and does *not* export
//!   `malloc` (the host prefers `malloc`; we deliberately export one allocator only);
//! * `import modules`: every import is a function from `env` or `wasi_snapshot_preview1`;
//! * `env imports`: every `env` import is one Envoy registers for ABI 0.2.1 (the
//!   all-versions set plus `proxy_continue_stream`, `proxy_close_stream` and
//!   `proxy_get_log_level`), with exactly the type of [`ENV_IMPORTS`];
//! * `wasi imports`: every `wasi_snapshot_preview1` import is one of [`WASI_IMPORTS`] with
//!   exactly that type;
//! * `callback exports`: every exported `proxy_*` / `envoy_on_*` function and start-up
//!   export (`_initialize`, `_start`, `main`, `__main_void`) has the type the host calls it
//!   with ([`CALLBACK_EXPORTS`]); an unknown `proxy_*` export (a typo the host would
//!   silently never call) is reported too.

use std::fmt;

use wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, TypeRef, ValType};

/// A wasm value type, as far as the Proxy-Wasm ABI is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Val {
    I32,
    I64,
    F32,
    F64,
    V128,
    /// Any reference type (never part of the Proxy-Wasm ABI).
    Ref,
}

use Val::{I32, I64};

impl From<ValType> for Val {
    fn from(v: ValType) -> Self {
        match v {
            ValType::I32 => Val::I32,
            ValType::I64 => Val::I64,
            ValType::F32 => Val::F32,
            ValType::F64 => Val::F64,
            ValType::V128 => Val::V128,
            ValType::Ref(_) => Val::Ref,
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Val::I32 => "i32",
            Val::I64 => "i64",
            Val::F32 => "f32",
            Val::F64 => "f64",
            Val::V128 => "v128",
            Val::Ref => "ref",
        })
    }
}

/// A wasm function type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sig {
    pub(crate) params: Vec<Val>,
    pub(crate) results: Vec<Val>,
}

impl fmt::Display for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, vals: &[Val]) -> fmt::Result {
            f.write_str("(")?;
            for (i, v) in vals.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            f.write_str(")")
        }
        list(f, &self.params)?;
        f.write_str(" -> ")?;
        if self.results.len() == 1 {
            write!(f, "{}", self.results[0])
        } else {
            list(f, &self.results)
        }
    }
}

/// One entry of an ABI table: a function name and its exact wasm type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AbiFn {
    pub(crate) name: &'static str,
    pub(crate) params: &'static [Val],
    pub(crate) results: &'static [Val],
}

impl AbiFn {
    pub(crate) fn sig(&self) -> Sig {
        Sig {
            params: self.params.to_vec(),
            results: self.results.to_vec(),
        }
    }
}

const fn f(name: &'static str, params: &'static [Val], results: &'static [Val]) -> AbiFn {
    AbiFn {
        name,
        params,
        results,
    }
}

const R: &[Val] = &[I32];
const NONE: &[Val] = &[];
const I32X1: &[Val] = &[I32];
const I32X2: &[Val] = &[I32, I32];
const I32X3: &[Val] = &[I32, I32, I32];
const I32X4: &[Val] = &[I32, I32, I32, I32];
const I32X5: &[Val] = &[I32, I32, I32, I32, I32];
const I32X6: &[Val] = &[I32, I32, I32, I32, I32, I32];
const I32X8: &[Val] = &[I32, I32, I32, I32, I32, I32, I32, I32];
const I32X9: &[Val] = &[I32, I32, I32, I32, I32, I32, I32, I32, I32];
const I32X10: &[Val] = &[I32, I32, I32, I32, I32, I32, I32, I32, I32, I32];
const I32X12: &[Val] = &[I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32];

/// Module name of the Proxy-Wasm host functions.
pub(crate) const ENV: &str = "env";
/// Module name of the WASI functions.
pub(crate) const WASI: &str = "wasi_snapshot_preview1";

/// The `env` functions Envoy 1.40 registers for a module exporting
/// `proxy_abi_version_0_2_1`, with their exact types (abi.md §1.2 and §2).
pub(crate) const ENV_IMPORTS: &[AbiFn] = &[
    // Registered for every ABI version.
    f("proxy_log", I32X3, R),
    f("proxy_get_status", I32X3, R),
    f("proxy_set_property", I32X4, R),
    f("proxy_get_property", I32X4, R),
    f("proxy_send_local_response", I32X8, R),
    f("proxy_get_shared_data", I32X5, R),
    f("proxy_set_shared_data", I32X5, R),
    f("proxy_register_shared_queue", I32X3, R),
    f("proxy_resolve_shared_queue", I32X5, R),
    f("proxy_dequeue_shared_queue", I32X3, R),
    f("proxy_enqueue_shared_queue", I32X3, R),
    f("proxy_get_header_map_value", I32X5, R),
    f("proxy_add_header_map_value", I32X5, R),
    f("proxy_replace_header_map_value", I32X5, R),
    f("proxy_remove_header_map_value", I32X3, R),
    f("proxy_get_header_map_pairs", I32X3, R),
    f("proxy_set_header_map_pairs", I32X3, R),
    f("proxy_get_header_map_size", I32X2, R),
    f("proxy_get_buffer_status", I32X3, R),
    f("proxy_get_buffer_bytes", I32X5, R),
    f("proxy_set_buffer_bytes", I32X5, R),
    f("proxy_http_call", I32X10, R),
    f("proxy_grpc_call", I32X12, R),
    f("proxy_grpc_stream", I32X9, R),
    f("proxy_grpc_close", I32X1, R),
    f("proxy_grpc_cancel", I32X1, R),
    f("proxy_grpc_send", I32X4, R),
    f("proxy_set_tick_period_milliseconds", I32X1, R),
    f("proxy_get_current_time_nanoseconds", I32X1, R),
    f("proxy_define_metric", I32X4, R),
    f("proxy_increment_metric", &[I32, I64], R),
    f("proxy_record_metric", &[I32, I64], R),
    f("proxy_get_metric", I32X2, R),
    f("proxy_set_effective_context", I32X1, R),
    f("proxy_done", NONE, R),
    f("proxy_call_foreign_function", I32X6, R),
    // Registered for ABI 0.2.0 and 0.2.1.
    f("proxy_continue_stream", I32X1, R),
    f("proxy_close_stream", I32X1, R),
    // Registered for ABI 0.2.1 only.
    f("proxy_get_log_level", I32X1, R),
];

/// `env` functions the host registers only for ABI 0.1.0: importing one of them from a
/// 0.2.1 module makes the load fail with "missing import".
pub(crate) const ENV_ABI_0_1_0_ONLY: &[&str] = &[
    "proxy_get_configuration",
    "proxy_continue_request",
    "proxy_continue_response",
    "proxy_clear_route_cache",
];

/// The `wasi_snapshot_preview1` functions the host registers, with their exact types
/// (abi.md §2.14).
pub(crate) const WASI_IMPORTS: &[AbiFn] = &[
    f("fd_write", I32X4, R),
    f("fd_read", I32X4, R),
    f("fd_seek", &[I32, I64, I32, I32], R),
    f("fd_close", I32X1, R),
    f("fd_fdstat_get", I32X2, R),
    f("fd_fdstat_set_flags", I32X2, R),
    f("fd_prestat_get", I32X2, R),
    f("fd_prestat_dir_name", I32X3, R),
    f("fd_filestat_get", I32X2, R),
    f(
        "path_open",
        &[I32, I32, I32, I32, I32, I64, I64, I32, I32],
        R,
    ),
    f("path_filestat_get", I32X5, R),
    f("environ_sizes_get", I32X2, R),
    f("environ_get", I32X2, R),
    f("args_sizes_get", I32X2, R),
    f("args_get", I32X2, R),
    f("clock_time_get", &[I32, I64, I32], R),
    f("clock_res_get", I32X2, R),
    f("random_get", I32X2, R),
    f("sched_yield", NONE, R),
    f("poll_oneoff", I32X4, R),
    f("proc_exit", I32X1, NONE),
    // The newer stubs (cpp-host, April 2026).
    f("fd_advise", &[I32, I64, I64, I32], R),
    f("fd_allocate", &[I32, I64, I64], R),
    f("fd_datasync", I32X1, R),
    f("fd_fdstat_set_rights", &[I32, I64, I64], R),
    f("fd_filestat_set_size", &[I32, I64], R),
    f("fd_filestat_set_times", &[I32, I64, I64, I32], R),
    f("fd_pread", &[I32, I32, I32, I64, I32], R),
    f("fd_pwrite", &[I32, I32, I32, I64, I32], R),
    f("fd_readdir", &[I32, I32, I32, I64, I32], R),
    f("fd_renumber", I32X2, R),
    f("fd_sync", I32X1, R),
    f("fd_tell", I32X2, R),
    f("path_create_directory", I32X3, R),
    f(
        "path_filestat_set_times",
        &[I32, I32, I32, I32, I64, I64, I32],
        R,
    ),
    f("path_link", I32X6, R),
    f("path_readlink", I32X6, R),
    f("path_rename", I32X6, R),
    f("path_remove_directory", I32X3, R),
    f("path_unlink_file", I32X3, R),
    f("path_symlink", I32X4, R),
    f("sock_accept", I32X3, R),
    f("sock_recv", I32X6, R),
    f("sock_send", I32X5, R),
    f("sock_shutdown", I32X2, R),
];

/// The ABI marker every plugin exports.
pub(crate) const ABI_MARKER: &str = "proxy_abi_version_0_2_1";
/// The allocator export the host calls to hand data to the guest.
pub(crate) const ALLOCATOR: &str = "proxy_on_memory_allocate";

/// Exports the host looks up by name, with the type it calls them with (abi.md §3.1,
/// ABI 0.2.x shapes).
pub(crate) const CALLBACK_EXPORTS: &[AbiFn] = &[
    f(ABI_MARKER, NONE, NONE),
    f(ALLOCATOR, I32X1, R),
    f("_initialize", NONE, NONE),
    f("_start", NONE, NONE),
    f("main", I32X2, R),
    f("__main_void", NONE, R),
    f("proxy_on_context_create", I32X2, NONE),
    f("proxy_on_vm_start", I32X2, R),
    f("proxy_on_configure", I32X2, R),
    f("proxy_validate_configuration", I32X2, R),
    f("proxy_on_tick", I32X1, NONE),
    f("proxy_on_queue_ready", I32X2, NONE),
    f("proxy_on_foreign_function", I32X3, NONE),
    f("proxy_on_new_connection", I32X1, R),
    f("proxy_on_downstream_data", I32X3, R),
    f("proxy_on_upstream_data", I32X3, R),
    f("proxy_on_downstream_connection_close", I32X2, NONE),
    f("proxy_on_upstream_connection_close", I32X2, NONE),
    f("proxy_on_request_headers", I32X3, R),
    f("proxy_on_request_body", I32X3, R),
    f("proxy_on_request_trailers", I32X2, R),
    f("proxy_on_request_metadata", I32X2, R),
    f("proxy_on_response_headers", I32X3, R),
    f("proxy_on_response_body", I32X3, R),
    f("proxy_on_response_trailers", I32X2, R),
    f("proxy_on_response_metadata", I32X2, R),
    f("proxy_on_http_call_response", I32X5, NONE),
    f("proxy_on_grpc_receive_initial_metadata", I32X3, NONE),
    f("proxy_on_grpc_receive", I32X3, NONE),
    f("proxy_on_grpc_receive_trailing_metadata", I32X3, NONE),
    f("proxy_on_grpc_close", I32X3, NONE),
    f("proxy_on_done", I32X1, R),
    f("proxy_on_log", I32X1, NONE),
    f("proxy_on_delete", I32X1, NONE),
    f("envoy_on_resolve_dns", I32X3, NONE),
    f("envoy_on_stats_update", I32X2, NONE),
];

/// What an import or export refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    Func(Sig),
    Memory,
    Table,
    Global,
    Tag,
}

impl Item {
    fn kind(&self) -> &'static str {
        match self {
            Item::Func(_) => "function",
            Item::Memory => "memory",
            Item::Table => "table",
            Item::Global => "global",
            Item::Tag => "tag",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Import {
    pub(crate) module: String,
    pub(crate) name: String,
    pub(crate) item: Item,
}

#[derive(Clone, Debug)]
pub(crate) struct Export {
    pub(crate) name: String,
    pub(crate) item: Item,
}

/// The imports and exports of a module, with function types resolved.
#[derive(Clone, Debug, Default)]
pub(crate) struct Surface {
    pub(crate) imports: Vec<Import>,
    pub(crate) exports: Vec<Export>,
}

impl Surface {
    /// Reads the import and export sections of a core wasm module.
    pub(crate) fn parse(wasm: &[u8]) -> Result<Surface, String> {
        let mut types: Vec<Option<Sig>> = Vec::new();
        // Type index of every function, imported ones first (the function index space).
        let mut funcs: Vec<u32> = Vec::new();
        let mut surface = Surface::default();
        let mut raw_exports: Vec<(String, ExternalKind, u32)> = Vec::new();
        let bad = |e: wasmparser::BinaryReaderError| format!("not a valid wasm module: {e}");
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(bad)? {
                Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                    return Err("a component, not a core wasm module".to_string());
                }
                Payload::TypeSection(reader) => {
                    for group in reader {
                        for sub in group.map_err(bad)?.into_types() {
                            types.push(match sub.composite_type.inner {
                                CompositeInnerType::Func(ft) => Some(Sig {
                                    params: ft.params().iter().map(|&v| v.into()).collect(),
                                    results: ft.results().iter().map(|&v| v.into()).collect(),
                                }),
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.map_err(bad)?;
                        let item = match import.ty {
                            TypeRef::Func(idx) | TypeRef::FuncExact(idx) => {
                                funcs.push(idx);
                                Item::Func(func_type(&types, idx)?)
                            }
                            TypeRef::Memory(_) => Item::Memory,
                            TypeRef::Table(_) => Item::Table,
                            TypeRef::Global(_) => Item::Global,
                            TypeRef::Tag(_) => Item::Tag,
                        };
                        surface.imports.push(Import {
                            module: import.module.to_string(),
                            name: import.name.to_string(),
                            item,
                        });
                    }
                }
                Payload::FunctionSection(reader) => {
                    for idx in reader {
                        funcs.push(idx.map_err(bad)?);
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(bad)?;
                        raw_exports.push((export.name.to_string(), export.kind, export.index));
                    }
                }
                _ => {}
            }
        }
        for (name, kind, index) in raw_exports {
            let item = match kind {
                ExternalKind::Func | ExternalKind::FuncExact => {
                    let ty = funcs.get(index as usize).copied().ok_or_else(|| {
                        format!("export `{name}` refers to function {index}, which does not exist")
                    })?;
                    Item::Func(func_type(&types, ty)?)
                }
                ExternalKind::Memory => Item::Memory,
                ExternalKind::Table => Item::Table,
                ExternalKind::Global => Item::Global,
                ExternalKind::Tag => Item::Tag,
            };
            surface.exports.push(Export { name, item });
        }
        Ok(surface)
    }

    fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// Number of imports from `module`.
    pub(crate) fn import_count(&self, module: &str) -> usize {
        self.imports.iter().filter(|i| i.module == module).count()
    }

    /// A one-line summary: import counts per module and the number of exports.
    pub(crate) fn summary(&self) -> String {
        let mut modules: Vec<&str> = self.imports.iter().map(|i| i.module.as_str()).collect();
        modules.sort_unstable();
        modules.dedup();
        let mut parts: Vec<String> = modules
            .iter()
            .map(|m| format!("{} imports from {m}", self.import_count(m)))
            .collect();
        if parts.is_empty() {
            parts.push("no imports".to_string());
        }
        let funcs = self
            .exports
            .iter()
            .filter(|e| matches!(e.item, Item::Func(_)))
            .count();
        parts.push(format!("{funcs} exported functions"));
        parts.join(", ")
    }
}

fn func_type(types: &[Option<Sig>], idx: u32) -> Result<Sig, String> {
    match types.get(idx as usize) {
        Some(Some(sig)) => Ok(sig.clone()),
        Some(None) => Err(format!("type {idx} is not a function type")),
        None => Err(format!("type {idx} does not exist")),
    }
}

/// The result of one named check.
#[derive(Clone, Debug)]
pub(crate) struct CheckOutcome {
    pub(crate) name: &'static str,
    /// Empty when the check passed.
    pub(crate) problems: Vec<String>,
}

impl CheckOutcome {
    pub(crate) fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

fn lookup<'t>(table: &'t [AbiFn], name: &str) -> Option<&'t AbiFn> {
    table.iter().find(|e| e.name == name)
}

/// Checks a function against a table entry; `what` names it in the message.
fn expect_sig(problems: &mut Vec<String>, what: &str, item: &Item, expected: &AbiFn) {
    match item {
        Item::Func(sig) if *sig == expected.sig() => {}
        Item::Func(sig) => problems.push(format!(
            "{what} has type {sig}, the host expects {}",
            expected.sig()
        )),
        other => problems.push(format!("{what} is a {}, not a function", other.kind())),
    }
}

/// Runs every check on a parsed module.
pub(crate) fn check(surface: &Surface) -> Vec<CheckOutcome> {
    vec![
        check_marker(surface),
        check_memory(surface),
        check_allocator(surface),
        check_import_modules(surface),
        check_env_imports(surface),
        check_wasi_imports(surface),
        check_callback_exports(surface),
    ]
}

fn check_marker(s: &Surface) -> CheckOutcome {
    let mut problems = Vec::new();
    match s.export(ABI_MARKER) {
        Some(e) => expect_sig(
            &mut problems,
            &format!("`{ABI_MARKER}`"),
            &e.item,
            &f(ABI_MARKER, NONE, NONE),
        ),
        None => problems.push(format!(
            "no `{ABI_MARKER}` export: Envoy will not load the module"
        )),
    }
    for e in &s.exports {
        if e.name.starts_with("proxy_abi_version_") && e.name != ABI_MARKER {
            problems.push(format!(
                "also exports the ABI marker `{}`: the host takes the first marker it finds",
                e.name
            ));
        }
    }
    CheckOutcome {
        name: "abi marker",
        problems,
    }
}

fn check_memory(s: &Surface) -> CheckOutcome {
    let mut problems = Vec::new();
    match s.export("memory") {
        Some(Export {
            item: Item::Memory, ..
        }) => {}
        Some(e) => problems.push(format!("`memory` is exported as a {}", e.item.kind())),
        None => problems.push("no `memory` export".to_string()),
    }
    CheckOutcome {
        name: "memory export",
        problems,
    }
}

fn check_allocator(s: &Surface) -> CheckOutcome {
    let mut problems = Vec::new();
    match s.export(ALLOCATOR) {
        Some(e) => expect_sig(
            &mut problems,
            &format!("`{ALLOCATOR}`"),
            &e.item,
            &f(ALLOCATOR, I32X1, R),
        ),
        None => problems.push(format!("no `{ALLOCATOR}` export")),
    }
    if s.export("malloc").is_some() {
        problems.push(format!(
            "exports `malloc`: the host would use it instead of `{ALLOCATOR}` (one allocator export only)"
        ));
    }
    CheckOutcome {
        name: "allocator",
        problems,
    }
}

fn check_import_modules(s: &Surface) -> CheckOutcome {
    let mut problems = Vec::new();
    for i in &s.imports {
        if i.module != ENV && i.module != WASI {
            problems.push(format!(
                "imports `{}`.`{}` from a module the host does not provide (only `{ENV}` and `{WASI}`)",
                i.module, i.name
            ));
        } else if !matches!(i.item, Item::Func(_)) {
            problems.push(format!(
                "imports a {} `{}`.`{}`: the host provides functions only",
                i.item.kind(),
                i.module,
                i.name
            ));
        }
    }
    CheckOutcome {
        name: "import modules",
        problems,
    }
}

fn check_env_imports(s: &Surface) -> CheckOutcome {
    let mut problems = Vec::new();
    for i in s.imports.iter().filter(|i| i.module == ENV) {
        let what = format!("`{ENV}`.`{}`", i.name);
        if let Some(expected) = lookup(ENV_IMPORTS, &i.name) {
            expect_sig(&mut problems, &what, &i.item, expected);
        } else if ENV_ABI_0_1_0_ONLY.contains(&i.name.as_str()) {
            problems.push(format!(
                "{what} is registered only for ABI 0.1.0: a 0.2.1 module importing it fails to load"
            ));
        } else {
            problems.push(format!(
                "{what} is not a host function Envoy registers for ABI 0.2.1"
            ));
        }
    }
    CheckOutcome {
        name: "env imports",
        problems,
    }
}

fn check_wasi_imports(s: &Surface) -> CheckOutcome {
    let mut problems = Vec::new();
    for i in s.imports.iter().filter(|i| i.module == WASI) {
        let what = format!("`{WASI}`.`{}`", i.name);
        match lookup(WASI_IMPORTS, &i.name) {
            Some(expected) => expect_sig(&mut problems, &what, &i.item, expected),
            None => problems.push(format!("{what} is not a WASI function the host provides")),
        }
    }
    CheckOutcome {
        name: "wasi imports",
        problems,
    }
}

fn check_callback_exports(s: &Surface) -> CheckOutcome {
    let mut problems = Vec::new();
    for e in &s.exports {
        let what = format!("export `{}`", e.name);
        if let Some(expected) = lookup(CALLBACK_EXPORTS, &e.name) {
            expect_sig(&mut problems, &what, &e.item, expected);
        } else if (e.name.starts_with("proxy_") && !e.name.starts_with("proxy_abi_version_"))
            || e.name.starts_with("envoy_on_")
        {
            problems.push(format!(
                "{what} is not a callback the host knows: it would never be called"
            ));
        }
    }
    CheckOutcome {
        name: "callback exports",
        problems,
    }
}

/// Encodes a minimal plugin module that imports `imports` and exports the ABI marker,
/// `memory`, the allocator and the root-context callbacks. The gate asks Envoy to load
/// it, which checks these tables against the real host's linker.
pub(crate) fn probe_module(imports: &[(&str, &AbiFn)]) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
        ImportSection, MemorySection, MemoryType, Module, TypeSection, ValType,
    };
    fn val(v: &Val) -> ValType {
        match v {
            Val::I32 => ValType::I32,
            Val::I64 => ValType::I64,
            Val::F32 => ValType::F32,
            Val::F64 => ValType::F64,
            Val::V128 => ValType::V128,
            Val::Ref => ValType::FUNCREF,
        }
    }
    // Functions the module defines: (export name, type, body returning the given i32).
    let defined: [(&str, AbiFn, Option<i32>); 5] = [
        (ABI_MARKER, f(ABI_MARKER, NONE, NONE), None),
        (ALLOCATOR, f(ALLOCATOR, I32X1, R), Some(1024)),
        ("proxy_on_context_create", f("", I32X2, NONE), None),
        ("proxy_on_vm_start", f("", I32X2, R), Some(1)),
        ("proxy_on_configure", f("", I32X2, R), Some(1)),
    ];
    // One type per function, so function i has type i: simple, and duplicates are valid.
    let mut types = TypeSection::new();
    let mut add_type = |e: &AbiFn| {
        let params = e.params.iter().map(val);
        types.ty().function(params, e.results.iter().map(val));
    };
    let mut import_section = ImportSection::new();
    for (i, (module, e)) in (0u32..).zip(imports) {
        add_type(e);
        import_section.import(module, e.name, EntityType::Function(i));
    }
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    for (i, (export, e, result)) in (imports.len() as u32..).zip(&defined) {
        add_type(e);
        functions.function(i);
        exports.export(export, ExportKind::Func, i);
        let mut body = Function::new([]);
        if let Some(v) = result {
            body.instructions().i32_const(*v);
        }
        body.instructions().end();
        code.function(&body);
    }
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    exports.export("memory", ExportKind::Memory, 0);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&import_section)
        .section(&functions)
        .section(&memories)
        .section(&exports)
        .section(&code);
    module.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn wat_type(vals: &[Val]) -> String {
        vals.iter().map(|v| format!(" {v}")).collect()
    }

    fn import_wat(module: &str, e: &AbiFn) -> String {
        format!(
            "(import \"{module}\" \"{}\" (func (param{}) (result{})))\n",
            e.name,
            wat_type(e.params),
            wat_type(e.results)
        )
    }

    /// A module shaped like a plugin built by our SDK, plus `extra` module fields.
    fn plugin(extra: &str) -> Vec<u8> {
        let text = format!(
            r#"(module
                 (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
                 (import "env" "proxy_increment_metric" (func (param i32 i64) (result i32)))
                 (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                 {extra}
                 (memory (export "memory") 1)
                 (func (export "_initialize"))
                 (func (export "proxy_abi_version_0_2_1"))
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0)
                 (func (export "proxy_on_context_create") (param i32 i32))
                 (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) i32.const 0)
               )"#
        );
        parse_wat(&text)
    }

    fn parse_wat(text: &str) -> Vec<u8> {
        match wat::parse_str(text) {
            Ok(bytes) => bytes,
            Err(e) => panic!("bad test module: {e}\n{text}"),
        }
    }

    fn outcomes(wasm: &[u8]) -> Vec<CheckOutcome> {
        match Surface::parse(wasm) {
            Ok(s) => check(&s),
            Err(e) => panic!("parse failed: {e}"),
        }
    }

    /// Names of the failed checks, and all problems joined (for message assertions).
    fn failures(wasm: &[u8]) -> (Vec<&'static str>, String) {
        let all = outcomes(wasm);
        let names = all.iter().filter(|o| !o.passed()).map(|o| o.name).collect();
        let text = all
            .iter()
            .flat_map(|o| o.problems.iter().cloned())
            .collect::<Vec<_>>()
            .join("\n");
        (names, text)
    }

    #[test]
    fn well_formed_plugin_passes_every_check() {
        let all = outcomes(&plugin(""));
        assert_eq!(all.len(), 7);
        for o in &all {
            assert!(o.passed(), "{}: {:?}", o.name, o.problems);
        }
    }

    #[test]
    fn summary_counts_imports_per_module() {
        let s = Surface::parse(&plugin("")).unwrap();
        assert_eq!(s.import_count(ENV), 2);
        assert_eq!(s.import_count(WASI), 1);
        assert_eq!(
            s.summary(),
            "2 imports from env, 1 imports from wasi_snapshot_preview1, 5 exported functions"
        );
    }

    #[test]
    fn every_table_entry_is_accepted_with_its_own_type() {
        let mut imports = String::new();
        for e in ENV_IMPORTS {
            imports.push_str(&import_wat(ENV, e));
        }
        for e in WASI_IMPORTS {
            imports.push_str(&import_wat(WASI, e));
        }
        let text = format!(
            r#"(module {imports}
                 (memory (export "memory") 1)
                 (func (export "proxy_abi_version_0_2_1"))
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))"#
        );
        let wasm = parse_wat(&text);
        let s = Surface::parse(&wasm).unwrap();
        assert_eq!(s.import_count(ENV), ENV_IMPORTS.len());
        assert_eq!(s.import_count(WASI), WASI_IMPORTS.len());
        assert_eq!(failures(&wasm).0, Vec::<&str>::new());
    }

    #[test]
    fn tables_have_no_duplicates_and_no_abi_0_1_0_functions() {
        for table in [ENV_IMPORTS, WASI_IMPORTS, CALLBACK_EXPORTS] {
            let mut names: Vec<&str> = table.iter().map(|e| e.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len());
        }
        // 36 functions for all versions, 2 for 0.2.x, 1 for 0.2.1.
        assert_eq!(ENV_IMPORTS.len(), 39);
        for name in ENV_ABI_0_1_0_ONLY {
            assert!(lookup(ENV_IMPORTS, name).is_none(), "{name}");
        }
    }

    #[test]
    fn spot_checks_of_the_import_table() {
        let sig = |name| lookup(ENV_IMPORTS, name).map(|e| e.sig().to_string());
        assert_eq!(sig("proxy_log").as_deref(), Some("(i32, i32, i32) -> i32"));
        assert_eq!(
            sig("proxy_increment_metric").as_deref(),
            Some("(i32, i64) -> i32")
        );
        assert_eq!(
            sig("proxy_record_metric").as_deref(),
            Some("(i32, i64) -> i32")
        );
        assert_eq!(
            sig("proxy_get_current_time_nanoseconds").as_deref(),
            Some("(i32) -> i32")
        );
        assert_eq!(sig("proxy_done").as_deref(), Some("() -> i32"));
        let proc_exit = lookup(WASI_IMPORTS, "proc_exit").map(|e| e.sig().to_string());
        assert_eq!(proc_exit.as_deref(), Some("(i32) -> ()"));
    }

    #[test]
    fn missing_abi_marker_fails() {
        let wasm = parse_wat(
            r#"(module (memory (export "memory") 1)
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))"#,
        );
        let (names, text) = failures(&wasm);
        assert_eq!(names, ["abi marker"]);
        assert!(
            text.contains("no `proxy_abi_version_0_2_1` export"),
            "{text}"
        );
    }

    #[test]
    fn second_abi_marker_fails() {
        let (names, text) = failures(&plugin(r#"(func (export "proxy_abi_version_0_1_0"))"#));
        assert_eq!(names, ["abi marker"]);
        assert!(text.contains("proxy_abi_version_0_1_0"), "{text}");
    }

    #[test]
    fn abi_marker_with_wrong_type_fails() {
        let wasm = parse_wat(
            r#"(module (memory (export "memory") 1)
                 (func (export "proxy_abi_version_0_2_1") (param i32))
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))"#,
        );
        let (names, text) = failures(&wasm);
        assert_eq!(names, ["abi marker", "callback exports"]);
        assert!(
            text.contains("has type (i32) -> (), the host expects () -> ()"),
            "{text}"
        );
    }

    #[test]
    fn missing_memory_export_fails() {
        let wasm = parse_wat(
            r#"(module (memory 1)
                 (func (export "proxy_abi_version_0_2_1"))
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))"#,
        );
        assert_eq!(failures(&wasm).0, ["memory export"]);
    }

    #[test]
    fn imported_memory_fails_twice() {
        let wasm = parse_wat(
            r#"(module (import "env" "memory" (memory 1))
                 (func (export "proxy_abi_version_0_2_1"))
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))"#,
        );
        let (names, text) = failures(&wasm);
        assert_eq!(names, ["memory export", "import modules", "env imports"]);
        assert!(text.contains("imports a memory `env`.`memory`"), "{text}");
    }

    #[test]
    fn malloc_export_fails() {
        let (names, text) = failures(&plugin(
            r#"(func (export "malloc") (param i32) (result i32) i32.const 0)"#,
        ));
        assert_eq!(names, ["allocator"]);
        assert!(text.contains("exports `malloc`"), "{text}");
    }

    #[test]
    fn missing_or_mistyped_allocator_fails() {
        let wasm = parse_wat(
            r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))"#,
        );
        assert_eq!(failures(&wasm).0, ["allocator"]);
        let wasm = parse_wat(
            r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))
                 (func (export "proxy_on_memory_allocate") (param i64) (result i32) i32.const 0))"#,
        );
        let (names, text) = failures(&wasm);
        assert_eq!(names, ["allocator", "callback exports"]);
        assert!(text.contains("(i64) -> i32"), "{text}");
    }

    #[test]
    fn abi_0_1_0_import_fails() {
        let (names, text) = failures(&plugin(
            r#"(import "env" "proxy_get_configuration" (func (param i32 i32) (result i32)))"#,
        ));
        assert_eq!(names, ["env imports"]);
        assert!(text.contains("registered only for ABI 0.1.0"), "{text}");
    }

    #[test]
    fn unknown_env_import_fails() {
        let (names, text) = failures(&plugin(
            r#"(import "env" "proxy_does_not_exist" (func (result i32)))"#,
        ));
        assert_eq!(names, ["env imports"]);
        assert!(
            text.contains("`env`.`proxy_does_not_exist` is not a host function"),
            "{text}"
        );
    }

    #[test]
    fn env_import_with_wrong_type_fails() {
        let (names, text) = failures(&plugin(
            r#"(import "env" "proxy_set_tick_period_milliseconds" (func (param i64) (result i32)))"#,
        ));
        assert_eq!(names, ["env imports"]);
        assert!(
            text.contains(
                "`env`.`proxy_set_tick_period_milliseconds` has type (i64) -> i32, the host expects (i32) -> i32"
            ),
            "{text}"
        );
        // A missing result is a mismatch too.
        let (names, _) = failures(&plugin(
            r#"(import "env" "proxy_continue_stream" (func (param i32)))"#,
        ));
        assert_eq!(names, ["env imports"]);
    }

    #[test]
    fn foreign_import_module_fails() {
        let (names, text) = failures(&plugin(
            r#"(import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
        ));
        assert_eq!(names, ["import modules"]);
        assert!(text.contains("`wasi_unstable`.`fd_write`"), "{text}");
    }

    #[test]
    fn unknown_or_mistyped_wasi_import_fails() {
        let (names, text) = failures(&plugin(
            r#"(import "wasi_snapshot_preview1" "thread_spawn" (func (param i32) (result i32)))"#,
        ));
        assert_eq!(names, ["wasi imports"]);
        assert!(text.contains("thread_spawn"), "{text}");
        let (names, text) = failures(&plugin(
            r#"(import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i32 i32) (result i32)))"#,
        ));
        assert_eq!(names, ["wasi imports"]);
        assert!(
            text.contains("the host expects (i32, i64, i32) -> i32"),
            "{text}"
        );
    }

    #[test]
    fn mistyped_or_unknown_callback_fails() {
        let (names, text) = failures(&plugin(
            r#"(func (export "proxy_on_tick") (param i32) (result i32) i32.const 0)"#,
        ));
        assert_eq!(names, ["callback exports"]);
        assert!(
            text.contains("export `proxy_on_tick` has type (i32) -> i32"),
            "{text}"
        );
        let (names, text) = failures(&plugin(
            r#"(func (export "proxy_on_request_header") (param i32 i32 i32) (result i32) i32.const 0)"#,
        ));
        assert_eq!(names, ["callback exports"]);
        assert!(text.contains("never be called"), "{text}");
        // Other exports are none of the host's business.
        let (names, _) = failures(&plugin(r#"(func (export "my_helper"))"#));
        assert!(names.is_empty());
    }

    #[test]
    fn probe_module_is_a_valid_plugin_with_exactly_the_requested_imports() {
        let all: Vec<(&str, &AbiFn)> = ENV_IMPORTS
            .iter()
            .map(|e| (ENV, e))
            .chain(WASI_IMPORTS.iter().map(|e| (WASI, e)))
            .collect();
        let wasm = probe_module(&all);
        let s = Surface::parse(&wasm).unwrap();
        let got: Vec<(String, String, Item)> = s
            .imports
            .iter()
            .map(|i| (i.module.clone(), i.name.clone(), i.item.clone()))
            .collect();
        let want: Vec<(String, String, Item)> = all
            .iter()
            .map(|(m, e)| (m.to_string(), e.name.to_string(), Item::Func(e.sig())))
            .collect();
        assert_eq!(got, want);
        for o in check(&s) {
            assert!(o.passed(), "{}: {:?}", o.name, o.problems);
        }
        let empty = Surface::parse(&probe_module(&[])).unwrap();
        assert!(empty.imports.is_empty());
        assert_eq!(empty.summary(), "no imports, 5 exported functions");
    }

    #[test]
    fn garbage_is_not_a_module() {
        assert!(Surface::parse(b"not wasm").is_err());
        let component = parse_wat("(component)");
        let err = Surface::parse(&component).unwrap_err();
        assert!(err.contains("component"), "{err}");
    }
}

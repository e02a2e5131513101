//! ABI-surface check of a compiled plugin (`.wasm`), against what Envoy 1.40's
//! Proxy-Wasm host links for ABI 0.2.1.
//!
//! Envoy (proxy-wasm-cpp-host) refuses to load a module when one of its imports is not
//! registered by the host, or is registered with a different wasm function type, and it
//! fails the VM when a callback it looks up by name is exported with the wrong type
//! (book: reference/lifecycle.md#linking). This module checks a module against
//! the ABI table the SDK and the engine are generated from (the `proxywasm-abi` crate),
//! so that a wrong `extern` declaration in the SDK is caught by the gate instead of by a
//! VM that will not start.
//!
//! The checks, one [`CheckOutcome`] each (see [`check`]):
//! * `abi marker`: exports the function `proxy_abi_version_0_2_1: () -> ()` and no other
//!   `proxy_abi_version_*` marker;
//! * `memory export`: exports a memory named `memory`;
//! * `allocator`: exports `proxy_on_memory_allocate: (i32) -> i32` and does *not* export
//!   `malloc` (the host prefers `malloc`; we deliberately export one allocator only);
//! * `import modules`: every import is a function from `env` or `wasi_snapshot_preview1`;
//! * `env imports`: every `env` import is one Envoy registers for ABI 0.2.1 (the
//!   all-versions set plus `proxy_continue_stream`, `proxy_close_stream`,
//!   `proxy_get_log_level`, `envoy_resolve_dns` and the emscripten shims), with exactly
//!   the type of [`env_imports`];
//! * `wasi imports`: every `wasi_snapshot_preview1` import is one of [`wasi_imports`] with
//!   exactly that type;
//! * `callback exports`: every exported `proxy_*` / `envoy_on_*` function and start-up
//!   export (`_initialize`, `_start`, `main`, `__main_void`) has the type the host calls it
//!   with ([`callback_exports`]); an unknown `proxy_*` export (a typo the host would
//!   silently never call) is reported too.

use std::fmt;

use proxywasm_abi::{ABI_0_1_0_ONLY, Signature, WasmType};
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
    pub(crate) ty: Signature,
}

impl AbiFn {
    pub(crate) fn sig(&self) -> Sig {
        let vals = |types: &[WasmType]| types.iter().map(|&t| Val::from(t)).collect();
        Sig {
            params: vals(self.ty.params),
            results: vals(self.ty.results),
        }
    }
}

impl From<WasmType> for Val {
    fn from(t: WasmType) -> Self {
        match t {
            WasmType::I64 => Val::I64,
            _ => Val::I32,
        }
    }
}

/// Module name of the Proxy-Wasm host functions.
pub(crate) const ENV: &str = "env";
/// Module name of the WASI functions.
pub(crate) const WASI: &str = "wasi_snapshot_preview1";

/// The `env` functions Envoy 1.40 registers for a module exporting
/// `proxy_abi_version_0_2_1`, with their exact types: the Proxy-Wasm imports of the
/// ABI table ([`proxywasm_abi::IMPORTS`]) and the emscripten shims.
pub(crate) fn env_imports() -> Vec<AbiFn> {
    let imports = proxywasm_abi::IMPORTS.iter().map(|f| (f.name, f.signature));
    imports
        .chain(proxywasm_abi::ENV_SHIMS.iter().copied())
        .map(|(name, ty)| AbiFn { name, ty })
        .collect()
}

/// The `wasi_snapshot_preview1` functions the host registers, with their exact types.
pub(crate) fn wasi_imports() -> Vec<AbiFn> {
    let wasi = proxywasm_abi::WASI_IMPORTS.iter();
    wasi.map(|&(name, ty)| AbiFn { name, ty }).collect()
}

/// Every function the host registers, with its module: [`env_imports`] then
/// [`wasi_imports`].
pub(crate) fn all_imports() -> Vec<(&'static str, AbiFn)> {
    let env = env_imports().into_iter().map(|e| (ENV, e));
    env.chain(wasi_imports().into_iter().map(|e| (WASI, e)))
        .collect()
}

/// Exports the host looks up by name, with the type it calls them with.
pub(crate) fn callback_exports() -> Vec<AbiFn> {
    let exports = proxywasm_abi::EXPORTS.iter();
    exports
        .map(|f| AbiFn {
            name: f.name,
            ty: f.signature,
        })
        .collect()
}

/// The ABI marker every plugin exports.
pub(crate) const ABI_MARKER: &str = proxywasm_abi::ABI_MARKERS[2];
/// The allocator export the host calls to hand data to the guest.
pub(crate) const ALLOCATOR: &str = "proxy_on_memory_allocate";

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

fn lookup(table: &[AbiFn], name: &str) -> Option<AbiFn> {
    table.iter().find(|e| e.name == name).copied()
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

/// Checks export `name` (of the ABI table) against its type in the table.
fn expect_export(problems: &mut Vec<String>, name: &str, item: &Item) {
    match lookup(&callback_exports(), name) {
        Some(expected) => expect_sig(problems, &format!("`{name}`"), item, &expected),
        None => problems.push(format!("`{name}` is missing from the ABI table")),
    }
}

/// A check: its name, and what adds the problems it finds.
type Check = (&'static str, fn(&Surface, &mut Vec<String>));

/// Every check, in the order they run and report.
const CHECKS: [Check; 7] = [
    ("abi marker", check_marker),
    ("memory export", check_memory),
    ("allocator", check_allocator),
    ("import modules", check_import_modules),
    ("env imports", check_env_imports),
    ("wasi imports", check_wasi_imports),
    ("callback exports", check_callback_exports),
];

/// Runs every check on a parsed module.
pub(crate) fn check(surface: &Surface) -> Vec<CheckOutcome> {
    CHECKS
        .iter()
        .map(|&(name, check)| {
            let mut problems = Vec::new();
            check(surface, &mut problems);
            CheckOutcome { name, problems }
        })
        .collect()
}

fn check_marker(s: &Surface, problems: &mut Vec<String>) {
    match s.export(ABI_MARKER) {
        Some(e) => expect_export(problems, ABI_MARKER, &e.item),
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
}

fn check_memory(s: &Surface, problems: &mut Vec<String>) {
    match s.export("memory") {
        Some(Export {
            item: Item::Memory, ..
        }) => {}
        Some(e) => problems.push(format!("`memory` is exported as a {}", e.item.kind())),
        None => problems.push("no `memory` export".to_string()),
    }
}

fn check_allocator(s: &Surface, problems: &mut Vec<String>) {
    match s.export(ALLOCATOR) {
        Some(e) => expect_export(problems, ALLOCATOR, &e.item),
        None => problems.push(format!("no `{ALLOCATOR}` export")),
    }
    if s.export("malloc").is_some() {
        problems.push(format!(
            "exports `malloc`: the host would use it instead of `{ALLOCATOR}` (one allocator export only)"
        ));
    }
}

fn check_import_modules(s: &Surface, problems: &mut Vec<String>) {
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
}

fn check_env_imports(s: &Surface, problems: &mut Vec<String>) {
    let env = env_imports();
    for i in s.imports.iter().filter(|i| i.module == ENV) {
        let what = format!("`{ENV}`.`{}`", i.name);
        if let Some(expected) = lookup(&env, &i.name) {
            expect_sig(problems, &what, &i.item, &expected);
        } else if ABI_0_1_0_ONLY.contains(&i.name.as_str()) {
            problems.push(format!(
                "{what} is registered only for ABI 0.1.0: a 0.2.1 module importing it fails to load"
            ));
        } else {
            problems.push(format!(
                "{what} is not a host function Envoy registers for ABI 0.2.1"
            ));
        }
    }
}

fn check_wasi_imports(s: &Surface, problems: &mut Vec<String>) {
    let wasi = wasi_imports();
    for i in s.imports.iter().filter(|i| i.module == WASI) {
        let what = format!("`{WASI}`.`{}`", i.name);
        match lookup(&wasi, &i.name) {
            Some(expected) => expect_sig(problems, &what, &i.item, &expected),
            None => problems.push(format!("{what} is not a WASI function the host provides")),
        }
    }
}

fn check_callback_exports(s: &Surface, problems: &mut Vec<String>) {
    let exports = callback_exports();
    for e in &s.exports {
        let what = format!("export `{}`", e.name);
        if let Some(expected) = lookup(&exports, &e.name) {
            expect_sig(problems, &what, &e.item, &expected);
        } else if (e.name.starts_with("proxy_") && !e.name.starts_with("proxy_abi_version_"))
            || e.name.starts_with("envoy_on_")
        {
            problems.push(format!(
                "{what} is not a callback the host knows: it would never be called"
            ));
        }
    }
}

/// Encodes a minimal plugin module (binary format, by hand) that imports `imports` and
/// exports the ABI marker, `memory`, the allocator and the root-context callbacks. The gate
/// asks Envoy to load it, which checks these tables against the real host's linker.
pub(crate) fn probe_module(imports: &[(&str, AbiFn)]) -> Vec<u8> {
    fn leb(out: &mut Vec<u8>, mut v: u32) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn sleb(out: &mut Vec<u8>, mut v: i32) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
            if done {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn name(out: &mut Vec<u8>, s: &str) {
        leb(out, s.len() as u32);
        out.extend_from_slice(s.as_bytes());
    }
    fn val(t: WasmType) -> u8 {
        match t {
            WasmType::I64 => 0x7e,
            _ => 0x7f,
        }
    }
    fn section(out: &mut Vec<u8>, id: u8, items: &[Vec<u8>]) {
        let mut body = Vec::new();
        leb(&mut body, items.len() as u32);
        for item in items {
            body.extend_from_slice(item);
        }
        out.push(id);
        leb(out, body.len() as u32);
        out.extend_from_slice(&body);
    }
    // Functions the module defines: (export name, type, body returning the given i32).
    let exports = callback_exports();
    let defined: Vec<(&str, AbiFn, Option<i32>)> = [
        (ABI_MARKER, None),
        (ALLOCATOR, Some(1024)),
        ("proxy_on_context_create", None),
        ("proxy_on_vm_start", Some(1)),
        ("proxy_on_configure", Some(1)),
    ]
    .into_iter()
    .filter_map(|(export, result)| Some((export, lookup(&exports, export)?, result)))
    .collect();
    // One type per function: simple, and duplicates are valid.
    let types: Vec<Vec<u8>> = imports
        .iter()
        .map(|(_, e)| e)
        .chain(defined.iter().map(|(_, e, _)| e))
        .map(|e| {
            let mut t = vec![0x60];
            leb(&mut t, e.ty.params.len() as u32);
            t.extend(e.ty.params.iter().map(|&v| val(v)));
            leb(&mut t, e.ty.results.len() as u32);
            t.extend(e.ty.results.iter().map(|&v| val(v)));
            t
        })
        .collect();
    let import_items: Vec<Vec<u8>> = imports
        .iter()
        .enumerate()
        .map(|(i, (module, e))| {
            let mut item = Vec::new();
            name(&mut item, module);
            name(&mut item, e.name);
            item.push(0x00);
            leb(&mut item, i as u32);
            item
        })
        .collect();
    let first = imports.len() as u32;
    let functions: Vec<Vec<u8>> = (0..defined.len() as u32)
        .map(|i| {
            let mut item = Vec::new();
            leb(&mut item, first + i);
            item
        })
        .collect();
    let memories = vec![vec![0x00, 0x01]]; // min 1 page, no max
    let mut exports: Vec<Vec<u8>> = defined
        .iter()
        .enumerate()
        .map(|(i, (export, _, _))| {
            let mut item = Vec::new();
            name(&mut item, export);
            item.push(0x00);
            leb(&mut item, first + i as u32);
            item
        })
        .collect();
    let mut memory_export = Vec::new();
    name(&mut memory_export, "memory");
    memory_export.extend_from_slice(&[0x02, 0x00]);
    exports.push(memory_export);
    let code: Vec<Vec<u8>> = defined
        .iter()
        .map(|(_, _, result)| {
            let mut body = vec![0x00]; // no locals
            if let Some(v) = result {
                body.push(0x41); // i32.const
                sleb(&mut body, *v);
            }
            body.push(0x0b); // end
            let mut item = Vec::new();
            leb(&mut item, body.len() as u32);
            item.extend_from_slice(&body);
            item
        })
        .collect();
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    section(&mut out, 1, &types);
    section(&mut out, 2, &import_items);
    section(&mut out, 3, &functions);
    section(&mut out, 5, &memories);
    section(&mut out, 7, &exports);
    section(&mut out, 10, &code);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn wat_type(types: &[WasmType]) -> String {
        types.iter().map(|t| format!(" {t}")).collect()
    }

    fn import_wat(module: &str, e: &AbiFn) -> String {
        format!(
            "(import \"{module}\" \"{}\" (func (param{}) (result{})))\n",
            e.name,
            wat_type(e.ty.params),
            wat_type(e.ty.results)
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

    /// A module of `memory`, `marker` and a well-typed allocator export.
    fn allocating_module(memory: &str, marker: &str) -> Vec<u8> {
        parse_wat(&format!(
            r#"(module {memory} {marker}
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))"#
        ))
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

    /// `wasm` fails exactly the checks `names`, with a problem that mentions
    /// `needle`.
    fn assert_fails(wasm: &[u8], names: &[&str], needle: &str) {
        let (failed, text) = failures(wasm);
        assert_eq!(failed, names);
        assert!(text.contains(needle), "{text}");
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
        for e in &env_imports() {
            imports.push_str(&import_wat(ENV, e));
        }
        for e in &wasi_imports() {
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
        assert_eq!(s.import_count(ENV), env_imports().len());
        assert_eq!(s.import_count(WASI), wasi_imports().len());
        assert_eq!(failures(&wasm).0, Vec::<&str>::new());
    }

    #[test]
    fn tables_have_no_duplicates_and_no_abi_0_1_0_functions() {
        for table in [env_imports(), wasi_imports(), callback_exports()] {
            let mut names: Vec<&str> = table.iter().map(|e| e.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len());
        }
        let shims = proxywasm_abi::ENV_SHIMS.len();
        assert_eq!(env_imports().len(), proxywasm_abi::IMPORTS.len() + shims);
        for name in ABI_0_1_0_ONLY {
            assert!(lookup(&env_imports(), name).is_none(), "{name}");
        }
    }

    #[test]
    fn spot_checks_of_the_import_table() {
        let sig = |name| lookup(&env_imports(), name).map(|e| e.sig().to_string());
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
        let proc_exit = lookup(&wasi_imports(), "proc_exit").map(|e| e.sig().to_string());
        assert_eq!(proc_exit.as_deref(), Some("(i32) -> ()"));
    }

    #[test]
    fn missing_abi_marker_fails() {
        let wasm = allocating_module(r#"(memory (export "memory") 1)"#, "");
        assert_fails(
            &wasm,
            &["abi marker"],
            "no `proxy_abi_version_0_2_1` export",
        );
    }

    #[test]
    fn second_abi_marker_fails() {
        assert_fails(
            &plugin(r#"(func (export "proxy_abi_version_0_1_0"))"#),
            &["abi marker"],
            "proxy_abi_version_0_1_0",
        );
    }

    #[test]
    fn abi_marker_with_wrong_type_fails() {
        let wasm = allocating_module(
            r#"(memory (export "memory") 1)"#,
            r#"(func (export "proxy_abi_version_0_2_1") (param i32))"#,
        );
        assert_fails(
            &wasm,
            &["abi marker", "callback exports"],
            "has type (i32) -> (), the host expects () -> ()",
        );
    }

    #[test]
    fn missing_memory_export_fails() {
        let wasm = allocating_module(
            r#"(memory 1)"#,
            r#"(func (export "proxy_abi_version_0_2_1"))"#,
        );
        assert_eq!(failures(&wasm).0, ["memory export"]);
    }

    #[test]
    fn imported_memory_fails_twice() {
        let wasm = allocating_module(
            r#"(import "env" "memory" (memory 1))"#,
            r#"(func (export "proxy_abi_version_0_2_1"))"#,
        );
        assert_fails(
            &wasm,
            &["memory export", "import modules", "env imports"],
            "imports a memory `env`.`memory`",
        );
    }

    #[test]
    fn malloc_export_fails() {
        assert_fails(
            &plugin(r#"(func (export "malloc") (param i32) (result i32) i32.const 0)"#),
            &["allocator"],
            "exports `malloc`",
        );
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
        assert_fails(&wasm, &["allocator", "callback exports"], "(i64) -> i32");
    }

    #[test]
    fn abi_0_1_0_import_fails() {
        assert_fails(
            &plugin(
                r#"(import "env" "proxy_get_configuration" (func (param i32 i32) (result i32)))"#,
            ),
            &["env imports"],
            "registered only for ABI 0.1.0",
        );
    }

    #[test]
    fn unknown_env_import_fails() {
        assert_fails(
            &plugin(r#"(import "env" "proxy_does_not_exist" (func (result i32)))"#),
            &["env imports"],
            "`env`.`proxy_does_not_exist` is not a host function",
        );
    }

    #[test]
    fn env_import_with_wrong_type_fails() {
        assert_fails(
            &plugin(
                r#"(import "env" "proxy_set_tick_period_milliseconds" (func (param i64) (result i32)))"#,
            ),
            &["env imports"],
            "`env`.`proxy_set_tick_period_milliseconds` has type (i64) -> i32, the host expects (i32) -> i32",
        );
        // A missing result is a mismatch too.
        let (names, _) = failures(&plugin(
            r#"(import "env" "proxy_continue_stream" (func (param i32)))"#,
        ));
        assert_eq!(names, ["env imports"]);
    }

    #[test]
    fn foreign_import_module_fails() {
        assert_fails(
            &plugin(
                r#"(import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
            ),
            &["import modules"],
            "`wasi_unstable`.`fd_write`",
        );
    }

    #[test]
    fn unknown_or_mistyped_wasi_import_fails() {
        assert_fails(
            &plugin(
                r#"(import "wasi_snapshot_preview1" "thread_spawn" (func (param i32) (result i32)))"#,
            ),
            &["wasi imports"],
            "thread_spawn",
        );
        assert_fails(
            &plugin(
                r#"(import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i32 i32) (result i32)))"#,
            ),
            &["wasi imports"],
            "the host expects (i32, i64, i32) -> i32",
        );
    }

    #[test]
    fn mistyped_or_unknown_callback_fails() {
        assert_fails(
            &plugin(r#"(func (export "proxy_on_tick") (param i32) (result i32) i32.const 0)"#),
            &["callback exports"],
            "export `proxy_on_tick` has type (i32) -> i32",
        );
        assert_fails(
            &plugin(
                r#"(func (export "proxy_on_request_header") (param i32 i32 i32) (result i32) i32.const 0)"#,
            ),
            &["callback exports"],
            "never be called",
        );
        // Other exports are none of the host's business.
        let (names, _) = failures(&plugin(r#"(func (export "my_helper"))"#));
        assert!(names.is_empty());
    }

    #[test]
    fn probe_module_is_a_valid_plugin_with_exactly_the_requested_imports() {
        let all = all_imports();
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

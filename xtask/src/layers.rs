//! The layer check of `cargo xtask test`: each module of the SDK (`src/`) uses
//! only its own layer and the layers below it, so the layers point one way.
//!
//! A file's uses are its `crate::…` paths (`use` items and paths in code,
//! `$crate::…` in macros too); comments and `#[cfg(test)]` modules are left
//! out. A path is resolved by its first segment: a top-level module (`http`),
//! a name the crate root re-exports (`crate::ContextId` is `runtime`'s, read
//! from the `pub use` items of `src/lib.rs`), or a `#[macro_export]` macro
//! (the file that defines it). A name that resolves to nothing is reported
//! too, so the check cannot be dodged by a new re-export.

use std::collections::BTreeMap;
use std::path::Path;

use crate::e2e::{Tally, report};
use crate::error::{self, Context, Result};

/// The layers, bottom first, with the top-level modules of `src/` in each.
/// A module may use its own layer and those listed before it.
pub(crate) const LAYERS: &[(&str, &[&str])] = &[
    ("foundation", &["error", "alloc"]),
    ("abi (raw imports, exports, memory)", &["abi"]),
    (
        "runtime (active context, callout origins, log level, tasks)",
        &["runtime"],
    ),
    (
        "hostcall API by domain",
        &[
            "attribute",
            "buffer",
            "callout",
            "dns",
            "foreign",
            "http",
            "json",
            "logging",
            "map",
            "metrics",
            "plugin",
            "policy",
            "property",
            "protobuf",
            "shared",
            "task",
            "tcp",
            "time",
        ],
    ),
    ("context traits", &["context"]),
    ("dispatcher", &["dispatch"]),
    // The crate root re-exports everything; the emulator drives the plugin;
    // `fuzzing` (feature, not public API) exposes internals to fuzz/.
    ("crate root and emulator", &["lib", "mock", "fuzzing"]),
];

/// Uses that cross upward on purpose, with the reason.
const EXCEPTIONS: &[(&str, &str, &str)] = &[(
    "abi",
    "mock",
    "natively the imports call the emulator: the host side of the ABI, not a layer of the SDK",
)];

/// The layer index of a top-level module.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The top-level module a file belongs to (`src/http.rs` → `http`,
/// `src/dispatch/store.rs` → `dispatch`).
fn module_of(relative: &str) -> &str {
    let first = relative.split('/').next().unwrap_or(relative);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// Where each name the crate root makes visible comes from: the `pub use`
/// items of `lib.rs` (at the root and in `__private`), and the
/// `#[macro_export]` macros of every file. External crates map to
/// `foundation`.
fn root_names(lib_rs: &str, files: &[(String, String)]) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let code = strip(lib_rs);
    for item in code.split("pub use ").skip(1) {
        let item = item.split(';').next().unwrap_or("");
        let item = item.split_whitespace().collect::<Vec<_>>().join(" ");
        let path = item.strip_prefix("crate::").unwrap_or(&item);
        if path.starts_with('{') {
            continue; // `crate::{…}`: root names again (the prelude)
        }
        let first = path.split("::").next().unwrap_or("");
        let module = if layer_of(first).is_some() {
            first
        } else {
            "error" // an external crate (`log`, `proxywasm_macros`): the foundation
        };
        let listed = match path.split_once("::{") {
            Some((_, list)) => list.trim_end_matches('}').to_string(),
            None => path.to_string(),
        };
        for name in listed.split(',') {
            let name = name.rsplit(" as ").next().unwrap_or(name);
            let name = name.rsplit("::").next().unwrap_or(name).trim();
            if !name.is_empty() {
                names.insert(name.to_string(), module.to_string());
            }
        }
    }
    for (relative, text) in files {
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.trim() == "#[macro_export]" {
                let next = lines.next().unwrap_or("");
                if let Some(rest) = next.trim().strip_prefix("macro_rules!") {
                    let name = rest.trim().trim_end_matches('{').trim();
                    names.insert(name.to_string(), module_of(relative).to_string());
                }
            }
        }
    }
    names
}

/// `text` without comments and without its `#[cfg(test)]` modules (tests may
/// use the emulator, which sits above every layer); removed lines are left
/// empty, so line numbers stay those of the file.
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            out.push('\n');
            continue;
        }
        if (trimmed.starts_with("#[cfg(test)]") || trimmed.starts_with("#[cfg(all(test,"))
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            // Skip the module: up to the line that closes it at its indent.
            let indent = line.len() - trimmed.len();
            let close = format!("{}}}", " ".repeat(indent));
            out.push('\n');
            for inner in lines.by_ref() {
                out.push('\n');
                if inner.trim_end() == close {
                    break;
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The first segments of the `crate::` paths in `code`, with their line
/// numbers: `crate::{a::X, b}` gives `a` and `b`, and `crate::__private::X`
/// gives `X` (a name re-exported for macro output).
fn uses(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `mycrate::`, not `crate::`
            }
            let items = match rest.strip_prefix('{') {
                Some(group) => top_level_items(group),
                None => vec![rest],
            };
            for item in items {
                let item = item.trim_start();
                let item = item.strip_prefix("__private::").unwrap_or(item);
                let name: String = item
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push((number + 1, name));
                }
            }
        }
    }
    found
}

/// The comma-separated items of a `{…}` group (given after its `{`), nested
/// groups kept whole.
fn top_level_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start, mut end) = (0usize, 0, group.len());
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                end = i;
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..end]);
    items
}

/// Every use of a higher layer in `files` (paths relative to `src/`, and
/// their text), as one line each.
pub(crate) fn violations(files: &[(String, String)]) -> Vec<String> {
    let lib_rs = files
        .iter()
        .find(|(path, _)| path == "lib.rs")
        .map_or("", |(_, text)| text.as_str());
    let names = root_names(lib_rs, files);
    let mut problems = Vec::new();
    for (relative, text) in files {
        let module = module_of(relative);
        let Some(own) = layer_of(module) else {
            problems.push(format!(
                "src/{relative}: module `{module}` is in no layer (add it to LAYERS in xtask/src/layers.rs)"
            ));
            continue;
        };
        for (line, name) in uses(&strip(text)) {
            let target = if layer_of(&name).is_some() {
                Some(name.as_str())
            } else {
                names.get(&name).map(String::as_str)
            };
            let target = match target {
                Some(target) => target,
                None => {
                    problems.push(format!(
                        "src/{relative}:{line}: `crate::{name}` resolves to no module"
                    ));
                    continue;
                }
            };
            let Some(used) = layer_of(target) else {
                continue;
            };
            let excepted = EXCEPTIONS
                .iter()
                .any(|(from, to, _)| *from == module && *to == target);
            if used > own && !excepted {
                problems.push(format!(
                    "src/{relative}:{line}: `crate::{name}` is in `{target}` (layer {}), above `{module}` (layer {})",
                    LAYERS[used].0, LAYERS[own].0
                ));
            }
        }
    }
    problems
}

/// Reads every `.rs` file under `dir`, with paths relative to it.
fn read_tree(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) -> Result<()> {
    let entries = std::fs::read_dir(dir).context(format!("reading {}", dir.display()))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            read_tree(&path, &format!("{prefix}{name}/"), out)?;
        } else if name.ends_with(".rs") {
            let text =
                std::fs::read_to_string(&path).context(format!("reading {}", path.display()))?;
            out.push((format!("{prefix}{name}"), text));
        }
    }
    Ok(())
}

/// The gate step: one check, failing with every violation listed.
pub(crate) fn step(root: &Path) -> Tally {
    let mut files = Vec::new();
    let outcome = read_tree(&root.join("src"), "", &mut files).and_then(|()| {
        let problems = violations(&files);
        error::none_of(&problems, "uses of a higher layer")?;
        println!(
            "layers, bottom first: {}",
            LAYERS
                .iter()
                .map(|(name, modules)| format!("{name} ({})", modules.join(", ")))
                .collect::<Vec<_>>()
                .join(" → ")
        );
        Ok(())
    });
    report(
        "layers",
        &format!(
            "{} files of src/ use only their layer and those below",
            files.len()
        ),
        &outcome,
    );
    let mut tally = Tally::default();
    tally.add(outcome.is_ok());
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> Vec<(String, String)> {
        files
            .iter()
            .map(|(p, t)| ((*p).to_string(), (*t).to_string()))
            .collect()
    }

    const LIB: &str = "mod abi;\npub use runtime::ContextId;\npub use shared::QueueId;\npub use log;\npub mod __private {\n    pub use crate::dispatch::{BoxedDispatcher, Dispatcher};\n}\n";

    #[test]
    fn downward_and_same_layer_uses_pass() {
        let files = tree(&[
            ("lib.rs", LIB),
            (
                "plugin.rs",
                "use crate::abi::calls;\nuse crate::{ContextId, runtime::{self, Cell}};\nuse crate::error::check;\nuse crate::{QueueId, buffer::Buffer};\nfn f() { crate::log::info!(\"x\") }\n",
            ),
            (
                "dispatch/mod.rs",
                "use crate::context::{HttpContext, PluginContext};\n",
            ),
            ("mock/host.rs", "use crate::__private::Dispatcher;\n"),
        ]);
        assert_eq!(violations(&files), Vec::<String>::new());
    }

    #[test]
    fn an_upward_use_is_reported_with_its_place() {
        let files = tree(&[
            ("lib.rs", LIB),
            (
                "callout.rs",
                "// crate::dispatch in a comment is fine\nuse crate::dispatch::{self, CalloutKind};\n",
            ),
            (
                "abi/exports.rs",
                "fn f() { $crate::__private::BoxedDispatcher::vm(g) }\n",
            ),
            ("runtime.rs", "use crate::{abi::calls, http};\n"),
        ]);
        assert_eq!(
            violations(&files),
            vec![
                "src/callout.rs:2: `crate::dispatch` is in `dispatch` (layer dispatcher), above `callout` (layer hostcall API by domain)",
                "src/abi/exports.rs:1: `crate::BoxedDispatcher` is in `dispatch` (layer dispatcher), above `abi` (layer abi (raw imports, exports, memory))",
                "src/runtime.rs:1: `crate::http` is in `http` (layer hostcall API by domain), above `runtime` (layer runtime (active context, callout origins, log level, tasks))",
            ]
        );
    }

    #[test]
    fn tests_unknown_names_and_unlisted_modules() {
        let files = tree(&[
            ("lib.rs", LIB),
            (
                "abi/wire.rs",
                "fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::mock::MockHost;\n}\n#[cfg(all(test, feature = \"mock-host\"))]\nmod more {\n    use crate::mock::MockHost;\n}\nfn g() { crate::Nowhere::x() }\n",
            ),
            ("extra.rs", "fn f() {}\n"),
        ]);
        assert_eq!(
            violations(&files),
            vec![
                "src/abi/wire.rs:10: `crate::Nowhere` resolves to no module",
                "src/extra.rs: module `extra` is in no layer (add it to LAYERS in xtask/src/layers.rs)",
            ]
        );
    }
}

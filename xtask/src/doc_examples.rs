//! The gate's "doc examples" step: every documented public item of the publishable crates
//! carries a code example (the standard: "every public item has docs with an example that
//! runs"; `cargo test --doc` and Miri run them).
//!
//! `missing_docs` is a stable lint, but "has an example" is only rustdoc's unstable
//! `missing_doc_code_examples`, so this step runs rustdoc from the nightly toolchain that the
//! Miri step installs, with the lint as a warning, and fails on each item it names outside
//! [`EXEMPT`].

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::cmd;
use crate::e2e::{Tally, report};
use crate::error::{self, Result, bail};

/// The crates checked, each with all its features (the widest public surface).
/// `proxywasm-macros` is not among them: a proc-macro crate cannot depend on `proxywasm`,
/// so its two attributes are documented, with runnable examples, where `proxywasm`
/// re-exports them.
const CRATES: &[&str] = &["proxywasm", "proxywasm-abi", "proxywasm-wasmtime"];

/// Files whose items may go without an example of their own, and why.
const EXEMPT: &[(&str, &str)] = &[(
    "src/mock/engine/hostcalls.rs",
    "the front-door trait (its own example implements every method) and the entry points \
     generated from the ABI table (both front doors' test suites call each one)",
)];

/// What rustdoc prints above the location of an item without an example.
const MISSING: &str = "missing code example in this documentation";

/// The gate step: one check per crate.
pub(crate) fn step(root: &Path) -> Tally {
    let mut tally = Tally::default();
    for package in CRATES {
        let outcome = check(root, package);
        report("doc examples", package, &outcome);
        tally.add(outcome.is_ok());
    }
    tally
}

/// Runs nightly rustdoc on `package` with the lint on; an error naming each item it
/// reports outside [`EXEMPT`].
fn check(root: &Path, package: &str) -> Result<()> {
    let mut command = Command::new("rustup");
    command.current_dir(root).args([
        "run",
        "nightly",
        "cargo",
        "rustdoc",
        "-p",
        package,
        "--lib",
        "--all-features",
        "--",
        "-Z",
        "unstable-options",
        "-Z",
        "crate-attr=feature(rustdoc_missing_doc_code_examples)",
        "-W",
        "rustdoc::missing-doc-code-examples",
    ]);
    let output = cmd::output_bounded(&mut command, Duration::from_secs(900))?;
    if !output.status.success() {
        bail!(
            "nightly rustdoc of {package} failed ({}):\n{}",
            output.status,
            output.stderr
        );
    }
    if output.stderr.contains("unknown lint") {
        bail!(
            "nightly rustdoc no longer knows the lint this step relies on:\n{}",
            output.stderr
        );
    }
    error::none_of(
        &without_examples(&output.stderr),
        "documented item(s) without a code example (add one, or exempt the file in xtask/src/doc_examples.rs with a reason)",
    )
}

/// The `path:line` of each item rustdoc reports without an example, outside [`EXEMPT`].
fn without_examples(stderr: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut lines = stderr.lines();
    while let Some(line) = lines.next() {
        if !line.contains(MISSING) {
            continue;
        }
        let Some(place) = lines.find_map(|l| l.trim_start().strip_prefix("--> ")) else {
            break;
        };
        let place = place
            .trim()
            .rsplit_once(':')
            .map_or(place, |(at, _column)| at);
        if !EXEMPT.iter().any(|(file, _)| place.starts_with(file)) {
            found.push(place.to_string());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_without_examples_are_named_by_file_and_line_unless_their_file_is_exempt() {
        let stderr = "\
warning: missing code example in this documentation
   --> src/task.rs:111:1
    |
111 | /// The future of [`sleep`].
warning: missing code example in this documentation
  --> src/mock/engine/hostcalls.rs:76:5
   |
warning: unused variable: `x`
  --> src/lib.rs:3:9
warning: missing code example in this documentation
    --> src/callout.rs:1004:1
";
        assert_eq!(
            without_examples(stderr),
            ["src/task.rs:111", "src/callout.rs:1004"]
        );
        assert!(without_examples("warning: `proxywasm` (lib doc) generated 0 warnings").is_empty());
    }
}

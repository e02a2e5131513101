//! `cargo xtask test`: the whole gate, step by step.
//!
//! Steps, in order (see [`steps`]): ensure the `wasm32-wasip1` target; `cargo fmt
//! --check`; the layer check of `src/` ([`crate::layers`]); clippy on the workspace (native) and on the SDK and examples for
//! `wasm32-wasip1`; `cargo test --workspace --all-features` (which includes the engine
//! host's tests of every example's `.wasm` and the dual-run tests); `cargo test` in
//! `tests/outside-plugin`, a plugin crate outside the workspace that dual-runs its test
//! through the engine crate as a user's crate would ([`outside_plugin_step`]); the Miri run of the
//! proxywasm suite on the mock host (`rustup run nightly cargo miri test`, after adding the
//! `miri` component); `cargo doc` of every publishable crate with default, no and all
//! features, warnings denied; a check with nightly rustdoc that every documented public item
//! has a code example ([`crate::doc_examples`]); a check that no tracked file cites notes kept outside the
//! repository (the book's reference pages hold the facts); the release build of every plugin crate (cdylib only, so LTO
//! applies); the ABI-surface check of each example's `.wasm` ([`crate::abi_surface`]); a
//! cross-check of the ABI tables against Envoy's own linker (`envoy --mode validate`
//! links the wasm module of a bootstrap, so a module importing every table entry must
//! load, and one with a mistyped import must not); the Envoy e2e checks; the starter
//! round-trip (`cargo xtask new` of each kind in a temporary directory, its tests, the HTTP
//! one in Envoy: [`crate::new`]); a bounded run of every fuzz target ([`crate::fuzz`]).
//!
//! Every step runs even when an earlier one failed, except that a step whose `needs`
//! names a failed step is reported as failed without running. Each step adds to a
//! tally: a command step counts 1; a cargo-test step counts the tests of its
//! `test result:` lines; the ABI and e2e steps count one per check. The run ends with
//! the line `N passed, N failed` and a non-zero exit when anything failed.
//!
//! To add a step, add one line to [`steps`].

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use crate::abi_surface::{self, AbiFn, ENV, Surface};
use crate::cmd;
use crate::e2e::{self, Tally, report};
use crate::envoy;
use crate::error::{self, Context, Error, Result, bail};
use crate::example::{self, Example};

/// What a step does.
#[derive(Clone, Copy)]
enum Kind {
    /// A command that passes when it exits 0 (`cargo` means the running cargo).
    Command(&'static [&'static str]),
    /// A `cargo test`-like command: counts the tests in its `test result:` lines.
    CargoTest(&'static [&'static str]),
    /// Rust code that reports its own checks.
    Task(fn(&Path) -> Tally),
}

#[derive(Clone, Copy)]
struct Step {
    name: &'static str,
    kind: Kind,
    /// Steps that must have passed for this one to make sense.
    needs: &'static [&'static str],
}

const fn command(name: &'static str, argv: &'static [&'static str]) -> Step {
    Step {
        name,
        kind: Kind::Command(argv),
        needs: &[],
    }
}

const fn cargo_test(name: &'static str, argv: &'static [&'static str]) -> Step {
    Step {
        name,
        kind: Kind::CargoTest(argv),
        needs: &[],
    }
}

const fn task(name: &'static str, run: fn(&Path) -> Tally, needs: &'static [&'static str]) -> Step {
    Step {
        name,
        kind: Kind::Task(run),
        needs,
    }
}

const BUILD: &str = "build examples";

/// The gate, in order.
fn steps() -> Vec<Step> {
    vec![
        command(
            "wasm32-wasip1 target",
            &["rustup", "target", "add", "wasm32-wasip1"],
        ),
        command("rustfmt", &["cargo", "fmt", "--all", "--", "--check"]),
        task("layers", crate::layers::step, &[]),
        command(
            "clippy (native)",
            &[
                "cargo",
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
        ),
        task("clippy (wasm32-wasip1)", wasm_clippy_step, &[]),
        cargo_test(
            "tests",
            &[
                "cargo",
                "test",
                "--workspace",
                "--all-features",
                "--no-fail-fast",
            ],
        ),
        task("outside-plugin tests", outside_plugin_step, &[]),
        command(
            "miri component (nightly)",
            &[
                "rustup",
                "component",
                "add",
                "miri",
                "rust-src",
                "--toolchain",
                "nightly",
            ],
        ),
        // The whole proxywasm suite under Miri: unit, integration (the mock
        // host drives the real exports and allocation hand-off) and doc tests.
        // 10 to 13 minutes from a clean clone on 2 cores (the build, about
        // 5; the doc tests, about 3; the unit tests, about 2.5): the
        // gate's longest step. Running the doc tests natively only is the
        // next lever if the gate nears its 45 minutes.
        cargo_test(
            "miri (proxywasm, mock host)",
            &[
                "rustup",
                "run",
                "nightly",
                "cargo",
                "miri",
                "test",
                "-p",
                "proxywasm",
                "--features",
                "mock-host,json",
                "--no-fail-fast",
            ],
        ),
        task("docs", docs_step, &[]),
        task(
            "doc examples (nightly rustdoc)",
            crate::doc_examples::step,
            &["miri component (nightly)"],
        ),
        task("references in the repository", references_step, &[]),
        task(BUILD, build_step, &[]),
        task("ABI surface", abi_step, &[BUILD]),
        task("ABI tables vs Envoy", abi_tables_vs_envoy, &[]),
        task("Envoy e2e", e2e_step, &[BUILD]),
        task("OCI images", crate::package::gate_step, &[BUILD]),
        task("remote fetch", remote_fetch_step, &[BUILD]),
        task("soak (10,000 requests)", crate::soak::gate_step, &[BUILD]),
        task("audit", crate::audit::run, &[]),
        task("cargo package", crate::hygiene::package_step, &[]),
        task("MSRV", crate::hygiene::msrv_step, &[]),
        task("starter (cargo xtask new)", crate::new::step, &[]),
        task("fuzz (every target, bounded)", crate::fuzz::step, &[]),
    ]
}

/// `cargo xtask remote-fetch` on the module of the build step.
fn remote_fetch_step(root: &Path) -> Tally {
    crate::remote::run(root, false)
}

fn to_command(root: &Path, argv: &[&str]) -> Command {
    let program = match argv.first() {
        Some(&"cargo") => cmd::cargo(),
        Some(p) => (*p).to_string(),
        None => String::new(),
    };
    let mut c = Command::new(program);
    c.args(argv.iter().skip(1)).current_dir(root);
    c
}

/// Sums `X passed; Y failed` over the `test result:` lines of cargo test output.
pub(crate) fn count_test_results(output: &str) -> Tally {
    let mut tally = Tally::default();
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(number)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => tally.passed += n,
                "failed" => tally.failed += n,
                _ => {}
            }
        }
    }
    tally
}

/// Runs the named steps of the gate alone (`cargo xtask test --step NAME`), in gate
/// order; their `needs` are not run first.
pub(crate) fn run_only(root: &Path, names: &[String]) -> Result<Tally> {
    let all = steps();
    for name in names {
        if !all.iter().any(|s| s.name == name) {
            let known: Vec<&str> = all.iter().map(|s| s.name).collect();
            bail!("no gate step `{name}` (steps: {})", known.join(", "));
        }
    }
    Ok(run_steps(
        root,
        all.into_iter()
            .filter(|s| names.iter().any(|n| n == s.name))
            .collect(),
    ))
}

/// Runs the gate; returns the total tally.
pub(crate) fn run(root: &Path) -> Tally {
    run_steps(root, steps())
}

fn run_steps(root: &Path, steps: Vec<Step>) -> Tally {
    if let Err(e) = e2e::check_target_dir(root) {
        println!("warning: {e}");
    }
    let mut total = Tally::default();
    let mut summary: Vec<SummaryRow> = Vec::new();
    let mut failed_steps: Vec<&str> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let started = Instant::now();
        let blocked: Vec<&str> = step
            .needs
            .iter()
            .copied()
            .filter(|n| failed_steps.contains(n))
            .collect();
        let label = match step.kind {
            Kind::Command(argv) | Kind::CargoTest(argv) => {
                format!("{}: {}", step.name, cmd::display(&to_command(root, argv)))
            }
            Kind::Task(_) => step.name.to_string(),
        };
        cmd::step(format!("[{}/{}] {label}", i + 1, steps.len()));
        let tally = if !blocked.is_empty() {
            println!("skipped: needs {}, which failed", blocked.join(", "));
            Tally {
                passed: 0,
                failed: 1,
            }
        } else {
            match step.kind {
                Kind::Command(argv) => {
                    let outcome = cmd::run(&mut to_command(root, argv));
                    if let Err(e) = &outcome {
                        println!("{e}");
                    }
                    let mut t = Tally::default();
                    t.add(outcome.is_ok());
                    t
                }
                Kind::CargoTest(argv) => run_cargo_test(&mut to_command(root, argv)),
                Kind::Task(run) => run(root),
            }
        };
        let secs = started.elapsed().as_secs_f64();
        let verdict = if tally.failed == 0 { "ok" } else { "FAILED" };
        println!(
            "--- {}: {verdict} ({} passed, {} failed, {secs:.1} s)",
            step.name, tally.passed, tally.failed
        );
        if tally.failed > 0 {
            failed_steps.push(step.name);
        }
        total.merge(tally);
        summary.push((step.name, tally, secs, take_details()));
    }
    println!();
    println!("gate summary:");
    for (name, t, secs, details) in &summary {
        let verdict = if t.failed == 0 { "ok" } else { "FAILED" };
        println!(
            "  {verdict:<7} {name:<24} {:>5} passed {:>4} failed {secs:>7.1} s",
            t.passed, t.failed
        );
        for (detail, t) in details {
            let verdict = if t.failed == 0 { "ok" } else { "FAILED" };
            println!(
                "    {verdict:<7} {detail:<22} {:>5} passed {:>4} failed",
                t.passed, t.failed
            );
        }
    }
    total
}

pub(crate) fn run_cargo_test(command: &mut Command) -> Tally {
    match cmd::run_tee_stdout(command) {
        Ok((status, stdout)) => {
            let mut tally = count_test_results(&stdout);
            if !status.success() && tally.failed == 0 {
                // E.g. a compile error: no test ran, but the step failed.
                println!(
                    "`{}` failed ({status}) before reporting a failed test",
                    cmd::display(command)
                );
                tally.failed = 1;
            }
            if status.success() && tally.passed == 0 {
                println!("`{}` ran no test", cmd::display(command));
                tally.failed += 1;
            }
            tally
        }
        Err(e) => {
            println!("{e}");
            Tally {
                passed: 0,
                failed: 1,
            }
        }
    }
}

/// `cargo doc` of every publishable crate with its default features, with none and
/// with all, warnings denied (docs.rs builds with all features; a user may build
/// with any set). proxywasm is documented on its own: built beside the engine
/// crate, it would get that crate's `mock-host` feature in every run.
fn docs_step(root: &Path) -> Tally {
    let mut tally = Tally::default();
    let crates: [&[&str]; 2] = [&["proxywasm"], &["proxywasm-macros", "proxywasm-wasmtime"]];
    for packages in crates {
        for features in [None, Some("--no-default-features"), Some("--all-features")] {
            let mut command = Command::new(cmd::cargo());
            command
                .current_dir(root)
                .env("RUSTDOCFLAGS", "-D warnings")
                .args(["doc", "--no-deps"]);
            for package in packages {
                command.args(["-p", package]);
            }
            command.args(features);
            let outcome = cmd::run(&mut command);
            let check = format!(
                "{}, {}",
                packages.join(" "),
                features.unwrap_or("default features")
            );
            report("docs", &check, &outcome);
            tally.add(outcome.is_ok());
        }
    }
    tally
}

/// Notes kept outside the repository (the ABI notes the project started from and their
/// companions), each spelt in two pieces so that this file does not mention it. The facts
/// the code relies on are the book's reference pages (book/src/reference/); no tracked
/// file may cite these notes instead.
const OUTSIDE_NOTES: &[&str] = &[
    concat!("abi", ".md"),
    concat!("official-rust-sdk", ".md"),
    concat!("peers-and-testing", ".md"),
    concat!("style-models", ".md"),
];

/// Two checks over the files tracked by git: none mentions [`OUTSIDE_NOTES`], and every
/// citation `book: <page>.md#<section>` names a page of book/src/ and a heading on it.
fn references_step(root: &Path) -> Tally {
    let mut tally = Tally::default();
    let files = match tracked_files(root) {
        Ok(files) => files,
        Err(e) => {
            report("references", "git lists the tracked files", &Err(e));
            tally.add(false);
            return tally;
        }
    };
    let outside: Vec<String> = files
        .iter()
        .flat_map(|(name, bytes)| {
            OUTSIDE_NOTES
                .iter()
                .filter(|note| contains_ignoring_case(bytes, note.as_bytes()))
                .map(move |note| format!("{name}: {note}"))
        })
        .collect();
    let outcome = error::none_of(
        &outside,
        "mention(s); cite the book's reference pages instead",
    );
    report(
        "references",
        "no tracked file cites notes kept outside the repository",
        &outcome,
    );
    tally.add(outcome.is_ok());

    let broken = broken_book_citations(&files);
    let outcome = error::none_of(&broken, "broken citation(s)");
    report(
        "references",
        "every `book: <page>.md#<section>` citation names a page and heading of book/src",
        &outcome,
    );
    tally.add(outcome.is_ok());
    tally
}

/// The files tracked by git under `root`, with their bytes (a tracked file deleted in
/// the work tree is left out).
fn tracked_files(root: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .context("running `git ls-files`")?;
    if !out.status.success() {
        bail!(
            "`git ls-files` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|name| {
            let name = String::from_utf8_lossy(name).into_owned();
            let bytes = std::fs::read(root.join(&name)).ok()?;
            Some((name, bytes))
        })
        .collect())
}

fn contains_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Every `book: <page>.md[#<section>]` in `files` whose page is not a tracked file under
/// book/src/, or whose section is not the id of a heading on that page, as
/// `<file>: <citation>`.
fn broken_book_citations(files: &[(String, Vec<u8>)]) -> Vec<String> {
    let pages: Vec<(&str, Vec<String>)> = files
        .iter()
        .filter_map(|(name, bytes)| {
            let page = name.strip_prefix("book/src/")?;
            page.ends_with(".md")
                .then(|| (page, heading_ids(&String::from_utf8_lossy(bytes))))
        })
        .collect();
    let mut broken = Vec::new();
    for (name, bytes) in files {
        let text = String::from_utf8_lossy(bytes);
        for (page, section) in book_citations(&text) {
            let ok = pages
                .iter()
                .any(|(p, ids)| *p == page && section.is_none_or(|s| ids.iter().any(|id| id == s)));
            if !ok {
                let section = section.map(|s| format!("#{s}")).unwrap_or_default();
                broken.push(format!("{name}: book: {page}{section}"));
            }
        }
    }
    broken
}

/// The `(page, section)` of each `book: <page>.md[#<section>]` in `text`. Other uses of
/// `book:` (no `.md` path after it) are not citations of a page.
fn book_citations(text: &str) -> Vec<(&str, Option<&str>)> {
    let path_char = |c: char| c.is_ascii_alphanumeric() || "._/-".contains(c);
    let id_char = |c: char| c.is_ascii_alphanumeric() || "_-".contains(c);
    let mut found = Vec::new();
    for (at, _) in text.match_indices("book: ") {
        let rest = &text[at + "book: ".len()..];
        let path = &rest[..rest.find(|c| !path_char(c)).unwrap_or(rest.len())];
        let page = path.trim_end_matches('.');
        if !page.ends_with(".md") {
            continue;
        }
        let section = rest[page.len()..].strip_prefix('#').map(|s| {
            let end = s.find(|c| !id_char(c)).unwrap_or(s.len());
            s[..end].trim_end_matches(['-', '_'])
        });
        found.push((page, section));
    }
    found
}

/// The ids mdBook gives the headings of a page: the heading's text lower-cased, spaces
/// as `-`, other punctuation dropped, `-1`, `-2`, … added to repeats. Lines inside
/// fenced code blocks are not headings.
fn heading_ids(markdown: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        let Some(title) = line.strip_prefix('#') else {
            continue;
        };
        let title = title.trim_start_matches('#');
        if in_fence || !title.starts_with(' ') {
            continue;
        }
        let base: String = title
            .trim()
            .chars()
            .filter_map(|c| match c {
                c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c.to_ascii_lowercase()),
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .collect();
        let repeats = ids
            .iter()
            .filter(|id| **id == base || id.strip_prefix(&base).is_some_and(is_repeat_suffix))
            .count();
        ids.push(if repeats == 0 {
            base
        } else {
            format!("{base}-{repeats}")
        });
    }
    ids
}

/// `-N` with N a number: mdBook's suffix for a repeated heading id.
fn is_repeat_suffix(s: &str) -> bool {
    s.strip_prefix('-')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `cargo test` in `tests/outside-plugin`: a plugin crate with its own workspace that
/// depends on `proxywasm` and `proxywasm-wasmtime` by path, as a crate outside this
/// repository does, and dual-runs its test (natively, then on its own release `.wasm`,
/// which `proxywasm_wasmtime` builds). It builds into this workspace's target directory,
/// so the wasmtime build of the `tests` step is reused, not compiled again.
fn outside_plugin_step(root: &Path) -> Tally {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    let mut command = Command::new(cmd::cargo());
    command
        .args(["test", "--no-fail-fast"])
        .current_dir(root.join("tests").join("outside-plugin"))
        .env("CARGO_TARGET_DIR", &target);
    println!(
        "    in tests/outside-plugin, CARGO_TARGET_DIR={}: {}",
        target.display(),
        cmd::display(&command)
    );
    run_cargo_test(&mut command)
}

/// The release `.wasm` of every example, and of the hygiene crate (the entry
/// macro's wasm expansion under `#![no_implicit_prelude]` and
/// `#![forbid(unsafe_code)]`).
/// The crates that only ever run as a `.wasm` in the gate besides the examples: the
/// SDK itself and the test plugins that are not examples.
const WASM_TEST_PLUGINS: &[&str] = &[
    "proxywasm",
    "proxywasm-hygiene",
    "proxywasm-shared-state",
    "proxywasm-metrics-tags",
    "proxywasm-fidelity",
    "proxywasm-continuations",
    "proxywasm-foreign-functions",
];

/// Clippy for `wasm32-wasip1` over the SDK, the test plugins and every example (they are
/// discovered, so a new example is linted without touching this list).
fn wasm_clippy_step(root: &Path) -> Tally {
    let mut tally = Tally::default();
    let examples = examples_or_report("clippy (wasm32-wasip1)", &mut tally);
    let mut command = Command::new(cmd::cargo());
    command
        .current_dir(root)
        .args(["clippy", "--target", "wasm32-wasip1"]);
    let packages = WASM_TEST_PLUGINS
        .iter()
        .copied()
        .chain(examples.iter().flat_map(Example::packages));
    for package in packages {
        command.args(["-p", package]);
    }
    command.args(["--lib", "--", "-D", "warnings"]);
    let outcome = cmd::run(&mut command);
    report("clippy (wasm32-wasip1)", "every plugin crate", &outcome);
    tally.add(outcome.is_ok());
    tally
}

fn build_step(root: &Path) -> Tally {
    let mut tally = Tally::default();
    let mut names: Vec<&str> = examples_or_report("build", &mut tally)
        .iter()
        .flat_map(Example::packages)
        .collect();
    names.push("proxywasm-hygiene");
    for name in names {
        let result = e2e::build_examples(root, &[name]);
        report("build", name, &result);
        tally.add(result.is_ok());
    }
    tally
}

/// Every example, or none with the reason reported as a failure of `step`.
fn examples_or_report(step: &str, tally: &mut Tally) -> &'static [Example] {
    example::all().unwrap_or_else(|e| {
        report(step, "the examples' e2e.toml load", &Err(e));
        tally.add(false);
        &[]
    })
}

fn abi_step(root: &Path) -> Tally {
    let mut tally = Tally::default();
    for example in examples_or_report("abi", &mut tally) {
        let prefix = format!("abi {}", example.name);
        let wasm_path = example.wasm_path(root);
        let surface = std::fs::read(&wasm_path)
            .context(format!("reading {}", envoy::relative(root, &wasm_path)))
            .and_then(|bytes| Surface::parse(&bytes).map_err(Error::from));
        let surface = match surface {
            Ok(s) => s,
            Err(e) => {
                report(&prefix, "module parses", &Err(e));
                tally.add(false);
                continue;
            }
        };
        println!(
            "{prefix}: {}: {}",
            envoy::relative(root, &wasm_path),
            surface.summary()
        );
        for outcome in abi_surface::check(&surface) {
            let result = if outcome.passed() {
                Ok(())
            } else {
                Err(Error::msg(outcome.problems.join("\n")))
            };
            report(&prefix, outcome.name, &result);
            tally.add(outcome.passed());
        }
    }
    tally
}

/// Asks Envoy (`--mode validate`, which links the module) to load a module importing
/// every function of our tables, and, as a control, one with a mistyped import.
fn abi_tables_vs_envoy(root: &Path) -> Tally {
    let mut tally = Tally::default();
    let prefix = "abi tables";
    let envoy = match envoy::ensure_installed(root) {
        Ok(e) => e,
        Err(e) => {
            report(prefix, "Envoy is available", &Err(e));
            tally.add(false);
            return tally;
        }
    };
    let all = abi_surface::all_imports();
    let outcome = validate_probe(root, &envoy, "all", &all);
    report(
        prefix,
        &format!(
            "Envoy links every import of the tables ({} functions)",
            all.len()
        ),
        &outcome,
    );
    tally.add(outcome.is_ok());

    // Modules Envoy must refuse, each with the reason the book gives (book:
    // reference/lifecycle.md#linking): the first is the control without which the
    // check above proves nothing.
    let refused = match refused_modules() {
        Ok(refused) => refused,
        Err(e) => {
            report(prefix, "the refused modules are built", &Err(e));
            tally.add(false);
            return tally;
        }
    };
    for refused in refused {
        let outcome = expect_refused(root, &envoy, &refused);
        report(prefix, refused.check, &outcome);
        tally.add(outcome.is_ok());
    }
    tally
}

/// A module Envoy must refuse to load: `imports` under the ABI marker `marker`, and
/// words every one of which Envoy's error says.
struct Refused {
    check: &'static str,
    tag: &'static str,
    marker: &'static str,
    imports: Vec<(&'static str, AbiFn)>,
    says: &'static [&'static str],
}

/// The modules Envoy must refuse; an error if one names an import the tables do not have
/// (a typo here would otherwise fail as a confusing type mismatch in Envoy).
fn refused_modules() -> Result<Vec<Refused>> {
    let import = |name: &'static str| -> Result<AbiFn> {
        abi_surface::all_imports()
            .into_iter()
            .find(|(_, f)| f.name == name)
            .map(|(_, f)| f)
            .ok_or_else(|| Error::msg(format!("{name} is in none of the ABI tables")))
    };
    let mut mistyped = import("proxy_log")?;
    mistyped.ty.results = &[];
    let mut unknown = import("proxy_log")?;
    unknown.name = "proxy_no_such_hostcall";
    let continue_request = AbiFn {
        name: "proxy_continue_request",
        ty: proxywasm_abi::Signature {
            params: &[],
            results: &[proxywasm_abi::WasmType::I32],
        },
    };
    Ok(vec![
        Refused {
            check: "Envoy rejects a mistyped import (proxy_log without its result; control)",
            tag: "control",
            marker: abi_surface::ABI_MARKER,
            imports: vec![(ENV, mistyped)],
            says: &["import type mismatch: env.proxy_log"],
        },
        Refused {
            check: "Envoy rejects an import it does not provide",
            tag: "unknown-import",
            marker: abi_surface::ABI_MARKER,
            imports: vec![(ENV, unknown)],
            says: &["missing import: env.proxy_no_such_hostcall"],
        },
        Refused {
            check: "a 0.2.1 module cannot import the 0.1.0-only proxy_continue_request",
            tag: "old-import",
            marker: abi_surface::ABI_MARKER,
            imports: vec![(ENV, continue_request)],
            says: &["missing import: env.proxy_continue_request"],
        },
        Refused {
            check: "a 0.2.0 module cannot import proxy_get_log_level (0.2.1 only)",
            tag: "newer-import",
            marker: "proxy_abi_version_0_2_0",
            imports: vec![(ENV, import("proxy_get_log_level")?)],
            says: &["missing import: env.proxy_get_log_level"],
        },
        Refused {
            check: "an unknown ABI marker fails the load with `Missing or unknown Proxy-Wasm ABI version`",
            tag: "unknown-marker",
            marker: "proxy_abi_version_0_x_x",
            imports: Vec::new(),
            says: &["Missing or unknown Proxy-Wasm ABI version"],
        },
    ])
}

/// Asks Envoy to load `refused`'s module; an error unless it refuses it and says each of
/// `refused.says`.
fn expect_refused(root: &Path, envoy: &envoy::Envoy, refused: &Refused) -> Result<()> {
    let module = refused_module(refused)?;
    match validate_module(root, envoy, refused.tag, &module) {
        Ok(()) => bail!("Envoy accepted the module: validate mode does not link wasm"),
        Err(e) => {
            let text = e.to_string();
            let missing: Vec<&&str> = refused
                .says
                .iter()
                .filter(|w| !text.contains(**w))
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                bail!("refused, but without {missing:?}: {text}")
            }
        }
    }
}

/// `refused`'s module: the probe module of its imports, with its ABI marker.
fn refused_module(refused: &Refused) -> Result<Vec<u8>> {
    let mut module = abi_surface::probe_module(&refused.imports);
    // The marker is renamed in place: every marker has the same length.
    let marker = abi_surface::ABI_MARKER.as_bytes();
    if refused.marker.len() != marker.len() {
        bail!(
            "marker {} is not {} bytes long",
            refused.marker,
            marker.len()
        );
    }
    let Some(at) = module.windows(marker.len()).position(|w| w == marker) else {
        bail!(
            "the probe module has no {} export to rename",
            abi_surface::ABI_MARKER
        );
    };
    module[at..at + marker.len()].copy_from_slice(refused.marker.as_bytes());
    Ok(module)
}

fn validate_probe(
    root: &Path,
    envoy: &envoy::Envoy,
    tag: &str,
    imports: &[(&str, AbiFn)],
) -> Result<()> {
    validate_module(root, envoy, tag, &abi_surface::probe_module(imports))
}

/// Runs `envoy --mode validate` on a bootstrap that loads `module`.
fn validate_module(root: &Path, envoy: &envoy::Envoy, tag: &str, module: &[u8]) -> Result<()> {
    let dir = root.join("target").join("e2e").join("abi-probe");
    std::fs::create_dir_all(&dir).context(format!("creating {}", dir.display()))?;
    let wasm = dir.join(format!("{tag}.wasm"));
    std::fs::write(&wasm, module).context(format!("writing {}", wasm.display()))?;
    let config = dir.join(format!("{tag}.yaml"));
    std::fs::write(&config, probe_bootstrap(&wasm))
        .context(format!("writing {}", config.display()))?;
    let out = cmd::output_bounded(
        Command::new(&envoy.path)
            .args([
                "--mode",
                "validate",
                "--disable-hot-restart",
                "--log-level",
                "warn",
                "-c",
            ])
            .arg(&config)
            .current_dir(root),
        std::time::Duration::from_secs(60),
    )?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!("{}{}", out.stdout, out.stderr);
    let reasons: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("[wasm]") || l.contains("error"))
        .collect();
    bail!("Envoy refused the probe module:\n{}", reasons.join("\n"))
}

/// A bootstrap loading `wasm` as an HTTP filter; validate mode binds no port.
fn probe_bootstrap(wasm: &Path) -> String {
    let listener = envoy::wasm_listener(
        "probe",
        18999,
        "{ status: 200 }",
        &envoy::WasmFilter {
            name: "abi_probe",
            root_id: "abi_probe",
            code: &format!(r#"{{ local: {{ filename: "{}" }} }}"#, wasm.display()),
            extra: "",
        },
    );
    format!("static_resources:\n  listeners:\n{listener}")
}

/// The Envoy e2e checks of every example (already built by the build step).
fn e2e_step(root: &Path) -> Tally {
    let envoy = match envoy::ensure_installed(root) {
        Ok(e) => e,
        Err(e) => {
            report("e2e", "Envoy is available", &Err(e));
            return Tally {
                passed: 0,
                failed: 1,
            };
        }
    };
    println!("    {} ({})", envoy.path.display(), envoy.version_line);
    let mut tally = Tally::default();
    let names: Vec<&str> = examples_or_report("e2e", &mut tally)
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    for name in names {
        let checks = e2e::run_checks(root, &envoy, &[name]);
        record_detail(name, checks);
        tally.merge(checks);
    }
    tally
}

/// A step's line in the gate summary: name, counts, seconds, and its detail rows.
type SummaryRow = (&'static str, Tally, f64, Vec<(String, Tally)>);

/// Rows printed under a step's line in the gate summary (the Envoy checks of each
/// example), in the order they were recorded.
static DETAILS: Mutex<Vec<(String, Tally)>> = Mutex::new(Vec::new());

fn record_detail(name: &str, tally: Tally) {
    if let Ok(mut details) = DETAILS.lock() {
        details.push((name.to_string(), tally));
    }
}

/// Takes the rows recorded since the last call.
fn take_details() -> Vec<(String, Tally)> {
    DETAILS
        .lock()
        .map(|mut details| std::mem::take(&mut *details))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refused_module_is_built_with_its_own_marker() {
        let refused = refused_modules().unwrap();
        assert_eq!(refused.len(), 5);
        for r in &refused {
            let module = refused_module(r).unwrap();
            let has = |marker: &str| module.windows(marker.len()).any(|w| w == marker.as_bytes());
            assert!(has(r.marker), "{}: no {}", r.tag, r.marker);
            if r.marker != abi_surface::ABI_MARKER {
                assert!(
                    !has(abi_surface::ABI_MARKER),
                    "{}: marker not renamed",
                    r.tag
                );
            }
        }
    }

    #[test]
    fn a_marker_of_another_length_is_refused_before_envoy_runs() {
        let refused = Refused {
            check: "",
            tag: "short",
            marker: "proxy_abi_version_0",
            imports: Vec::new(),
            says: &[],
        };
        let error = refused_module(&refused).unwrap_err();
        assert!(error.headline().contains("is not"), "{}", error.headline());
    }

    #[test]
    fn counts_every_test_result_line() {
        let out = "\
running 3 tests
test a ... ok
test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

test result: FAILED. 10 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 1.2s
   Doc-tests proxywasm
test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
test something passed ... ok
";
        assert_eq!(
            count_test_results(out),
            Tally {
                passed: 13,
                failed: 2
            }
        );
        assert_eq!(
            count_test_results("error: could not compile"),
            Tally::default()
        );
    }

    #[test]
    fn steps_are_named_uniquely_and_needs_refer_to_earlier_steps() {
        let steps = steps();
        for (i, s) in steps.iter().enumerate() {
            assert!(steps[..i].iter().all(|t| t.name != s.name), "{}", s.name);
            for need in s.needs {
                assert!(steps[..i].iter().any(|t| t.name == *need), "{need}");
            }
        }
        assert_eq!(steps.len(), 24);
    }

    #[test]
    fn lists_tracked_files_only() {
        let dir = std::env::temp_dir().join(format!("xtask-refs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/a.rs"), "// a").unwrap();
        std::fs::write(dir.join("untracked.rs"), "// b").unwrap();
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .args(args)
                .current_dir(&dir)
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        git(&["add", "src/a.rs"]);
        let files = tracked_files(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(files, [("src/a.rs".to_string(), b"// a".to_vec())]);
    }

    #[test]
    fn outside_notes_match_in_any_case() {
        let note = OUTSIDE_NOTES[0];
        let text = format!("see {} §2", note.to_uppercase());
        assert!(contains_ignoring_case(text.as_bytes(), note.as_bytes()));
        assert!(!contains_ignoring_case(b"see the book", note.as_bytes()));
    }

    #[test]
    fn heading_ids_follow_mdbook() {
        let page = "# Envoy 1.40 behaviour\n\
                    ## `on_done` and `proxy_done`\n\
                    ```rust\n# hidden line\n```\n\
                    ### Envoy's foreign functions\n\
                    ## Notes\n## Notes\n#not a heading\n";
        assert_eq!(
            heading_ids(page),
            [
                "envoy-140-behaviour",
                "on_done-and-proxy_done",
                "envoys-foreign-functions",
                "notes",
                "notes-1"
            ]
        );
    }

    #[test]
    fn finds_book_citations_and_checks_them() {
        let text = "(book: reference/hostcalls.md#header-maps). See book: Performance; \
                    book: reference/memory.md, book: reference/envoy-1.40.md#measured.";
        assert_eq!(
            book_citations(text),
            [
                ("reference/hostcalls.md", Some("header-maps")),
                ("reference/memory.md", None),
                ("reference/envoy-1.40.md", Some("measured")),
            ]
        );
        let files = vec![
            (
                "book/src/reference/hostcalls.md".to_string(),
                b"# Hostcalls\n## Header maps\n".to_vec(),
            ),
            ("src/a.rs".to_string(), text.as_bytes().to_vec()),
        ];
        assert_eq!(
            broken_book_citations(&files),
            [
                "src/a.rs: book: reference/memory.md",
                "src/a.rs: book: reference/envoy-1.40.md#measured"
            ]
        );
    }

    #[test]
    fn cargo_steps_use_the_running_cargo() {
        let c = to_command(Path::new("/"), &["cargo", "fmt"]);
        assert_eq!(c.get_program().to_string_lossy(), cmd::cargo());
        let c = to_command(Path::new("/"), &["rustup", "target"]);
        assert_eq!(c.get_program().to_string_lossy(), "rustup");
    }
}

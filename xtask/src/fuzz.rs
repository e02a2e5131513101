//! `cargo xtask fuzz [TARGET...] [--time SECS]`: runs the fuzz targets of
//! `fuzz/` (cargo-fuzz, libFuzzer, nightly, AddressSanitizer) for a bounded
//! time each, starting from the checked-in corpus `fuzz/corpus/<target>`.
//! New inputs go to `fuzz/target/corpus/<target>`, so the checked-in corpus
//! stays as committed; a crash leaves its input under `fuzz/artifacts/` and
//! fails the run. The gate's `fuzz` step is this with every target.
//!
//! cargo-fuzz is installed (`cargo install cargo-fuzz --locked`) when missing.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::cmd;
use crate::e2e::{Tally, report};
use crate::error::{Error, Result, bail};

/// The targets of `fuzz/Cargo.toml`, in the order they run.
pub(crate) const TARGETS: &[&str] = &[
    "pairs_decode",
    "pairs_encode",
    "host_bytes",
    "config",
    "dispatcher",
];

/// Seconds per target in the gate.
pub(crate) const GATE_SECONDS: u64 = 20;

/// `rustup run nightly cargo …` in `fuzz/`.
fn nightly_cargo(root: &Path) -> Command {
    let mut command = Command::new("rustup");
    command
        .args(["run", "nightly", "cargo"])
        .current_dir(root.join("fuzz"));
    command
}

/// Installs cargo-fuzz unless `cargo fuzz` already runs.
fn ensure_cargo_fuzz(root: &Path) -> Result<()> {
    let present = nightly_cargo(root)
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    cmd::run(Command::new(cmd::cargo()).args(["install", "cargo-fuzz", "--locked"]))
}

/// The number in libFuzzer's last `Done N runs in S second(s)` line.
fn executions(output: &str) -> Option<u64> {
    output.lines().rev().find_map(|l| {
        l.trim()
            .strip_prefix("Done ")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

/// Runs `targets` for `seconds` each; one check per target (plus the build).
pub(crate) fn run(root: &Path, targets: &[&str], seconds: u64) -> Tally {
    let mut tally = Tally::default();
    let setup = ensure_cargo_fuzz(root)
        .and_then(|()| cmd::run(nightly_cargo(root).args(["fuzz", "build"])));
    report(
        "fuzz",
        "cargo fuzz build (nightly, AddressSanitizer)",
        &setup,
    );
    tally.add(setup.is_ok());
    if setup.is_err() {
        return tally;
    }
    for target in targets {
        let outcome = run_one(root, target, seconds);
        let check = match &outcome {
            Ok(runs) => format!("{target}: {runs} executions in {seconds} s, no crash"),
            Err(_) => format!("{target}: {seconds} s without a crash"),
        };
        let passed = outcome.is_ok();
        report("fuzz", &check, &outcome.map(|_| ()));
        tally.add(passed);
    }
    tally
}

fn run_one(root: &Path, target: &str, seconds: u64) -> Result<u64> {
    let scratch = root.join("fuzz").join("target").join("corpus").join(target);
    std::fs::create_dir_all(&scratch)
        .map_err(|e| Error::msg(format!("creating {}: {e}", scratch.display())))?;
    let mut command = nightly_cargo(root);
    command
        .args(["fuzz", "run", target])
        .arg(&scratch)
        .arg(Path::new("corpus").join(target))
        .args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-workers=1",
            "-timeout=10",
            "-rss_limit_mb=2048",
        ]);
    println!("    {}", cmd::display(&command));
    let out = cmd::output_bounded(&mut command, Duration::from_secs(seconds + 300))?;
    let text = format!("{}{}", out.stdout, out.stderr);
    if !out.status.success() {
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "`{}` failed ({}); the input is under fuzz/artifacts/{target}/:\n{}",
            cmd::display(&command),
            out.status,
            tail.join("\n")
        );
    }
    executions(&text).ok_or_else(|| Error::msg(format!("no `Done N runs` line from {target}")))
}

/// `cargo xtask fuzz [TARGET...] [--time SECS]`.
pub(crate) fn parse(args: &[String]) -> Result<(Vec<String>, u64)> {
    let mut targets = Vec::new();
    let mut seconds = GATE_SECONDS;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--time" {
            let value = args.next().map(String::as_str).unwrap_or("");
            seconds =
                value.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    Error::msg(format!("`--time {value}`: not a number of seconds"))
                })?;
        } else if TARGETS.contains(&arg.as_str()) {
            targets.push(arg.clone());
        } else {
            bail!(
                "unknown fuzz target or flag `{arg}`; the targets are {}",
                TARGETS.join(", ")
            );
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| (*t).to_string()).collect();
    }
    Ok((targets, seconds))
}

/// The gate step: every target for [`GATE_SECONDS`].
pub(crate) fn step(root: &Path) -> Tally {
    run(root, TARGETS, GATE_SECONDS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_execution_count() {
        let out = "#1024\tpulse  cov: 1\nDone 1324679 runs in 16 second(s)\n";
        assert_eq!(executions(out), Some(1_324_679));
        assert_eq!(executions("==1== ERROR: libFuzzer: deadly signal"), None);
    }

    #[test]
    fn parses_targets_and_time() {
        let args = cmd::args;
        let (targets, seconds) = parse(&args(&[])).unwrap();
        assert_eq!((targets.len(), seconds), (TARGETS.len(), GATE_SECONDS));
        let (targets, seconds) = parse(&args(&["config", "--time", "5"])).unwrap();
        assert_eq!((targets, seconds), (vec!["config".to_string()], 5));
        assert!(parse(&args(&["nope"])).is_err());
        assert!(parse(&args(&["--time", "0"])).is_err());
    }

    #[test]
    fn every_target_is_a_bin_of_the_fuzz_crate() {
        let manifest = include_str!("../../fuzz/Cargo.toml");
        for target in TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{target}\"")),
                "{target}"
            );
            let file = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fuzz/fuzz_targets")
                .join(format!("{target}.rs"));
            assert!(file.is_file(), "{}", file.display());
        }
    }
}

//! Release hygiene steps of the gate: `cargo package` of every publishable crate, and
//! the declared minimum Rust version (book: releasing.md).
//!
//! * [`package_step`]: `cargo package` of proxywasm-abi, proxywasm-macros and proxywasm
//!   together, verified (cargo builds each `.crate` as crates.io would, resolving the
//!   unpublished siblings from the packages it just made); then proxywasm-wasmtime with
//!   `--no-verify`, since verifying rebuilds wasmtime from scratch in a separate target
//!   directory (measured: 8 minutes on the gate's 2 cores). Instead its `.crate` is
//!   checked to hold every tracked source file of `wasmtime/src/`; the tests step
//!   builds and runs those sources.
//! * [`msrv_step`]: reads `rust-version` from `[workspace.package]` of Cargo.toml,
//!   installs that toolchain with rustup (minimal profile, plus `wasm32-wasip1`), and
//!   runs `cargo check` of the SDK crates natively (all features) and of the SDK and
//!   the examples for `wasm32-wasip1`. proxywasm-wasmtime declares its own
//!   `rust-version` (wasmtime's), the toolchain the rest of the gate runs on.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use crate::cmd;
use crate::e2e::{Tally, report};
use crate::error::{Context, Error, Result, bail};

/// The publishable crates whose packaging is verified, in dependency order.
const VERIFIED: &[&str] = &["proxywasm-abi", "proxywasm-macros", "proxywasm"];
/// The publishable crate packaged without verification (see the module docs).
const UNVERIFIED: &str = "proxywasm-wasmtime";

fn cargo_package(root: &Path, packages: &[&str], verify: bool) -> Result<()> {
    if verify {
        forget_unpacked_packages(root, packages)?;
    }
    let mut command = Command::new(cmd::cargo());
    command.current_dir(root).args(["package", "--allow-dirty"]);
    if !verify {
        command.arg("--no-verify");
    }
    for p in packages {
        command.args(["-p", p]);
    }
    cmd::run(&mut command)
}

/// Removes the copies of `packages` that an earlier verified `cargo package`
/// unpacked on this machine. To verify a crate that depends on another
/// being packaged, cargo unpacks the packaged `.crate`s into a local
/// registry under `$CARGO_HOME/registry/src/-<hash>/` (its name is empty,
/// hence the leading `-`) and reuses an unpacked `name-version` it finds
/// there: with the version unchanged, a later run would verify `proxywasm`
/// against the first run's `proxywasm-macros`. Only those directories, and
/// only of our own packages, are removed; a fresh machine has none.
fn forget_unpacked_packages(root: &Path, packages: &[&str]) -> Result<()> {
    let version = workspace_value(root, "version")?;
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let Some(sources) = home.map(|h| h.join("registry").join("src")) else {
        return Ok(());
    };
    let Ok(registries) = std::fs::read_dir(&sources) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for package in packages {
            let unpacked = registry.path().join(format!("{package}-{version}"));
            if unpacked.is_dir() {
                std::fs::remove_dir_all(&unpacked)
                    .context(format!("removing {}", unpacked.display()))?;
            }
        }
    }
    Ok(())
}

/// The file names inside a `.crate` (a gzipped tar), relative to its top directory.
fn crate_files(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).context(format!("reading {}", path.display()))?;
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut tar)
        .context(format!("decompressing {}", path.display()))?;
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut names = Vec::new();
    for entry in archive.entries().context("reading the .crate")? {
        let entry = entry.context("reading the .crate")?;
        let name = entry.path().context("a path in the .crate")?;
        let name = name.to_string_lossy();
        names.push(
            name.split_once('/')
                .map_or("", |(_, rest)| rest)
                .to_string(),
        );
    }
    Ok(names)
}

/// `cargo package` of every publishable crate.
pub(crate) fn package_step(root: &Path) -> Tally {
    let mut tally = Tally::default();
    let outcome = cargo_package(root, VERIFIED, true);
    report(
        "cargo package",
        &format!(
            "{} (verified: each .crate builds alone)",
            VERIFIED.join(", ")
        ),
        &outcome,
    );
    tally.add(outcome.is_ok());

    let mut all: Vec<&str> = VERIFIED.to_vec();
    all.push(UNVERIFIED);
    let outcome = cargo_package(root, &all, false).and_then(|()| {
        let version = workspace_value(root, "version")?;
        let file = root
            .join("target")
            .join("package")
            .join(format!("{UNVERIFIED}-{version}.crate"));
        let packaged = crate_files(&file)?;
        let missing: Vec<String> = cmd::git_ls_files(root, &["wasmtime/src"])?
            .into_iter()
            .filter_map(|f| f.strip_prefix("wasmtime/").map(str::to_string))
            .filter(|f| !packaged.contains(f))
            .collect();
        for needed in ["Cargo.toml", "README.md", "LICENSE"] {
            if !packaged.iter().any(|f| f == needed) {
                bail!("{} lacks {needed}", file.display());
            }
        }
        if !missing.is_empty() {
            bail!("{} lacks {missing:?}", file.display());
        }
        Ok(())
    });
    report(
        "cargo package",
        &format!(
            "{UNVERIFIED} (--no-verify; the .crate holds every tracked source file, README and LICENSE)"
        ),
        &outcome,
    );
    tally.add(outcome.is_ok());
    tally
}

/// A `key = "value"` of `[workspace.package]` in the root Cargo.toml.
pub(crate) fn workspace_value(root: &Path, key: &str) -> Result<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| Error::msg(e.to_string()))?;
    table
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get(key))
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| Error::msg(format!("no {key} in [workspace.package] of Cargo.toml")))
}

/// Checks the SDK with the declared minimum Rust version.
pub(crate) fn msrv_step(root: &Path) -> Tally {
    let mut tally = Tally::default();
    let msrv = match workspace_value(root, "rust-version") {
        Ok(v) => v,
        Err(e) => {
            report("msrv", "Cargo.toml declares rust-version", &Err(e));
            tally.add(false);
            return tally;
        }
    };
    let install = cmd::run(Command::new("rustup").args([
        "toolchain",
        "install",
        &msrv,
        "--profile",
        "minimal",
        "--target",
        "wasm32-wasip1",
    ]));
    report("msrv", &format!("rustup installs Rust {msrv}"), &install);
    tally.add(install.is_ok());
    if install.is_err() {
        return tally;
    }
    let check = |packages: &[&str], args: &[&str]| {
        let mut command = Command::new("rustup");
        command
            .current_dir(root)
            .args(["run", &msrv, "cargo", "check"])
            .args(args);
        for package in packages {
            command.args(["-p", package]);
        }
        cmd::run(&mut command)
    };
    let native = check(
        &["proxywasm", "proxywasm-abi", "proxywasm-macros"],
        &["--all-features"],
    );
    report(
        "msrv",
        &format!(
            "Rust {msrv}: proxywasm, proxywasm-abi, proxywasm-macros check natively (all features)"
        ),
        &native,
    );
    tally.add(native.is_ok());
    let wasm = check(
        &["proxywasm", "hello_world", "http_headers", "tcp_logger"],
        &["--target", "wasm32-wasip1"],
    );
    report(
        "msrv",
        &format!("Rust {msrv}: the SDK and the examples check for wasm32-wasip1"),
        &wasm,
    );
    tally.add(wasm.is_ok());
    tally
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_declares_version_and_msrv() {
        let root = cmd::repo_root();
        let msrv = workspace_value(&root, "rust-version").unwrap();
        let parts: Vec<&str> = msrv.split('.').collect();
        assert!(parts.len() >= 2, "{msrv}");
        assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{msrv}");
        assert!(workspace_value(&root, "version").is_ok());
        assert!(workspace_value(&root, "nope").is_err());
    }

    #[test]
    fn crate_files_are_listed_without_the_top_directory() {
        let dir = std::env::temp_dir().join(format!("xtask-crate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        for name in ["demo-0.1.0/Cargo.toml", "demo-0.1.0/src/lib.rs"] {
            let mut header = tar::Header::new_gnu();
            header.set_size(1);
            header.set_mode(0o644);
            builder.append_data(&mut header, name, &b"x"[..]).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let path = dir.join("demo-0.1.0.crate");
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        assert_eq!(crate_files(&path).unwrap(), ["Cargo.toml", "src/lib.rs"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

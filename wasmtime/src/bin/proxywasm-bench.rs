//! Measures the benchmark plugins under the engine host and prints one
//! tab-separated line per variant and plugin (`cargo xtask bench` reads them).
//!
//! ```text
//! proxywasm-bench --dir bench/target/wasm32-wasip1/release/examples [--requests N] [--warmup N]
//!                 [--variant NAME]...
//! ```
//!
//! `--variant` measures only the variants named (all three by default). The
//! plugins written with proxywasm only (`bench::OURS_ONLY`) have no line for
//! the other variants.
//!
//! Columns: `variant plugin bytes start_fuel requests fuel fuel_min fuel_max
//! pages_before pages_after hostcalls exports interleaved_requests
//! interleaved_fuel`, where `hostcalls` and
//! `exports` are `name=count` lists joined by `;` (exports carry fuel). A
//! variant that fails prints `variant plugin ERROR message` instead.

use proxywasm_wasmtime::bench::{self, OURS_ONLY, PLUGINS, VARIANTS};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

fn list<V: std::fmt::Display>(map: &BTreeMap<&'static str, V>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

struct Args {
    dir: PathBuf,
    requests: u64,
    warmup: u64,
    variants: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut dir, mut requests, mut warmup) = (None, 10_000, 100);
    let mut variants = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--dir" => dir = Some(PathBuf::from(value("--dir")?)),
            "--requests" => {
                requests = value("--requests")?
                    .parse()
                    .map_err(|e| format!("--requests: {e}"))?
            }
            "--warmup" => {
                warmup = value("--warmup")?
                    .parse()
                    .map_err(|e| format!("--warmup: {e}"))?
            }
            "--variant" => variants.push(value("--variant")?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if let Some(unknown) = variants.iter().find(|v| !VARIANTS.contains(&v.as_str())) {
        return Err(format!("unknown variant `{unknown}`"));
    }
    if variants.is_empty() {
        variants = VARIANTS.iter().map(|v| (*v).to_owned()).collect();
    }
    Ok(Args {
        dir: dir.ok_or("--dir is required")?,
        requests,
        warmup,
        variants,
    })
}

fn main() -> ExitCode {
    let Args {
        dir,
        requests,
        warmup,
        variants,
    } = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("proxywasm-bench: {e}");
            return ExitCode::from(2);
        }
    };
    // A trap fails the measurement of that variant, not the run: report it as
    // an error line (the panic message carries the trap report).
    std::panic::set_hook(Box::new(|_| {}));
    let mut failed = false;
    for plugin in PLUGINS {
        for variant in &variants {
            if OURS_ONLY.contains(&plugin) && variant != "proxywasm" {
                continue;
            }
            let path = dir.join(format!("{variant}_{plugin}.wasm"));
            let outcome =
                std::panic::catch_unwind(|| bench::measure(&path, plugin, warmup, requests));
            let outcome = match outcome {
                Ok(result) => result,
                Err(panic) => Err(panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "panicked".to_owned())),
            };
            match outcome {
                Ok(f) => println!(
                    "{variant}\t{plugin}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    f.wasm_bytes,
                    f.start_fuel,
                    f.requests,
                    f.fuel,
                    f.fuel_min_max.0,
                    f.fuel_min_max.1,
                    f.pages.0,
                    f.pages.1,
                    list(&f.hostcalls),
                    list(&f.by_export),
                    f.interleaved.0,
                    f.interleaved.1,
                ),
                Err(e) => {
                    failed = true;
                    println!(
                        "{variant}\t{plugin}\tERROR\t{}",
                        e.replace(['\n', '\t'], " ")
                    );
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

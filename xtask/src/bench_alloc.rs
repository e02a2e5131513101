//! `cargo xtask bench --allocator`: the proxywasm bench plugins measured a
//! second time with the SDK's opt-in `wee-alloc` feature, next to the default
//! allocator (Rust's global allocator on `wasm32-wasip1`: wasi-libc's
//! dlmalloc).
//!
//! The plugins are rebuilt with `--features wee-alloc` into `bench/target-wee`
//! (so the default build stays cached) and measured by the same
//! `proxywasm-bench` run as the main table. Only the `proxywasm_*` modules
//! exist there, so the raw and official lines of that run are errors and
//! ignored. The section is informational: no budget applies to it, but it is
//! part of `target/bench.md`, and growth under `wee_alloc` is reported as
//! measured.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::{Figures, OURS, Options, Row, Rows, get, num, parse_rows};
use crate::cmd;
use crate::error::{Context, Result, bail};

/// Measures the `wee-alloc` build and appends its section to `report`; on a
/// failure, appends (and prints) why instead. Returns whether it measured.
pub(super) fn append(root: &Path, options: &Options, default: &Rows, report: &mut String) -> bool {
    match measure(root, options) {
        Ok(wee) => {
            report.push_str(&render(default, &wee, options.requests));
            true
        }
        Err(e) => {
            let _ = write!(
                report,
                "\n## Allocator: default vs wee-alloc\n\nCould not be measured: {e}\n"
            );
            eprintln!("--allocator: {e}");
            false
        }
    }
}

fn measure(root: &Path, options: &Options) -> Result<Rows> {
    cmd::step(
        "building the proxywasm bench plugins with `--features wee-alloc` (bench/target-wee)",
    );
    let dir = super::build_plugins(
        root,
        "target-wee",
        &["-p", "bench-proxywasm", "--features", "wee-alloc"],
    )?;

    cmd::step("measuring the wee-alloc build in the engine host");
    let mut measure = super::measure_command(root, &dir, options);
    // Exits non-zero because the raw and official modules are not in `dir`.
    let out = cmd::output_bounded(&mut measure, Duration::from_secs(3600))?;
    let rows = parse_rows(&out.stdout).context(format!(
        "`{}` ({}): {}",
        cmd::display(&measure),
        out.status,
        out.stderr.trim()
    ))?;
    if rows.plugins.iter().all(|p| get(&rows, OURS, p).is_none()) {
        bail!(
            "no proxywasm plugin could be measured with wee-alloc:\n{}",
            out.stdout
        );
    }
    Ok(rows)
}

/// The section: one row per plugin (its proxywasm variant), each cell
/// `default · wee-alloc`.
fn render(default: &Rows, wee: &Rows, requests: u64) -> String {
    type Pick = fn(&Figures) -> f64;
    let figures: [Pick; 5] = [
        Figures::fuel_per_request,
        |f| f.start_fuel as f64,
        |f| f.bytes as f64,
        |f| f.pages_before as f64,
        |f| f.growth() as f64,
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## Allocator: default vs wee-alloc\n\nInformational, no budget. The proxywasm plugins built with the \
         default allocator (wasi-libc dlmalloc) and with the opt-in `wee-alloc` feature, same run; each cell is \
         default · wee-alloc. Memory is in 64 KiB pages.\n"
    );
    let _ = writeln!(
        out,
        "| plugin | fuel/request | start fuel | .wasm bytes | memory after warm-up | memory growth |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for plugin in &default.plugins {
        let (d, w) = (get(default, OURS, plugin), get(wee, OURS, plugin));
        let cells: Vec<String> = figures
            .iter()
            .map(|pick| {
                let cell =
                    |f: Option<&Figures>| f.map_or_else(|| "error".to_string(), |f| num(pick(f)));
                format!("{} · {}", cell(d), cell(w))
            })
            .collect();
        let _ = writeln!(out, "| {plugin} | {} |", cells.join(" | "));
    }
    let grew: Vec<String> = wee
        .plugins
        .iter()
        .filter_map(|p| get(wee, OURS, p).map(|f| (p, f)))
        .filter(|(_, f)| f.growth() != 0)
        .map(|(p, f)| format!("{p} ({} → {})", f.pages_before, f.pages_after))
        .collect();
    let _ = writeln!(
        out,
        "\nWith wee-alloc, memory {} over {} requests after warm-up.",
        if grew.is_empty() {
            "grew on no plugin".to_string()
        } else {
            format!("grew on {}", grew.join(", "))
        },
        num(requests as f64)
    );
    let errors: Vec<String> = wee
        .plugins
        .iter()
        .filter_map(|p| match wee.by.get(&(OURS.to_string(), p.clone())) {
            Some(Row::Failed(message)) => Some(format!("- {OURS}_{p} (wee-alloc): {message}")),
            _ => None,
        })
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "\n{}", errors.join("\n"));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::tests::PLUGINS;
    use super::*;

    /// A `proxywasm-bench` output where only the proxywasm modules exist.
    fn lines(fuel: u64, start: u64, bytes: u64, pages: (u64, u64)) -> String {
        let mut out = String::new();
        for plugin in PLUGINS {
            for variant in ["raw", "official"] {
                out += &format!("{variant}\t{plugin}\tERROR\tno such file\n");
            }
            out += &format!(
                "proxywasm\t{plugin}\t{bytes}\t{start}\t10\t{fuel}\t1\t2\t{}\t{}\tproxy_log=1\tproxy_on_log={fuel}\t16\t{fuel}\n",
                pages.0, pages.1
            );
        }
        out
    }

    #[test]
    fn compares_each_figure_per_plugin() {
        let default = parse_rows(&lines(1_000, 252, 51_615, (17, 17))).unwrap();
        let wee = parse_rows(&lines(1_500, 300, 50_000, (18, 18))).unwrap();
        let table = render(&default, &wee, 10);
        assert!(
            table.contains("| noop | 100 · 150 | 252 · 300 | 51,615 · 50,000 | 17 · 18 | 0 · 0 |"),
            "{table}"
        );
        let rows = table
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains(" · "));
        assert_eq!(rows.count(), PLUGINS.len(), "{table}");
        assert!(
            table.contains("memory grew on no plugin over 10 requests"),
            "{table}"
        );
    }

    #[test]
    fn growth_and_errors_are_reported() {
        let default = parse_rows(&lines(1_000, 252, 51_615, (17, 17))).unwrap();
        let text = lines(1_000, 252, 51_615, (17, 17))
            .replace(
                "proxywasm\tcallout\t51615\t252\t10\t1000\t1\t2\t17\t17",
                "proxywasm\tcallout\t51615\t252\t10\t1000\t1\t2\t17\t40",
            )
            .replace(
                "proxywasm\tnoop\t51615\t252\t10\t1000\t1\t2\t17\t17\tproxy_log=1\tproxy_on_log=1000\t16\t1000",
                "proxywasm\tnoop\tERROR\ttrapped",
            );
        let wee = parse_rows(&text).unwrap();
        let table = render(&default, &wee, 10_000);
        assert!(
            table.contains(
                "| callout | 100 · 100 | 252 · 252 | 51,615 · 51,615 | 17 · 17 | 0 · 23 |"
            ),
            "{table}"
        );
        assert!(
            table.contains("memory grew on callout (17 → 40) over 10,000 requests"),
            "{table}"
        );
        assert!(
            table.contains(
                "| noop | 100 · error | 252 · error | 51,615 · error | 17 · error | 0 · error |"
            ),
            "{table}"
        );
        assert!(
            table.contains("- proxywasm_noop (wee-alloc): trapped"),
            "{table}"
        );
    }
}

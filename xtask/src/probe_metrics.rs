//! What Envoy 1.40 does with a plugin's metrics, plain and tagged
//! (`proxywasm::metrics::Family`): the `envoy_probe` plugin defines them in
//! `GET /routed` (`tests/envoy-probe`, `metrics_rules`), with the
//! `stats_tags` of `tests/envoy-probe/envoy.yaml`, and these checks read them
//! back from the admin `/stats` and `/stats/prometheus` (book: state.md#metrics
//! and reference/envoy-1.40.md#metric-names).

use crate::e2e::Ctx;
use crate::envoy::http_get;
use crate::error::{Error, Result, bail};
use crate::probe::{expect_probe, probe_value};
use std::time::{Duration, Instant};

/// The probe's admin port (`tests/envoy-probe/envoy.yaml`).
pub(crate) const ADMIN_PORT: u16 = 18401;
/// Budget of one admin request.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a histogram may take to appear (Envoy merges histograms every
/// stats flush, 5 s by default).
const FLUSH_WAIT: Duration = Duration::from_secs(15);

/// The lines of `/stats` for the probe's metrics: `wasmcustom.` and the name
/// the plugin defined, tags still inside it.
const STATS: &[&str] = &[
    "wasmcustom.probe_plain_total: 1",
    "wasmcustom.probe_gauge: 1",
    "wasmcustom.probe_tagged_total.method=GET.code=200: 3",
    "wasmcustom.probe_tagged_total.method=POST.code=503: 1",
    "wasmcustom.probe_tagged_active.method=GET: 7",
    "wasmcustom.probe_tagged_peers.peer=127_0_0_1:18400: 1",
    "wasmcustom.probe.dotted.method=GET: 1",
    "wasmcustom.probe_untagged.zone=eu: 1",
];

/// The lines of `/stats/prometheus` for the same metrics: no namespace, the
/// tags as labels in the keys' order, `{}` without tags, `.` of the base
/// name as `_`.
const PROMETHEUS: &[&str] = &[
    "# TYPE probe_plain_total counter",
    "probe_plain_total{} 1",
    "# TYPE probe_gauge gauge",
    "probe_gauge{} 1",
    "# TYPE probe_tagged_total counter",
    r#"probe_tagged_total{method="GET",code="200"} 3"#,
    r#"probe_tagged_total{method="POST",code="503"} 1"#,
    "# TYPE probe_tagged_active gauge",
    r#"probe_tagged_active{method="GET"} 7"#,
    r#"probe_tagged_peers{peer="127_0_0_1:18400"} 1"#,
    r#"probe_dotted{method="GET"} 1"#,
    // The key `zone` has no stats_tags entry: it stays in the name.
    "probe_untagged_zone_eu{} 1",
];

/// The tagged histogram, once Envoy has merged it.
const PROMETHEUS_HISTOGRAM: &[&str] = &[
    "# TYPE probe_tagged_ms histogram",
    r#"probe_tagged_ms_bucket{method="GET",le="1"} 0"#,
    r#"probe_tagged_ms_bucket{method="GET",le="5"} 1"#,
    r#"probe_tagged_ms_count{method="GET"} 1"#,
];

/// The start of the tagged histogram's `_sum` line; its value is Envoy's
/// approximation of the one sample 5 (the middle of its bin, 5.0495...),
/// not 5 exactly.
const PROMETHEUS_HISTOGRAM_SUM: &str = r#"probe_tagged_ms_sum{method="GET"} "#;

/// The `_sum` line of the tagged histogram, with a value in the sample's
/// bin `[5, 5.1)`.
fn histogram_sum(body: &str) -> Result<()> {
    let value = body
        .lines()
        .find_map(|l| l.strip_prefix(PROMETHEUS_HISTOGRAM_SUM))
        .ok_or_else(|| {
            Error::msg(format!(
                "/stats/prometheus: no line `{PROMETHEUS_HISTOGRAM_SUM}…`"
            ))
        })?;
    match value.parse::<f64>() {
        Ok(v) if (5.0..5.1).contains(&v) => Ok(()),
        _ => bail!(
            "/stats/prometheus: `{PROMETHEUS_HISTOGRAM_SUM}{value}` (expected a value in [5, 5.1))"
        ),
    }
}

/// Each value of `ODD_TAG_VALUES` (`tests/envoy-probe`) as its label in
/// `probe_tagged_odd{odd="…"} 1`: as written, `"` and `\` escaped, the newline
/// replaced by `Family` (`_`).
const ODD_LABELS: &[&str] = &[
    "a b", "a,b", "a:b", "a=b", "a;b", "a/b", r#"a\"b"#, r"a\\b", "a{b}", "a_b", "ü", "",
];

/// `GET path` on the admin port: the body.
pub(crate) fn admin(path: &str) -> Result<String> {
    let r = http_get(ADMIN_PORT, path, &[], ADMIN_TIMEOUT)?;
    if r.status != 200 {
        bail!("GET {path} on the admin port: status {}", r.status);
    }
    Ok(r.body_text())
}

/// The probe has defined its metrics (its last metrics observation).
fn metrics_defined(c: &mut Ctx<'_>) -> Result<()> {
    probe_value(c, "metrics counter with a dot in a tag value").map(drop)
}

/// Every `wanted` line is a whole line of `body`.
fn expect_lines(what: &str, body: &str, wanted: &[&str]) -> Result<()> {
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| !body.lines().any(|l| l == *w))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let missing: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
    let seen: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("probe") || l.starts_with("wasmcustom.probe"))
        .collect();
    Err(Error::msg(format!(
        "{what}: no line {}\n--- the probe's lines ---\n{}",
        missing.join(", "),
        seen.join("\n")
    )))
}

/// A gauge below 0 wraps around; `add(0)` is accepted.
pub(crate) fn gauge_wraps(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[(
            "metrics gauge set(1), add(-2), add(0), add(2): values",
            "Ok(18446744073709551615), Ok(18446744073709551615), Ok(1)",
        )],
    )
}

/// A family defines each label set once and every definition works.
pub(crate) fn family_defines_once(c: &mut Ctx<'_>) -> Result<()> {
    let expected = [
        (
            "metrics tagged counter",
            "same metric true, 2 label sets, value Ok(3)",
        ),
        ("metrics plain counter increment(1), value", "Ok(1)"),
        ("metrics tagged gauge set(7)", "OK"),
        ("metrics tagged histogram record(5)", "OK"),
        ("metrics tagged counter with dots", "OK"),
        ("metrics tagged counter with odd values", "OK"),
        ("metrics tagged counter with a dotted base", "OK"),
        ("metrics tagged counter without stats_tags", "OK"),
    ];
    expect_probe(c, &expected)
}

/// `/stats`: `wasmcustom.<name>`, the tags inside the name.
pub(crate) fn stats_names(c: &mut Ctx<'_>) -> Result<()> {
    metrics_defined(c)?;
    expect_lines("/stats", &admin("/stats")?, STATS)
}

/// `/stats/prometheus`: no `wasmcustom`, tags as labels; the histogram too,
/// once merged (waits for it, bounded).
pub(crate) fn prometheus_labels(c: &mut Ctx<'_>) -> Result<()> {
    metrics_defined(c)?;
    let body = admin("/stats/prometheus")?;
    expect_lines("/stats/prometheus", &body, PROMETHEUS)?;
    if let Some(line) = body.lines().find(|l| l.contains("wasmcustom")) {
        bail!("/stats/prometheus: `{line}` keeps the wasmcustom namespace");
    }
    let deadline = Instant::now() + FLUSH_WAIT;
    loop {
        let body = admin("/stats/prometheus")?;
        let lines = expect_lines("/stats/prometheus", &body, PROMETHEUS_HISTOGRAM);
        match lines.and_then(|()| histogram_sum(&body)) {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// Odd characters in tag values reach the Prometheus labels.
pub(crate) fn odd_values(c: &mut Ctx<'_>) -> Result<()> {
    metrics_defined(c)?;
    let wanted: Vec<String> = ODD_LABELS
        .iter()
        .map(|label| format!(r#"probe_tagged_odd{{odd="{label}"}} 1"#))
        .collect();
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    expect_lines("/stats/prometheus", &admin("/stats/prometheus")?, &wanted)
}

/// A `.` in a value, not replaced, ends the value: the rest joins the name.
/// A newline, not replaced, is escaped in the Prometheus label but splits
/// the stat's line in `/stats`.
pub(crate) fn unreplaced_dot_and_newline(c: &mut Ctx<'_>) -> Result<()> {
    metrics_defined(c)?;
    for (name, want) in [
        ("metrics counter with a newline in a tag value", "OK"),
        ("metrics counter with a dot in a tag value", "OK"),
    ] {
        let got = probe_value(c, name)?;
        if got != want {
            bail!("probe: {name} = {got} (expected {want})");
        }
    }
    expect_lines(
        "/stats/prometheus",
        &admin("/stats/prometheus")?,
        &[
            r#"probe_raw_dot_b{odd="a"} 1"#,
            r#"probe_raw_newline{odd="a\nb"} 1"#,
        ],
    )?;
    expect_lines(
        "/stats",
        &admin("/stats")?,
        &["wasmcustom.probe_raw_newline.odd=a", "b: 1"],
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The lines of the first ```yaml block after `marker` in `text`.
    fn yaml_after(text: &str, marker: &str) -> Vec<String> {
        let after = text.split_once(marker).map_or("", |(_, rest)| rest);
        let block = after
            .split_once("```yaml\n")
            .and_then(|(_, rest)| rest.split_once("```"))
            .map_or("", |(block, _)| block);
        block.lines().map(str::to_owned).collect()
    }

    /// The book's `stats_tags` snippet is, line for line, the start of the
    /// probe's `stats_config`, which the e2e checks run Envoy on.
    #[test]
    fn the_books_stats_tags_snippet_is_the_probes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let book = std::fs::read_to_string(root.join("book/src/state.md")).unwrap();
        let yaml = std::fs::read_to_string(root.join("tests/envoy-probe/envoy.yaml")).unwrap();
        let snippet = yaml_after(&book, "### Metrics with tags");
        assert!(
            snippet.len() >= 4 && snippet[0] == "stats_config:",
            "{snippet:?}"
        );
        let lines: Vec<&str> = yaml.lines().collect();
        let start = lines
            .iter()
            .position(|l| *l == "stats_config:")
            .expect("the probe's envoy.yaml has a stats_config");
        let probe: Vec<String> = lines[start..]
            .iter()
            .take(snippet.len())
            .map(|l| (*l).to_owned())
            .collect();
        assert_eq!(snippet, probe);
    }
}

//! What `proxywasm::attribute`'s typed accessors read in Envoy 1.40: the
//! `envoy_probe` plugin logs `probe: attribute[PHASE] PATH = VALUE` for
//! every accessor (`tests/envoy-probe`, `typed_attributes`) after one
//! `GET /routed`, and these checks hold each value to what the book's
//! properties page says (book: reference/properties.md#typed-accessors).
//!
//! A pattern is the exact value, with `*` standing for any run of
//! characters (a port, an id).

use crate::e2e::Ctx;
use crate::error::{Error, Result};
use crate::probe::{none_wrong, probe_value};
use std::time::{SystemTime, UNIX_EPOCH};

/// Every accessor's path, with its value in `on_request_headers` and in
/// `on_log` of `GET /routed` (`-` where the value is the same in both).
const IN_A_STREAM: &[(&str, &str, &str)] = &[
    ("request.path", r#"Some("/routed")"#, "-"),
    ("request.url_path", r#"Some("/routed")"#, "-"),
    ("request.host", r#"Some("127.0.0.1:18400")"#, "-"),
    ("request.scheme", r#"Some("http")"#, "-"),
    ("request.method", r#"Some("GET")"#, "-"),
    ("request.headers", "Some(* pairs)", "-"),
    ("request.referer", "None", "-"),
    ("request.useragent", r#"Some("*")"#, "-"),
    ("request.id", r#"Some("*-*-*-*-*")"#, "-"),
    ("request.query", r#"Some("")"#, "-"),
    (
        "request.time",
        "Some(SystemTime { tv_sec: *, tv_nsec: * })",
        "-",
    ),
    ("request.protocol", r#"Some("HTTP/1.1")"#, "-"),
    ("request.duration", "None", "Some(*s)"),
    ("request.size", "Some(0)", "-"),
    ("request.total_size", "Some(*)", "-"),
    ("response.code", "None", "Some(StatusCode(200))"),
    ("response.code_details", "None", r#"Some("via_upstream")"#),
    ("response.flags", "Some(0)", "-"),
    // Envoy derives a gRPC status for any response: UNKNOWN (2) for a plain
    // HTTP 200 without `grpc-status`.
    ("response.grpc_status", "None", "Some(2)"),
    ("response.headers", "Some(0 pairs)", "Some(* pairs)"),
    ("response.trailers", "Some(0 pairs)", "-"),
    ("response.size", "Some(0)", "Some(15)"),
    ("response.total_size", "Some(0)", "Some(*)"),
    ("response.backend_latency", "None", "Some(*s)"),
    ("source.address", "Some(127.0.0.1:*)", "-"),
    ("source.port", "Some(*)", "-"),
    ("destination.address", "Some(127.0.0.1:18400)", "-"),
    ("destination.port", "Some(18400)", "-"),
    ("connection.id", "Some(*)", "-"),
    ("connection.mtls", "Some(false)", "-"),
    ("connection.requested_server_name", r#"Some("")"#, "-"),
    ("connection.tls_version", "None", "-"),
    ("connection.subject_peer_certificate", "None", "-"),
    ("connection.dns_san_peer_certificate", "None", "-"),
    ("connection.uri_san_peer_certificate", "None", "-"),
    ("connection.transport_failure_reason", "None", "-"),
    ("connection.termination_details", "None", "-"),
    ("upstream.address", "None", "Some(127.0.0.1:18402)"),
    ("upstream.port", "None", "Some(18402)"),
    ("upstream.local_address", "None", "Some(127.0.0.1:*)"),
    ("upstream.tls_version", "None", "-"),
    ("upstream.transport_failure_reason", "None", r#"Some("")"#),
    ("upstream.request_attempt_count", "Some(0)", "Some(1)"),
    ("upstream.num_endpoints", "Some(1)", "-"),
    ("xds.node.id", r#"Some("probe-node")"#, "-"),
    ("xds.node.cluster", r#"Some("probe-cluster")"#, "-"),
    ("xds.cluster_name", r#"Some("probe_upstream")"#, "-"),
    (
        "xds.cluster_metadata",
        r#"Some(Metadata { filter_metadata: {"acme.probe": {"pool": String("blue")}} })"#,
        "-",
    ),
    ("xds.route_name", r#"Some("probe_routed")"#, "-"),
    (
        "xds.route_metadata",
        r#"Some(Metadata { filter_metadata: {"acme.probe": {"canary": Bool(true), "limits": Struct({"rps": Number(10.0)}), "none": Null, "tier": String("gold"), "weight": Number(3.0), "zones": List([String("eu"), String("us")])}} })"#,
        "-",
    ),
    ("xds.virtual_host_name", r#"Some("probe")"#, "-"),
    (
        "xds.virtual_host_metadata",
        r#"Some(Metadata { filter_metadata: {"acme.probe": {"vhost": String("probe")}} })"#,
        "-",
    ),
    (
        "xds.upstream_host_metadata",
        "None",
        r#"Some(Metadata { filter_metadata: {"probe": {"host_key": String("host_value")}} })"#,
    ),
    (
        "xds.listener_metadata",
        "Some(Metadata { filter_metadata: {} })",
        "-",
    ),
    ("xds.listener_direction", "Some(0)", "-"),
    ("xds.filter_chain_name", r#"Some("")"#, "-"),
    ("plugin_name", r#"Some("envoy_probe")"#, "-"),
    ("plugin_root_id", r#"Some("envoy_probe")"#, "-"),
    ("plugin_vm_id", r#"Some("envoy_probe")"#, "-"),
    ("metadata", "Some(Metadata { filter_metadata: {} })", "-"),
];

/// What resolves in a plugin context's callback (`on_configure`): the
/// plugin's own names and the node; every other accessor is `None`.
const IN_A_PLUGIN_CONTEXT: &[(&str, &str)] = &[
    ("plugin_name", r#"Some("envoy_probe")"#),
    ("plugin_root_id", r#"Some("envoy_probe")"#),
    ("plugin_vm_id", r#"Some("envoy_probe")"#),
    ("xds.node.id", r#"Some("probe-node")"#),
    ("xds.node.cluster", r#"Some("probe-cluster")"#),
];

/// Whether `value` matches `pattern` (`*`: any run of characters).
pub(crate) fn matches(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.len() >= part.len() && rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Each accessor's value in both stream phases matches the table.
pub(crate) fn in_a_stream(c: &mut Ctx<'_>) -> Result<()> {
    let mut wrong = Vec::new();
    probe_value(c, "attribute[on_log] metadata")?;
    let needle = "probe: attribute[on_log] ";
    for line in c.envoy.log().lines() {
        let Some((_, rest)) = line.split_once(needle) else {
            continue;
        };
        let path = rest.split(" = ").next().unwrap_or(rest);
        if !IN_A_STREAM.iter().any(|(p, _, _)| *p == path) {
            wrong.push(format!("{path}: read by the probe but not in this table"));
        }
    }
    for (path, in_headers, in_log) in IN_A_STREAM {
        let in_log = if *in_log == "-" { in_headers } else { in_log };
        for (phase, want) in [("on_request_headers", in_headers), ("on_log", in_log)] {
            let got = probe_value(c, &format!("attribute[{phase}] {path}"))?;
            if !matches(want, &got) {
                wrong.push(format!("{phase} {path} = {got} (expected {want})"));
            }
        }
    }
    none_wrong(wrong)
}

/// `request.time` is the request's arrival: within a minute of now.
pub(crate) fn request_time_is_now(c: &mut Ctx<'_>) -> Result<()> {
    let got = probe_value(c, "attribute[on_log] request.time")?;
    let seconds = got
        .split("tv_sec: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| Error::msg(format!("request.time = {got}: no tv_sec")))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| Error::msg(e.to_string()))?
        .as_secs();
    if now.abs_diff(seconds) <= 60 {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "request.time = {seconds} s, now {now} s: more than a minute apart"
        )))
    }
}

/// In `on_configure` only the plugin's names and the node resolve.
pub(crate) fn in_a_plugin_context(c: &mut Ctx<'_>) -> Result<()> {
    let mut wrong = Vec::new();
    for (path, _, _) in IN_A_STREAM {
        let want = IN_A_PLUGIN_CONTEXT
            .iter()
            .find(|(p, _)| p == path)
            .map_or("None", |(_, v)| v);
        let got = probe_value(c, &format!("attribute[on_configure,envoy_probe] {path}"))?;
        if got != want {
            wrong.push(format!("{path} = {got} (expected {want})"));
        }
    }
    none_wrong(wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_globs() {
        assert!(matches("Some(127.0.0.1:*)", "Some(127.0.0.1:4321)"));
        assert!(!matches("Some(127.0.0.1:*)", "Some(10.0.0.1:4321)"));
        assert!(matches(r#"Some("*-*")"#, r#"Some("a-b")"#));
        assert!(!matches(r#"Some("*-*")"#, r#"Some("ab")"#));
        assert!(matches("None", "None"));
        assert!(!matches("None", "None!"));
        assert!(matches("Some(*s)", "Some(1.2ms)"));
    }
}

//! The book's claims about where Envoy departs from the specification, each
//! held to what Envoy 1.40 does (book: reference/envoy-1.40.md#where-envoy-departs-from-the-specification,
//! reference/hostcalls.md, reference/properties.md). The probe's side is
//! `tests/envoy-probe/src/claims.rs`: one-line observations in `GET /routed`'s
//! `on_request_headers` and at the end of each stream; and the paths these
//! checks send themselves (`POST /body/edit`, `GET /local/continue`,
//! `POST /local/body-continue`, `GET /order`, `GET /contexts`,
//! `GET /local/headers`, `GET /close`, `GET /log-level/STEP`).

use crate::e2e::{Ctx, HTTP_TIMEOUT, expect_response};
use crate::envoy::{http_request, tcp_exchange};
use crate::error::{Result, bail};
use crate::probe::{expect_probe, none_wrong};
use std::collections::BTreeMap;

/// The old top-level `route_metadata` is gone (`xds.route_metadata` is
/// checked with the typed attributes).
pub(crate) fn legacy_route_metadata(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(c, &[("property[legacy] route_metadata", "Err(NOT_FOUND)")])
}

/// `proxy_get_header_map_value` of a key added twice: the first value.
pub(crate) fn repeated_header_first_value(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("header_map[repeated] add twice", "OK, OK"),
            ("header_map[repeated] get", r#"Ok("first")"#),
        ],
    )
}

/// Keys are lower-cased on `add` and on `get`.
pub(crate) fn keys_lower_cased(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("header_map[upper-case key] add", "OK"),
            ("header_map[upper-case key] keys", "[x-probe-upper]"),
            ("header_map[upper-case key] get lower-case", r#"Ok("v")"#),
            ("header_map[upper-case key] get upper-case", r#"Ok("v")"#),
        ],
    )
}

/// Over HTTP/1.1 the `Host` header is `:authority`, and `host` reads it too.
pub(crate) fn authority_is_host(c: &mut Ctx<'_>) -> Result<()> {
    let host = format!(r#"Ok("127.0.0.1:{}")"#, c.port);
    expect_probe(
        c,
        &[
            ("header_map[HTTP/1.1] get :authority", host.as_str()),
            ("header_map[HTTP/1.1] get host", host.as_str()),
        ],
    )
}

/// `proxy_increment_metric` with 0 on a counter is refused;
/// `proxy_record_metric` on a counter adds.
pub(crate) fn counter_increment_zero_and_record(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("metrics counter increment(0)", "Err(BAD_ARGUMENT)"),
            (
                "metrics counter record",
                "increment(2), record(5): grew by 7",
            ),
        ],
    )
}

/// `proxy_continue_stream(3)` (upstream) in an HTTP and a TCP context.
pub(crate) fn continue_upstream_unimplemented(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            (
                "continue_stream(3)[on_request_headers]",
                "Err(UNIMPLEMENTED)",
            ),
            (
                "continue_stream(3)[on_new_connection]",
                "Err(UNIMPLEMENTED)",
            ),
        ],
    )
}

/// `proxy_set_property` with a two-segment path stores the whole path as
/// one key: the filter state `wasm.probe_split<NUL>inner` (read through CEL,
/// as no property path can name it). Nothing is under the first segment, and
/// `proxy_get_property`, which does split, cannot read it back. The control:
/// a one-segment key reads back as a property and as filter state.
pub(crate) fn set_property_does_not_split(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("set_property[probe_whole]", "OK"),
            ("set_property then get [probe_whole]", r#"Ok(1 bytes: "w")"#),
            (
                "set_property then get [filter_state, wasm.probe_whole]",
                r#"Ok(1 bytes: "w")"#,
            ),
            (
                r#"set_property then CEL filter_state["wasm.probe_whole"]"#,
                r#"Ok(1 bytes: "w")"#,
            ),
            ("set_property[probe_split,inner]", "OK"),
            (
                r#"set_property then CEL filter_state["wasm.probe_split\x00inner"]"#,
                r#"Ok(1 bytes: "v")"#,
            ),
            ("set_property then get [probe_split]", "Err(NOT_FOUND)"),
            (
                "set_property then get [filter_state, wasm.probe_split]",
                "Err(NOT_FOUND)",
            ),
            (
                "set_property then get [probe_split,inner]",
                "Err(NOT_FOUND)",
            ),
        ],
    )
}

/// `proxy_get_current_time_nanoseconds` advances within one callback.
pub(crate) fn clock_is_live(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(c, &[("time::now within one callback", "advanced")])
}

/// HTTP: `on_log` then `on_done`; TCP: `on_done` then `on_log`.
pub(crate) fn stream_end_order(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("stream_end_order[http]", "on_log, on_done"),
            ("stream_end_order[tcp]", "on_done, on_log"),
        ],
    )
}

/// A callout to a cluster Envoy does not know, and to one with no
/// endpoints: the status `proxy_http_call` answers, and no response callback.
pub(crate) fn immediate_callout_failures(c: &mut Ctx<'_>) -> Result<()> {
    for path in ["/callout/unknown", "/callout/empty"] {
        let r = c.get(path, &[])?;
        expect_response(&r, 200, "probe upstream\n", &[])?;
    }
    expect_probe(
        c,
        &[
            ("callout_sent[/callout/unknown]", "Err(BAD_ARGUMENT)"),
            ("callout_sent[/callout/empty]", "Err(INTERNAL_FAILURE)"),
        ],
    )?;
    let log = c.envoy.log();
    if let Some(line) = log.lines().find(|l| l.contains("probe: callout_response[")) {
        bail!("a callout that failed at once got a response callback: {line}");
    }
    Ok(())
}

/// `replace` leaves one entry with the key, `remove` removes every entry
/// and is `OK` for an absent key.
pub(crate) fn replace_and_remove(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("header_map[repeated] replace", "OK"),
            ("header_map[replaced] values", "[third]"),
            ("header_map[replaced] remove", "OK"),
            ("header_map[removed] get", "Err(NOT_FOUND)"),
            ("header_map[absent key] remove", "OK"),
        ],
    )
}

/// A map that does not exist: `get` is `BAD_ARGUMENT` (response headers
/// before the response), but `NOT_FOUND` while Envoy writes the access log
/// (request trailers in `on_log`); `pairs` is an empty map, never an error.
pub(crate) fn missing_maps(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            (
                "header_map[response headers, before the response] get",
                "Err(BAD_ARGUMENT)",
            ),
            (
                "header_map[response headers, before the response] pairs",
                "Ok(0 pairs)",
            ),
            (
                "header_map[request trailers, none, in on_log] get",
                "Err(NOT_FOUND)",
            ),
        ],
    )
}

/// A body outside its callback reads as empty (`OK`), not `NOT_FOUND`, and
/// cannot be written; the callout response body outside a callout's
/// response is `NOT_FOUND`.
pub(crate) fn buffers_outside_their_callback(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            (
                "buffer[request body, in on_request_headers] read",
                "Ok(0 bytes)",
            ),
            (
                "buffer[request body, in on_request_headers] append",
                "Err(BAD_ARGUMENT)",
            ),
            (
                "buffer[callout response body, no callout] read",
                "Err(NOT_FOUND)",
            ),
        ],
    )
}

/// Defining a metric name again gives a new id for the same stat.
pub(crate) fn metric_defined_twice(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[(
            "metrics counter defined twice",
            "same id false, the second grew by 3",
        )],
    )
}

/// In a plugin context (`on_tick`): `set_property` is `NOT_FOUND` (no
/// stream), `continue_stream` is `OK` and does nothing.
pub(crate) fn plugin_context_stream_calls(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("set_property[on_tick]", "Err(NOT_FOUND)"),
            ("continue_stream(0)[on_tick]", "OK"),
        ],
    )
}

/// `proxy_get_status` before any callout: code 0, empty message.
pub(crate) fn status_starts_at_zero(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(c, &[("get_status[before any callout]", r#"(0, "")"#)])
}

/// Shared queues: `resolve` is `NOT_FOUND` until someone registers, then
/// finds the registered token; `register` gives a non-zero token; an empty
/// queue dequeues `EMPTY`; an unknown token is `NOT_FOUND` to both
/// `enqueue` and `dequeue`.
pub(crate) fn shared_queues(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("shared_queue resolve before register", "Err(NOT_FOUND)"),
            ("shared_queue register", "Ok(non-zero)"),
            (
                "shared_queue resolve after register",
                "Ok(the registered token)",
            ),
            ("shared_queue dequeue empty", "EMPTY"),
            ("shared_queue enqueue unknown token", "Err(NOT_FOUND)"),
            ("shared_queue dequeue unknown token", "Err(NOT_FOUND)"),
        ],
    )
}

/// A local reply's details `probe local reply` become the response code
/// details with `_` for each space.
pub(crate) fn local_reply_details(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[(
            "property[on_log,local] response.code_details",
            r#"Ok(17 bytes: "probe_local_reply")"#,
        )],
    )
}

/// `proxy_get_buffer_status`: flags 0 even for a whole callout response;
/// the VM configuration answers at any time, the plugin configuration is
/// `NOT_FOUND` outside `on_configure`; buffer type 9 and map type 8 are
/// `BAD_ARGUMENT`.
pub(crate) fn buffer_status_and_type_bounds(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            (
                "buffer_status[callout response body, in on_http_call_response]",
                "OK, length 15, flags 0",
            ),
            (
                "buffer_status[vm configuration, in on_request_headers]",
                "OK, length 0, flags 0",
            ),
            (
                "buffer_status[vm configuration, in on_tick]",
                "OK, length 0, flags 0",
            ),
            (
                "buffer_status[plugin configuration, in on_request_headers]",
                "NOT_FOUND",
            ),
            ("buffer_status[type 9]", "BAD_ARGUMENT"),
            ("header_map_pairs[type 8]", "BAD_ARGUMENT"),
        ],
    )
}

/// `proxy_set_buffer_bytes` on the request body `abcdef`: the middle is
/// refused and changes nothing; `start 0` drains `size` bytes then
/// prepends; a `start` past the end appends; a `size` past the end
/// replaces the whole body, which is what reaches the upstream.
pub(crate) fn body_edits_at_the_ends(c: &mut Ctx<'_>) -> Result<()> {
    let r = http_request(
        c.port,
        "POST",
        "/body/edit",
        &[("x-probe-case", "body/edit")],
        b"abcdef",
        HTTP_TIMEOUT,
    )?;
    expect_response(&r, 200, "probe upstream\n", &[])?;
    expect_probe(
        c,
        &[
            (
                "body_edit[middle: start 2, size 1]",
                r#"Err(BAD_ARGUMENT), body "abcdef""#,
            ),
            ("body_edit[front: start 0, size 1]", r#"OK, body "Ybcdef""#),
            (
                "body_edit[past the end: start 100, size 0]",
                r#"OK, body "Ybcdef!""#,
            ),
            ("body_edit[whole: start 0, size 100]", r#"OK, body "whole""#),
            ("upstream[body/edit]", r#"body "whole""#),
        ],
    )
}

/// A local reply sent from `on_request_headers` or `on_request_body`,
/// which then return Continue: the client gets the reply, not the
/// upstream's answer.
pub(crate) fn local_reply_overrides_continue(c: &mut Ctx<'_>) -> Result<()> {
    let r = c.get("/local/continue", &[])?;
    expect_response(&r, 418, "probe local reply, then Continue\n", &[])?;
    let r = http_request(
        c.port,
        "POST",
        "/local/body-continue",
        &[],
        b"abcdef",
        HTTP_TIMEOUT,
    )?;
    expect_response(
        &r,
        418,
        "probe local reply from the body, then Continue\n",
        &[],
    )?;
    expect_probe(
        c,
        &[
            ("local_reply_sent[on_request_headers, Continue]", "OK"),
            ("local_reply_sent[on_request_body, Continue]", "OK"),
        ],
    )
}

/// `GET /order` through the chain `envoy_probe`, `struct_config`,
/// `bytes_config`, `string_config`: each logs `filter_order = CALLBACK
/// PLUGIN`; the request callbacks run in list order, the response
/// callbacks in reverse.
pub(crate) fn filter_order(c: &mut Ctx<'_>) -> Result<()> {
    const PLUGINS: [&str; 4] = [
        "envoy_probe",
        "struct_config",
        "bytes_config",
        "string_config",
    ];
    let r = c.get("/order", &[])?;
    expect_response(&r, 200, "probe upstream\n", &[])?;
    let mut want: Vec<String> = PLUGINS
        .iter()
        .map(|p| format!("on_request_headers {p}"))
        .collect();
    want.extend(
        PLUGINS
            .iter()
            .rev()
            .map(|p| format!("on_response_headers {p}")),
    );
    c.logged(&["probe: filter_order = on_response_headers envoy_probe"])?;
    let log = c.envoy.log();
    let seen: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("probe: filter_order = ").map(|(_, v)| v))
        .collect();
    if seen != want {
        bail!("filter_order lines {seen:?} (expected {want:?})");
    }
    Ok(())
}

/// Out-of-range arguments: a stream type above 3 to `proxy_continue_stream`
/// and `proxy_close_stream`, a log level above 5 to `proxy_log`.
pub(crate) fn out_of_range_stream_type_and_log_level(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("continue_stream(4)", "BAD_ARGUMENT"),
            ("close_stream(4)", "BAD_ARGUMENT"),
            ("log(level 6)", "BAD_ARGUMENT"),
        ],
    )
}

/// `proxy_get_buffer_bytes` from past the end of a body is empty. With
/// `start + max_size` past `u32::MAX` it is empty too, not `BAD_ARGUMENT`
/// (hostcalls.md#buffers): Envoy adds the two as 64-bit words, so no pair
/// of 32-bit arguments overflows.
pub(crate) fn buffer_read_bounds(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("buffer[request body] read from past the end", "Ok(0 bytes)"),
            (
                "buffer[request body] read with start + max_size past u32::MAX",
                "Ok(0 bytes)",
            ),
        ],
    )
}

/// Shared data is scoped by `vm_id`: from VM `envoy_probe` the keys its two
/// plugins wrote are there, those of VMs `tcp_probe` and `actions_probe`
/// are not; from VM `tcp_probe` only its own (book:
/// reference/hostcalls.md#shared-data, state.md#shared-data).
pub(crate) fn shared_data_scope(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            (
                "shared_data scope[from envoy_probe] probe-scope:envoy_probe",
                "found",
            ),
            (
                "shared_data scope[from envoy_probe] probe-scope:struct_config",
                "found",
            ),
            (
                "shared_data scope[from envoy_probe] probe-scope:tcp_probe",
                "NOT_FOUND",
            ),
            (
                "shared_data scope[from envoy_probe] probe-scope:actions_default",
                "NOT_FOUND",
            ),
            (
                "shared_data scope[from tcp_probe] probe-scope:envoy_probe",
                "NOT_FOUND",
            ),
            (
                "shared_data scope[from tcp_probe] probe-scope:struct_config",
                "NOT_FOUND",
            ),
            (
                "shared_data scope[from tcp_probe] probe-scope:tcp_probe",
                "found",
            ),
            (
                "shared_data scope[from tcp_probe] probe-scope:actions_default",
                "NOT_FOUND",
            ),
        ],
    )
}

/// The metric calls' rules: `define` gives ids whose two low bits are the
/// type and refuses type 3; `increment` refuses a negative offset on a
/// counter and anything on a histogram, whose `get` is refused too; an id
/// Envoy never gave is `NOT_FOUND` to `increment`, `record` and `get`
/// (book: reference/hostcalls.md#metrics).
pub(crate) fn metric_rules(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[(
            "metrics raw rules",
            "define type 0: id 4n+0, define type 1: id 4n+1, define type 2: id 4n+2, \
             define type 3: BAD_ARGUMENT, increment(counter, -1): BAD_ARGUMENT, \
             increment(histogram, 1): BAD_ARGUMENT, get(histogram): BAD_ARGUMENT, \
             increment(unknown, 1): NOT_FOUND, record(unknown, 1): NOT_FOUND, \
             get(unknown): NOT_FOUND",
        )],
    )
}

/// `GET /contexts`, once earlier streams ended: `proxy_set_effective_context`
/// is `BAD_ARGUMENT` for an ended stream and for an id Envoy never gave,
/// `OK` for the stream itself; `proxy_done` from a stream whose plugin is
/// not shutting down is `NOT_FOUND` (book: reference/hostcalls.md#contexts).
pub(crate) fn contexts(c: &mut Ctx<'_>) -> Result<()> {
    let r = c.get("/contexts", &[])?;
    expect_response(&r, 200, "probe upstream\n", &[])?;
    expect_probe(
        c,
        &[
            (
                "set_effective_context[an ended stream]",
                "Err(BAD_ARGUMENT)",
            ),
            (
                "set_effective_context[an id never given]",
                "Err(BAD_ARGUMENT)",
            ),
            ("set_effective_context[own stream]", "OK"),
            (
                "done[from a stream, plugin not shutting down]",
                "Err(NOT_FOUND)",
            ),
        ],
    )
}

/// A local reply's headers are added to the reply: a header the plugin
/// gives twice goes out twice. But `content-type` is not doubled: Envoy
/// adds its own `text/plain` (for a reply with a body) only when the
/// plugin gave none (book: reference/hostcalls.md#local-responses).
pub(crate) fn local_reply_headers(c: &mut Ctx<'_>) -> Result<()> {
    let mut wrong = Vec::new();
    let cases: [(&str, &[(&str, &str)]); 2] = [
        (
            "/local/headers",
            &[
                ("content-type", "application/json"),
                ("x-probe-twice", "a"),
                ("x-probe-twice", "b"),
            ],
        ),
        // The plugin gives no content-type here.
        ("/local/continue", &[("content-type", "text/plain")]),
    ];
    for (path, expected) in cases {
        let r = c.get(path, &[])?;
        let got: Vec<(&str, &str)> = r
            .headers
            .iter()
            .filter(|(n, _)| expected.iter().any(|(e, _)| e == n))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        if got != expected {
            wrong.push(format!(
                "GET {path}: headers {got:?} (expected {expected:?})"
            ));
        }
    }
    if let Err(e) = expect_probe(c, &[("local_reply_sent[/local/headers]", "OK")]) {
        wrong.push(e.to_string());
    }
    none_wrong(wrong)
}

/// `proxy_close_stream(0)` from `on_request_headers` resets the stream: the
/// client gets no response, and the response code details are
/// `wasm_close_stream` (book: reference/hostcalls.md#stream-control).
pub(crate) fn close_stream_resets(c: &mut Ctx<'_>) -> Result<()> {
    let request = b"GET /close HTTP/1.1\r\nhost: probe\r\nconnection: close\r\n\r\n";
    let reply = tcp_exchange(c.port, request, HTTP_TIMEOUT)?;
    expect_probe(
        c,
        &[
            ("close_stream(0)[/close]", "OK"),
            (
                "property[on_log,close] response.code_details",
                r#"Ok(17 bytes: "wasm_close_stream")"#,
            ),
        ],
    )?;
    if !reply.is_empty() {
        bail!(
            "the client got {:?} (expected nothing: the stream reset)",
            String::from_utf8_lossy(&reply)
        );
    }
    Ok(())
}

/// Sets the level of Envoy's `wasm` logger through the admin interface.
fn set_wasm_log_level(level: &str) -> Result<()> {
    let path = format!("/logging?wasm={level}");
    let r = http_request(
        crate::probe_metrics::ADMIN_PORT,
        "POST",
        &path,
        &[],
        b"",
        HTTP_TIMEOUT,
    )?;
    if r.status != 200 {
        bail!("POST {path}: {}", r.status);
    }
    Ok(())
}

/// `proxy_get_log_level` reads the `wasm` logger's level as it is now: each
/// `GET /log-level/STEP` after an admin change reads the new level, and
/// with the logger off it reads 6 (seen from the next step, as the step's
/// own line is dropped) (book: reference/hostcalls.md#logging-time-and-timers).
/// The logger is set back to debug, as the probe's Envoy starts, whatever
/// happens.
pub(crate) fn log_level_follows_admin(c: &mut Ctx<'_>) -> Result<()> {
    let steps = (|| -> Result<()> {
        set_wasm_log_level("info")?;
        c.get("/log-level/info", &[])?;
        set_wasm_log_level("off")?;
        c.get("/log-level/off", &[])?;
        Ok(())
    })();
    set_wasm_log_level("debug")?;
    steps?;
    c.get("/log-level/debug", &[])?;
    expect_probe(
        c,
        &[
            ("log_level[info]", "Info (2); the step before read nothing"),
            (
                "log_level[debug]",
                "Debug (1); the step before read Off (6)",
            ),
        ],
    )?;
    let log = c.envoy.log();
    if let Some(line) = log.lines().find(|l| l.contains("probe: log_level[off]")) {
        bail!("a line logged while the wasm logger was off: {line}");
    }
    Ok(())
}

/// An HTTP callout with timeout 0 has none: the probe sends one (raw, in
/// `GET /routed`) to `probe_slow`, which answers after 5 s, and the
/// cluster's stats show that answer's 200 arriving, with no timeout beyond
/// the one of the 300 ms callout (`callout_timed_out`); a timeout of 2^31 ms
/// is `BAD_ARGUMENT` (book: reference/hostcalls.md#http-callouts). Placed
/// last, so the 5 s have mostly passed.
pub(crate) fn callout_timeout_zero(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("callout_raw[timeout 0]", "OK, token 4n+0"),
            ("callout_raw[timeout 2^31]", "BAD_ARGUMENT"),
        ],
    )?;
    let stat = |body: &str, name: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": ").map(str::to_string))
            .unwrap_or_else(|| "absent".to_string())
    };
    let deadline = std::time::Instant::now() + crate::e2e::LOG_WAIT;
    loop {
        let body = crate::probe_metrics::admin("/stats?filter=probe_slow.upstream_rq_")?;
        let ok = stat(&body, "cluster.probe_slow.upstream_rq_200");
        let timeouts = stat(&body, "cluster.probe_slow.upstream_rq_timeout");
        if ok == "1" {
            if timeouts != "1" {
                bail!(
                    "cluster.probe_slow.upstream_rq_timeout = {timeouts} (expected 1: the 300 ms callout's alone)"
                );
            }
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            bail!(
                "cluster.probe_slow.upstream_rq_200 = {ok}, upstream_rq_timeout = {timeouts} (expected the timeout-0 callout's 200 after the upstream's 5 s)"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `proxy_http_call` refuses a call missing `:method`, `:path` or
/// `:authority` with `BAD_ARGUMENT` (so no callback can come: no token is
/// written), and takes 2^31-1 ms, the largest timeout (the probe sends them
/// raw, in `GET /routed`, to `probe_upstream`)
/// (book: reference/hostcalls.md#http-callouts).
pub(crate) fn callout_arguments(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("callout_raw[without :method]", "BAD_ARGUMENT"),
            ("callout_raw[without :path]", "BAD_ARGUMENT"),
            ("callout_raw[without :authority]", "BAD_ARGUMENT"),
            ("callout_raw[timeout 2^31-1]", "OK, token 4n+0"),
        ],
    )
}

/// The headers of a local reply that a check compares: `:status` first, then
/// these names' values as Envoy sent them (`absent` when not sent).
fn reply_shape(r: &crate::envoy::Response, names: &[&str]) -> String {
    let mut shown = vec![format!(":status {}", r.status)];
    for name in names {
        let values: Vec<&str> = r
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        let value = if values.is_empty() {
            "absent".to_string()
        } else {
            values.join(", ")
        };
        shown.push(format!("{name} {value}"));
    }
    shown.push(format!("body {} bytes", r.body.len()));
    shown.join(", ")
}

/// A local reply to a gRPC request without a gRPC status (-1): Envoy
/// answers `:status 200` and maps the HTTP status to `grpc-status` (400 →
/// 13, 401 → 16, 403 → 7, 404 → 12, 429/502/503/504 → 14, anything else 2)
/// (book: reference/envoy-1.40.md#grpc-local-replies).
pub(crate) fn grpc_local_reply_mapping(c: &mut Ctx<'_>) -> Result<()> {
    let mut wrong = Vec::new();
    for (http, status) in [
        (400, 13),
        (401, 16),
        (403, 7),
        (404, 12),
        (429, 14),
        (500, 2),
        (502, 14),
        (503, 14),
        (504, 14),
        (418, 2),
    ] {
        let path = format!("/local/grpc/{http}");
        probe_grpc(c, &path, status, &mut wrong)?;
    }
    // A given status: 0-16 is sent as given, 17 is treated as none.
    for (path, status) in [("/local/grpc/400/5", 5), ("/local/grpc/400/17", 13)] {
        probe_grpc(c, path, status, &mut wrong)?;
    }
    none_wrong(wrong)
}

/// `GET path` as a gRPC request: the local reply is `:status 200` with
/// `grpc-status` `status`, no body; a difference is added to `wrong`.
fn probe_grpc(c: &mut Ctx<'_>, path: &str, status: u32, wrong: &mut Vec<String>) -> Result<()> {
    let grpc = [("content-type", "application/grpc")];
    let r = c.get(path, &grpc)?;
    let got = reply_shape(&r, &["grpc-status", "content-type"]);
    let want =
        format!(":status 200, grpc-status {status}, content-type application/grpc, body 0 bytes");
    if got != want {
        wrong.push(format!("GET {path} (gRPC): {got} (expected {want})"));
    }
    Ok(())
}

/// A local reply's `grpc_status` on a plain HTTP request is not sent: no
/// `grpc-status` header for 7 (in 0-16), 17 or -1; the HTTP status stays.
/// A body-less reply has `content-length: 0` and no `content-type`
/// (book: reference/hostcalls.md#local-responses).
pub(crate) fn local_reply_grpc_status_header(c: &mut Ctx<'_>) -> Result<()> {
    let mut wrong = Vec::new();
    for path in ["/local/grpc/403/7", "/local/grpc/403/17", "/local/grpc/403"] {
        let r = c.get(path, &[])?;
        let got = reply_shape(&r, &["grpc-status", "content-length", "content-type"]);
        let want =
            ":status 403, grpc-status absent, content-length 0, content-type absent, body 0 bytes";
        if got != want {
            wrong.push(format!("GET {path}: {got} (expected {want})"));
        }
    }
    none_wrong(wrong)
}

/// A local reply sent from `on_response_headers` of a routed request
/// replaces the upstream's response and goes straight to the client:
/// `on_response_headers` runs once, for the upstream's 200
/// (book: reference/hostcalls.md#local-responses). Two replies from that
/// callback crash Envoy 1.40, so `/response-reply/two` checks that the SDK
/// refuses the second and Envoy sends the first
/// (book: reference/envoy-1.40.md#local-replies).
pub(crate) fn local_reply_from_response_headers(c: &mut Ctx<'_>) -> Result<()> {
    let mut wrong = Vec::new();
    for (how, second) in [("one", "not sent"), ("two", "refused")] {
        let path = format!("/response-reply/{how}");
        expect_reply(c, &path, "451 \"first reply\\n\"", &mut wrong)?;
        if let Err(e) = expect_probe(
            c,
            &[
                (
                    format!("response_reply[{how}] on_response_headers call 1"),
                    ":status 200".to_string(),
                ),
                (
                    format!("response_reply[{how}] sent"),
                    format!("OK, then {second}"),
                ),
            ],
        ) {
            wrong.push(e.to_string());
        }
        let again = format!("probe: response_reply[{how}] on_response_headers call 2");
        if let Some(line) = c.envoy.log().lines().find(|l| l.contains(&again)) {
            wrong.push(format!("on_response_headers ran again: {line}"));
        }
    }
    none_wrong(wrong)
}

/// A second local reply in one request callback: sent through the raw
/// import, Envoy answers OK to both and sends the first; through the SDK
/// the second is refused. A 403 sent from `on_request_headers` passes
/// through the plugin's `on_response_headers`, whose own reply (452)
/// replaces it, straight to the client: `on_response_body` never runs. A
/// reply from `on_response_body`, once the 403's headers went out, resets
/// the stream (book: reference/envoy-1.40.md#local-replies).
pub(crate) fn second_local_replies(c: &mut Ctx<'_>) -> Result<()> {
    let mut wrong = Vec::new();
    for (how, sent) in [("raw", "OK, then OK"), ("sdk", "OK, then refused")] {
        let path = format!("/request-reply/{how}");
        expect_reply(c, &path, "451 \"first reply\\n\"", &mut wrong)?;
        if let Err(e) = expect_probe(c, &[(format!("request_reply[{how}] sent"), sent)]) {
            wrong.push(e.to_string());
        }
    }
    expect_reply(c, "/own-reply", "452 \"own second\\n\"", &mut wrong)?;
    if let Err(e) = expect_probe(
        c,
        &[
            ("own_reply first sent", "OK"),
            ("own_reply on_response_headers call 1", ":status 403"),
            ("own_reply second sent", "OK"),
        ],
    ) {
        wrong.push(e.to_string());
    }
    // A reply from `on_response_body` of the plugin's own reply, whose
    // headers went out: OK, then the stream is reset (headers, no body).
    let path = "/own-reply-body";
    match c.get(path, &[]) {
        Err(e) if format!("{e:#}").contains("reading the body") => {}
        Err(e) => wrong.push(format!(
            "GET {path}: {e:#} (expected a reset after the headers)"
        )),
        Ok(r) => wrong.push(format!(
            "GET {path}: {} {:?} (expected a reset after the headers)",
            r.status,
            String::from_utf8_lossy(&r.body)
        )),
    }
    if let Err(e) = expect_probe(c, &[("own_reply_body second sent", "OK")]) {
        wrong.push(e.to_string());
    }
    for unwanted in [
        "probe: own_reply on_response_body",
        "probe: own_reply on_response_headers call 2",
    ] {
        if let Some(line) = c.envoy.log().lines().find(|l| l.contains(unwanted)) {
            wrong.push(format!("the replaced reply went on: {line}"));
        }
    }
    none_wrong(wrong)
}

/// The plugin's own reply held by its `on_response_headers` (`Pause`):
/// nothing reaches the client and `on_response_body` does not run until the
/// plugin resumes the response; resumed (here from a callout's response),
/// the client gets the reply whole and `on_response_body` runs for its body
/// (book: reference/envoy-1.40.md#local-replies).
pub(crate) fn held_own_reply(c: &mut Ctx<'_>) -> Result<()> {
    let mut wrong = Vec::new();
    let path = "/own-reply-held";
    // (A short wait: nothing comes, however long.)
    match crate::envoy::http_get(c.port, path, &[], std::time::Duration::from_secs(3)) {
        Err(e) if format!("{e:#}").contains("receive response") => {}
        Err(e) => wrong.push(format!("GET {path}: {e:#} (expected no response)")),
        Ok(r) => wrong.push(format!("GET {path}: {} (expected no response)", r.status)),
    }
    expect_reply(
        c,
        "/own-reply-held/resumed",
        "403 \"own first\\n\"",
        &mut wrong,
    )?;
    if let Err(e) = expect_probe(
        c,
        &[
            ("/own-reply-held on_response_headers call 1", ":status 403"),
            (
                "/own-reply-held/resumed on_response_headers call 1",
                ":status 403",
            ),
            ("/own-reply-held/resumed resumed", "OK"),
            ("/own-reply-held/resumed on_response_body", "10 true"),
        ],
    ) {
        wrong.push(e.to_string());
    }
    let unwanted = "probe: /own-reply-held on_response_body";
    if let Some(line) = c.envoy.log().lines().find(|l| l.contains(unwanted)) {
        wrong.push(format!("the held reply's body was delivered: {line}"));
    }
    none_wrong(wrong)
}

/// Plugins sharing a VM start one after another: on each thread, every
/// plugin's `on_vm_start` is followed by its own `on_configure` before the
/// next plugin's `on_vm_start` (book: reference/lifecycle.md#vms-and-plugin-contexts).
pub(crate) fn plugins_start_one_after_another(c: &mut Ctx<'_>) -> Result<()> {
    c.logged(&["probe: on_configure = upstream_probe"])?;
    // Per thread (the log's second bracket), the start-up lines in order.
    let mut threads: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for line in c.envoy.log().lines() {
        let step = ["on_vm_start", "on_configure"]
            .into_iter()
            .find_map(|step| Some((step, line.split_once(&format!("probe: {step} = "))?.1)));
        let thread = line.split('[').nth(2).and_then(|t| t.split(']').next());
        if let (Some((step, plugin)), Some(thread)) = (step, thread) {
            let steps = threads.entry(thread.to_string()).or_default();
            steps.push((step.to_string(), plugin.trim().to_string()));
        }
    }
    let mut wrong = Vec::new();
    let mut plugins_seen = 0;
    for (thread, steps) in &threads {
        for pair in steps.chunks(2) {
            match pair {
                [(start, a), (configure, b)]
                    if start == "on_vm_start" && configure == "on_configure" && a == b => {}
                _ => wrong.push(format!("thread {thread}: {pair:?} (expected on_vm_start then on_configure of one plugin)")),
            }
        }
        plugins_seen = plugins_seen.max(steps.len() / 2);
    }
    if plugins_seen < 2 {
        wrong.push(format!("no thread started two plugins: {threads:?}"));
    }
    none_wrong(wrong)
}

/// `GET path`; notes in `wrong` a reply other than `want` (the status, then
/// the body quoted).
fn expect_reply(c: &Ctx<'_>, path: &str, want: &str, wrong: &mut Vec<String>) -> Result<()> {
    let r = c.get(path, &[])?;
    let got = format!("{} {:?}", r.status, String::from_utf8_lossy(&r.body));
    if got != want {
        wrong.push(format!("GET {path}: {got} (expected {want})"));
    }
    Ok(())
}

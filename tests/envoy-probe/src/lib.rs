//! `envoy_probe`: observes, in a real Envoy, the host behaviours that reading
//! Envoy's source left unsure (book: reference/envoy-1.40.md#measured), and
//! logs each observation as one stable line `probe: <name> = <observed>`. The
//! e2e checks of `envoy_probe` (`xtask/src/e2e.rs`, run by `cargo xtask e2e`
//! and the gate) start Envoy on `envoy.yaml`, send the requests below and
//! assert the lines, so what Envoy 1.40 actually does is recorded in CI.
//!
//! The plugin configuration selects the role:
//! * `"http"` (plugin `envoy_probe`, HTTP filter on 127.0.0.1:18400, routed to
//!   the upstream cluster `probe_upstream`, 127.0.0.1:18402):
//!   * `GET /routed`: in `on_request_headers`, the log level, the header-map
//!     size against the pairs, the "newer builds" properties and foreign
//!     functions, the shared-data CAS rules on fresh keys, and metrics
//!     (plain and tagged, read back by the checks from the admin stats); in
//!     `on_response_headers`, the request headers after the
//!     request continued and the properties again; in `on_log`, both again;
//!     the book's claims of [`claims`] in `on_request_headers`, and the
//!     order of `on_log` and `on_done`;
//!   * `GET /local`: answered with a local reply from `on_request_headers`;
//!     `on_response_headers` logs that it ran for it, `on_log` its
//!     `response.code_details`;
//!   * `GET /callout/{refused,timeout,reset}`: an HTTP callout whose upstream
//!     refuses the connection, answers too late, or closes after its response
//!     headers; the response is logged whole ([`CALLOUTS`]);
//!   * `GET /callout/{unknown,empty}`: an HTTP callout that fails at once
//!     (an unknown cluster, a cluster with no endpoints): the status
//!     `proxy_http_call` answered, then the request goes on upstream
//!     ([`IMMEDIATE_CALLOUTS`]);
//!   * `POST /direct/{continue,pause}`: routed to a `direct_response` route;
//!     `on_log` logs which callbacks ran;
//!   * `GET /bytes`: the `x-bytes` request header logged as hex, and echoed
//!     as `x-echo` in the response.
//!   * `GET /local/continue`, `POST /local/body-continue`: a local reply
//!     from `on_request_headers` or `on_request_body`, which then return
//!     Continue;
//!   * `POST /body/edit`: the request body edited in `on_request_body` at
//!     each place `proxy_set_buffer_bytes` takes ([`claims::edit_request_body`]);
//!   * `GET /order`: each filter of the chain logs its `on_request_headers`
//!     and `on_response_headers` (`filter_order`);
//!   * `GET /local/headers`: a local reply with its own `content-type` and a
//!     header given twice; `GET /close`: `proxy_close_stream(0)`, and
//!     `on_log` logs the response code details;
//!   * `GET /contexts`: `proxy_set_effective_context` and `proxy_done`
//!     ([`claims::contexts`]); `GET /log-level/STEP`: the log level as read
//!     now and by the step before ([`claims::log_level_step`]).
//! * `"tcp"` (plugin `tcp_probe`, network filter on 127.0.0.1:18403, then
//!   `tcp_proxy` to the same upstream): `send_local_response` and
//!   `proxy_continue_stream(3)` from `on_new_connection`, and the order of
//!   `on_done` and `on_log`.
//!
//! * any other configuration (plugins `struct_config`, `bytes_config`,
//!   `string_config`: the same JSON document as a `google.protobuf.Struct`, a
//!   `BytesValue` and a `StringValue`): logs what `Configuration::json` reads
//!   and what the raw bytes look like; its streams only log `filter_order`
//!   on `GET /order` (they follow `envoy_probe` in the chain).
//!
//! * `"actions"` (plugins `actions_default` on 127.0.0.1:18407 and
//!   `actions_allow`, with `allow_on_headers_stop_iteration: true`, on
//!   127.0.0.1:18408; both routed to `probe_upstream`): see [`actions`].
//! * `"upstream"` (plugin `upstream_probe` on the upstream listener): logs
//!   the body that reached the upstream for a request carrying
//!   `x-probe-case` (see [`actions`]), and answers a 4 KiB body to one
//!   carrying `x-probe-big-response`.
//! * `"limits"` (plugin `actions_limit` on 127.0.0.1:18409, a listener with
//!   a 1 KiB buffer limit, routed to `probe_upstream`): holds bodies past
//!   the limit, see [`limits`].
//!
//! Both roles log `on_vm_start`/`on_configure` with the plugin name, so the
//! canary and per-worker runs can be counted, and the HTTP role logs its
//! first tick once per VM that ticks (then stops its timer). Nothing here
//! panics: every failure is logged as part of the observation.

pub mod foreign_calls;

use proxywasm::attribute::{
    self, Attribute, FromAttribute, connection, destination, plugin, request, response, source,
    upstream, xds,
};
use proxywasm::callout::{self, HttpCall, HttpCallToken};
use proxywasm::http::{self, HeaderMap, HeaderPairs, LocalResponse};
use proxywasm::log::{info, warn};
use proxywasm::metrics::{Counter, Family, Gauge, Histogram};
use proxywasm::shared::{self, Cas};
use proxywasm::{
    Action, Configuration, ContextId, Error, HttpCallResponse, HttpContext, PluginContext, Result,
    TcpContext, VmContext, foreign, logging, property, time,
};
use std::time::Duration;

pub mod actions;
pub mod claims;
pub mod limits;
pub mod measured;
pub mod scope;
pub mod wasi;

/// The actions role's tick period.
pub const ACTIONS_TICK: Duration = Duration::from_millis(100);

/// The properties only newer Envoy builds have (book: reference/properties.md).
pub const PROPERTIES: &[(&[&str], Shape)] = &[
    (&["request", "headers_bytes"], Shape::Int),
    (&["response", "headers_bytes"], Shape::Int),
    (&["upstream", "num_endpoints"], Shape::Int),
    (&["connection", "peer_certificate"], Shape::Bytes),
    (&["xds", "upstream_host_locality_metadata"], Shape::Bytes),
];

/// The foreign-function calls probed: name, label, arguments
/// (book: reference/hostcalls.md#envoys-foreign-functions).
/// `no_such_function` is the control: what a missing function looks like.
pub const FOREIGN_CALLS: &[(&str, &str, &[u8])] = &[
    ("no_such_function", "empty", b""),
    ("clear_route_cache", "empty", b""),
    ("sign", "empty", b""),
    ("sign", "garbage", b"\xff\xff\xff\xff"),
    ("verify_signature", "empty", b""),
    ("verify_signature", "garbage", b"\xff\xff\xff\xff"),
];

/// The HTTP role's tick period (the timer stops after the first tick).
pub const TICK_PERIOD: Duration = Duration::from_millis(100);

/// The path answered with a local reply.
pub const LOCAL_PATH: &str = "/local";
/// The path probed in full (routed to the upstream).
pub const ROUTED_PATH: &str = "/routed";
/// The path answered with a local reply from `on_request_headers`, which
/// then returns Continue (book: reference/hostcalls.md#local-responses: the reply
/// overrides the callback's result).
pub const LOCAL_CONTINUE_PATH: &str = "/local/continue";
/// The same from `on_request_body` (at the end of the request).
pub const LOCAL_BODY_CONTINUE_PATH: &str = "/local/body-continue";
/// The path whose request body the probe edits with `proxy_set_buffer_bytes`
/// (book: reference/hostcalls.md#buffers), then sends upstream.
pub const BODY_EDIT_PATH: &str = "/body/edit";
/// The path on which each HTTP filter of the chain (`envoy_probe`, then the
/// `struct_config`, `bytes_config` and `string_config` plugins) logs
/// `filter_order = CALLBACK PLUGIN` (book: envoy.md: filters run in reverse
/// order on the response).
pub const ORDER_PATH: &str = "/order";

/// The callouts probed (book: reference/envoy-1.40.md#http-callout-failures):
/// the path that makes the callout, the observation's label, the cluster
/// and the timeout. `probe_refused` points at a port nobody listens on;
/// `probe_slow` at a listener whose fault filter delays every answer by
/// seconds; `probe_reset` at a server the e2e check starts, which sends
/// response headers and then closes the connection mid-body.
pub const CALLOUTS: &[(&str, &str, &str, Duration)] = &[
    (
        "/callout/refused",
        "refused",
        "probe_refused",
        Duration::from_secs(5),
    ),
    (
        "/callout/timeout",
        "timeout",
        "probe_slow",
        Duration::from_millis(300),
    ),
    (
        "/callout/reset",
        "reset",
        "probe_reset",
        Duration::from_secs(5),
    ),
];

/// The callouts that fail at once (book: reference/hostcalls.md#http-callouts):
/// the path that makes the callout and the cluster: one Envoy does not know,
/// and one with no endpoints. The probe logs `callout_sent[PATH]` and, if
/// one ever arrives, `callout_response[PATH]`.
pub const IMMEDIATE_CALLOUTS: &[(&str, &str)] = &[
    ("/callout/unknown", "probe_no_such_cluster"),
    ("/callout/empty", "probe_empty"),
];

/// The paths routed to a `direct_response` route: the filter returns
/// Continue from `on_request_headers`, or pauses and resumes once a callout
/// to the upstream answers.
pub const DIRECT_CONTINUE: &str = "/direct/continue";
/// See [`DIRECT_CONTINUE`].
pub const DIRECT_PAUSE: &str = "/direct/pause";

/// The path whose `x-bytes` request header the probe logs as hex and echoes
/// into the response header `x-echo`.
pub const BYTES_PATH: &str = "/bytes";

/// The path answered with a local reply that carries its own
/// `content-type` and a header twice (book: reference/hostcalls.md#local-responses).
pub const LOCAL_HEADERS_PATH: &str = "/local/headers";
/// The path whose `on_request_headers` closes the stream with
/// `proxy_close_stream(0)` (book: reference/hostcalls.md#stream-control).
pub const CLOSE_PATH: &str = "/close";
/// The path whose `on_request_headers` tries `proxy_set_effective_context`
/// and `proxy_done` (book: reference/hostcalls.md#contexts), once an
/// earlier stream has ended.
pub const CONTEXTS_PATH: &str = "/contexts";
/// The paths `/log-level/STEP`: each logs the log level it reads and the
/// one the step before read (book: reference/hostcalls.md#logging-time-and-timers).
pub const LOG_LEVEL_PREFIX: &str = "/log-level/";
/// The paths `/local/grpc/HTTP[/GRPC]`: a body-less local reply with HTTP
/// status `HTTP` and, when given, gRPC status `GRPC` (else -1, none)
/// (book: reference/envoy-1.40.md#grpc-local-replies).
pub const LOCAL_GRPC_PREFIX: &str = "/local/grpc/";
/// The paths `/response-reply/one` and `/response-reply/two`: routed
/// upstream; `on_response_headers` sends one local reply (451), or two
/// (451 then 452), each time it runs (book: reference/hostcalls.md#local-responses).
/// Two replies from that callback crash Envoy 1.40 (book:
/// reference/envoy-1.40.md#local-replies); the SDK refuses the second, so
/// `/response-reply/two` checks that refusal.
pub const RESPONSE_REPLY_PREFIX: &str = "/response-reply/";
/// The paths `/request-reply/sdk` and `/request-reply/raw`:
/// `on_request_headers` sends two local replies (451, then 452), through the
/// SDK (which refuses the second) or the raw import (which passes both to
/// Envoy) (book: reference/envoy-1.40.md#local-replies).
pub const REQUEST_REPLY_PREFIX: &str = "/request-reply/";
/// The path whose `on_request_headers` sends a 403 and whose
/// `on_response_headers`, running for that reply, sends a 452 in its place
/// (book: reference/envoy-1.40.md#local-replies).
pub const OWN_REPLY_PATH: &str = "/own-reply";
/// The path whose `on_request_headers` sends a 403 with a body and whose
/// `on_response_body`, running for that reply after its headers went on,
/// sends a 452 (book: reference/envoy-1.40.md#local-replies).
pub const OWN_REPLY_BODY_PATH: &str = "/own-reply-body";
/// The path whose `on_request_headers` sends a 403 with a body and whose
/// `on_response_headers` holds that reply's headers (`Pause`); with the
/// suffix `/resumed` it also sends a callout, whose response resumes them
/// (book: reference/envoy-1.40.md#local-replies).
pub const OWN_REPLY_HELD_PATH: &str = "/own-reply-held";

/// Observes the `:status` that `on_response_headers` call number `call` of
/// `what` sees.
fn observe_response_status(what: &str, call: u32) {
    let status = match http::response_headers().get(":status") {
        Ok(Some(status)) => status.to_string_lossy().into_owned(),
        Ok(None) => "none".to_string(),
        Err(e) => err(&e),
    };
    observe(
        &format!("{what} on_response_headers call {call}"),
        &format!(":status {status}"),
    );
}

thread_local! {
    /// The id of the last HTTP-role stream whose `on_done` ran (on this VM).
    static ENDED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Logs `probe: <name> = <observed>`.
pub(crate) fn observe(name: &str, observed: &str) {
    info!("probe: {name} = {observed}");
}

/// `NAME` of a host status, or the error's text for other errors.
fn status_name(e: &Error) -> String {
    match e.status() {
        Some(status) => status.name().to_string(),
        None => format!("error: {e}"),
    }
}

/// `Err(NAME)`.
fn err(e: &Error) -> String {
    format!("Err({})", status_name(e))
}

/// `OK` or `Err(NAME)`.
fn unit(result: &Result<()>) -> String {
    match result {
        Ok(()) => "OK".to_string(),
        Err(e) => err(e),
    }
}

/// How to show a property value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An 8-byte little-endian integer: `Ok(8 bytes, int N)`.
    Int,
    /// Bytes, shown escaped: `Ok(N bytes: "...")`.
    Bytes,
}

/// A property as `Ok(...)` (see [`Shape`]), `Err(NOT_FOUND)` or `Err(NAME)`.
fn describe_property(path: &[&str], shape: Shape) -> String {
    match property::get(path) {
        Ok(Some(value)) => {
            let bytes = value.as_bytes();
            match (shape, <[u8; 8]>::try_from(bytes)) {
                (Shape::Int, Ok(n)) => format!("Ok(8 bytes, int {})", i64::from_le_bytes(n)),
                _ => format!(
                    "Ok({} bytes: {:?})",
                    bytes.len(),
                    String::from_utf8_lossy(bytes)
                ),
            }
        }
        Ok(None) => "Err(NOT_FOUND)".to_string(),
        Err(e) => err(&e),
    }
}

/// A foreign-function call as `Ok(N bytes: "...")`, `Err(NOT_FOUND)` (no such
/// function) or `Err(NAME)`.
fn describe_foreign(name: &str, arguments: &[u8]) -> String {
    match foreign::call(name, arguments) {
        Ok(Some(out)) => format!("Ok({} bytes: {:?})", out.len(), out.to_string_lossy()),
        Ok(None) => "Err(NOT_FOUND)".to_string(),
        Err(e) => err(&e),
    }
}

/// The host's log level as `Name (raw)`.
fn describe_log_level() -> String {
    match logging::log_level() {
        Ok(level) => format!("{level:?} ({})", level.as_raw()),
        Err(e) => err(&e),
    }
}

/// `get(":path")`, `pairs()` and `byte_size()` of a header map.
fn describe_map(map: HeaderMap) -> [(&'static str, String); 3] {
    let value = match map.get(":path") {
        Ok(Some(v)) => format!("Ok({:?})", v.to_string_lossy()),
        Ok(None) => "Err(NOT_FOUND)".to_string(),
        Err(e) => err(&e),
    };
    let pairs = match map.pairs() {
        Ok(p) => format!("Ok({} pairs)", p.len()),
        Err(e) => err(&e),
    };
    let size = match map.byte_size() {
        Ok(n) => format!("Ok({n})"),
        Err(e) => err(&e),
    };
    [
        ("get(:path)", value),
        ("pairs()", pairs),
        ("byte_size()", size),
    ]
}

/// A typed attribute as `None`, `Some(<Debug>)` or `Err(NAME)`.
fn describe_attribute<T: FromAttribute + core::fmt::Debug>(a: Attribute<T>) -> (String, String) {
    let shown = match a.get() {
        Ok(Some(v)) => format!("Some({v:?})"),
        Ok(None) => "None".to_string(),
        Err(e) => err(&e),
    };
    (a.path().join("."), shown)
}

/// A typed map attribute as `Some(N pairs)`, `None` or `Err(NAME)`.
fn describe_map_attribute(a: Attribute<HeaderPairs>) -> (String, String) {
    let shown = match a.get() {
        Ok(Some(map)) => format!("Some({} pairs)", map.len()),
        Ok(None) => "None".to_string(),
        Err(e) => err(&e),
    };
    (a.path().join("."), shown)
}

/// Every accessor of `proxywasm::attribute`, read and described: the typed
/// surface checked against Envoy (book: reference/properties.md).
pub fn typed_attributes() -> Vec<(String, String)> {
    vec![
        describe_attribute(request::PATH),
        describe_attribute(request::URL_PATH),
        describe_attribute(request::HOST),
        describe_attribute(request::SCHEME),
        describe_attribute(request::METHOD),
        describe_map_attribute(request::HEADERS),
        describe_attribute(request::REFERER),
        describe_attribute(request::USERAGENT),
        describe_attribute(request::ID),
        describe_attribute(request::QUERY),
        describe_attribute(request::TIME),
        describe_attribute(request::PROTOCOL),
        describe_attribute(request::DURATION),
        describe_attribute(request::SIZE),
        describe_attribute(request::TOTAL_SIZE),
        describe_attribute(response::CODE),
        describe_attribute(response::CODE_DETAILS),
        describe_attribute(response::FLAGS),
        describe_attribute(response::GRPC_STATUS),
        describe_map_attribute(response::HEADERS),
        describe_map_attribute(response::TRAILERS),
        describe_attribute(response::SIZE),
        describe_attribute(response::TOTAL_SIZE),
        describe_attribute(response::BACKEND_LATENCY),
        describe_attribute(source::ADDRESS),
        describe_attribute(source::PORT),
        describe_attribute(destination::ADDRESS),
        describe_attribute(destination::PORT),
        describe_attribute(connection::ID),
        describe_attribute(connection::MTLS),
        describe_attribute(connection::REQUESTED_SERVER_NAME),
        describe_attribute(connection::TLS_VERSION),
        describe_attribute(connection::SUBJECT_PEER_CERTIFICATE),
        describe_attribute(connection::DNS_SAN_PEER_CERTIFICATE),
        describe_attribute(connection::URI_SAN_PEER_CERTIFICATE),
        describe_attribute(connection::TRANSPORT_FAILURE_REASON),
        describe_attribute(connection::TERMINATION_DETAILS),
        describe_attribute(upstream::ADDRESS),
        describe_attribute(upstream::PORT),
        describe_attribute(upstream::LOCAL_ADDRESS),
        describe_attribute(upstream::TLS_VERSION),
        describe_attribute(upstream::TRANSPORT_FAILURE_REASON),
        describe_attribute(upstream::REQUEST_ATTEMPT_COUNT),
        describe_attribute(upstream::NUM_ENDPOINTS),
        describe_attribute(xds::NODE_ID),
        describe_attribute(xds::NODE_CLUSTER),
        describe_attribute(xds::CLUSTER_NAME),
        describe_attribute(xds::CLUSTER_METADATA),
        describe_attribute(xds::ROUTE_NAME),
        describe_attribute(xds::ROUTE_METADATA),
        describe_attribute(xds::VIRTUAL_HOST_NAME),
        describe_attribute(xds::VIRTUAL_HOST_METADATA),
        describe_attribute(xds::UPSTREAM_HOST_METADATA),
        describe_attribute(xds::LISTENER_METADATA),
        describe_attribute(xds::LISTENER_DIRECTION),
        describe_attribute(xds::FILTER_CHAIN_NAME),
        describe_attribute(plugin::NAME),
        describe_attribute(plugin::ROOT_ID),
        describe_attribute(plugin::VM_ID),
        describe_attribute(attribute::METADATA),
    ]
}

/// Logs `probe: attribute[PHASE] PATH = VALUE` for every typed attribute.
fn observe_attributes(phase: &str) {
    for (path, shown) in typed_attributes() {
        observe(&format!("attribute[{phase}] {path}"), &shown);
    }
}

/// The plugin's name (`plugin_name` property), or a description of why not.
pub(crate) fn plugin_name() -> String {
    match property::get_string(&["plugin_name"]) {
        Ok(Some(name)) => name,
        Ok(None) => "<plugin_name NOT_FOUND>".to_string(),
        Err(e) => format!("<plugin_name {}>", err(&e)),
    }
}

/// `value V, cas C` of a shared-data read, with the CAS shown as `0`,
/// `u32::MAX` or `other` (its number changes from run to run).
fn describe_shared(key: &str) -> (String, Option<Cas>) {
    match shared::get(key) {
        Ok(Some((value, cas))) => {
            let shown = match cas.0 {
                0 => "0",
                u32::MAX => "u32::MAX",
                _ => "other",
            };
            (
                format!("value {}, cas {shown}", value.to_string_lossy()),
                Some(cas),
            )
        }
        Ok(None) => ("NOT_FOUND".to_string(), None),
        Err(e) => (err(&e), None),
    }
}

/// The shared-data rules `shared::update` relies on (book:
/// reference/hostcalls.md#shared-data), on keys no earlier run wrote (they
/// carry the time), so every run observes the same.
fn shared_data_rules() {
    let stamp = time::now()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let key = format!("probe-cas-{stamp}");
    observe(
        "shared_data[missing key] set with cas u32::MAX",
        &unit(&shared::set(&key, b"a", Some(Cas(u32::MAX)))),
    );
    let (created, first) = describe_shared(&key);
    observe("shared_data[created] get", &created);
    observe(
        "shared_data[existing key] set with cas u32::MAX",
        &unit(&shared::set(&key, b"b", Some(Cas(u32::MAX)))),
    );
    observe(
        "shared_data[existing key] set with the current cas",
        &unit(&shared::set(&key, b"c", first)),
    );
    let (_, second) = describe_shared(&key);
    let order = match (first, second) {
        (Some(Cas(a)), Some(Cas(b))) if b > a => "later write, larger cas",
        (Some(Cas(a)), Some(Cas(b))) if b == a => "same cas",
        (Some(_), Some(_)) => "later write, smaller cas",
        _ => "unreadable",
    };
    observe("shared_data[existing key] cas after a write", order);
    observe(
        "shared_data[existing key] set with a stale cas",
        &unit(&shared::set(&key, b"d", first)),
    );
    observe(
        "shared_data[existing key] set with cas 0",
        &unit(&shared::set(&key, b"e", None)),
    );
    observe("shared_data[after cas 0] get", &describe_shared(&key).0);
    let other = format!("probe-stale-{stamp}");
    observe(
        "shared_data[missing key] set with cas 12345",
        &unit(&shared::set(&other, b"x", Some(Cas(12345)))),
    );
    let counter_key = format!("probe-counter-{stamp}");
    let counter = shared::Counter::new(&counter_key);
    let adds = [counter.add(1), counter.add(2)]
        .map(|r| r.map_or_else(|e| err(&e), |n| format!("Ok({n})")));
    observe("shared::Counter add(1), add(2)", &adds.join(", "));
}

/// The tag values of the `probe_tagged_odd` family (key `odd`): each shows
/// how a character survives Envoy's stat name, tag extraction and
/// Prometheus output (book: reference/envoy-1.40.md#metric-names).
pub const ODD_TAG_VALUES: &[&str] = &[
    "a b", "a,b", "a:b", "a=b", "a;b", "a/b", "a\"b", "a\\b", "a{b}", "a\nb", "ü", "",
];

/// `Ok(N)` or `Err(NAME)` of a metric read.
fn value(read: Result<u64>) -> String {
    read.map_or_else(|e| err(&e), |n| format!("Ok({n})"))
}

/// The metrics the book describes (book: state.md#metrics, and
/// reference/envoy-1.40.md#metric-names), defined once per `GET /routed`; the
/// e2e checks read them back from the admin `/stats` and `/stats/prometheus`.
fn metrics_rules() {
    let plain = Counter::define("probe_plain_total").and_then(|c| {
        c.increment(1)?;
        c.value()
    });
    observe("metrics plain counter increment(1), value", &value(plain));

    let gauge = Gauge::define("probe_gauge");
    let steps = gauge.and_then(|g| {
        g.set(1)?;
        let wrapped = g.add(-2).and_then(|()| g.value());
        let zero = g.add(0).and_then(|()| g.value());
        let back = g.add(2).and_then(|()| g.value());
        Ok(format!(
            "{}, {}, {}",
            value(wrapped),
            value(zero),
            value(back)
        ))
    });
    observe(
        "metrics gauge set(1), add(-2), add(0), add(2): values",
        &steps.unwrap_or_else(|e| err(&e)),
    );

    let tagged =
        Family::<Counter, 2>::new("probe_tagged_total", ["method", "code"]).and_then(|family| {
            let first = family.get(["GET", "200"])?;
            first.increment(1)?;
            let again = family.get(["GET", "200"])?;
            again.increment(2)?;
            family.get(["POST", "503"])?.increment(1)?;
            Ok(format!(
                "same metric {}, {} label sets, value {}",
                first == again,
                family.len(),
                value(again.value())
            ))
        });
    observe(
        "metrics tagged counter",
        &tagged.unwrap_or_else(|e| err(&e)),
    );

    let gauge = Family::<Gauge, 1>::new("probe_tagged_active", ["method"])
        .and_then(|family| family.get(["GET"])?.set(7));
    observe("metrics tagged gauge set(7)", &unit(&gauge));

    let histogram = Family::<Histogram, 1>::new("probe_tagged_ms", ["method"])
        .and_then(|family| family.get(["GET"])?.record(5));
    observe("metrics tagged histogram record(5)", &unit(&histogram));

    let peers = Family::<Counter, 1>::new("probe_tagged_peers", ["peer"])
        .and_then(|family| family.get(["127.0.0.1:18400"])?.increment(1));
    observe("metrics tagged counter with dots", &unit(&peers));

    let odd = Family::<Counter, 1>::new("probe_tagged_odd", ["odd"]).and_then(|family| {
        for v in ODD_TAG_VALUES {
            family.get([v])?.increment(1)?;
        }
        Ok(())
    });
    observe("metrics tagged counter with odd values", &unit(&odd));

    let dotted = Family::<Counter, 1>::new("probe.dotted", ["method"])
        .and_then(|family| family.get(["GET"])?.increment(1));
    observe("metrics tagged counter with a dotted base", &unit(&dotted));

    // A key with no `stats_tags` entry in the bootstrap: stays in the name.
    let untagged = Family::<Counter, 1>::new("probe_untagged", ["zone"])
        .and_then(|family| family.get(["eu"])?.increment(1));
    observe(
        "metrics tagged counter without stats_tags",
        &unit(&untagged),
    );

    // What a `.` in a value does when nothing replaces it: the name Family
    // would never write.
    let raw = Counter::define("probe_raw_newline.odd=a\nb").and_then(|c| c.increment(1));
    observe("metrics counter with a newline in a tag value", &unit(&raw));
    let raw = Counter::define("probe_raw_dot.odd=a.b").and_then(|c| c.increment(1));
    observe("metrics counter with a dot in a tag value", &unit(&raw));
}

/// The VM context: logs each `on_vm_start`.
#[derive(Debug, Default)]
pub struct Vm;

impl VmContext for Vm {
    type Plugin = Plugin;

    fn on_vm_start(&mut self, _configuration: Configuration) -> Result<()> {
        observe("on_vm_start", &plugin_name());
        observe("log_level[on_vm_start]", &describe_log_level());
        observe(
            "send_local_response[on_vm_start]",
            &claims::local_reply_anywhere(),
        );
        Ok(())
    }

    fn new_plugin_context(&mut self, _id: ContextId) -> Plugin {
        Plugin::default()
    }
}

/// What a plugin configuration makes this plugin do.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Not configured (creates no stream contexts).
    #[default]
    None,
    /// HTTP filter.
    Http,
    /// Network filter.
    Tcp,
    /// HTTP filter answering the action a request names ([`actions`]).
    Actions,
    /// HTTP filter on the upstream: logs what reached it ([`actions`]).
    Upstream,
    /// A configuration plugin (`struct_config`, ...): its streams only log
    /// the filter order on [`ORDER_PATH`].
    Order,
    /// HTTP filter holding bodies past the buffer limit ([`limits`]).
    Limits,
}

/// The plugin context: its role.
#[derive(Debug, Default)]
pub struct Plugin {
    role: Role,
}

impl PluginContext for Plugin {
    type Http = HttpProbe;
    type Tcp = TcpProbe;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        observe("on_configure", &plugin_name());
        observe_attributes(&format!("on_configure,{}", plugin_name()));
        let text = configuration.to_string_lossy()?;
        self.role = match text.trim() {
            "http" => Role::Http,
            "tcp" => Role::Tcp,
            "actions" => Role::Actions,
            "upstream" => Role::Upstream,
            "limits" => Role::Limits,
            // Any other configuration is a JSON document in one of the forms
            // Envoy sends (StringValue, BytesValue, Struct): observe how
            // `Configuration::json` reads it; no streams.
            _ => {
                let read = configuration.json::<serde_json::Value>();
                observe(
                    &format!("configuration[{}]", plugin_name()),
                    &read.map_or_else(|e| format!("Err({e})"), |v| v.to_string()),
                );
                observe(
                    &format!("configuration_bytes[{}]", plugin_name()),
                    &configuration
                        .bytes()
                        .map_or_else(|e| err(&e), |b| claims::configuration_form(&b)),
                );
                Role::Order
            }
        };
        scope::in_configure();
        if self.role == Role::Actions {
            time::set_tick_period(ACTIONS_TICK)?;
        }
        if self.role == Role::Limits {
            time::set_tick_period(limits::TICK)?;
        }
        if self.role == Role::Http {
            foreign_calls::in_configure();
            observe(
                "set_tick_period[on_configure]",
                &unit(&time::set_tick_period(TICK_PERIOD)),
            );
        }
        Ok(())
    }

    fn on_tick(&mut self) -> Result<()> {
        if self.role == Role::Actions {
            return actions::resume_stopped();
        }
        if self.role == Role::Limits {
            limits::on_tick();
            return Ok(());
        }
        observe("first_tick", &plugin_name());
        foreign_calls::in_tick();
        claims::in_tick();
        if let Err(e) = time::set_tick_period(Duration::ZERO) {
            warn!("probe: cannot stop the timer: {e}");
        }
        Ok(())
    }

    fn new_http_context(&mut self, id: ContextId) -> Option<HttpProbe> {
        match self.role {
            Role::Http => Some(HttpProbe {
                id: id.0,
                ..HttpProbe::default()
            }),
            Role::Limits => Some(HttpProbe {
                limit: Some(limits::LimitProbe::new(id)),
                ..HttpProbe::default()
            }),
            Role::Actions => Some(HttpProbe {
                actions: Some(actions::ActionProbe::new(id)),
                ..HttpProbe::default()
            }),
            Role::Upstream => Some(HttpProbe {
                upstream: Some(actions::UpstreamProbe::default()),
                ..HttpProbe::default()
            }),
            Role::Order => Some(HttpProbe {
                order: Some(plugin_name()),
                ..HttpProbe::default()
            }),
            Role::None | Role::Tcp => None,
        }
    }

    fn new_tcp_context(&mut self, _id: ContextId) -> Option<TcpProbe> {
        (self.role == Role::Tcp).then(TcpProbe::default)
    }
}

/// The HTTP stream context: remembers the request path, and counts the
/// callbacks of the paths that need it.
#[derive(Debug, Default)]
pub struct HttpProbe {
    /// The context id (HTTP role only; else 0).
    id: u32,
    path: String,
    /// The actions role's state.
    actions: Option<actions::ActionProbe>,
    /// The upstream role's state.
    upstream: Option<actions::UpstreamProbe>,
    /// The limits role's state.
    limit: Option<limits::LimitProbe>,
    /// The order role's plugin name ([`Role::Order`]).
    order: Option<String>,
    request_headers_eos: bool,
    request_body_calls: u32,
    response_headers_calls: u32,
    response_status: String,
    response_header_names: String,
    echo: Option<Vec<u8>>,
    /// The order of `on_log` and `on_done` (`GET /routed`).
    end: claims::StreamEnd,
}

/// Bytes as lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A callout response: sizes, every header, the body and `proxy_get_status`.
fn describe_callout_response(response: HttpCallResponse) -> String {
    let headers = match callout::response_headers().pairs() {
        Ok(pairs) => pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}: {}",
                    String::from_utf8_lossy(k),
                    String::from_utf8_lossy(v)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => err(&e),
    };
    let body = match callout::response_body().read_all() {
        Ok(body) => format!("{:?}", body.to_string_lossy()),
        Err(e) => err(&e),
    };
    let status = match callout::grpc_status() {
        Ok((code, message)) => format!("({}, {:?})", code.code(), message.to_string_lossy()),
        Err(e) => err(&e),
    };
    format!(
        "headers {} [{headers}]; body {} {body}; trailers {}; status {status}",
        response.num_headers, response.body_size, response.num_trailers
    )
}

impl HttpProbe {
    /// `local` or `routed` (or `other`), for observation names.
    fn tag(&self) -> &'static str {
        match self.path.as_str() {
            LOCAL_PATH => "local",
            ROUTED_PATH => "routed",
            _ => "other",
        }
    }

    /// Logs `filter_order = CALLBACK PLUGIN` ([`ORDER_PATH`]).
    fn in_order(&self, callback: &str) {
        let name = self.order.clone().unwrap_or_else(plugin_name);
        observe("filter_order", &format!("{callback} {name}"));
    }

    fn properties(&self, phase: &str) {
        for (path, shape) in PROPERTIES {
            observe(
                &format!("property[{phase}] {}", path.join(".")),
                &describe_property(path, *shape),
            );
        }
    }

    fn request_headers_in(&self, phase: &str) {
        for (call, observed) in describe_map(http::request_headers()) {
            observe(
                &format!("request_headers[{phase},{}].{call}", self.tag()),
                &observed,
            );
        }
        observe(
            &format!("property[{phase},{}] request.path", self.tag()),
            &describe_property(&["request", "path"], Shape::Bytes),
        );
    }
}

impl HttpProbe {
    /// Sends the callout of `CALLOUTS` or `/direct/pause`: Pause while it runs.
    fn call(&self, cluster: &str, timeout: Duration) -> Action {
        let sent = HttpCall::new(cluster)
            .header(":method", "GET")
            .header(":path", "/")
            .header(":authority", cluster)
            .timeout(timeout)
            .send();
        match sent {
            Ok(_) if IMMEDIATE_CALLOUTS.iter().any(|c| c.0 == self.path) => {
                observe(&format!("callout_sent[{}]", self.path), "OK");
                Action::Pause
            }
            Ok(_) => Action::Pause,
            Err(e) => {
                observe(&format!("callout_sent[{}]", self.path), &err(&e));
                Action::Continue
            }
        }
    }
}

impl HttpContext for HttpProbe {
    fn on_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Result<Action> {
        if let Some(probe) = &mut self.actions {
            return probe.on_request_headers(end_of_stream);
        }
        if let Some(probe) = &mut self.upstream {
            return probe.on_request_headers(end_of_stream);
        }
        if let Some(probe) = &mut self.limit {
            return probe.on_request_headers();
        }
        self.request_headers_eos = end_of_stream;
        self.path = match http::request_headers().get(":path") {
            Ok(Some(path)) => path.to_string_lossy().into_owned(),
            Ok(None) => String::new(),
            Err(e) => {
                warn!("probe: cannot read :path: {e}");
                String::new()
            }
        };
        if self.path == ORDER_PATH {
            self.in_order("on_request_headers");
        }
        if self.order.is_some() {
            return Ok(Action::Continue);
        }
        if let Some((_, _, cluster, timeout)) = CALLOUTS.iter().find(|c| c.0 == self.path) {
            return Ok(self.call(cluster, *timeout));
        }
        if self.path == DIRECT_PAUSE {
            return Ok(self.call("probe_upstream", Duration::from_secs(5)));
        }
        if let Some((_, cluster)) = IMMEDIATE_CALLOUTS.iter().find(|c| c.0 == self.path) {
            return Ok(self.call(cluster, Duration::from_secs(5)));
        }
        if self.path == BYTES_PATH {
            let shown = match http::request_headers().get("x-bytes") {
                Ok(Some(value)) => {
                    let shown = format!("hex {}", hex(&value));
                    self.echo = Some(value.into_vec());
                    shown
                }
                Ok(None) => "NOT_FOUND".to_string(),
                Err(e) => err(&e),
            };
            observe("header_bytes[x-bytes]", &shown);
            return Ok(Action::Continue);
        }
        if self.path == LOCAL_PATH {
            let sent = LocalResponse::new(200)
                .header("content-type", "text/plain")
                .body("probe local reply\n")
                // Spaces, which Envoy replaces (book: reference/hostcalls.md#local-responses).
                .details("probe local reply")
                .send();
            observe("local_reply_sent", &unit(&sent));
            return Ok(Action::Pause);
        }
        if let Some(how) = self.path.strip_prefix(REQUEST_REPLY_PREFIX) {
            claims::two_request_replies(how);
            return Ok(Action::Pause);
        }
        if [OWN_REPLY_PATH, OWN_REPLY_BODY_PATH].contains(&self.path.as_str())
            || self.path.starts_with(OWN_REPLY_HELD_PATH)
        {
            let sent = LocalResponse::new(403)
                .body("own first\n")
                .details("probe_own_first")
                .send();
            observe("own_reply first sent", &unit(&sent));
            return Ok(Action::Pause);
        }
        if self.path == BODY_EDIT_PATH {
            // The edits change the body's length: let Envoy send it chunked.
            if let Err(e) = http::request_headers().remove("content-length") {
                warn!("probe: cannot remove content-length: {e}");
            }
            return Ok(Action::Continue);
        }
        if self.path == LOCAL_HEADERS_PATH {
            let sent = LocalResponse::new(200)
                .header("content-type", "application/json")
                .header("x-probe-twice", "a")
                .header("x-probe-twice", "b")
                .body("{}\n")
                .details("probe_local_headers")
                .send();
            observe("local_reply_sent[/local/headers]", &unit(&sent));
            return Ok(Action::Pause);
        }
        if self.path == CLOSE_PATH {
            observe("close_stream(0)[/close]", &unit(&http::reset()));
            return Ok(Action::Pause);
        }
        if self.path == CONTEXTS_PATH {
            claims::contexts(ContextId(self.id), ENDED.get());
            return Ok(Action::Continue);
        }
        if let Some(codes) = self.path.strip_prefix(LOCAL_GRPC_PREFIX) {
            let mut codes = codes.split('/');
            let reply = match codes.next().map(str::parse::<u16>) {
                Some(Ok(http)) => LocalResponse::new(http),
                _ => LocalResponse::new(400),
            };
            let reply = match codes.next().map(str::parse::<u32>) {
                Some(Ok(grpc)) => reply.grpc_status(grpc),
                _ => reply,
            };
            let sent = reply.details("probe_local_grpc").send();
            observe(&format!("local_reply_sent[{}]", self.path), &unit(&sent));
            return Ok(Action::Pause);
        }
        if let Some(step) = self.path.strip_prefix(LOG_LEVEL_PREFIX) {
            claims::log_level_step(step);
            return Ok(Action::Continue);
        }
        if self.path == LOCAL_CONTINUE_PATH {
            let sent = LocalResponse::new(418)
                .body("probe local reply, then Continue\n")
                .details("probe_headers_continue")
                .send();
            observe(
                "local_reply_sent[on_request_headers, Continue]",
                &unit(&sent),
            );
            return Ok(Action::Continue);
        }
        if self.path != ROUTED_PATH {
            return Ok(Action::Continue);
        }
        observe("log_level[on_request_headers]", &describe_log_level());
        let headers = http::request_headers();
        let size = headers.byte_size();
        let pairs = headers.pairs();
        match (size, pairs) {
            (Ok(size), Ok(pairs)) => {
                let key_value: usize = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();
                observe(
                    "header_map_size[on_request_headers]",
                    &format!(
                        "{size}; key+value bytes {key_value}; entries {}; serialized {}",
                        pairs.len(),
                        pairs.as_bytes().len()
                    ),
                );
            }
            (size, pairs) => observe(
                "header_map_size[on_request_headers]",
                &format!(
                    "size {}; pairs {}",
                    size.map_or_else(|e| err(&e), |n| n.to_string()),
                    pairs.map_or_else(|e| err(&e), |p| p.len().to_string())
                ),
            ),
        }
        self.properties("on_request_headers");
        observe_attributes("on_request_headers");
        shared_data_rules();
        metrics_rules();
        for (name, label, arguments) in FOREIGN_CALLS {
            observe(
                &format!("foreign {name}({label})"),
                &describe_foreign(name, arguments),
            );
        }
        foreign_calls::in_request();
        claims::in_request();
        wasi::in_request();
        scope::seen_from("envoy_probe");
        Ok(Action::Continue)
    }

    fn on_request_body(&mut self, size: usize, end_of_stream: bool) -> Result<Action> {
        if let Some(probe) = &mut self.actions {
            return probe.on_request_body(size, end_of_stream);
        }
        if let Some(probe) = &mut self.upstream {
            return probe.on_request_body(end_of_stream);
        }
        if let Some(probe) = &mut self.limit {
            return Ok(probe.on_request_body(size, end_of_stream));
        }
        self.request_body_calls += 1;
        if self.order.is_some()
            || (self.path != BODY_EDIT_PATH && self.path != LOCAL_BODY_CONTINUE_PATH)
        {
            return Ok(Action::Continue);
        }
        if !end_of_stream {
            return Ok(Action::Pause);
        }
        if self.path == BODY_EDIT_PATH {
            claims::edit_request_body();
            return Ok(Action::Continue);
        }
        let sent = LocalResponse::new(418)
            .body("probe local reply from the body, then Continue\n")
            .details("probe_body_continue")
            .send();
        observe("local_reply_sent[on_request_body, Continue]", &unit(&sent));
        Ok(Action::Continue)
    }

    fn on_response_body(&mut self, size: usize, end_of_stream: bool) -> Result<Action> {
        if let Some(probe) = &mut self.limit {
            return Ok(probe.on_response_body(end_of_stream));
        }
        if self.path == OWN_REPLY_PATH {
            observe("own_reply on_response_body", "ran");
        }
        if self.path.starts_with(OWN_REPLY_HELD_PATH) {
            observe(
                &format!("{} on_response_body", self.path),
                &format!("{size} {end_of_stream}"),
            );
            return Ok(Action::Continue);
        }
        if self.path == OWN_REPLY_BODY_PATH {
            let sent = LocalResponse::new(452)
                .body("own from body\n")
                .details("probe_own_from_body")
                .send();
            observe("own_reply_body second sent", &unit(&sent));
            return Ok(Action::Continue);
        }
        if self.path == LOCAL_PATH && self.order.is_none() {
            let body = match http::response_body().read(0, size) {
                Ok(Some(b)) => format!("{:?}", b.to_string_lossy()),
                Ok(None) => "NOT_FOUND".to_string(),
                Err(e) => err(&e),
            };
            observe(
                "local_reply_on_response_body",
                &format!("ran, end_of_stream {end_of_stream}, body {body}"),
            );
        }
        Ok(Action::Continue)
    }

    fn on_request_trailers(&mut self, _num_trailers: usize) -> Result<Action> {
        if let Some(probe) = &mut self.actions {
            return Ok(probe.on_request_trailers());
        }
        Ok(Action::Continue)
    }

    fn on_http_call_response(
        &mut self,
        _token: HttpCallToken,
        response: HttpCallResponse,
    ) -> Result<()> {
        if self.path.starts_with(OWN_REPLY_HELD_PATH) {
            let resumed = http::resume_response();
            observe(&format!("{} resumed", self.path), &unit(&resumed));
            return Ok(());
        }
        if self.path == DIRECT_PAUSE {
            // book: reference/hostcalls.md#buffers: no end-of-stream flag, even for a
            // whole callout response.
            observe(
                "buffer_status[callout response body, in on_http_call_response]",
                &claims::buffer_status(4),
            );
            if let Err(e) = http::resume_request() {
                warn!("probe: cannot resume: {e}");
            }
            return Ok(());
        }
        let label = match CALLOUTS.iter().find(|c| c.0 == self.path) {
            Some((_, label, _, _)) => format!("callout[{label}]"),
            None if IMMEDIATE_CALLOUTS.iter().any(|c| c.0 == self.path) => {
                format!("callout_response[{}]", self.path)
            }
            None => return Ok(()),
        };
        observe(&label, &describe_callout_response(response));
        let sent = LocalResponse::new(200)
            .body("callout observed\n")
            .details("probe_callout")
            .send();
        if let Err(e) = sent {
            warn!("probe: cannot answer: {e}");
        }
        Ok(())
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if let Some(probe) = &mut self.limit {
            return Ok(probe.on_response_headers());
        }
        if self.path == ORDER_PATH {
            self.in_order("on_response_headers");
        }
        if self.order.is_some() {
            return Ok(Action::Continue);
        }
        self.response_headers_calls += 1;
        if self.path.starts_with(OWN_REPLY_HELD_PATH) {
            observe_response_status(&self.path, self.response_headers_calls);
            if self.path.ends_with("/resumed") {
                self.call("probe_upstream", Duration::from_secs(5));
            }
            return Ok(Action::Pause);
        }
        if self.path == OWN_REPLY_PATH {
            observe_response_status("own_reply", self.response_headers_calls);
            let sent = LocalResponse::new(452)
                .body("own second\n")
                .details("probe_own_second")
                .send();
            observe("own_reply second sent", &unit(&sent));
            return Ok(Action::Continue);
        }
        if let Some(how) = self.path.strip_prefix(RESPONSE_REPLY_PREFIX) {
            let what = format!("response_reply[{how}]");
            observe_response_status(&what, self.response_headers_calls);
            let first = LocalResponse::new(451)
                .body("first reply\n")
                .details("probe_response_reply_first")
                .send();
            let second = if how == "two" {
                claims::refused_or_unit(
                    &LocalResponse::new(452)
                        .body("second reply\n")
                        .details("probe_response_reply_second")
                        .send(),
                )
            } else {
                "not sent".to_string()
            };
            observe(
                &format!("response_reply[{how}] sent"),
                &format!("{}, then {second}", unit(&first)),
            );
            return Ok(Action::Continue);
        }
        if let Ok(Some(status)) = http::response_headers().get(":status") {
            self.response_status = status.to_string_lossy().into_owned();
        }
        if let Ok(pairs) = http::response_headers().pairs() {
            let names: Vec<String> = pairs
                .iter()
                .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                .collect();
            self.response_header_names = names.join(" ");
        }
        if let Some(echo) = &self.echo {
            observe(
                "header_bytes[x-echo] add",
                &unit(&http::response_headers().add("x-echo", echo)),
            );
        }
        if self.path == LOCAL_PATH {
            observe("local_reply_on_response_headers", "ran");
        }
        if self.path != LOCAL_PATH && self.path != ROUTED_PATH {
            return Ok(Action::Continue);
        }
        self.request_headers_in("on_response_headers");
        if self.path == ROUTED_PATH {
            self.properties("on_response_headers");
            observe(
                "property[on_response_headers] response.code",
                &describe_property(&["response", "code"], Shape::Int),
            );
        }
        Ok(Action::Continue)
    }

    fn on_done(&mut self) -> Result<()> {
        if self.path == ROUTED_PATH && self.order.is_none() {
            self.end.saw("http", "on_done");
        }
        if self.id != 0 {
            ENDED.set(self.id);
        }
        Ok(())
    }

    fn on_log(&mut self) -> Result<()> {
        if self.order.is_some() {
            return Ok(());
        }
        if self.path == ROUTED_PATH {
            self.end.saw("http", "on_log");
        }
        if let Some(probe) = &self.actions {
            probe.on_log();
            return Ok(());
        }
        if let Some(probe) = &self.upstream {
            probe.on_log();
            return Ok(());
        }
        if let Some(probe) = &self.limit {
            probe.on_log();
            return Ok(());
        }
        if self.path == CLOSE_PATH {
            observe(
                "property[on_log,close] response.code_details",
                &describe_property(&["response", "code_details"], Shape::Bytes),
            );
            return Ok(());
        }
        if self.path == DIRECT_CONTINUE || self.path == DIRECT_PAUSE {
            observe(
                &format!("direct[{}]", self.path),
                &format!(
                    "request headers end_of_stream {}; request body callbacks {}; response headers callbacks {}, :status {}, headers {}",
                    self.request_headers_eos,
                    self.request_body_calls,
                    self.response_headers_calls,
                    self.response_status,
                    self.response_header_names
                ),
            );
            return Ok(());
        }
        if self.path != LOCAL_PATH && self.path != ROUTED_PATH {
            return Ok(());
        }
        self.request_headers_in("on_log");
        if self.path == LOCAL_PATH {
            observe(
                "property[on_log,local] response.code_details",
                &describe_property(&["response", "code_details"], Shape::Bytes),
            );
        }
        if self.path == ROUTED_PATH {
            self.properties("on_log");
            observe_attributes("on_log");
            foreign_calls::in_log();
            claims::in_log();
        }
        Ok(())
    }
}

/// The TCP connection context: the order of its `on_done` and `on_log`.
#[derive(Debug, Default)]
pub struct TcpProbe(claims::StreamEnd);

impl TcpContext for TcpProbe {
    fn on_done(&mut self) -> Result<()> {
        self.0.saw("tcp", "on_done");
        Ok(())
    }

    fn on_log(&mut self) -> Result<()> {
        self.0.saw("tcp", "on_log");
        Ok(())
    }

    fn on_new_connection(&mut self) -> Result<Action> {
        observe(
            "continue_stream(3)[on_new_connection]",
            &unit(&proxywasm::tcp::resume_upstream()),
        );
        let sent = LocalResponse::new(403)
            .body("not for TCP\n")
            .details("probe_tcp")
            .send();
        observe("tcp_send_local_response[on_new_connection]", &unit(&sent));
        scope::seen_from("tcp_probe");
        wasi::in_tcp();
        Ok(Action::Continue)
    }
}

/// The entry point: a VM context that logs every start.
#[proxywasm::main]
pub fn vm() -> Vm {
    Vm
}

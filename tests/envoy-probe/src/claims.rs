//! One-line observations of what the book claims Envoy does where it departs
//! from the specification (book: reference/envoy-1.40.md#where-envoy-departs-from-the-specification,
//! reference/hostcalls.md, reference/properties.md), made in the probe's
//! `GET /routed` `on_request_headers` ([`in_request`]) and `on_log`
//! ([`in_log`]), in the HTTP role's first tick ([`in_tick`]), at the end
//! of each stream ([`StreamEnd`]), in `POST /body/edit`'s `on_request_body`
//! ([`edit_request_body`]) and on the configuration plugins' bytes
//! ([`configuration_form`]). The checks are in `xtask/src/probe_claims.rs`.

use crate::{err, observe, unit};
use proxywasm::foreign::Expression;
use proxywasm::metrics::Counter;
use proxywasm::shared::{self, QueueId};
use proxywasm::{ContextId, logging, plugin, property, tcp, time};
use proxywasm::{callout, http};

pub(crate) use raw::buffer_status;

/// The names of the stream-end callbacks as they arrive; the second logs
/// `stream_end_order[KIND] = first, second`.
#[derive(Debug, Default)]
pub struct StreamEnd(Vec<&'static str>);

impl StreamEnd {
    /// Records `callback` (`on_log` or `on_done`) of a stream of `kind`.
    pub fn saw(&mut self, kind: &str, callback: &'static str) {
        self.0.push(callback);
        if self.0.len() == 2 {
            observe(&format!("stream_end_order[{kind}]"), &self.0.join(", "));
        }
    }
}

/// A property read as `Ok(N bytes: "...")`, `Err(NOT_FOUND)` or `Err(NAME)`.
fn read(path: &[&str]) -> String {
    match property::get(path) {
        Ok(Some(v)) => format!(
            "Ok({} bytes: {:?})",
            v.as_bytes().len(),
            v.to_string_lossy()
        ),
        Ok(None) => "Err(NOT_FOUND)".to_string(),
        Err(e) => err(&e),
    }
}

/// A request header read as `Ok("...")`, `Err(NOT_FOUND)` or `Err(NAME)`.
fn header(name: &str) -> String {
    match http::request_headers().get(name) {
        Ok(Some(v)) => format!("Ok({:?})", v.to_string_lossy()),
        Ok(None) => "Err(NOT_FOUND)".to_string(),
        Err(e) => err(&e),
    }
}

/// The request's header names equal to `name` (as Envoy holds them).
fn keys_like(name: &str) -> String {
    match http::request_headers().pairs() {
        Ok(pairs) => {
            let keys: Vec<String> = pairs
                .iter()
                .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                .filter(|k| k.eq_ignore_ascii_case(name))
                .collect();
            format!("[{}]", keys.join(", "))
        }
        Err(e) => err(&e),
    }
}

/// The observations of `GET /routed`'s `on_request_headers`.
pub fn in_request() {
    // book: reference/envoy-1.40.md#route-metadata, properties.md
    observe(
        "property[legacy] route_metadata",
        &read(&["route_metadata"]),
    );

    // book: reference/hostcalls.md#header-maps: the first value of a repeated key;
    // keys lower-cased.
    let headers = http::request_headers();
    let added = [
        headers.add("x-probe-repeat", "first"),
        headers.add("x-probe-repeat", "second"),
    ];
    observe(
        "header_map[repeated] add twice",
        &added.iter().map(unit).collect::<Vec<_>>().join(", "),
    );
    observe("header_map[repeated] get", &header("x-probe-repeat"));
    observe(
        "header_map[upper-case key] add",
        &unit(&headers.add("X-Probe-Upper", "v")),
    );
    observe(
        "header_map[upper-case key] keys",
        &keys_like("x-probe-upper"),
    );
    observe(
        "header_map[upper-case key] get lower-case",
        &header("x-probe-upper"),
    );
    observe(
        "header_map[upper-case key] get upper-case",
        &header("X-Probe-Upper"),
    );
    observe(
        "header_map[repeated] replace",
        &unit(&headers.replace("x-probe-repeat", "third")),
    );
    observe("header_map[replaced] values", &values_of("x-probe-repeat"));
    observe(
        "header_map[replaced] remove",
        &unit(&headers.remove("x-probe-repeat")),
    );
    observe("header_map[removed] get", &header("x-probe-repeat"));
    observe(
        "header_map[absent key] remove",
        &unit(&headers.remove("x-probe-absent")),
    );
    observe(
        "header_map[response headers, before the response] get",
        &shown_get(http::response_headers().get(":status")),
    );
    observe(
        "header_map[response headers, before the response] pairs",
        &http::response_headers()
            .pairs()
            .map_or_else(|e| err(&e), |p| format!("Ok({} pairs)", p.len())),
    );
    observe("header_map[HTTP/1.1] get :authority", &header(":authority"));
    observe("header_map[HTTP/1.1] get host", &header("host"));

    // book: reference/hostcalls.md#buffers: bodies outside their callback.
    observe(
        "buffer[request body, in on_request_headers] read",
        &shown_read(http::request_body().read(0, 1024)),
    );
    observe(
        "buffer[request body, in on_request_headers] append",
        &unit(&http::request_body().append(b"x")),
    );
    observe(
        "buffer[callout response body, no callout] read",
        &shown_read(callout::response_body().read(0, 1024)),
    );

    // book: reference/hostcalls.md#buffers: the VM configuration at any time, the
    // plugin configuration only in on_configure; types above 8 and map
    // types above 7 are BAD_ARGUMENT.
    observe(
        "buffer_status[vm configuration, in on_request_headers]",
        &raw::buffer_status(6),
    );
    observe(
        "buffer_status[plugin configuration, in on_request_headers]",
        &raw::buffer_status(7),
    );
    observe("buffer_status[type 9]", &raw::buffer_status(9));
    observe("header_map_pairs[type 8]", &raw::header_map_pairs_status(8));

    // book: reference/hostcalls.md#metrics
    let again = Counter::define("probe_claims_twice").and_then(|first| {
        let second = Counter::define("probe_claims_twice")?;
        let before = second.value()?;
        first.increment(3)?;
        Ok(format!(
            "same id {}, the second grew by {}",
            first == second,
            second.value()? - before
        ))
    });
    observe(
        "metrics counter defined twice",
        &again.unwrap_or_else(|e| err(&e)),
    );
    let zero = Counter::define("probe_claims_counter").and_then(|c| c.increment(0));
    observe("metrics counter increment(0)", &unit(&zero));
    observe("metrics counter record", &raw::record_on_counter());
    observe("metrics raw rules", &raw::metric_rules());

    // book: reference/hostcalls.md#stream-control
    observe(
        "continue_stream(3)[on_request_headers]",
        &unit(&tcp::resume_upstream()),
    );
    // book: reference/hostcalls.md#stream-control, #logging-time-and-timers: a stream
    // type above 3, a log level above 5.
    observe("continue_stream(4)", &raw::continue_stream_status(4));
    observe("close_stream(4)", &raw::close_stream_status(4));
    observe("log(level 6)", &raw::log_status(6));

    // book: reference/hostcalls.md#properties: `set` does not split its path. The
    // control: a one-segment key, read back both ways.
    observe(
        "set_property[probe_whole]",
        &unit(&property::set(&["probe_whole"], b"w")),
    );
    observe(
        "set_property then get [probe_whole]",
        &read(&["probe_whole"]),
    );
    observe(
        "set_property then get [filter_state, wasm.probe_whole]",
        &read(&["filter_state", "wasm.probe_whole"]),
    );
    observe(
        "set_property[probe_split,inner]",
        &unit(&property::set(&["probe_split", "inner"], b"v")),
    );
    observe(
        "set_property then get [probe_split]",
        &read(&["probe_split"]),
    );
    observe(
        "set_property then get [probe_split,inner]",
        &read(&["probe_split", "inner"]),
    );
    observe(
        "set_property then get [filter_state, wasm.probe_split]",
        &read(&["filter_state", "wasm.probe_split"]),
    );

    // A property path cannot name a key with a NUL in it (NUL separates the
    // segments); a CEL string can.
    for key in ["wasm.probe_whole", "wasm.probe_split\\x00inner"] {
        observe(
            &format!("set_property then CEL filter_state[\"{key}\"]"),
            &cel(&format!("filter_state[\"{key}\"]")),
        );
    }

    // book: reference/hostcalls.md#status-of-the-last-call: the code starts at 0.
    observe(
        "get_status[before any callout]",
        &callout::grpc_status().map_or_else(
            |e| err(&e),
            |(code, message)| format!("({}, {:?})", code.code(), message.to_string_lossy()),
        ),
    );

    queues();

    // book: reference/hostcalls.md#http-callouts: timeout 0 is no timeout
    // (the call goes to probe_slow, which answers after 5 s; the check reads
    // the cluster's stats), 2^31 ms is refused. Sent raw: the SDK never
    // sends 0 (and drops the answer, which no context waits for).
    observe("callout_raw[timeout 0]", &raw::http_call_status(0));
    observe("callout_raw[timeout 2^31]", &raw::http_call_status(1 << 31));
    // book: reference/hostcalls.md#http-callouts: each of `:method`,
    // `:path`, `:authority` is required, and 2^31-1 ms is the largest
    // timeout (sent to probe_upstream, which answers at once, so
    // probe_slow's stats keep counting the timeout-0 call alone).
    for missing in [":method", ":path", ":authority"] {
        observe(
            &format!("callout_raw[without {missing}]"),
            &raw::http_call_to("probe_upstream", missing, 5_000),
        );
    }
    observe(
        "callout_raw[timeout 2^31-1]",
        &raw::http_call_to("probe_upstream", "", (1 << 31) - 1),
    );

    // book: reference/hostcalls.md#logging-time-and-timers: a live clock.
    observe("time::now within one callback", &clock());
}

/// The observations of `GET /contexts` (book: reference/hostcalls.md#contexts):
/// `proxy_set_effective_context` of the last stream that ended (`ended`),
/// of an id Envoy never gave, and of this stream (`own`); `proxy_done` from
/// a stream whose plugin is not shutting down.
pub fn contexts(own: ContextId, ended: u32) {
    let shown = if ended == 0 {
        "no stream ended yet".to_string()
    } else {
        unit(&plugin::set_effective_context(ContextId(ended)))
    };
    observe("set_effective_context[an ended stream]", &shown);
    observe(
        "set_effective_context[an id never given]",
        &unit(&plugin::set_effective_context(ContextId(999_999))),
    );
    observe(
        "set_effective_context[own stream]",
        &unit(&plugin::set_effective_context(own)),
    );
    observe(
        "done[from a stream, plugin not shutting down]",
        &unit(&plugin::done()),
    );
}

/// The shared-data key where `GET /log-level/STEP` leaves the level it read.
const LOG_LEVEL_KEY: &str = "probe-log-level";

/// `GET /log-level/STEP` (book: reference/hostcalls.md#logging-time-and-timers):
/// logs `log_level[STEP] = LEVEL; the step before read BEFORE` and leaves
/// `LEVEL` in shared data for the next step, so a step made while Envoy's
/// `wasm` logger is off (its own line dropped) is seen from the next.
pub fn log_level_step(step: &str) {
    let now = logging::log_level().map_or_else(
        |e| err(&e),
        |level| format!("{level:?} ({})", level.as_raw()),
    );
    let before = match shared::get(LOG_LEVEL_KEY) {
        Ok(Some((value, _))) => value.to_string_lossy().into_owned(),
        Ok(None) => "nothing".to_string(),
        Err(e) => err(&e),
    };
    observe(
        &format!("log_level[{step}]"),
        &format!("{now}; the step before read {before}"),
    );
    if let Err(e) = shared::set(LOG_LEVEL_KEY, now.as_bytes(), None) {
        observe(&format!("log_level[{step}] store"), &err(&e));
    }
}

/// A CEL expression's value as `Ok(N bytes: "...")` or `Err(NAME)`.
fn cel(source: &str) -> String {
    match Expression::new(source).and_then(|e| e.evaluate()) {
        Ok(v) => format!(
            "Ok({} bytes: {:?})",
            v.as_bytes().len(),
            v.to_string_lossy()
        ),
        Err(e) => err(&e),
    }
}

/// `[v1, v2, ...]`: every value of a request header.
fn values_of(name: &str) -> String {
    match http::request_headers().pairs() {
        Ok(pairs) => {
            let values: Vec<String> = pairs
                .get_all(name)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect();
            format!("[{}]", values.join(", "))
        }
        Err(e) => err(&e),
    }
}

/// A header read as `Ok("...")`, `Err(NOT_FOUND)` or `Err(NAME)`.
fn shown_get(read: proxywasm::Result<Option<proxywasm::HostBytes>>) -> String {
    match read {
        Ok(Some(v)) => format!("Ok({:?})", v.to_string_lossy()),
        Ok(None) => "Err(NOT_FOUND)".to_string(),
        Err(e) => err(&e),
    }
}

/// A buffer read as `Ok(N bytes)`, `Err(NOT_FOUND)` or `Err(NAME)`.
fn shown_read(read: proxywasm::Result<Option<proxywasm::HostBytes>>) -> String {
    match read {
        Ok(Some(v)) => format!("Ok({} bytes)", v.as_bytes().len()),
        Ok(None) => "Err(NOT_FOUND)".to_string(),
        Err(e) => err(&e),
    }
}

/// The observations of `GET /routed`'s `on_log`: request trailers the
/// request never had (book: reference/hostcalls.md#header-maps: a missing map is
/// `NOT_FOUND` while Envoy writes the access log).
pub fn in_log() {
    observe(
        "header_map[request trailers, none, in on_log] get",
        &shown_get(http::request_trailers().get("x-probe-absent")),
    );
}

/// The observations of the HTTP role's first tick, in a plugin context
/// (book: reference/hostcalls.md#properties, #stream-control).
pub fn in_tick() {
    observe(
        "buffer_status[vm configuration, in on_tick]",
        &raw::buffer_status(6),
    );
    observe(
        "set_property[on_tick]",
        &unit(&property::set(&["probe_tick"], b"t")),
    );
    observe(
        "continue_stream(0)[on_tick]",
        &unit(&http::resume_request()),
    );
    // book: reference/hostcalls.md#local-responses: OK, and nothing happens, without
    // an HTTP stream.
    observe("send_local_response[on_tick]", &local_reply_anywhere());
}

/// `proxy_send_local_response` where there is no HTTP stream: `OK` or
/// `Err(NAME)`.
pub fn local_reply_anywhere() -> String {
    unit(
        &http::LocalResponse::new(403)
            .body("no stream here\n")
            .details("probe_no_stream")
            .send(),
    )
}

/// What a plugin configuration's raw bytes look like (book:
/// reference/envoy-1.40.md#struct-configuration): `first byte 0xNN, JSON
/// yes|no`. A serialized `Struct` starts with the tag of its field 1
/// (`fields`, length-delimited): `0x0a`; JSON text with `{`.
pub fn configuration_form(bytes: &[u8]) -> String {
    let first = bytes
        .first()
        .map_or_else(|| "none".to_string(), |b| format!("0x{b:02x}"));
    let json = serde_json::from_slice::<serde_json::Value>(bytes).is_ok();
    format!(
        "first byte {first}, JSON {}",
        if json { "yes" } else { "no" }
    )
}

/// The request body (`abcdef` from the check) edited at each place
/// `proxy_set_buffer_bytes` takes (book: reference/hostcalls.md#buffers): the middle
/// (refused, the body unchanged), the front, past the end, the whole. Logs
/// `body_edit[WHAT] = STATUS, body "..."` and leaves the body `whole`,
/// which the upstream logs.
pub fn edit_request_body() {
    let body = http::request_body();
    let edits: [(&str, usize, usize, &[u8]); 4] = [
        ("middle: start 2, size 1", 2, 1, b"X"),
        ("front: start 0, size 1", 0, 1, b"Y"),
        ("past the end: start 100, size 0", 100, 0, b"!"),
        ("whole: start 0, size 100", 0, 100, b"whole"),
    ];
    for (what, start, size, data) in edits {
        let status = unit(&body.set(start, size, data));
        let now = match body.read_all() {
            Ok(b) => format!("{:?}", b.to_string_lossy()),
            Err(e) => err(&e),
        };
        observe(
            &format!("body_edit[{what}]"),
            &format!("{status}, body {now}"),
        );
    }
    // book: reference/hostcalls.md#buffers: a read from past the end is empty; one
    // whose `start + max_size` overflows 32 bits.
    observe(
        "buffer[request body] read from past the end",
        &shown_read(body.read(100, 10)),
    );
    let start = u32::MAX as usize - 1;
    observe(
        "buffer[request body] read with start + max_size past u32::MAX",
        &shown_read(body.read(start, 16)),
    );
}

/// A queue token as `Ok(non-zero)`/`Ok(0)`, `Err(NOT_FOUND)` for none.
fn token(read: proxywasm::Result<Option<QueueId>>) -> String {
    match read {
        Ok(Some(QueueId(0))) => "Ok(0)".to_string(),
        Ok(Some(_)) => "Ok(non-zero)".to_string(),
        Ok(None) => "Err(NOT_FOUND)".to_string(),
        Err(e) => err(&e),
    }
}

/// A dequeue as `Ok(N bytes)`, `EMPTY` or `Err(NAME)`.
fn dequeued(queue: QueueId) -> String {
    match shared::dequeue(queue) {
        Ok(Some(item)) => format!("Ok({} bytes)", item.as_bytes().len()),
        Ok(None) => "EMPTY".to_string(),
        Err(e) => err(&e),
    }
}

/// book: reference/hostcalls.md#shared-queues: register, resolve, enqueue and
/// dequeue on a fresh queue and on a token nobody registered.
fn queues() {
    const NAME: &str = "probe_claims_queue";
    observe(
        "shared_queue resolve before register",
        &token(shared::resolve_queue("", NAME)),
    );
    let registered = shared::register_queue(NAME);
    observe(
        "shared_queue register",
        &match &registered {
            Ok(q) => token(Ok(Some(*q))),
            Err(e) => err(e),
        },
    );
    if let Ok(queue) = registered {
        let resolved = shared::resolve_queue("", NAME);
        observe(
            "shared_queue resolve after register",
            &match resolved {
                Ok(Some(q)) if q == queue => "Ok(the registered token)".to_string(),
                other => token(other),
            },
        );
        observe("shared_queue dequeue empty", &dequeued(queue));
    }
    let unknown = QueueId(0x7fff_fff0);
    observe(
        "shared_queue enqueue unknown token",
        &unit(&shared::enqueue(unknown, b"x")),
    );
    observe("shared_queue dequeue unknown token", &dequeued(unknown));
}

/// `advanced` when `time::now` changes within one callback (bounded
/// polling), else `frozen` (or the error).
fn clock() -> String {
    let first = match time::now() {
        Ok(t) => t,
        Err(e) => return err(&e),
    };
    for _ in 0..1_000_000 {
        match time::now() {
            Ok(t) if t > first => return "advanced".to_string(),
            Ok(t) if t < first => return "went back".to_string(),
            Ok(_) => {}
            Err(e) => return err(&e),
        }
    }
    "frozen".to_string()
}

/// The hostcalls the SDK does not offer in the form a claim needs
/// (`proxy_record_metric` on a counter, the buffer status's flags, map,
/// buffer and stream types and log levels out of range): the probe calls
/// the imports itself.
#[allow(unsafe_code)]
mod raw {
    #[cfg(target_family = "wasm")]
    use super::{Counter, err};

    #[cfg(target_family = "wasm")]
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        fn proxy_define_metric(kind: u32, name: *const u8, name_len: usize, id: *mut u32) -> u32;
        fn proxy_record_metric(id: u32, value: u64) -> u32;
        fn proxy_increment_metric(id: u32, offset: i64) -> u32;
        #[allow(clippy::too_many_arguments, reason = "the ABI's signature")]
        fn proxy_http_call(
            upstream: *const u8,
            upstream_len: usize,
            headers: *const u8,
            headers_len: usize,
            body: *const u8,
            body_len: usize,
            trailers: *const u8,
            trailers_len: usize,
            timeout_ms: u32,
            token: *mut u32,
        ) -> u32;
        fn proxy_get_metric(id: u32, value: *mut u64) -> u32;
        fn proxy_get_buffer_status(kind: u32, len: *mut usize, flags: *mut u32) -> u32;
        fn proxy_get_header_map_pairs(kind: u32, data: *mut *mut u8, len: *mut usize) -> u32;
        fn proxy_continue_stream(kind: u32) -> u32;
        fn proxy_close_stream(kind: u32) -> u32;
        fn proxy_log(level: u32, message: *const u8, len: usize) -> u32;
        #[allow(clippy::too_many_arguments, reason = "the ABI's signature")]
        fn proxy_send_local_response(
            status: u32,
            details: *const u8,
            details_len: usize,
            body: *const u8,
            body_len: usize,
            headers: *const u8,
            headers_len: usize,
            grpc_status: i32,
        ) -> u32;
    }

    /// `proxy_send_local_response` with this status and body, no headers,
    /// as is (the SDK refuses a second reply in one callback): `OK` or the
    /// status.
    #[cfg(target_family = "wasm")]
    pub(crate) fn local_reply(status: u32, body: &str) -> String {
        let details = "probe_raw_reply";
        // SAFETY: the details and body are live byte slices of the given
        // lengths, which Envoy copies during the call; no headers.
        let answer = unsafe {
            proxy_send_local_response(
                status,
                details.as_ptr(),
                details.len(),
                body.as_ptr(),
                body.len(),
                core::ptr::null(),
                0,
                -1,
            )
        };
        name(answer).to_string()
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn local_reply(_status: u32, _body: &str) -> String {
        "not measured natively".to_string()
    }

    /// `proxy_continue_stream(kind)`: `OK` or the status.
    #[cfg(target_family = "wasm")]
    pub(crate) fn continue_stream_status(kind: u32) -> String {
        // SAFETY: a plain integer in, a status out.
        name(unsafe { proxy_continue_stream(kind) }).to_string()
    }

    /// `proxy_close_stream(kind)`: `OK` or the status.
    #[cfg(target_family = "wasm")]
    pub(crate) fn close_stream_status(kind: u32) -> String {
        // SAFETY: a plain integer in, a status out.
        name(unsafe { proxy_close_stream(kind) }).to_string()
    }

    /// `proxy_log(level, ...)`: `OK` or the status.
    #[cfg(target_family = "wasm")]
    pub(crate) fn log_status(level: u32) -> String {
        let message = "probe: a log line at an out-of-range level";
        // SAFETY: the message is a live byte slice of the given length,
        // which Envoy copies during the call.
        name(unsafe { proxy_log(level, message.as_ptr(), message.len()) }).to_string()
    }

    /// The metric calls' rules (book: reference/hostcalls.md#metrics):
    /// `define` of types 0, 1, 2 (the id's two low bits) and 3; `increment`
    /// of a counter by -1; `increment` and `get` of a histogram; `increment`,
    /// `record` and `get` of an id never given (shaped as a counter's).
    #[cfg(target_family = "wasm")]
    pub(super) fn metric_rules() -> String {
        const UNKNOWN: u32 = 4_000_000;
        let names: [&str; 4] = [
            "probe_rules_counter",
            "probe_rules_gauge",
            "probe_rules_histogram",
            "probe_rules_type3",
        ];
        let mut shown = Vec::new();
        let mut ids = [0u32; 4];
        for ((kind, metric), id) in (0u32..).zip(names).zip(ids.iter_mut()) {
            // SAFETY: the name is a live byte slice of the given length,
            // the id a live out word.
            let status = unsafe { proxy_define_metric(kind, metric.as_ptr(), metric.len(), id) };
            shown.push(match status {
                0 => format!("define type {kind}: id 4n+{}", *id % 4),
                other => format!("define type {kind}: {}", name(other)),
            });
        }
        let [counter, _, histogram, _] = ids;
        let mut value = 0u64;
        // SAFETY: plain integers in, a live out word for `get`.
        let answers = unsafe {
            [
                (
                    "increment(counter, -1)",
                    proxy_increment_metric(counter, -1),
                ),
                (
                    "increment(histogram, 1)",
                    proxy_increment_metric(histogram, 1),
                ),
                (
                    "get(histogram)",
                    proxy_get_metric(histogram, &raw mut value),
                ),
                ("increment(unknown, 1)", proxy_increment_metric(UNKNOWN, 1)),
                ("record(unknown, 1)", proxy_record_metric(UNKNOWN, 1)),
                ("get(unknown)", proxy_get_metric(UNKNOWN, &raw mut value)),
            ]
        };
        shown.extend(
            answers
                .iter()
                .map(|(call, status)| format!("{call}: {}", name(*status))),
        );
        shown.join(", ")
    }

    /// `proxy_http_call` to cluster `probe_slow` with this timeout: `OK,
    /// token 4n+R` or the status.
    #[cfg(target_family = "wasm")]
    pub(super) fn http_call_status(timeout_ms: u32) -> String {
        let headers = proxywasm::pairs![
            (":method", "GET"),
            (":path", "/raw-timeout"),
            (":authority", "probe_slow"),
        ];
        http_call("probe_slow", headers.as_bytes(), timeout_ms)
    }

    /// `proxy_http_call` to `cluster` with `:method`, `:path` and
    /// `:authority` but the one named `missing` (none missing when it names
    /// none of them), and this timeout: `OK, token 4n+R` or the status.
    #[cfg(target_family = "wasm")]
    pub(super) fn http_call_to(cluster: &str, missing: &str, timeout_ms: u32) -> String {
        let headers = match missing {
            ":method" => proxywasm::pairs![
                (":path", "/raw-arguments"),
                (":authority", "probe_upstream")
            ],
            ":path" => proxywasm::pairs![(":method", "GET"), (":authority", "probe_upstream")],
            ":authority" => proxywasm::pairs![(":method", "GET"), (":path", "/raw-arguments")],
            _ => proxywasm::pairs![
                (":method", "GET"),
                (":path", "/raw-arguments"),
                (":authority", "probe_upstream"),
            ],
        };
        http_call(cluster, headers.as_bytes(), timeout_ms)
    }

    /// `proxy_http_call` to `cluster` with these serialized headers, no body
    /// or trailers, and this timeout, sent as is (the SDK would refuse or
    /// round some of these): `OK, token 4n+R` or the status.
    #[cfg(target_family = "wasm")]
    fn http_call(cluster: &str, headers: &[u8], timeout_ms: u32) -> String {
        let mut token = 0u32;
        // SAFETY: the cluster and header bytes are live slices of the given
        // lengths (Envoy copies them), no body or trailers, a live out word.
        let status = unsafe {
            proxy_http_call(
                cluster.as_ptr(),
                cluster.len(),
                headers.as_ptr(),
                headers.len(),
                core::ptr::null(),
                0,
                core::ptr::null(),
                0,
                timeout_ms,
                &raw mut token,
            )
        };
        match status {
            0 => format!("OK, token 4n+{}", token % 4),
            other => name(other).to_string(),
        }
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(super) fn http_call_status(_timeout_ms: u32) -> String {
        "not measured natively".to_string()
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(super) fn http_call_to(_cluster: &str, _missing: &str, _timeout_ms: u32) -> String {
        "not measured natively".to_string()
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(super) fn metric_rules() -> String {
        "not measured natively".to_string()
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn continue_stream_status(_kind: u32) -> String {
        "not measured natively".to_string()
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn close_stream_status(_kind: u32) -> String {
        "not measured natively".to_string()
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn log_status(_level: u32) -> String {
        "not measured natively".to_string()
    }

    /// A status word by name.
    #[cfg(target_family = "wasm")]
    fn name(status: u32) -> &'static str {
        proxywasm::Status::from_raw(status).name()
    }

    /// `proxy_get_buffer_status(kind)`: `OK, length N, flags F` or the
    /// status.
    #[cfg(target_family = "wasm")]
    pub(crate) fn buffer_status(kind: u32) -> String {
        let (mut len, mut flags) = (0usize, 0u32);
        // SAFETY: both out pointers are live locals Envoy writes once.
        let status = unsafe { proxy_get_buffer_status(kind, &raw mut len, &raw mut flags) };
        match status {
            0 => format!("OK, length {len}, flags {flags}"),
            other => name(other).to_string(),
        }
    }

    /// `proxy_get_header_map_pairs(kind)`: `OK` or the status (the pairs,
    /// if any, are left to the allocator: this runs once).
    #[cfg(target_family = "wasm")]
    pub(crate) fn header_map_pairs_status(kind: u32) -> String {
        let (mut data, mut len) = (core::ptr::null_mut::<u8>(), 0usize);
        // SAFETY: both out pointers are live locals; a buffer Envoy
        // allocates through our allocation export is only leaked.
        let status = unsafe { proxy_get_header_map_pairs(kind, &raw mut data, &raw mut len) };
        name(status).to_string()
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn buffer_status(_kind: u32) -> String {
        "not measured natively".to_string()
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn header_map_pairs_status(_kind: u32) -> String {
        "not measured natively".to_string()
    }

    /// `increment(2), record(5): grew by N` on a counter (7 if `record` adds,
    /// `5 - before` if it sets), or the failure.
    #[cfg(target_family = "wasm")]
    pub(super) fn record_on_counter() -> String {
        const NAME: &str = "probe_claims_record";
        let counter = match Counter::define(NAME) {
            Ok(c) => c,
            Err(e) => return err(&e),
        };
        let mut id = 0u32;
        // SAFETY: the name is a live byte slice of the given length and `id`
        // a live u32 Envoy writes once (the ABI's proxy_define_metric).
        let defined = unsafe { proxy_define_metric(0, NAME.as_ptr(), NAME.len(), &raw mut id) };
        if defined != 0 {
            return format!("define status {defined}");
        }
        let before = match counter.value() {
            Ok(v) => v,
            Err(e) => return err(&e),
        };
        if let Err(e) = counter.increment(2) {
            return err(&e);
        }
        // SAFETY: plain integers in, a status out.
        let recorded = unsafe { proxy_record_metric(id, 5) };
        if recorded != 0 {
            return format!("record status {recorded}");
        }
        match counter.value() {
            Ok(after) => format!(
                "increment(2), record(5): grew by {}",
                i128::from(after) - i128::from(before)
            ),
            Err(e) => err(&e),
        }
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(super) fn record_on_counter() -> String {
        "not measured natively".to_string()
    }
}

/// Two local replies from one `on_request_headers` (451, then 452): through
/// the raw import when `how` is `raw`, else through the SDK, which refuses
/// the second (book: reference/envoy-1.40.md#local-replies).
pub(crate) fn two_request_replies(how: &str) {
    let sent = if how == "raw" {
        format!(
            "{}, then {}",
            raw::local_reply(451, "first reply\n"),
            raw::local_reply(452, "second reply\n")
        )
    } else {
        let first = http::LocalResponse::new(451).body("first reply\n").send();
        let second = http::LocalResponse::new(452).body("second reply\n").send();
        format!("{}, then {}", unit(&first), refused_or_unit(&second))
    };
    observe(&format!("request_reply[{how}] sent"), &sent);
}

/// `refused` for a call the SDK refused to make, else `OK` or the status.
pub(crate) fn refused_or_unit(result: &proxywasm::Result<()>) -> String {
    match result {
        Err(e) if e.is_refused() => "refused".to_string(),
        other => unit(other),
    }
}

#[cfg(test)]
mod tests {
    use super::configuration_form;

    #[test]
    fn configuration_form_tells_protobuf_from_json() {
        // A Struct `{"a": "b"}` serialized: fields entry (0x0a), key, value.
        let proto = b"\x0a\x08\x0a\x01a\x12\x03\x1a\x01b";
        assert_eq!(configuration_form(proto), "first byte 0x0a, JSON no");
        assert_eq!(
            configuration_form(br#"{"a": "b"}"#),
            "first byte 0x7b, JSON yes"
        );
        assert_eq!(configuration_form(b""), "first byte none, JSON no");
    }
}

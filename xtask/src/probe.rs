//! The Envoy probe's checks (`tests/envoy-probe`): a plugin that logs what Envoy does
//! where reading its source left the answer unsure, one `probe: <name> = <observed>`
//! line each. Each check asserts what Envoy 1.40 was seen to do, and names it where the
//! source reading said otherwise; the book records each fact (book:
//! reference/envoy-1.40.md#measured). The probe's ports are in its `e2e.toml`.

use std::time::{Duration, Instant};

use crate::e2e::{CheckFn, Ctx, HTTP_TIMEOUT, LOG_WAIT, expect_response};
use crate::envoy::http_get;
use crate::error::{Error, Result, bail};

/// The probe's TCP listener (the probe as network filter, then `tcp_proxy`).
const PROBE_TCP_PORT: u16 = 18403;

/// The probe's checks, in order.
pub(crate) const CHECKS: &[(&str, CheckFn)] = &[
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
            let pairs = probe_value(c, "request_headers[on_response_headers,local].pairs()")?;
            let size = probe_value(c, "request_headers[on_response_headers,local].byte_size()")?;
            if pairs == "Ok(0 pairs)" || !pairs.starts_with("Ok(") || !size.starts_with("Ok(") {
                bail!("pairs() = {pairs}, byte_size() = {size} (expected both Ok, non-empty)");
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
                        format!("Ok(8 bytes, int {size})").as_str(),
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
        "Configuration::json reads the same document as a Struct (binary protobuf: tag 0x0a first, not JSON), a BytesValue and a StringValue (JSON text); Envoy's YAML turns the Struct's 0.5 into a string",
        |c| {
            const READ: &str = r#"{"canary":true,"limits":{"rps":10},"ratio":0.5,"tier":"gold","weight":3,"zones":["eu","us"]}"#;
            const STRUCT: &str = r#"{"canary":true,"limits":{"rps":10},"ratio":"0.5","tier":"gold","weight":3,"zones":["eu","us"]}"#;
            expect_probe(
                c,
                &[
                    ("configuration[struct_config]", STRUCT),
                    ("configuration[bytes_config]", READ),
                    ("configuration[string_config]", READ),
                    // The raw bytes: a Struct arrives as its serialized
                    // message (field 1, length-delimited: 0x0a), which is
                    // not JSON; the wrappers as the bare JSON text.
                    (
                        "configuration_bytes[struct_config]",
                        "first byte 0x0a, JSON no",
                    ),
                    (
                        "configuration_bytes[bytes_config]",
                        "first byte 0x7b, JSON yes",
                    ),
                    (
                        "configuration_bytes[string_config]",
                        "first byte 0x7b, JSON yes",
                    ),
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
                    bail!("{name} = {value} (expected the locality's metadata, not the host's)");
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
        "metrics in /stats/prometheus: no namespace, stats_tags turn the tags into labels (histograms too: _bucket, _sum, _count)",
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
        "a local reply from on_request_headers runs the plugin's own on_response_headers and on_response_body",
        |c| {
            expect_probe(
                c,
                &[
                    ("local_reply_sent", "OK"),
                    ("local_reply_on_response_headers", "ran"),
                    (
                        "local_reply_on_response_body",
                        r#"ran, end_of_stream true, body "probe local reply\n""#,
                    ),
                ],
            )
        },
    ),
    (
        "send_local_response from a TCP, plugin (on_tick) or VM (on_vm_start) context returns OK and does nothing",
        |c| {
            // The reply is not sent: the request over the TCP listener (checked
            // above) got the upstream's answer, and the plugin and VM contexts
            // carry on (their later observations are checked elsewhere).
            expect_probe(
                c,
                &[
                    ("tcp_send_local_response[on_new_connection]", "OK"),
                    ("send_local_response[on_tick]", "OK"),
                    ("send_local_response[on_vm_start]", "OK"),
                ],
            )
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
    (
        "the legacy top-level property route_metadata is NOT_FOUND",
        crate::probe_claims::legacy_route_metadata,
    ),
    (
        "get_header_map_value of a key added twice gives the first value",
        crate::probe_claims::repeated_header_first_value,
    ),
    (
        "header keys are lower-cased on add and get",
        crate::probe_claims::keys_lower_cased,
    ),
    (
        "replace_header_map_value leaves one entry; remove removes every entry, OK for an absent key",
        crate::probe_claims::replace_and_remove,
    ),
    (
        "a header map that does not exist: get BAD_ARGUMENT (NOT_FOUND in on_log), pairs empty",
        crate::probe_claims::missing_maps,
    ),
    (
        "buffers outside their callback: a body reads empty and refuses writes; the callout response body is NOT_FOUND",
        crate::probe_claims::buffers_outside_their_callback,
    ),
    (
        "get_buffer_status: flags always 0; VM configuration at any time, plugin configuration NOT_FOUND outside on_configure; buffer type 9, map type 8 BAD_ARGUMENT",
        crate::probe_claims::buffer_status_and_type_bounds,
    ),
    (
        "metrics: defining a name again gives a new id for the same stat",
        crate::probe_claims::metric_defined_twice,
    ),
    (
        "in a plugin context: set_property NOT_FOUND, continue_stream OK",
        crate::probe_claims::plugin_context_stream_calls,
    ),
    (
        "get_status before any callout is (0, \"\")",
        crate::probe_claims::status_starts_at_zero,
    ),
    (
        "shared queues: resolve NOT_FOUND until registered; register non-zero; empty dequeue EMPTY; unknown token NOT_FOUND",
        crate::probe_claims::shared_queues,
    ),
    (
        "send_local_response: spaces in the details become _ in response.code_details",
        crate::probe_claims::local_reply_details,
    ),
    (
        "over HTTP/1.1 :authority is the Host header, and get(host) reads it too",
        crate::probe_claims::authority_is_host,
    ),
    (
        "metrics: increment(0) on a counter is BAD_ARGUMENT; record_metric on a counter adds",
        crate::probe_claims::counter_increment_zero_and_record,
    ),
    (
        "continue_stream(3) (upstream) is UNIMPLEMENTED, in an HTTP and a TCP context",
        crate::probe_claims::continue_upstream_unimplemented,
    ),
    (
        "set_property does not split its path: it stores filter state wasm.<a NUL b>, which get_property (splitting) cannot read back",
        crate::probe_claims::set_property_does_not_split,
    ),
    (
        "get_current_time_nanoseconds is live: it advances within one callback",
        crate::probe_claims::clock_is_live,
    ),
    (
        "stream end: HTTP on_log then on_done, TCP on_done then on_log",
        crate::probe_claims::stream_end_order,
    ),
    (
        "an HTTP callout that fails at once: unknown cluster BAD_ARGUMENT, no endpoints INTERNAL_FAILURE, no callback",
        crate::probe_claims::immediate_callout_failures,
    ),
    (
        "set_buffer_bytes edits only the ends: a middle edit is BAD_ARGUMENT and changes nothing; start 0 drains then prepends, start past the end appends, a size past the end replaces",
        crate::probe_claims::body_edits_at_the_ends,
    ),
    (
        "a local reply overrides the callback's result: sent from on_request_headers or on_request_body that return Continue, the client still gets it",
        crate::probe_claims::local_reply_overrides_continue,
    ),
    (
        "HTTP filters run in list order on the request and in reverse order on the response",
        crate::probe_claims::filter_order,
    ),
    (
        "continue_stream and close_stream with stream type 4, log with level 6: BAD_ARGUMENT",
        crate::probe_claims::out_of_range_stream_type_and_log_level,
    ),
    (
        "get_buffer_bytes: from past the end empty; start + max_size past u32::MAX also empty (not BAD_ARGUMENT: Envoy adds 64-bit words)",
        crate::probe_claims::buffer_read_bounds,
    ),
    (
        "WASI fd_write: stdout one info line, stderr one error line, with the proxy_log prefix and no trailing newline",
        crate::probe_wasi::stdout_and_stderr,
    ),
    (
        "WASI fd_write to another fd: BADF (8)",
        crate::probe_wasi::other_fd_is_badf,
    ),
    (
        "WASI environ and args: empty when no environment_variables are configured",
        crate::probe_wasi::no_environment_no_arguments,
    ),
    (
        "WASI clock_time_get: clock 0 is the wall clock, clock 1 monotonic",
        crate::probe_wasi::clocks,
    ),
    (
        "WASI random_get: fresh bytes; more than 65,536 in one call is INVAL (28)",
        crate::probe_wasi::random,
    ),
    (
        "WASI poll_oneoff: 0 with no events at once, it never sleeps",
        crate::probe_wasi::poll_never_sleeps,
    ),
    (
        "WASI environ_get: the VM's environment_variables",
        crate::probe_wasi::configured_environment,
    ),
    (
        "WASI fd_read NOSYS, fd_fdstat_get 0 for fd 1 and BADF else, no preopens, sched_yield 0, clock_res_get 1 ns, clock 2 NOTSUP",
        crate::probe_wasi::errno_answers,
    ),
    (
        "shared data is scoped by vm_id: plugins of one VM see each other's keys, other vm_ids do not",
        crate::probe_claims::shared_data_scope,
    ),
    (
        "WASI file calls are stubs: fd_seek and fd_close 0, fd_fdstat_set_flags and fd_prestat_dir_name NOSYS, fd_filestat_get BADF, path_open NOENT, path_filestat_get NOTSUP",
        crate::probe_wasi::file_stubs,
    ),
    (
        "metrics: ids carry the type in their low bits; type 3, a negative counter increment, histogram increment and get BAD_ARGUMENT; an unknown id NOT_FOUND",
        crate::probe_claims::metric_rules,
    ),
    (
        "set_effective_context: BAD_ARGUMENT for an ended stream or an id never given, OK for the stream itself; proxy_done NOT_FOUND when nothing waits",
        crate::probe_claims::contexts,
    ),
    (
        "send_local_response: the plugin's headers are added (a header given twice goes out twice), but content-type is not doubled: Envoy adds text/plain only when the plugin gave none",
        crate::probe_claims::local_reply_headers,
    ),
    (
        "close_stream(0) from on_request_headers resets the stream: no response, details wasm_close_stream",
        crate::probe_claims::close_stream_resets,
    ),
    (
        "buffer limit: Pause from every request body callback, past the limit: 413",
        crate::probe_limits::request_body_pause,
    ),
    (
        "buffer limit: StopAllIterationAndBuffer from on_request_headers, past the limit: 413",
        crate::probe_limits::headers_stop_all_and_buffer,
    ),
    (
        "buffer limit: StopAllIterationAndWatermark from on_request_headers, past the limit: no reply, the whole body goes on after the resume",
        crate::probe_limits::headers_stop_all_and_watermark,
    ),
    (
        "buffer limit: Pause from every response body callback, the head continued, past the limit: the stream resets (no 500: the 200 head is out)",
        crate::probe_limits::response_body_pause,
    ),
    (
        "buffer limit: StopAllIterationAndBuffer from on_response_headers, past the limit: 500",
        crate::probe_limits::response_headers_stop_all_and_buffer,
    ),
    (
        "get_log_level reads the wasm logger's level as it is now: an admin change is seen at once, off reads 6",
        crate::probe_claims::log_level_follows_admin,
    ),
    (
        "an HTTP callout with timeout 0 has none: the upstream's 200 arrives after its 5 s delay; 2^31 ms is BAD_ARGUMENT",
        crate::probe_claims::callout_timeout_zero,
    ),
    (
        "an HTTP callout without :method, :path or :authority is BAD_ARGUMENT; 2^31-1 ms is a timeout",
        crate::probe_claims::callout_arguments,
    ),
    (
        "a gRPC request's local reply: 200, grpc_status 0-16 as given, else the HTTP status mapped to grpc-status",
        crate::probe_claims::grpc_local_reply_mapping,
    ),
    (
        "a plain request's local reply: no grpc-status whatever grpc_status (7, 17, -1); no body: content-length 0, no content-type",
        crate::probe_claims::local_reply_grpc_status_header,
    ),
    (
        "a local reply from on_response_headers of a routed request replaces the upstream's; on_response_headers runs once; the SDK refuses a second",
        crate::probe_claims::local_reply_from_response_headers,
    ),
    (
        "a second local reply in one callback: Envoy sends the first, the SDK refuses the second; on_response_headers replaces the plugin's own reply, on_response_body resets the stream",
        crate::probe_claims::second_local_replies,
    ),
    (
        "the plugin's own reply held by on_response_headers: nothing reaches the client, on_response_body waits; resumed, the reply goes out whole and its body is delivered",
        crate::probe_claims::held_own_reply,
    ),
    (
        "plugins sharing a VM start one after another: each one's on_vm_start, then its on_configure, then the next plugin's",
        crate::probe_claims::plugins_start_one_after_another,
    ),
];

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
pub(crate) fn expect_probe<N: AsRef<str>, W: AsRef<str>>(
    c: &mut Ctx<'_>,
    expected: &[(N, W)],
) -> Result<()> {
    let mut wrong = Vec::new();
    for (name, want) in expected {
        let (name, want) = (name.as_ref(), want.as_ref());
        let got = probe_value(c, name)?;
        if got != want {
            wrong.push(format!("probe: {name} = {got} (expected {want})"));
        }
    }
    none_wrong(wrong)
}

/// `Ok` when nothing is wrong, else one error listing every wrong
/// observation (the checks report them all, not only the first).
pub(crate) fn none_wrong(wrong: Vec<String>) -> Result<()> {
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

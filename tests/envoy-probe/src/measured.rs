//! What Envoy 1.40 did, measured by the probe's actions checks
//! (`cargo xtask e2e envoy_probe`, `xtask/src/probe_actions.rs`), as data:
//! the Envoy checks hold Envoy to it, and the probe's dual-run test holds the
//! emulator (natively and on the `.wasm`) to the same lines. No dependencies,
//! so that the xtask includes this file as it is.
//!
//! Every case is the same request: a chunked `POST` whose two 4-byte chunks
//! (`aaaa`, `bbbb`) and trailers arrive 50 ms apart, sent to the listener of
//! the setting (`default`: Envoy's default; `allow`:
//! `allow_on_headers_stop_iteration: true`), naming the case in
//! `x-probe-action`.

/// One case: the setting (`default` or `allow`), `part:Variant`, what the
/// plugin's callbacks saw and answered, and the body the upstream got.
pub type Case = (&'static str, &'static str, &'static str, &'static str);

/// What Envoy 1.40 did, measured.
pub const ACTIONS: &[Case] = &[
    (
        "default",
        "headers:Continue",
        r#"headers eos=false -> Continue | body 4 eos=false "aaaa" -> Continue | body 4 eos=false "bbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "default",
        "headers:Pause",
        r#"headers eos=false -> Pause | resumed | body 8 eos=false "aaaabbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "default",
        "headers:ContinueAndEndStream",
        r#"headers eos=false -> ContinueAndEndStream | body 4 eos=false "aaaa" -> Continue | body 4 eos=false "bbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "default",
        "headers:StopAllIterationAndBuffer",
        r#"headers eos=false -> StopAllIterationAndBuffer | resumed | body 8 eos=false "aaaabbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "default",
        "headers:StopAllIterationAndWatermark",
        r#"headers eos=false -> StopAllIterationAndWatermark | resumed | body 8 eos=false "aaaabbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "default",
        "body:Pause",
        r#"headers eos=false -> Continue | body 4 eos=false "aaaa" -> Pause | body 8 eos=false "aaaabbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "default",
        "body:StopIterationAndWatermark",
        r#"headers eos=false -> Continue | body 4 eos=false "aaaa" -> StopIterationAndWatermark | body 4 eos=false "bbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "default",
        "body:StopIterationNoBuffer",
        r#"headers eos=false -> Continue | body 4 eos=false "aaaa" -> StopIterationNoBuffer | body 4 eos=false "bbbb" -> Continue | trailers -> Continue"#,
        r#"body "bbbb""#,
    ),
    (
        "default",
        "trailers:Pause",
        r#"headers eos=false -> Continue | body 4 eos=false "aaaa" -> Continue | body 4 eos=false "bbbb" -> Continue | trailers -> Pause | resumed"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "allow",
        "headers:Pause",
        r#"headers eos=false -> Pause | body 4 eos=false "aaaa" -> Continue | body 4 eos=false "bbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "allow",
        "headers:ContinueAndEndStream",
        r#"headers eos=false -> ContinueAndEndStream | body 4 eos=false "aaaa" -> Continue | body 4 eos=false "bbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "allow",
        "headers:StopAllIterationAndBuffer",
        r#"headers eos=false -> StopAllIterationAndBuffer | resumed | body 8 eos=false "aaaabbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "allow",
        "headers:StopAllIterationAndWatermark",
        r#"headers eos=false -> StopAllIterationAndWatermark | resumed | body 8 eos=false "aaaabbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "allow",
        "body:Pause",
        r#"headers eos=false -> Continue | body 4 eos=false "aaaa" -> Pause | body 8 eos=false "aaaabbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "allow",
        "body:StopIterationAndWatermark",
        r#"headers eos=false -> Continue | body 4 eos=false "aaaa" -> StopIterationAndWatermark | body 4 eos=false "bbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "allow",
        "body:StopIterationNoBuffer",
        r#"headers eos=false -> Continue | body 4 eos=false "aaaa" -> StopIterationNoBuffer | body 4 eos=false "bbbb" -> Continue | trailers -> Continue"#,
        r#"body "bbbb""#,
    ),
    (
        "allow",
        "trailers:Pause",
        r#"headers eos=false -> Continue | body 4 eos=false "aaaa" -> Continue | body 4 eos=false "bbbb" -> Continue | trailers -> Pause | resumed"#,
        r#"body "aaaabbbb""#,
    ),
    (
        "allow",
        "headers:Continue",
        r#"headers eos=false -> Continue | body 4 eos=false "aaaa" -> Continue | body 4 eos=false "bbbb" -> Continue | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
    // StopIterationNoBuffer after a Pause: the chunk had joined the buffer
    // before the callback, and stays.
    (
        "default",
        "body:Pause+StopIterationNoBuffer",
        r#"headers eos=false -> Continue | body 4 eos=false "aaaa" -> Pause | body 8 eos=false "aaaabbbb" -> StopIterationNoBuffer | trailers -> Continue"#,
        r#"body "aaaabbbb""#,
    ),
];

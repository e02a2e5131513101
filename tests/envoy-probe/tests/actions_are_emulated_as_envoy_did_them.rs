//! The emulator against Envoy: every case the probe's actions checks
//! measured in Envoy 1.40 (`measured::ACTIONS`) is replayed on the mock host
//! with the same plugin, natively and on its `.wasm`, and must produce the
//! same callbacks and the same body upstream (book:
//! reference/callbacks.md#return-values).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::mock::MockHost;
use proxywasm_envoy_probe::measured::ACTIONS;
use std::time::Duration;

/// One case on `host`: the request Envoy got, chunks and trailers 50 ms apart,
/// then time for the tick's resume; returns what the probe logged and the
/// body that went upstream.
fn replay(host: &MockHost, setting: &str, case: &str) -> (String, String) {
    let step = Duration::from_millis(50);
    let label = format!("{setting}/{case}");
    let mut stream = host.http_stream();
    stream.request_headers(
        &[
            (":method", "POST"),
            (":path", "/actions"),
            ("transfer-encoding", "chunked"),
            ("x-probe-action", case),
            ("x-probe-case", &label),
        ],
        false,
    );
    host.time().advance(step);
    stream.request_body(b"aaaa", false);
    host.time().advance(step);
    stream.request_body(b"bbbb", false);
    host.time().advance(step);
    stream.request_trailers(&[("x-trailer", "t")]);
    host.time().advance(Duration::from_millis(600));
    let upstream = format!(
        "body {:?}",
        String::from_utf8_lossy(&stream.current_request_body())
    );
    stream.complete();
    let needle = format!("probe: action[actions_{setting},{case}] = ");
    let logged = host
        .logs()
        .info()
        .iter()
        .find_map(|l| l.strip_prefix(&needle).map(str::to_owned))
        .unwrap_or_else(|| panic!("no `{needle}` line in {:?}", host.logs().info()));
    (logged, upstream)
}

#[test]
fn every_action_case_measured_in_envoy_is_emulated_alike() {
    for (setting, case, callbacks, upstream) in ACTIONS {
        proxywasm_wasmtime::dual_run(
            env!("CARGO_PKG_NAME"),
            || {
                MockHost::builder()
                    .echo_logs(false)
                    .plugin_name(format!("actions_{setting}"))
                    .plugin_configuration("actions")
                    .allow_on_headers_stop_iteration(*setting == "allow")
            },
            |builder| builder.vm(proxywasm_envoy_probe::vm),
            |host| {
                assert!(host.start());
                let (logged, went_upstream) = replay(host, setting, case);
                assert_eq!(logged, *callbacks, "{setting}/{case}: callbacks");
                assert_eq!(went_upstream, *upstream, "{setting}/{case}: upstream");
            },
        );
    }
}

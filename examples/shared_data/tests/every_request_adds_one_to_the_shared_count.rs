//! `shared_data` adds 1 to a shared counter on every request, logs the new
//! value and returns it in `x-shared-value`; every worker adds to the same
//! count.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on the mock host,
//! then on the release `shared_data.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::{EnvoyVms, MockHost};
use proxywasm_wasmtime::{Dual, DualHost};

/// The filter natively and as its release `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.http(shared_data::filter));

/// Runs `body` on the VMs Envoy starts with `--concurrency workers` (the
/// canary, the main thread's VM and the workers, one shared-data store).
fn dual_envoy(workers: usize, body: impl Fn(&EnvoyVms<DualHost>)) {
    DUAL.run_hosts(|host| body(&EnvoyVms::new(workers, |b| host(b.echo_logs(false)))));
}

/// One request through the filter: the `x-shared-value` it answered with.
fn request(host: &MockHost) -> Option<String> {
    let mut stream = host.http_stream();
    let action = stream.request_headers(&[(":path", "/"), (":method", "GET")], true);
    assert_eq!(action, Action::Continue);
    stream.response_headers(&[(":status", "200")], true);
    let value = stream.current_response_header(shared_data::HEADER);
    stream.complete();
    value
}

#[test]
fn ten_requests_count_to_ten_in_the_log_and_the_header() {
    DUAL.run(|host| {
        assert!(host.start());
        let values: Vec<_> = (0..10).map(|_| request(host)).collect();
        let expected: Vec<_> = (1..=10).map(|n| Some(n.to_string())).collect();
        assert_eq!(values, expected);
        assert_eq!(host.logs().info().len(), 10);
        assert_eq!(
            host.logs().info().last().map(String::as_str),
            Some("shared_data: shared value: 10")
        );
    });
}

#[test]
fn the_count_is_stored_as_a_u64_in_shared_data() {
    DUAL.run(|host| {
        assert!(host.start());
        request(host);
        request(host);
        let (bytes, _cas) = host
            .shared_data()
            .get(shared_data::COUNTER.key())
            .unwrap_or_default();
        assert_eq!(bytes, 2u64.to_le_bytes());
    });
}

#[test]
fn two_workers_add_to_one_count() {
    dual_envoy(2, |envoy| {
        assert!(envoy.start());
        let values: Vec<_> = (0..6).map(|n| request(envoy.worker(n % 2))).collect();
        let expected: Vec<_> = (1..=6).map(|n| Some(n.to_string())).collect();
        assert_eq!(values, expected);
        assert_eq!(
            envoy.worker(1).logs().info().last().map(String::as_str),
            Some("shared_data: shared value: 6")
        );
        assert!(
            envoy.main_thread().logs().info().is_empty(),
            "the main thread serves no request"
        );
    });
}

#[test]
fn a_value_that_is_not_a_count_fails_the_request_with_500() {
    DUAL.run(|host| {
        assert!(host.start());
        host.shared_data().set(shared_data::COUNTER.key(), b"ten");
        let mut stream = host.http_stream();
        stream.request_headers(&[(":path", "/")], true);
        assert_eq!(stream.local_response().map(|r| r.status_code), Some(500));
        assert!(
            host.logs()
                .contain("a counter is 8 bytes (u64, little-endian), found 3"),
            "{:?}",
            host.logs().records()
        );
    });
}

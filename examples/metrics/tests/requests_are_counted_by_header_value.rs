//! `metrics` counts requests by the value of `my-custom-header`, in the
//! tagged counter `custom_header_value_counts{value, reporter}`.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on the mock host,
//! then on the release `metrics.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;

/// The plugin natively and as its release `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(metrics::plugin));

fn request(host: &MockHost, value: Option<&str>) {
    let mut headers = vec![(":path", "/"), (":method", "GET")];
    headers.extend(value.map(|v| (metrics::HEADER, v)));
    let mut stream = host.http_stream();
    assert_eq!(stream.request_headers(&headers, true), Action::Continue);
    stream.complete();
}

fn count(host: &MockHost, value: &str) -> Option<u64> {
    let tags = [("value", value), ("reporter", metrics::REPORTER)];
    host.metrics().counter_tagged(metrics::BASE, &tags)
}

#[test]
fn foo_three_times_and_bar_five_times_are_two_tagged_counts() {
    DUAL.run(|host| {
        assert!(host.start());
        for _ in 0..3 {
            request(host, Some("foo"));
        }
        for _ in 0..5 {
            request(host, Some("bar"));
        }
        assert_eq!(count(host, "foo"), Some(3));
        assert_eq!(count(host, "bar"), Some(5));
        // The stat's name carries the tags for Envoy's `stats_tags` regexes.
        let name = "custom_header_value_counts.value=foo.reporter=proxywasm";
        assert_eq!(host.metrics().counter(name), Some(3));
        // One definition per value: later requests found their counter.
        assert_eq!(host.hostcall_counts().get("proxy_define_metric"), Some(&2));
    });
}

#[test]
fn a_request_without_the_header_is_not_counted() {
    DUAL.run(|host| {
        assert!(host.start());
        request(host, None);
        assert_eq!(host.hostcall_counts().get("proxy_define_metric"), None);
    });
}

#[test]
fn a_dot_in_the_value_becomes_an_underscore() {
    DUAL.run(|host| {
        assert!(host.start());
        request(host, Some("10.0.0.1"));
        let name = "custom_header_value_counts.value=10_0_0_1.reporter=proxywasm";
        assert_eq!(host.metrics().counter(name), Some(1));
    });
}

#[test]
fn values_beyond_the_limit_pass_uncounted_with_a_warning() {
    DUAL.run(|host| {
        assert!(host.start());
        for n in 0..=metrics::VALUE_LIMIT {
            request(host, Some(&format!("v{n}")));
        }
        let last = format!("v{}", metrics::VALUE_LIMIT);
        assert_eq!(count(host, "v0"), Some(1));
        assert_eq!(count(host, &last), None);
        assert_eq!(host.logs().warn().len(), 1, "{:?}", host.logs().warn());
        assert!(host.logs().warn()[0].starts_with("metrics: not counted: metric family"));
        // A known value is still counted.
        request(host, Some("v0"));
        assert_eq!(count(host, "v0"), Some(2));
    });
}

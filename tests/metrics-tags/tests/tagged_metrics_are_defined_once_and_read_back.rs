//! The filter's tagged metrics (`metrics::Family`), read back by base name
//! and tags: each label set is one stat, defined by the first request that
//! uses it and found in the family by every later one; the bound refuses new
//! label sets and defines nothing for them; gauges are unsigned and wrap
//! below zero, as in Envoy.
//!
//! Every test runs natively on the mock host, then on the plugin's release
//! `.wasm` under wasmtime, against the same emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::mock::MockHost;
use proxywasm_metrics_tags::USER_LIMIT;
use proxywasm_wasmtime::Dual;

/// The plugin on a started host, natively and then on the `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(proxywasm_metrics_tags::plugin)
})
.configure(|| MockHost::builder().echo_logs(false))
.started();

/// One whole exchange: request headers (and a body if not empty), the
/// response status, the log.
fn exchange(
    host: &MockHost,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    status: &str,
) {
    let mut stream = host.http_stream();
    let mut request = vec![(":method", method), (":path", path)];
    request.extend_from_slice(headers);
    stream.request_headers(&request, body.is_empty());
    if !body.is_empty() {
        stream.request_body(body, true);
    }
    stream.response_headers(&[(":status", status)], true);
    stream.complete();
}

fn defines(host: &MockHost) -> u64 {
    host.hostcall_counts()
        .get("proxy_define_metric")
        .copied()
        .unwrap_or(0)
}

#[test]
fn each_label_set_is_one_stat_defined_by_its_first_request() {
    DUAL.run(|host| {
        assert_eq!(defines(host), 0, "families define nothing up front");
        exchange(host, "GET", "/api/a", &[], b"", "200");
        // requests{GET,200}, active{api}, request_bytes{GET}.
        assert_eq!(defines(host), 3);
        exchange(host, "GET", "/api/b", &[], b"", "200");
        assert_eq!(defines(host), 3, "the second GET/200 defines nothing");
        exchange(host, "POST", "/api/c", &[], b"hello", "503");
        // requests{POST,503}, request_bytes{POST}.
        assert_eq!(defines(host), 5);

        let m = host.metrics();
        let get_200 = [("method", "GET"), ("code", "200")];
        assert_eq!(m.counter_tagged("requests", &get_200), Some(2));
        assert_eq!(
            m.counter_tagged("requests", &[("method", "POST"), ("code", "503")]),
            Some(1)
        );
        assert_eq!(
            m.counter_tagged("requests", &[("method", "POST"), ("code", "200")]),
            None
        );
        assert_eq!(m.counter("requests.method=GET.code=200"), Some(2));
        assert_eq!(
            m.histogram_tagged("request_bytes", &[("method", "GET")]),
            Some(vec![0, 0])
        );
        assert_eq!(
            m.histogram_tagged("request_bytes", &[("method", "POST")]),
            Some(vec![5])
        );
        assert_eq!(
            m.names(),
            [
                "active.route=api",
                "request_bytes.method=GET",
                "request_bytes.method=POST",
                "requests.method=GET.code=200",
                "requests.method=POST.code=503",
            ]
        );
        assert!(host.logs().warn().is_empty(), "{:?}", host.logs().warn());
    });
}

#[test]
fn a_gauge_follows_open_streams_per_route() {
    DUAL.run(|host| {
        let mut first = host.http_stream();
        first.request_headers(&[(":method", "GET"), (":path", "/api/1")], true);
        let mut second = host.http_stream();
        second.request_headers(&[(":method", "GET"), (":path", "/api/2")], true);
        let mut other = host.http_stream();
        other.request_headers(&[(":method", "GET"), (":path", "/static/x")], true);
        let m = host.metrics();
        assert_eq!(m.gauge_tagged("active", &[("route", "api")]), Some(2));
        assert_eq!(m.gauge_tagged("active", &[("route", "static")]), Some(1));
        for mut stream in [first, second, other] {
            stream.response_headers(&[(":status", "200")], true);
            stream.complete();
        }
        assert_eq!(m.gauge_tagged("active", &[("route", "api")]), Some(0));
        assert_eq!(m.gauge_tagged("active", &[("route", "static")]), Some(0));
    });
}

#[test]
fn a_gauge_taken_below_zero_wraps_around_as_in_envoy() {
    DUAL.run(|host| {
        exchange(host, "GET", "/drain/jobs", &[], b"", "200");
        assert_eq!(
            host.metrics().gauge_tagged("active", &[("route", "jobs")]),
            Some(u64::MAX)
        );
        exchange(host, "GET", "/jobs", &[], b"", "200");
        // +1 then -1 from u64::MAX: still wrapped.
        assert_eq!(
            host.metrics().gauge_tagged("active", &[("route", "jobs")]),
            Some(u64::MAX)
        );
    });
}

#[test]
fn dots_and_control_characters_in_values_become_underscores() {
    DUAL.run(|host| {
        exchange(host, "GET", "/api", &[("x-user", "ann.lee")], b"", "200");
        exchange(
            host,
            "GET",
            "/api",
            &[("x-user", "ann lee;\"x\"")],
            b"",
            "200",
        );
        let m = host.metrics();
        assert_eq!(m.counter("users.user=ann_lee"), Some(1));
        assert_eq!(m.counter_tagged("users", &[("user", "ann.lee")]), Some(1));
        assert_eq!(m.counter("users.user=ann lee;\"x\""), Some(1));
    });
}

#[test]
fn beyond_its_limit_a_family_defines_nothing_and_says_why() {
    assert_eq!(USER_LIMIT, 2);
    DUAL.run(|host| {
        for user in ["ann", "bob", "ann"] {
            exchange(host, "GET", "/api", &[("x-user", user)], b"", "200");
        }
        let before = defines(host);
        exchange(host, "GET", "/api", &[("x-user", "cid")], b"", "200");
        assert_eq!(defines(host), before, "no stat for the third user");
        assert_eq!(
            host.logs().warn(),
            [
                "not counted: metric family `users`: 2 label sets defined, its limit; \
              `users.user=cid` not defined"
            ]
        );
        // The request passed and known users still count.
        exchange(host, "GET", "/api", &[("x-user", "bob")], b"", "200");
        let m = host.metrics();
        assert_eq!(m.counter_tagged("users", &[("user", "ann")]), Some(2));
        assert_eq!(m.counter_tagged("users", &[("user", "bob")]), Some(2));
        assert_eq!(m.counter_tagged("users", &[("user", "cid")]), None);
        assert!(!m.names().iter().any(|n| n.contains("cid")));
        assert_eq!(
            m.counter_tagged("requests", &[("method", "GET"), ("code", "200")]),
            Some(5)
        );
    });
}

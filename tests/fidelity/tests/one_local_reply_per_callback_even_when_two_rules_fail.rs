//! Two rules of the filter's `on_response_headers` each answer with a
//! local reply when they fail. Two replies from that callback crash Envoy
//! 1.40 (the probe's `/response-reply/two` check sends the second through
//! the SDK, which refuses it), so the SDK sends the first and refuses the
//! second: the client gets the first rule's answer, the plugin a warning.
//!
//! Every test runs natively on the mock host, then on the release `.wasm`
//! under wasmtime.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;

/// The plugin, quiet, natively and on the release `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(proxywasm_fidelity::plugin)
})
.configure(|| MockHost::builder().echo_logs(false));

#[test]
fn when_two_rules_fail_the_first_answers_and_the_second_is_refused() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        stream.request_headers(&[(":path", "/strict")], true);
        stream.response_headers(&[(":status", "503")], true);
        let reply = stream.local_response().expect("answered");
        assert_eq!(
            (reply.status_code, &reply.body[..]),
            (502, &b"the upstream failed\n"[..])
        );
        let warnings = host.logs().warn();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("cannot answer 415: proxy_send_local_response not called"),
            "{warnings:?}"
        );
        assert!(host.violations().is_empty());
    });
}

#[test]
fn when_one_rule_fails_it_answers() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        stream.request_headers(&[(":path", "/strict")], true);
        stream.response_headers(&[(":status", "200")], true);
        let reply = stream.local_response().expect("answered");
        assert_eq!(reply.status_code, 415);
        assert!(host.logs().warn().is_empty());
    });
}

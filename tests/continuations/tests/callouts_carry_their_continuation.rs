//! Closure and async callouts, each test body run natively on the mock host
//! and then on the plugin's release `.wasm` under wasmtime.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::Action;
use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;
use std::time::Duration;

/// The plugin on a started host: natively, then on the `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(proxywasm_continuations::plugin)
})
.configure(|| MockHost::builder().echo_logs(false))
.started();

#[test]
fn closure_callouts_from_on_tick_each_reach_their_own_closure() {
    DUAL.run(|host| {
        host.time().advance(Duration::from_secs(1));
        let calls = host.callouts().http();
        assert_eq!(calls.len(), 2, "two calls in flight from one tick");
        // Answered out of order: each closure knows its own call.
        host.callouts()
            .respond_http(calls[1].token, &[(":status", "204")], b"", &[]);
        host.callouts()
            .respond_http(calls[0].token, &[(":status", "200")], b"", &[]);
        let info = host.logs().info();
        assert!(
            info.contains(&"tick callout second: status Some(204), 1 answered".to_string()),
            "{info:?}"
        );
        assert!(
            info.contains(&"tick callout first: status Some(200), 2 answered".to_string()),
            "{info:?}"
        );
    });
}

#[test]
fn the_async_auth_filter_resumes_on_200_and_answers_403_otherwise() {
    DUAL.run(|host| {
        let mut allowed = host.http_stream();
        assert_eq!(
            allowed.request_headers(&[(":path", "/auth")], true),
            Action::Pause
        );
        let call = host
            .callouts()
            .http_from(allowed.id())
            .pop()
            .expect("the auth call");
        host.callouts()
            .respond_http(call.token, &[(":status", "200")], b"", &[]);
        assert_eq!(allowed.action(), Action::Continue);
        assert!(allowed.local_response().is_none());

        let mut denied = host.http_stream();
        assert_eq!(
            denied.request_headers(&[(":path", "/auth")], true),
            Action::Pause
        );
        let call = host
            .callouts()
            .http_from(denied.id())
            .pop()
            .expect("the auth call");
        host.callouts()
            .respond_http(call.token, &[(":status", "401")], b"", &[]);
        assert_eq!(denied.local_response().map(|r| r.status_code), Some(403));
        assert!(host.logs().contain("async auth: status Some(401)"));
    });
}

#[test]
fn the_closure_auth_filter_denies_when_the_auth_service_is_down() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        assert_eq!(
            stream.request_headers(&[(":path", "/closure")], true),
            Action::Pause
        );
        let call = host
            .callouts()
            .http_from(stream.id())
            .pop()
            .expect("the auth call");
        // Envoy answers a call to a down service with its own 503.
        host.callouts().connect_failure_http(call.token);
        assert_eq!(stream.local_response().map(|r| r.status_code), Some(403));
    });
}

#[test]
fn a_stream_deleted_while_its_future_waits_drops_the_future() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        assert_eq!(
            stream.request_headers(&[(":path", "/auth")], true),
            Action::Pause
        );
        let call = host
            .callouts()
            .http_from(stream.id())
            .pop()
            .expect("the auth call");
        let id = stream.id();
        stream.complete();
        let dropped = format!("proxywasm: context {id} ended with 1 pending task; dropped");
        assert!(
            host.logs().debug().contains(&dropped),
            "{:?}",
            host.logs().debug()
        );
        // The late response finds nobody waiting: the task never runs again.
        host.callouts()
            .respond_http(call.token, &[(":status", "200")], b"", &[]);
        assert!(!host.logs().contain("async auth"));
        assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
    });
}

#[test]
fn responses_held_across_awaits_each_read_their_own_call() {
    DUAL.run(|host| {
        for second_first in [false, true] {
            let mut stream = host.http_stream();
            assert_eq!(
                stream.request_headers(&[(":path", "/both")], true),
                Action::Pause
            );
            let calls = host.callouts().http_from(stream.id());
            let token = |n: &str| {
                calls
                    .iter()
                    .find(|c| c.header("x-n") == Some(n))
                    .map(|c| c.token)
                    .expect("both calls")
            };
            let mut order = [(token("1"), &b"one,"[..]), (token("2"), &b"two"[..])];
            if second_first {
                order.reverse();
            }
            for (token, body) in order {
                host.callouts()
                    .respond_http(token, &[(":status", "200")], body, &[]);
            }
            let reply = stream.local_response().expect("answered");
            assert_eq!(reply.body, b"one,two", "second first: {second_first}");
        }
    });
}

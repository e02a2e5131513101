//! The examples' behaviour, each test body run twice by
//! [`proxywasm_host::dual_run`]: against the plugin compiled natively (mock
//! host) and against its release `.wasm` (engine host).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::mock::MockHost;
use proxywasm::{Action, PeerType};
use proxywasm_host::dual_run;
use std::time::Duration;

#[test]
fn hello_world_logs_its_configuration_and_ticks() {
    dual_run(
        "hello_world",
        || MockHost::builder().plugin_configuration("Hello from the test"),
        |builder| builder.plugin(hello_world::plugin),
        |host| {
            assert!(host.start());
            assert!(host.logs_contain("hello_world: started, configuration: Hello from the test"));
            assert_eq!(host.tick_period(), Some(hello_world::TICK_PERIOD));
            host.advance_time(Duration::from_millis(1_000));
            assert!(
                host.logs_contain("hello_world: tick 2"),
                "{:?}",
                host.logs()
            );
        },
    );
}

#[test]
fn http_headers_adds_the_configured_header_and_answers_hello() {
    dual_run(
        "http_headers",
        || MockHost::builder().plugin_configuration(r#"{"header": "x-test", "value": "dual"}"#),
        |builder| builder.plugin(http_headers::plugin),
        |host| {
            let mut stream = host.http_stream();
            assert_eq!(
                stream.request_headers(&[(":path", "/"), ("user-agent", "curl/8")], true),
                Action::Continue
            );
            assert!(host.logs_contain("http_headers: request header user-agent: curl/8"));
            stream.response_headers(&[(":status", "200")], true);
            assert_eq!(
                stream.current_response_header("x-test").as_deref(),
                Some("dual")
            );
            stream.complete();
            assert!(host.logs_contain("http_headers: stream complete, status 200"));

            let mut hello = host.http_stream();
            assert_eq!(
                hello.request_headers(&[(":path", "/hello")], true),
                Action::Pause
            );
            let reply = hello.local_response().expect("a local reply");
            assert_eq!(reply.status_code, 200);
            assert_eq!(reply.body, b"Hello from proxywasm!\n");
            assert_eq!(
                hello.current_response_header("x-test").as_deref(),
                Some("dual")
            );
        },
    );
}

#[test]
fn http_headers_refuses_a_bad_configuration() {
    dual_run(
        "http_headers",
        || MockHost::builder().plugin_configuration("not json"),
        |builder| builder.plugin(http_headers::plugin),
        |host| assert!(!host.start()),
    );
}

#[test]
fn tcp_logger_counts_bytes_both_ways() {
    dual_run(
        "tcp_logger",
        || MockHost::builder().property(&["source", "address"], "10.0.0.1:1234"),
        |builder| builder.tcp(tcp_logger::connection),
        |host| {
            let mut connection = host.tcp_connection();
            assert!(host.logs_contain("from 10.0.0.1:1234"), "{:?}", host.logs());
            connection.downstream_data(b"hello", false);
            connection.upstream_data(b"hi", false);
            connection.downstream_close(PeerType::Remote);
            connection.complete();
            assert!(
                host.logs_contain("5 bytes from downstream, 2 bytes from upstream"),
                "{:?}",
                host.logs()
            );
        },
    );
}

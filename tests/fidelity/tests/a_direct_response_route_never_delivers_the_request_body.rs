//! In front of a `direct_response` route Envoy answers from the request
//! headers, and the plugin's `on_request_body` never runs, whatever
//! `on_request_headers` returned (the probe measures it in Envoy 1.40). A
//! body validator there validates nothing: these tests show it, and show
//! that the emulator's route answer passes through the plugin's response
//! callbacks after the request headers, as Envoy's does.
//!
//! Every test runs natively on the mock host, then on the release `.wasm`
//! under wasmtime.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::Action;
use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;

/// The plugin, quiet, natively and on the release `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(proxywasm_fidelity::plugin)
})
.configure(|| MockHost::builder().echo_logs(false));

const ROUTE_BODY: &str = "from the route\n";

#[test]
fn a_routed_request_body_is_validated() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        stream.request_headers(&[(":path", "/upload"), (":method", "POST")], false);
        assert_eq!(stream.request_body(b"not json", true), Action::Pause);
        assert_eq!(stream.local_response().map(|r| r.status_code), Some(400));
        assert_eq!(host.logs().info(), ["rejected 8 bytes"]);
    });
}

#[test]
fn in_front_of_a_direct_response_the_body_never_reaches_the_validator() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        stream.direct_response(200, ROUTE_BODY);
        assert_eq!(
            stream.request_headers(&[(":path", "/upload"), (":method", "POST")], false),
            Action::Continue
        );
        // Envoy answered from the headers, through the plugin's response path.
        assert_eq!(
            stream.current_response_headers(),
            [
                (":status".to_owned(), "200".to_owned()),
                ("content-length".to_owned(), "15".to_owned()),
                ("content-type".to_owned(), "text/plain".to_owned()),
            ]
        );
        assert_eq!(stream.current_response_body(), ROUTE_BODY.as_bytes());
        // The client's body is dropped: the validator never sees it.
        assert_eq!(stream.request_body(b"not json", true), Action::Continue);
        assert!(host.logs().info().is_empty(), "{:?}", host.logs().info());
        assert_eq!(stream.local_response(), None);
        stream.complete();
        let bodies = host
            .callbacks()
            .iter()
            .filter(|e| e.name() == "proxy_on_request_body")
            .count();
        assert_eq!(bodies, 0);
    });
}

#[test]
fn paused_and_resumed_in_front_of_a_direct_response_the_body_is_still_never_delivered() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        stream.direct_response(200, ROUTE_BODY);
        assert_eq!(
            stream.request_headers(&[(":path", "/api"), (":method", "POST")], false),
            Action::Pause
        );
        // The body arrives while the auth callout runs: held, not delivered.
        stream.request_body(b"{\"a\": 1}", true);
        assert!(
            stream.current_response_headers().is_empty(),
            "not answered yet"
        );
        let call = host.callouts().http().pop().expect("the auth callout");
        host.callouts()
            .respond_http(call.token, &[(":status", "200")], b"", &[]);
        assert_eq!(stream.action(), Action::Continue);
        assert_eq!(
            stream.current_response_header(":status").as_deref(),
            Some("200")
        );
        assert_eq!(stream.current_response_body(), ROUTE_BODY.as_bytes());
        assert!(
            !host
                .callbacks()
                .iter()
                .any(|e| e.name() == "proxy_on_request_body")
        );
        stream.complete();
    });
}

#[test]
fn a_plugins_own_reply_in_front_of_a_direct_response_wins() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        stream.direct_response(200, ROUTE_BODY);
        // A bodiless upload: the plugin answers 400 from the headers.
        stream.request_headers(&[(":path", "/upload"), (":method", "POST")], true);
        assert_eq!(stream.local_response().map(|r| r.status_code), Some(400));
        assert_eq!(
            stream.current_response_header(":status").as_deref(),
            Some("400")
        );
    });
}

//! `properties` reads the route's metadata to learn which header the route
//! requires (401 without it), copies the route's name to the response, and
//! logs the request's attributes when the stream completes.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `properties.wasm` under wasmtime.

use properties::NAMESPACE;
use proxywasm::Action;
use proxywasm::mock::{HttpStream, MockHost, proto};
use proxywasm_wasmtime::Dual;
use serde_json::json;

/// The plugin natively and as its release `.wasm` on a plain host, started,
/// its log cleared.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(properties::plugin))
    .started()
    .log_cleared();

/// A stream on route `name` whose metadata requires `auth` (if any), with
/// a client address.
fn on_route(host: &MockHost, name: &str, auth: Option<&str>) -> HttpStream {
    let mut stream = host.http_stream();
    stream.set_property(&["xds", "route_name"], name);
    if let Some(auth) = auth {
        stream.set_property(
            &["xds", "route_metadata"],
            proto::metadata(&[(NAMESPACE, json!({"auth": auth}))]),
        );
    }
    stream.set_property(&["source", "address"], "127.0.0.1:50000");
    stream
}

fn get(stream: &mut HttpStream, path: &str, extra: Option<(&str, &str)>) -> Action {
    let mut headers = vec![(":method", "GET"), (":path", path)];
    headers.extend(extra);
    stream.request_headers(&headers, true)
}

#[test]
fn a_route_requiring_cookie_refuses_a_request_without_it() {
    DUAL.run(|host| {
        let mut stream = on_route(host, "one", Some("cookie"));
        assert_eq!(get(&mut stream, "/one", None), Action::Pause);
        let Some(reply) = stream.local_response() else {
            unreachable!("no reply: {:?}", host.logs().records());
        };
        assert_eq!(reply.status_code, 401);
        assert_eq!(reply.body, b"missing header cookie\n");
        assert_eq!(
            host.logs().info(),
            [r#"properties: auth header is "cookie" for route one"#]
        );
        // The local reply carries the route's name too.
        assert_eq!(
            stream.current_response_header("x-route-name").as_deref(),
            Some("one")
        );
    });
}

#[test]
fn a_request_with_the_required_header_passes() {
    DUAL.run(|host| {
        for (route, auth) in [("one", "cookie"), ("two", "authorization")] {
            let mut stream = on_route(host, route, Some(auth));
            assert_eq!(
                get(&mut stream, "/", Some((auth, "value"))),
                Action::Continue
            );
            assert!(stream.local_response().is_none(), "{route}");
            assert!(host.logs().contain(&format!(
                "properties: auth header is {auth:?} for route {route}"
            )));
        }
    });
}

#[test]
fn a_route_without_the_key_lets_everything_through() {
    DUAL.run(|host| {
        let mut stream = on_route(host, "three", None);
        assert_eq!(get(&mut stream, "/three", None), Action::Continue);
        assert_eq!(
            host.logs().info(),
            ["properties: no auth header for route three"]
        );
        // Metadata of another namespace does not count.
        let mut stream = host.http_stream();
        stream.set_property(
            &["xds", "route_metadata"],
            proto::metadata(&[("acme.auth", json!({"auth": "cookie"}))]),
        );
        assert_eq!(get(&mut stream, "/", None), Action::Continue);
        assert!(
            host.logs()
                .contain("properties: no auth header for route -")
        );
    });
}

#[test]
fn responses_carry_the_route_name() {
    DUAL.run(|host| {
        let mut stream = on_route(host, "three", None);
        get(&mut stream, "/three", None);
        stream.response_headers(&[(":status", "200")], true);
        assert_eq!(
            stream.current_response_header("x-route-name").as_deref(),
            Some("three")
        );
    });
}

#[test]
fn completion_logs_method_path_client_and_status() {
    DUAL.run(|host| {
        let mut stream = on_route(host, "two", Some("authorization"));
        get(&mut stream, "/two?x=1", Some(("authorization", "token")));
        stream.response_headers(&[(":status", "204")], true);
        stream.complete();
        assert!(
            host.logs()
                .contain("properties: GET /two?x=1 from 127.0.0.1 -> 204"),
            "{:?}",
            host.logs().info()
        );
    });
}

#[test]
fn a_stream_without_attributes_logs_dashes() {
    DUAL.run(|host| {
        let stream = host.http_stream();
        stream.complete();
        assert_eq!(host.logs().info(), ["properties: - - from - -> -"]);
    });
}

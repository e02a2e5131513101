//! `json_validation` lets a request reach its route only when the body is a
//! JSON object with every required key; otherwise it answers itself.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `json_validation.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::{HttpStream, MockHost};
use proxywasm_wasmtime::Dual;

/// The plugin natively and as its release `.wasm`, configured by each test.
const PLUGIN: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(json_validation::plugin)
});
/// [`PLUGIN`] with the configuration and filter option of `envoy.yaml`
/// (`allow_on_headers_stop_iteration: true`), started.
const DUAL: Dual = PLUGIN
    .configure(|| {
        MockHost::builder()
            .plugin_configuration(CONFIG)
            .allow_on_headers_stop_iteration(true)
    })
    .started();

/// The configuration of `envoy.yaml`.
const CONFIG: &str = r#"{"required_keys": ["id", "token"]}"#;

/// A `POST /` with `content_type`; the action of the headers callback. The
/// stream has an ordinary upstream; `a_direct_response_route_answers_after_a_valid_body`
/// has the route of `envoy.yaml`.
fn post(host: &MockHost, content_type: Option<&str>, has_body: bool) -> (HttpStream, Action) {
    let mut stream = host.http_stream();
    let mut headers = vec![(":method", "POST"), (":path", "/")];
    headers.extend(content_type.map(|value| ("content-type", value)));
    let action = stream.request_headers(&headers, !has_body);
    (stream, action)
}

/// Sends `body` as JSON in two chunks; the stream, and the status and body
/// of the plugin's answer (empty if it let the request go on).
fn send_json(host: &MockHost, body: &str) -> (HttpStream, (String, String)) {
    let (mut stream, action) = post(host, Some("application/json"), true);
    assert_eq!(action, Action::Pause, "the headers wait for the body");
    assert!(stream.is_request_paused());
    let (first, rest) = body.split_at(body.len() / 2);
    assert_eq!(stream.request_body(first.as_bytes(), false), Action::Pause);
    stream.request_body(rest.as_bytes(), true);
    let answer = answer(&stream);
    (stream, answer)
}

fn answer(stream: &HttpStream) -> (String, String) {
    (
        stream
            .current_response_header(":status")
            .unwrap_or_default(),
        String::from_utf8_lossy(&stream.current_response_body()).into_owned(),
    )
}

#[test]
fn a_valid_payload_goes_on_headers_and_body() {
    DUAL.run(|host| {
        let payload = r#"{"id": "abc123", "token": "xyz456", "extra": [1]}"#;
        let (mut stream, answer) = send_json(host, payload);
        assert_eq!(answer, (String::new(), String::new()), "no local reply");
        assert!(stream.local_response().is_none());
        assert!(!stream.is_request_paused(), "headers and body went on");
        assert_eq!(stream.action(), Action::Continue);
        assert_eq!(stream.current_request_body(), payload.as_bytes());
        // The upstream's answer passes untouched.
        stream.response_headers(&[(":status", "200")], false);
        assert_eq!(stream.response_body(b"hello\n", true), Action::Continue);
        assert_eq!(stream.current_response_body(), b"hello\n");
    });
}

/// `envoy.yaml` routes to a `direct_response`: since the plugin holds the headers
/// (`allow_on_headers_stop_iteration`), the body reaches it first, and the route
/// answers once the last body callback continues, as the e2e check sees in Envoy.
#[test]
fn a_direct_response_route_answers_after_a_valid_body() {
    DUAL.run(|host| {
        let mut stream = host.http_stream();
        stream.direct_response(200, "valid\n");
        let headers = [
            (":method", "POST"),
            (":path", "/"),
            ("content-type", "application/json"),
        ];
        assert_eq!(stream.request_headers(&headers, false), Action::Pause);
        assert!(stream.current_response_header(":status").is_none());
        stream.request_body(br#"{"id": "1", "token": "2"}"#, true);
        assert_eq!(answer(&stream), ("200".to_owned(), "valid\n".to_owned()));
        assert!(stream.local_response().is_none());
    });
}

#[test]
fn a_missing_key_gets_403_naming_it() {
    DUAL.run(|host| {
        let (_, (status, body)) = send_json(host, r#"{"id": "abc123"}"#);
        assert_eq!(status, "403");
        assert_eq!(body, "invalid payload: missing key `token`\n");
        assert!(host.logs().contain("json_validation: rejected with 403"));
    });
}

#[test]
fn a_body_that_is_not_a_json_object_gets_400() {
    DUAL.run(|host| {
        for payload in [
            "id=abc123&token=xyz456",
            r#"["id", "token"]"#,
            r#"{"id": 1,"#,
        ] {
            let (_, (status, body)) = send_json(host, payload);
            assert_eq!(status, "400", "{payload}");
            assert!(body.starts_with("invalid JSON object: "), "{body}");
        }
    });
}

#[test]
fn a_request_without_a_body_gets_400() {
    DUAL.run(|host| {
        let (stream, action) = post(host, Some("application/json"), false);
        assert_eq!(action, Action::Pause);
        assert_eq!(
            answer(&stream),
            (
                "400".to_owned(),
                "invalid JSON object: the body is empty\n".to_owned()
            )
        );
    });
}

#[test]
fn another_content_type_gets_403_before_any_body() {
    DUAL.run(|host| {
        for content_type in [None, Some("text/plain"), Some("application/jsonx")] {
            let (stream, action) = post(host, content_type, true);
            assert_eq!(action, Action::Pause, "{content_type:?}");
            let Some(reply) = stream.local_response() else {
                unreachable!("no reply for {content_type:?}");
            };
            assert_eq!(reply.status_code, 403);
            assert_eq!(reply.body, b"content-type must be application/json\n");
        }
    });
}

#[test]
fn a_content_type_with_parameters_is_json_too() {
    DUAL.run(|host| {
        let (mut stream, action) = post(host, Some("Application/JSON; charset=utf-8"), true);
        assert_eq!(action, Action::Pause);
        stream.request_body(br#"{"id": 1, "token": 2}"#, true);
        assert!(stream.local_response().is_none());
        assert!(!stream.is_request_paused());
    });
}

/// Starts with `configuration`; asserts it refuses with an error containing `expected`.
fn refuses(configuration: &'static str, expected: &'static str) {
    PLUGIN.run_with(
        || MockHost::builder().plugin_configuration(configuration),
        |host| {
            assert!(!host.start(), "started with {configuration}");
            let errors = host.logs().error();
            assert!(
                errors.iter().any(|line| line.contains(expected)),
                "no {expected:?} in {errors:?}"
            );
        },
    );
}

#[test]
fn a_bad_configuration_refuses_to_start() {
    refuses(r#"{"required_keys": []}"#, "`required_keys` is empty");
    refuses(
        r#"{"requiredKeys": ["id"]}"#,
        "unknown field `requiredKeys`",
    );
    refuses(r#"{"required_keys": "id"}"#, "invalid type: string \"id\"");
    refuses("", "the configuration is empty");
}

#[test]
fn start_logs_the_required_keys() {
    DUAL.run(|host| {
        assert_eq!(
            host.logs().info(),
            ["json_validation: required keys id, token"]
        );
    });
}

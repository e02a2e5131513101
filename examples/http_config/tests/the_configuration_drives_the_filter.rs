//! `http_config` adds the configured headers to every response and answers
//! the configured paths itself, whether Envoy hands the configuration over
//! as JSON text or as a `google.protobuf.Struct`; a bad configuration
//! refuses to start.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `http_config.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::{MockHost, proto};
use proxywasm_wasmtime::Dual;
use serde_json::json;

/// The plugin natively and as its release `.wasm`, configured by each test.
const PLUGIN: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(http_config::plugin));

/// [`PLUGIN`] with `configuration`, started.
fn dual_config(configuration: Vec<u8>, body: impl Fn(&MockHost)) {
    PLUGIN.started().run_with(
        || MockHost::builder().plugin_configuration(configuration.clone()),
        body,
    );
}

/// The JSON configuration of `envoy.yaml`'s first listener.
const CONFIG: &str = r#"{
    "response_headers": {
        "custom-header": "The secret to life is enjoying the passage of time",
        "x-config-form": "json"
    },
    "replies": {"/teapot": {"status": 418, "body": "I'm a teapot\n"}}
}"#;

const SECRET: &str = "The secret to life is enjoying the passage of time";

/// `envoy.yaml`'s second listener: the same settings as a `Struct`, in the
/// binary encoding Envoy hands over.
fn struct_config() -> Vec<u8> {
    proto::structure(&json!({
        "response_headers": {
            "custom-header": SECRET,
            "x-config-form": "struct"
        },
        "replies": {"/teapot": {"status": 418, "body": "I'm a teapot\n"}}
    }))
}

/// Asserts the behaviour of either form, `form` being `x-config-form`.
fn behaves(host: &MockHost, form: &str) {
    // Upstream responses get the headers; an upstream value is replaced.
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Action::Continue
    );
    stream.response_headers(&[(":status", "200"), ("x-config-form", "upstream")], true);
    assert_eq!(
        stream.current_response_header("custom-header").as_deref(),
        Some(SECRET)
    );
    let forms: Vec<_> = stream
        .current_response_headers()
        .into_iter()
        .filter(|(name, _)| name == "x-config-form")
        .collect();
    assert_eq!(forms, [("x-config-form".to_owned(), form.to_owned())]);

    // The configured path gets the local reply, which carries the headers too.
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/teapot")], true),
        Action::Pause
    );
    let Some(reply) = stream.local_response() else {
        unreachable!("no reply: {:?}", host.logs().records());
    };
    assert_eq!(reply.status_code, 418);
    assert_eq!(reply.body, b"I'm a teapot\n");
    assert_eq!(
        stream.current_response_header("custom-header").as_deref(),
        Some(SECRET)
    );
    assert!(
        host.logs()
            .contain("http_config: 2 response headers, replies for [/teapot]")
    );
}

#[test]
fn a_json_configuration_sets_headers_and_replies() {
    dual_config(CONFIG.into(), |host| behaves(host, "json"));
}

#[test]
fn a_struct_configuration_does_the_same() {
    dual_config(struct_config(), |host| behaves(host, "struct"));
}

#[test]
fn other_paths_and_query_strings_go_upstream() {
    dual_config(CONFIG.into(), |host| {
        for path in ["/teapot/", "/teapot?x=1", "/TEAPOT"] {
            let mut stream = host.http_stream();
            assert_eq!(
                stream.request_headers(&[(":path", path)], true),
                Action::Continue,
                "{path}"
            );
        }
    });
}

#[test]
fn an_empty_object_adds_nothing_and_replies_never() {
    dual_config(b"{}".to_vec(), |host| {
        let mut stream = host.http_stream();
        stream.request_headers(&[(":path", "/teapot")], true);
        stream.response_headers(&[(":status", "204")], true);
        assert_eq!(stream.current_response_headers().len(), 1);
    });
}

/// Starts with `configuration`; asserts it refuses with an error containing `expected`.
fn refuses(configuration: Vec<u8>, expected: &str) {
    PLUGIN.run_with(
        || MockHost::builder().plugin_configuration(configuration.clone()),
        |host| {
            assert!(!host.start());
            let errors = host.logs().error();
            assert!(
                errors.iter().any(|line| line.contains(expected)),
                "no {expected:?} in {errors:?}"
            );
        },
    );
}

#[test]
fn a_bad_configuration_refuses_to_start_naming_the_problem() {
    refuses(
        br#"{"replies": {"/x": {"status": 99}}}"#.to_vec(),
        "reply for /x: status 99 is not from 200 to 599",
    );
    refuses(
        br#"{"response_header": {}}"#.to_vec(),
        "unknown field `response_header`",
    );
    refuses(
        br#"{"replies": {"/x": {"status": "418"}}}"#.to_vec(),
        "invalid type: string \"418\"",
    );
    // The Struct form names the field and says it was a Struct.
    refuses(
        proto::structure(&json!({"replies": "none"})),
        "in the Struct configuration",
    );
}

//! `http_headers` refuses to start on a configuration it cannot use, and
//! says why in an error log naming the field, so Envoy rejects the filter
//! instead of running it half-configured.
//!
//! Every test runs twice with `DUAL` (see `common/mod.rs`): natively on the mock host, then
//! on the release `http_headers.wasm` under wasmtime.

use proxywasm::mock::MockHost;

mod common;
use common::DUAL;

/// Starts the plugin with `configuration`; asserts that it refuses, and that
/// one error line contains every piece of `expected`.
fn refuses(configuration: &'static str, expected: &'static [&'static str]) {
    DUAL.run_with(
        || MockHost::builder().plugin_configuration(configuration),
        |host| {
            assert!(!host.start(), "started with {configuration:?}");
            assert!(!host.is_started());
            let errors = host.logs().error();
            assert!(
                errors
                    .iter()
                    .any(|line| expected.iter().all(|piece| line.contains(piece))),
                "no error line with {expected:?} in {errors:?}"
            );
            assert!(
                !host.logs().contain("http_headers: configured"),
                "{:?}",
                host.logs().records()
            );
        },
    );
}

#[test]
fn a_missing_field_is_named() {
    refuses(
        r#"{"header": "x-proxywasm"}"#,
        &["refused to start", "missing field `value`"],
    );
}

#[test]
fn a_field_of_the_wrong_type_is_named() {
    refuses(
        r#"{"header": "x-proxywasm", "value": 42}"#,
        &["refused to start", "invalid type", "`value`"],
    );
}

#[test]
fn an_unknown_field_is_named() {
    refuses(
        r#"{"header": "x-proxywasm", "value": "it works", "vaule": "typo"}"#,
        &["refused to start", "unknown field `vaule`"],
    );
}

#[test]
fn text_that_is_not_json_is_refused() {
    refuses(
        "x-proxywasm: it works",
        &["refused to start", "line 1 column 1"],
    );
}

#[test]
fn an_unclosed_object_is_refused_at_its_end_without_blaming_a_field() {
    let configuration = r#"{"header": "x-proxywasm", "value": "it works""#;
    refuses(
        configuration,
        &[
            "refused to start",
            "EOF while parsing an object at line 1 column 45",
        ],
    );
    DUAL.run_with(
        || MockHost::builder().plugin_configuration(configuration),
        |host| {
            assert!(!host.start());
            let errors = host.logs().error();
            assert!(
                errors.iter().all(|line| !line.contains("field")),
                "{errors:?}"
            );
        },
    );
}

#[test]
fn an_empty_configuration_says_it_is_empty() {
    refuses("", &["refused to start", "the configuration is empty"]);
}

#[test]
fn an_absent_configuration_says_it_is_empty() {
    DUAL.run_with(MockHost::builder, |host| {
        assert!(!host.start());
        assert!(
            host.logs()
                .error()
                .iter()
                .any(|line| line.contains("the configuration is empty")),
            "{:?}",
            host.logs().error()
        );
    });
}

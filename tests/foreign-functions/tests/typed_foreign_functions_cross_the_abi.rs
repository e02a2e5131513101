//! Each typed helper of `proxywasm::foreign`, called by the plugin in this
//! crate: the arguments the host receives (Envoy's protobuf messages, byte
//! for byte), the answers decoded, the statuses reported, and expressions
//! freed when they drop, also when freeing fails.
//!
//! Every test runs natively on the mock host, then on the plugin's release
//! `.wasm` under wasmtime, against the same emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::Status;
use proxywasm::mock::MockHost;
use proxywasm_foreign_functions::{KEPT, plugin};
use proxywasm_wasmtime::Dual;

/// The plugin, quiet, natively and on the `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(plugin))
    .configure(|| MockHost::builder().echo_logs(false));

/// Runs `body` on a started host that `setup` prepared (before the plugin
/// configures): natively, then on the `.wasm`.
fn dual(setup: impl Fn(&MockHost), body: impl Fn(&MockHost)) {
    DUAL.run(|host| {
        setup(host);
        assert!(host.start(), "{:?}", host.logs().records());
        body(host);
    });
}

/// The expression `on_configure` compiles answers the path.
fn kept(host: &MockHost) {
    host.foreign_functions().expression(KEPT, *b"/expr");
}

/// One request for `path` with `x-data: data`.
fn request(host: &MockHost, path: &str, data: &str) {
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", path), ("x-data", data)], true);
}

/// The arguments of every call of the foreign function `name`.
fn calls_of(host: &MockHost, name: &str) -> Vec<Vec<u8>> {
    host.foreign_functions()
        .calls()
        .into_iter()
        .filter(|(n, _)| n == name)
        .map(|(_, args)| args)
        .collect()
}

#[test]
fn compress_makes_a_zlib_stream_that_uncompress_reverses() {
    dual(kept, |host| {
        request(host, "/compress", "hello hello hello hello hello");
        let info = host.logs().info();
        assert_eq!(info.len(), 1, "{info:?}");
        assert!(
            info[0].starts_with("compress: ")
                && info[0].ends_with(" bytes, header 78 9c, round trip true"),
            "{info:?}"
        );
        request(host, "/uncompress", "not zlib");
        assert_eq!(
            host.logs().warn(),
            ["proxy_call_foreign_function(uncompress) failed: SERIALIZATION_FAILURE (3)"]
        );
    });
}

#[test]
fn clear_route_cache_is_a_call_without_arguments() {
    dual(kept, |host| {
        request(host, "/route", "");
        assert_eq!(host.logs().info(), ["clear_route_cache: ok"]);
        assert_eq!(calls_of(host, "clear_route_cache"), [Vec::<u8>::new()]);
    });
}

#[test]
fn declare_property_sends_envoys_message_and_the_property_is_usable() {
    dual(kept, |host| {
        // name = 1 "tenant", readonly = 2 false (left out), type = 3 String (1),
        // schema = 4 empty (left out), span = 5 DownstreamRequest (1).
        let mut message = vec![0x0a, 6];
        message.extend_from_slice(b"tenant");
        message.extend_from_slice(&[3 << 3, 1, 5 << 3, 1]);
        assert_eq!(calls_of(host, "declare_property"), [message]);
        request(host, "/property", "acme");
        assert_eq!(host.logs().info(), ["property: acme"]);
    });
}

#[test]
fn set_envoy_filter_state_sends_envoys_message_and_reports_not_found_as_the_function_did() {
    dual(
        |host| {
            kept(host);
            host.foreign_functions()
                .register("set_envoy_filter_state", |args| match args.len() {
                    // The longer value stands for a key without a factory.
                    n if n > 30 => Err(Status::NotFound),
                    _ => Ok(Vec::new()),
                });
        },
        |host| {
            request(host, "/filter-state", "eu-1");
            assert_eq!(host.logs().info(), ["set_envoy_filter_state: ok"]);
            let mut message = vec![0x0a, 12];
            message.extend_from_slice(b"envoy.string");
            message.extend_from_slice(&[0x12, 4]);
            message.extend_from_slice(b"eu-1");
            message.extend_from_slice(&[3 << 3, 1]);
            assert_eq!(calls_of(host, "set_envoy_filter_state"), [message]);

            request(host, "/filter-state", "a value long enough");
            assert_eq!(
                host.logs().warn(),
                ["proxy_call_foreign_function(set_envoy_filter_state) failed: NOT_FOUND (1)"]
            );
        },
    );
}

#[test]
fn verify_signature_sends_envoys_message_and_decodes_the_answer() {
    dual(
        |host| {
            kept(host);
            host.foreign_functions()
                .register("verify_signature", |args| {
                    // VerifySignatureResult: valid for "good", else reason = 2.
                    if args.ends_with(b"good") {
                        Ok(vec![0x08, 0x01])
                    } else {
                        Ok(b"\x12\x0cwrong digest".to_vec())
                    }
                });
        },
        |host| {
            request(host, "/verify", "good");
            request(host, "/verify", "bad");
            assert_eq!(
                host.logs().info(),
                [
                    r#"verify_signature: valid true, reason """#,
                    r#"verify_signature: valid false, reason "wrong digest""#
                ]
            );
            let mut message = vec![0x0a, 6];
            message.extend_from_slice(b"sha256");
            message.extend_from_slice(&[0x12, 3]);
            message.extend_from_slice(b"key");
            message.extend_from_slice(&[0x1a, 9]);
            message.extend_from_slice(b"signature");
            message.extend_from_slice(&[0x22, 4]);
            message.extend_from_slice(b"good");
            assert_eq!(calls_of(host, "verify_signature")[0], message);
        },
    );
}

#[test]
fn an_expression_is_freed_when_it_drops_and_one_kept_by_the_plugin_stays() {
    dual(
        |host| {
            kept(host);
            host.foreign_functions()
                .expression("1 + 2", 3i64.to_le_bytes());
        },
        |host| {
            // Token 0 is the plugin's, made in on_configure.
            assert_eq!(host.foreign_functions().live_expressions(), [0]);
            request(host, "/expr", "1 + 2");
            assert_eq!(
                host.logs().info(),
                ["expr: token 1, value [3, 0, 0, 0, 0, 0, 0, 0], kept /expr"]
            );
            assert_eq!(host.foreign_functions().live_expressions(), [0]);
            assert_eq!(calls_of(host, "expr_delete"), [1u32.to_le_bytes().to_vec()]);

            request(host, "/expr", "1 +");
            assert_eq!(
                host.logs().warn(),
                ["proxy_call_foreign_function(expr_create) failed: BAD_ARGUMENT (2)"]
            );
        },
    );
}

#[test]
fn an_expression_whose_delete_fails_logs_and_the_stream_goes_on() {
    dual(
        |host| {
            kept(host);
            host.foreign_functions().expression("true", [1]);
            host.foreign_functions()
                .register("expr_delete", |_| Err(Status::InternalFailure));
        },
        |host| {
            request(host, "/expr", "true");
            assert_eq!(host.logs().info(), ["expr: token 1, value [1], kept /expr"]);
            assert_eq!(
                host.logs().warn(),
                [
                    "expression 1 not freed: proxy_call_foreign_function(expr_delete) failed: INTERNAL_FAILURE (10)"
                ]
            );
            assert!(host.violations().is_empty(), "{:?}", host.violations());
        },
    );
}

#[test]
fn the_raw_call_answers_none_only_for_a_name_without_a_function() {
    dual(
        |host| {
            kept(host);
            host.foreign_functions()
                .register("lookup", |_| Err(Status::NotFound));
        },
        |host| {
            request(host, "/raw", "no_such_function");
            request(host, "/raw", "compress");
            assert_eq!(host.logs().info(), ["raw: None", "raw: Some(8 bytes)"]);
            // The function ran and answered NOT_FOUND itself: an error.
            request(host, "/raw", "lookup");
            assert_eq!(
                host.logs().warn(),
                ["proxy_call_foreign_function(…) failed: NOT_FOUND (1)"]
            );
        },
    );
}

#[test]
fn a_typed_helper_tells_a_missing_function_from_its_not_found() {
    dual(
        |host| {
            kept(host);
            host.foreign_functions()
                .register("set_envoy_filter_state", |_| Err(Status::NotFound));
        },
        |host| {
            // No verify_signature registered: the host has no such function.
            request(host, "/verify", "text");
            request(host, "/filter-state", "x");
            assert_eq!(
                host.logs().warn(),
                [
                    "proxy_call_foreign_function failed: NOT_FOUND (1) (not registered)",
                    "proxy_call_foreign_function(set_envoy_filter_state) failed: NOT_FOUND (1)"
                ]
            );
        },
    );
}

//! What `proxywasm::foreign`'s typed helpers do in Envoy 1.40: the
//! `envoy_probe` plugin calls each helper in `on_configure`, on its first
//! tick and in `on_request_headers` of `GET /routed`, and logs
//! `probe: foreign[PHASE] WHAT = RESULT` (`tests/envoy-probe`,
//! `foreign_calls.rs`); these checks hold each result to what the book's
//! foreign-function pages say (book: foreign-functions.md,
//! reference/hostcalls.md#envoys-foreign-functions).

use crate::e2e::Ctx;
use crate::error::Result;
use crate::probe::expect_probe;

/// The phases the probe calls the helpers from: two plugin-context
/// callbacks and a stream.
const PHASES: &[&str] = &["on_configure", "on_tick", "on_request_headers"];

/// The probe logged `want` for each `(phase, what, want)`; a phase of `*`
/// means every phase.
fn expect<S: AsRef<str>>(c: &mut Ctx<'_>, expected: &[(S, S, S)]) -> Result<()> {
    let mut named = Vec::new();
    for (phase, what, want) in expected {
        let (phase, what, want) = (phase.as_ref(), what.as_ref(), want.as_ref());
        let phases = if phase == "*" {
            PHASES
        } else {
            core::slice::from_ref(&phase)
        };
        for phase in phases {
            named.push((format!("foreign[{phase}] {what}"), want));
        }
    }
    expect_probe(c, &named)
}

/// `compress` makes a zlib stream (header `78 9c`, zlib's default level)
/// that `uncompress` reverses; bytes that are not zlib are
/// `SERIALIZATION_FAILURE`; all in any callback.
pub(crate) fn compress(c: &mut Ctx<'_>) -> Result<()> {
    expect(
        c,
        &[
            ("*", "compress header", r#"Ok("78 9c")"#),
            ("*", "uncompress(compress(text)) == text", "Ok(true)"),
            ("*", "uncompress(not zlib)", "Err(SERIALIZATION_FAILURE)"),
        ],
    )
}

/// `clear_route_cache` succeeds in any callback (outside a stream it has
/// nothing to do).
pub(crate) fn clear_route_cache(c: &mut Ctx<'_>) -> Result<()> {
    expect(c, &[("*", "clear_route_cache", "Ok(())")])
}

/// `declare_property` once per context, `BAD_ARGUMENT` the second time; a
/// property declared in `on_configure` is set and read back in a stream; a
/// read-only one takes one value; a stream may declare too.
pub(crate) fn declare_property(c: &mut Ctx<'_>) -> Result<()> {
    expect(
        c,
        &[
            ("on_configure", "declare_property(probe_declared)", "Ok(())"),
            (
                "on_configure",
                "declare_property(probe_declared) again",
                "Err(BAD_ARGUMENT)",
            ),
            ("on_configure", "declare_property(probe_readonly)", "Ok(())"),
            ("on_request_headers", "set probe_declared", "Ok(())"),
            (
                "on_request_headers",
                "get probe_declared",
                r#"Ok(Some("declared value"))"#,
            ),
            ("on_request_headers", "set probe_readonly", "Ok(())"),
            (
                "on_request_headers",
                "set probe_readonly again",
                "Err(BAD_ARGUMENT)",
            ),
            (
                "on_request_headers",
                "get probe_readonly",
                r#"Ok(Some("first"))"#,
            ),
            (
                "on_request_headers",
                "declare_property(in a stream)",
                "Ok(())",
            ),
        ],
    )
}

/// `set_envoy_filter_state` looks the key's object factory up first
/// (`NOT_FOUND` for none, `BAD_ARGUMENT` when it refuses the value), then
/// needs a stream (`NOT_FOUND` in plugin callbacks); what it set is the
/// property `filter_state.KEY` in the stream and in `on_log`.
pub(crate) fn set_envoy_filter_state(c: &mut Ctx<'_>) -> Result<()> {
    const SET: &str = "set_envoy_filter_state";
    let mut expected: Vec<(String, String, String)> = Vec::new();
    for phase in ["on_configure", "on_tick"] {
        for (key, want) in [
            ("envoy.network.upstream_server_name", "Err(NOT_FOUND)"),
            ("envoy.string", "Err(NOT_FOUND)"),
            ("envoy.network.ip", "Err(BAD_ARGUMENT)"),
            ("acme.no_such_factory", "Err(NOT_FOUND)"),
        ] {
            expected.push((phase.into(), format!("{SET}({key})"), want.into()));
        }
    }
    for (key, set, read) in [
        (
            "envoy.network.upstream_server_name",
            "Ok(())",
            r#"Ok(Some("probe.example"))"#,
        ),
        ("envoy.string", "Ok(())", r#"Ok(Some("probe string"))"#),
        ("envoy.network.ip", "Err(BAD_ARGUMENT)", "Ok(None)"),
        ("acme.no_such_factory", "Err(NOT_FOUND)", "Ok(None)"),
    ] {
        let phase = "on_request_headers";
        expected.push((phase.into(), format!("{SET}({key})"), set.into()));
        for phase in [phase, "on_log"] {
            expected.push((phase.into(), format!("filter_state[{key}]"), read.into()));
        }
    }
    expect(c, &expected)
}

/// `verify_signature` with a real RSA key: valid; another text, an unknown
/// hash and a key that is not DER are `Ok` with `false` and Envoy's reason;
/// an empty key is `BAD_ARGUMENT`; in any callback.
pub(crate) fn verify_signature(c: &mut Ctx<'_>) -> Result<()> {
    expect(
        c,
        &[
            ("*", "verify_signature(valid)", r#"Ok((true, ""))"#),
            (
                "*",
                "verify_signature(other text)",
                r#"Ok((false, "Failed to verify digest. Error code: 0"))"#,
            ),
            (
                "*",
                "verify_signature(unknown hash)",
                r#"Ok((false, "md17 is not supported."))"#,
            ),
            ("*", "verify_signature(empty key)", "Err(BAD_ARGUMENT)"),
            (
                "*",
                "verify_signature(garbage key)",
                r#"Ok((false, "Failed to initialize digest verify."))"#,
            ),
        ],
    )
}

/// CEL: `expr_create`/`expr_evaluate`/`expr_delete` in any callback, with
/// tokens from 0 per plugin context; a parse error is `BAD_ARGUMENT`, a
/// token that is not 4 bytes too; deleting an unknown token is `OK`; an attribute missing where the expression
/// is evaluated (`request.path` outside a stream) is `INTERNAL_FAILURE`; an
/// expression compiled in `on_configure` evaluates in a stream.
pub(crate) fn expressions(c: &mut Ctx<'_>) -> Result<()> {
    expect(
        c,
        &[
            ("*", "expr 1 + 2", "Ok(3)"),
            ("*", "expr 'a' + 'b'", r#"Ok("ab")"#),
            ("*", "expr 1 +", "Err(BAD_ARGUMENT)"),
            ("*", "expr_evaluate(3 bytes) raw", "Err(BAD_ARGUMENT)"),
            ("*", "expr_delete(unknown token) raw", "Ok(Some(0))"),
            ("*", "expr_delete(3 bytes) raw", "Err(BAD_ARGUMENT)"),
            ("on_configure", "expr token", "0"),
            ("on_configure", "expr request.path", "Err(INTERNAL_FAILURE)"),
            ("on_tick", "expr request.path", "Err(INTERNAL_FAILURE)"),
            (
                "on_request_headers",
                "expr request.path",
                r#"Ok("/routed")"#,
            ),
            (
                "on_request_headers",
                "expr request.path created in on_configure",
                r#"Ok("/routed")"#,
            ),
        ],
    )
}

/// A function's own `NOT_FOUND` is told from a name Envoy has no function
/// for: Envoy writes the result words only once the function ran, so the
/// raw `call` answers `None` for the unknown name and an error for
/// `expr_evaluate` of a deleted token, and `is_not_registered` is false for
/// `set_envoy_filter_state`'s `NOT_FOUND` (no object factory).
pub(crate) fn not_registered_is_told_apart(c: &mut Ctx<'_>) -> Result<()> {
    expect(
        c,
        &[
            ("*", "no_such_function raw", "Ok(None)"),
            ("*", "expr_evaluate(deleted token) raw", "Err(NOT_FOUND)"),
            (
                "*",
                "is_not_registered(set_envoy_filter_state's NOT_FOUND)",
                "false",
            ),
        ],
    )
}

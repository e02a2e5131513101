//! The typed foreign-function helpers (`proxywasm::foreign`) in Envoy 1.40
//! (book: reference/hostcalls.md#envoys-foreign-functions): each helper is
//! called from a plugin-context callback (`on_configure`, the first tick)
//! and from a stream (`GET /routed`), and each result is logged as
//! `probe: foreign[PHASE] WHAT = RESULT`; `xtask/src/probe_foreign.rs`
//! holds the checks.

use proxywasm::foreign::{self, Expression, LifeSpan, Property, PropertyType};
use proxywasm::{Error, Result, property};
use std::cell::RefCell;

thread_local! {
    /// `request.path`, compiled in `on_configure` and evaluated in streams.
    static CONFIGURED: RefCell<Option<Expression>> = const { RefCell::new(None) };
}

/// An RSA-2048 public key (DER `SubjectPublicKeyInfo`) and its SHA-256
/// signature of [`SIGNED_TEXT`], made once with
/// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.pem`,
/// `openssl pkey -in k.pem -pubout -outform DER -out pub.der` and
/// `openssl dgst -sha256 -sign k.pem -out sig text`; the private key was
/// thrown away, it is not needed to verify.
pub const PROBE_PUBLIC_KEY: &[u8] = b"\x30\x82\x01\x22\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00\x03\x82\x01\x0f\x00\
    \x30\x82\x01\x0a\x02\x82\x01\x01\x00\xeb\x15\xb5\x3f\xe8\xa9\x72\x43\x19\x4a\xea\x4a\x7c\x9b\xa4\
    \x9d\xb7\xeb\x43\x88\xe3\x6e\x2b\x3b\xa1\xe2\x01\xb7\x2d\x35\x96\x3c\xa2\x67\x7f\xf2\x8c\x51\x3e\
    \x4c\xdc\x4d\x74\xfc\xa8\x84\x91\xc1\x28\x13\xeb\x2e\x59\xf2\xfd\x17\x35\x6c\xfd\x58\x86\x86\x1b\
    \x93\x01\xed\x27\x16\xec\x11\xa7\xda\xca\x85\xb8\x79\x07\xf4\x13\x3e\xd1\x2b\xab\xb4\x20\xf0\x16\
    \x25\x52\x0e\x49\x7f\x44\x5d\x1c\xa7\x92\x78\x53\x06\x9e\xee\x81\x90\x4d\xc6\xdb\xb4\xf5\x4b\xfd\
    \x73\x9e\x8b\xe7\xdf\xc0\x48\xe7\xe9\x4e\xf7\x86\xe3\x12\x89\x39\xba\x1f\xb6\x07\xc1\x1d\x89\xbc\
    \x94\xe1\x76\x0a\xa6\xbd\x64\xe1\xeb\xdf\x7f\xdf\xea\xd2\xc1\xe9\x3f\x0c\xfa\x88\x6e\x54\xb3\x53\
    \x74\xbb\x4e\x62\x84\xf7\x49\xaf\xb2\x45\xb5\xd5\x05\x70\x3b\x51\x9c\xa8\x1e\x06\xee\x8a\x74\x1c\
    \x6b\xd9\xd2\x1b\x54\xe0\xa5\x62\xb6\x88\x7f\xf0\xc3\x04\xfc\x5e\x15\x06\xed\x83\x40\xef\x5c\x20\
    \x14\xac\x1e\xd6\x59\x67\xda\xf6\xb9\xb5\x48\xca\x8f\xbf\x22\xa9\x2e\x1d\x61\x82\x03\x07\xd3\xb4\
    \xda\x43\x34\x06\x0a\x2a\xc9\x15\x1e\x6e\x9f\x6e\xea\x05\xa7\x7a\x88\xa5\xa7\xbf\x7b\xa3\xa2\xa4\
    \x93\x02\x03\x01\x00\x01";

/// The signature of [`SIGNED_TEXT`] by [`PROBE_PUBLIC_KEY`]'s private key.
pub const PROBE_SIGNATURE: &[u8] = b"\x91\x94\x25\xec\x3d\x5f\x4e\x86\xcc\x9b\xe3\xd2\x95\x0a\xfc\xe6\x6c\x62\x35\xaf\x8f\xed\xc2\xee\
    \xcd\x7f\x7c\xad\xc3\x78\x8e\xbe\x06\x6e\xc8\x06\xc8\x7c\x2d\x4d\x36\xaa\x91\xc1\x1b\xf0\x8c\x9f\
    \x0c\xd0\x08\x09\x8b\x0f\xe6\x1f\x0d\x12\x6d\xc6\xe5\xdb\xd4\xc7\x51\x53\x67\x51\x91\xfc\x92\xc7\
    \xe6\x4b\xdf\x81\x3b\x25\x3a\xc6\xc5\x8f\x2f\x11\x28\xfd\x88\xe6\x8b\x7f\xe7\x50\xf6\x0f\x39\x4d\
    \x2a\x16\x64\xbc\x4e\xea\x0a\x9f\x59\x04\x18\xc2\x67\xcc\xce\xad\x60\x14\xc6\x89\x86\x56\xef\x17\
    \xcc\x23\xff\x86\xd0\x2e\x4a\xb9\x16\xb6\x28\x72\x2f\xa5\xf2\x3f\x22\x4f\x29\xf8\x3e\x63\x23\x40\
    \x31\xed\x6d\x81\xcb\x12\xa2\xe7\x5a\xe8\x32\x0f\xfb\x7e\x84\x49\x94\x85\x3f\x70\x45\xd6\x1c\x51\
    \x6b\x83\xde\xbd\xc6\x3a\x10\x7e\x42\x87\xc3\x6c\x75\xe2\xe0\x57\x5b\x08\x40\xfb\xa6\x6f\x7b\x35\
    \x67\xcd\x75\x25\xae\x2b\x41\x4a\xe4\xd9\x86\x11\x84\x45\x86\xae\xe7\x35\x4b\x82\xe9\xdf\x5f\xfd\
    \xf4\xaa\xd8\xb4\x25\x64\xdb\x99\xd6\x8f\x34\x65\x98\x35\x1f\x51\xfd\xa1\x68\xd5\x7a\x4e\x36\x0d\
    \x60\xe9\x56\x09\x29\x7c\xa4\x7d\x28\x53\xf4\x10\xda\x0d\xa8\xa4";

/// The text [`PROBE_SIGNATURE`] signs.
pub const SIGNED_TEXT: &[u8] = b"signed by the probe";

/// The text compressed and uncompressed.
pub const TEXT: &[u8] = b"proxywasm probe, proxywasm probe, proxywasm probe";

/// The property declared in `on_configure` (writable, a string).
pub const DECLARED: &str = "probe_declared";
/// The property declared read-only in `on_configure`.
pub const READONLY: &str = "probe_readonly";

/// The filter-state keys set from a stream: a string Envoy has a factory
/// for, a factory that parses its value (an IP address), and no factory.
pub const FILTER_STATE: &[(&str, &str)] = &[
    ("envoy.network.upstream_server_name", "probe.example"),
    ("envoy.string", "probe string"),
    ("envoy.network.ip", "not an address"),
    ("acme.no_such_factory", "x"),
];

fn observe(phase: &str, what: &str, observed: &str) {
    proxywasm::log::info!("probe: foreign[{phase}] {what} = {observed}");
}

/// `Err(NAME)`, or the text of a non-host error.
fn err(e: &Error) -> String {
    match e.status() {
        Some(status) => format!("Err({})", status.name()),
        None => format!("Err({e})"),
    }
}

fn shown<T: core::fmt::Debug>(result: &Result<T>) -> String {
    match result {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => err(e),
    }
}

/// Compression, the route cache, signatures and CEL: what works in any
/// callback.
fn anywhere(phase: &str) {
    let packed = foreign::compress(TEXT);
    let header = packed.as_ref().map_err(Clone::clone).map(|p| {
        format!(
            "{:02x} {:02x}",
            p.first().copied().unwrap_or(0),
            p.get(1).copied().unwrap_or(0)
        )
    });
    observe(phase, "compress header", &shown(&header));
    let round = packed.and_then(|p| foreign::uncompress(&p));
    observe(
        phase,
        "uncompress(compress(text)) == text",
        &shown(&round.map(|r| r.as_bytes() == TEXT)),
    );
    observe(
        phase,
        "uncompress(not zlib)",
        &shown(&foreign::uncompress(b"not zlib").map(|b| b.len())),
    );
    observe(
        phase,
        "clear_route_cache",
        &shown(&foreign::clear_route_cache()),
    );
    let verify = |hash: &str, key: &[u8], text: &[u8]| {
        shown(
            &foreign::verify_signature(hash, key, PROBE_SIGNATURE, text)
                .map(|v| (v.valid, v.reason)),
        )
    };
    observe(
        phase,
        "verify_signature(valid)",
        &verify("sha256", PROBE_PUBLIC_KEY, SIGNED_TEXT),
    );
    observe(
        phase,
        "verify_signature(other text)",
        &verify("sha256", PROBE_PUBLIC_KEY, b"tampered"),
    );
    observe(
        phase,
        "verify_signature(unknown hash)",
        &verify("md17", PROBE_PUBLIC_KEY, SIGNED_TEXT),
    );
    observe(
        phase,
        "verify_signature(empty key)",
        &verify("sha256", b"", SIGNED_TEXT),
    );
    observe(
        phase,
        "verify_signature(garbage key)",
        &verify("sha256", b"\x01\x02\x03", SIGNED_TEXT),
    );
    let sum = Expression::new("1 + 2");
    observe(
        phase,
        "expr 1 + 2",
        &shown(
            &sum.as_ref()
                .map_err(Clone::clone)
                .and_then(Expression::evaluate_as::<i64>),
        ),
    );
    if let Ok(sum) = &sum {
        observe(phase, "expr token", &sum.token().to_string());
    }
    let text = Expression::new("'a' + 'b'").and_then(|e| e.evaluate_as::<String>());
    observe(phase, "expr 'a' + 'b'", &shown(&text));
    let path = Expression::new("request.path").and_then(|e| e.evaluate_as::<String>());
    observe(phase, "expr request.path", &shown(&path));
    observe(
        phase,
        "expr 1 +",
        &shown(&Expression::new("1 +").map(|e| e.token())),
    );
    // The function's own NOT_FOUND: a token the host deleted.
    let deleted = Expression::new("true").map(|e| e.token());
    if let Ok(token) = deleted {
        let again = foreign::call("expr_evaluate", &token.to_le_bytes());
        observe(
            phase,
            "expr_evaluate(deleted token) raw",
            &shown(&again.map(|o| o.map(|b| b.len()))),
        );
    }
    observe(
        phase,
        "expr_delete(unknown token) raw",
        &shown(&foreign::call("expr_delete", &u32::MAX.to_le_bytes()).map(|o| o.map(|b| b.len()))),
    );
    observe(
        phase,
        "expr_delete(3 bytes) raw",
        &shown(&foreign::call("expr_delete", b"abc").map(|o| o.map(|b| b.len()))),
    );
    observe(
        phase,
        "expr_evaluate(3 bytes) raw",
        &shown(&foreign::call("expr_evaluate", b"abc").map(|o| o.map(|b| b.len()))),
    );
    observe(
        phase,
        "no_such_function raw",
        &shown(&foreign::call("no_such_function", b"").map(|o| o.map(|b| b.len()))),
    );
    let set = |key: &str, value: &str| {
        shown(&foreign::set_envoy_filter_state(
            key,
            value,
            LifeSpan::FilterChain,
        ))
    };
    if let Err(e) =
        foreign::set_envoy_filter_state("acme.no_such_factory", "x", LifeSpan::FilterChain)
    {
        observe(
            phase,
            "is_not_registered(set_envoy_filter_state's NOT_FOUND)",
            &foreign::is_not_registered(&e).to_string(),
        );
    }
    for (key, value) in FILTER_STATE {
        observe(
            phase,
            &format!("set_envoy_filter_state({key})"),
            &set(key, value),
        );
    }
}

/// In `on_configure` (HTTP role): declares the two properties, and
/// everything that works anywhere.
pub fn in_configure() {
    let phase = "on_configure";
    let declare = |p: Property<'_>| shown(&foreign::declare_property(&p));
    let declared = Property::new(DECLARED).kind(PropertyType::String);
    observe(
        phase,
        "declare_property(probe_declared)",
        &declare(declared.clone()),
    );
    observe(
        phase,
        "declare_property(probe_declared) again",
        &declare(declared),
    );
    observe(
        phase,
        "declare_property(probe_readonly)",
        &declare(
            Property::new(READONLY)
                .kind(PropertyType::String)
                .readonly(true),
        ),
    );
    anywhere(phase);
    match Expression::new("request.path") {
        Ok(e) => CONFIGURED.with(|c| *c.borrow_mut() = Some(e)),
        Err(e) => observe(phase, "expr request.path kept", &err(&e)),
    }
}

/// On the first tick.
pub fn in_tick() {
    anywhere("on_tick");
}

/// A property as `Ok(Some("…"))`, `Ok(None)` or `Err(NAME)`.
fn read(path: &[&str]) -> String {
    shown(&property::get(path).map(|v| v.map(|b| b.to_string_lossy().into_owned())))
}

/// In `on_request_headers` of `GET /routed`.
pub fn in_request() {
    let phase = "on_request_headers";
    anywhere(phase);
    let configured = CONFIGURED.with(|c| {
        c.borrow()
            .as_ref()
            .map(|e| shown(&e.evaluate_as::<String>()))
    });
    observe(
        phase,
        "expr request.path created in on_configure",
        &configured.unwrap_or_else(|| "not created".to_string()),
    );
    observe(
        phase,
        "set probe_declared",
        &shown(&property::set(&[DECLARED], b"declared value")),
    );
    observe(phase, "get probe_declared", &read(&[DECLARED]));
    observe(
        phase,
        "set probe_readonly",
        &shown(&property::set(&[READONLY], b"first")),
    );
    observe(
        phase,
        "set probe_readonly again",
        &shown(&property::set(&[READONLY], b"second")),
    );
    observe(phase, "get probe_readonly", &read(&[READONLY]));
    observe(
        phase,
        "declare_property(in a stream)",
        &shown(&foreign::declare_property(&Property::new("probe_stream"))),
    );
    for (key, _) in FILTER_STATE {
        observe(
            phase,
            &format!("filter_state[{key}]"),
            &read(&["filter_state", key]),
        );
    }
}

/// In `on_log` of `GET /routed`: the filter state set earlier.
pub fn in_log() {
    for (key, _) in FILTER_STATE {
        observe(
            "on_log",
            &format!("filter_state[{key}]"),
            &read(&["filter_state", key]),
        );
    }
}

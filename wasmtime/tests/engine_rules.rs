//! The engine host follows Envoy's rules (book: reference/lifecycle.md#loading-a-module,
//! book: reference/hostcalls.md): load-time checks,
//! the allocator hand-off, the restricted phases, WASI, traps and metering.
//! Each test runs a small hand-written module (WebAssembly text) so the rule
//! is exercised directly, not through an SDK.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::Action;
use proxywasm::mock::MockHost;
use proxywasm_wasmtime::{EngineHost, WasmHost, WasmPlugin};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

/// A module with the marker, one page of memory, a bump allocator export
/// (`proxy_on_memory_allocate`, counting its calls in global 0) and `extra`.
fn module(extra: &str) -> String {
    // The text format wants imports before definitions: hoist them.
    let (imports, rest) = split_imports(extra);
    format!(
        r#"(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  {imports}
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 32768))
  (global $allocs (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func $alloc (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (global.set $allocs (i32.add (global.get $allocs) (i32.const 1)))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  (func $say (param $ptr i32) (param $len i32)
    (drop (call $log (i32.const 2) (local.get $ptr) (local.get $len))))
  (data (i32.const 0) "ok")
  (data (i32.const 8) "bad")
  {rest}
)"#
    )
}

/// Splits top-level forms into `(import …)` ones and the rest.
fn split_imports(text: &str) -> (String, String) {
    let (mut imports, mut rest) = (String::new(), String::new());
    let (mut depth, mut start) = (0usize, None);
    for (i, c) in text.char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    start = Some(i);
                }
                depth += 1;
            }
            ')' => {
                depth -= 1;
                if depth == 0 {
                    let form = &text[start.take().unwrap()..=i];
                    let target = if form.starts_with("(import") {
                        &mut imports
                    } else {
                        &mut rest
                    };
                    target.push_str(form);
                    target.push('\n');
                }
            }
            _ => {}
        }
    }
    (imports, rest)
}

fn load(wat: &str) -> WasmPlugin {
    WasmPlugin::from_bytes("test", wat.as_bytes()).unwrap()
}

fn host(wat: &str) -> EngineHost {
    MockHost::builder().echo_logs(false).wasm(&load(wat))
}

fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a test failure (panic)");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// The test failure one request's headers cause.
fn request_failure(host: &MockHost) -> String {
    panic_message(|| {
        host.http_stream().request_headers(&[(":path", "/x")], true);
    })
}

fn load_error(wat: &str) -> String {
    WasmPlugin::from_bytes("test", wat.as_bytes())
        .unwrap_err()
        .to_string()
}

/// Sends one request's headers (`:path` `/x`, and an empty `x-empty`) and
/// returns the last message the plugin logged.
fn last_log(host: &MockHost) -> Option<String> {
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/x"), ("x-empty", "")], true);
    host.logs().records().pop().map(|r| r.message)
}

/// Logs "ok" (offset 0) when `cond` holds, else "bad" (offset 8).
fn check(cond: &str) -> String {
    format!(
        "(if {cond} (then (call $say (i32.const 0) (i32.const 2))) (else (call $say (i32.const 8) (i32.const 3))))"
    )
}

/// The forms of a `proxy_on_request_headers` that runs `before`, reads the
/// request header `name` (result pointer at 64, length at 68), then runs
/// `after`: for [`module`].
fn reads_header(name: &str, before: &str, after: &str) -> String {
    let len = name.len();
    format!(
        r#"(import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
           (data (i32.const 16) "{name}")
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             {before}
             (drop (call $get (i32.const 0) (i32.const 16) (i32.const {len}) (i32.const 64) (i32.const 68)))
             {after}
             (i32.const 0))"#
    )
}

#[test]
fn logging_is_allowed_during_start_up() {
    let host = host(&module(
        r#"(func (export "_initialize") (call $say (i32.const 0) (i32.const 2)))"#,
    ));
    assert!(host.start());
    let first = host.logs().records().into_iter().next();
    assert_eq!(first.map(|r| r.message).as_deref(), Some("ok"));
}

#[test]
fn any_other_hostcall_during_start_up_traps_like_envoy() {
    let wat = module(
        r#"(import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
           (func (export "_initialize") (drop (call $tick (i32.const 1000))))"#,
    );
    let host = host(&wat);
    let message = panic_message(|| {
        host.start();
    });
    assert!(message.contains("restricted_callback"), "{message}");
    assert!(
        message.contains("proxy_set_tick_period_milliseconds"),
        "{message}"
    );
    assert!(host.trap().is_some());
}

#[test]
fn the_start_up_rule_can_be_switched_off_per_test() {
    let wat = module(
        r#"(import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
           (func (export "_initialize") CHECK)"#,
    )
    .replace("CHECK", &check("(i32.eqz (call $tick (i32.const 1000)))"));
    let mut fidelity = proxywasm::mock::Fidelity::envoy();
    fidelity.restricted_start_up = false;
    let host = MockHost::builder()
        .echo_logs(false)
        .fidelity(fidelity)
        .wasm(&load(&wat));
    assert!(host.start());
    let first = host.logs().records().into_iter().next();
    assert_eq!(first.map(|r| r.message).as_deref(), Some("ok"));
}

#[test]
fn a_hostcall_inside_the_allocator_traps() {
    let wat = r#"(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_done" (func $done (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32)
    (drop (call $done)) (i32.const 1024))
  (data (i32.const 0) ":path")
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $get (i32.const 0) (i32.const 0) (i32.const 5) (i32.const 64) (i32.const 68)))
    (i32.const 0)))"#;
    let host = host(wat);
    let message = request_failure(&host);
    assert!(
        message.contains("inside the allocation export"),
        "{message}"
    );
    assert!(message.contains("proxy_done"), "{message}");
}

#[test]
fn results_are_handed_over_through_the_allocator_and_owned_by_the_plugin() {
    // Reads :path, then logs the bytes at the returned pointer: the host must
    // have allocated exactly 2 bytes ("/x") with the plugin's allocator.
    let wat = module(&reads_header(
        ":path",
        "",
        "(call $say (i32.load (i32.const 64)) (i32.load (i32.const 68)))",
    ));
    let host = host(&wat);
    assert_eq!(last_log(&host).as_deref(), Some("/x"));
}

#[test]
fn malloc_is_preferred_over_proxy_on_memory_allocate() {
    let wat = module(&format!(
        r#"(func (export "malloc") (param i32) (result i32) (i32.const 4096)) {}"#,
        reads_header(
            ":path",
            "",
            &check("(i32.eq (i32.load (i32.const 64)) (i32.const 4096))")
        )
    ));
    let plugin = load(&wat);
    assert_eq!(plugin.allocator(), "malloc");
    let host = MockHost::builder().echo_logs(false).wasm(&plugin);
    assert_eq!(last_log(&host).as_deref(), Some("ok"));
}

#[test]
fn empty_results_are_null_with_no_allocation() {
    // The result pair starts as garbage (77, 77): the host must zero it.
    let wat = module(&reads_header(
        "x-empty",
        "(i32.store (i32.const 64) (i32.const 77)) (i32.store (i32.const 68) (i32.const 77))",
        &check(
            "(i32.and (i32.and (i32.eqz (i32.load (i32.const 64))) (i32.eqz (i32.load (i32.const 68)))) \
             (i32.eqz (global.get $allocs)))",
        ),
    ));
    let host = host(&wat);
    assert_eq!(last_log(&host).as_deref(), Some("ok"));
}

#[test]
fn out_of_bounds_pointers_get_invalid_memory_access() {
    let wat = module(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             CHECK
             (i32.const 0))"#,
    )
    .replace(
        "CHECK",
        &check(
            "(i32.eq (call $log (i32.const 2) (i32.const 65530) (i32.const 100)) (i32.const 6))",
        ),
    );
    let host = host(&wat);
    assert_eq!(last_log(&host).as_deref(), Some("ok"));
}

#[test]
fn an_allocator_returning_zero_gets_invalid_memory_access() {
    let wat = r#"(module
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0))
  (data (i32.const 0) "six")
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eq (call $pairs (i32.const 0) (i32.const 64) (i32.const 68)) (i32.const 6))
      (then (drop (call $log (i32.const 2) (i32.const 0) (i32.const 3)))))
    (i32.const 0)))"#;
    let host = host(wat);
    assert_eq!(last_log(&host).as_deref(), Some("six"));
}

#[test]
fn a_trap_fails_the_test_with_the_backtrace_and_the_last_log_lines() {
    let wat = module(
        r#"(data (i32.const 16) "about to fail")
           (func $boom (unreachable))
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (call $say (i32.const 16) (i32.const 13))
             (call $boom)
             (i32.const 0))"#,
    );
    let host = host(&wat);
    let message = request_failure(&host);
    // The callback, the trap, the function in the backtrace, the last log line.
    for want in [
        "trapped in proxy_on_request_headers",
        "unreachable",
        "boom",
        "[info] about to fail",
    ] {
        assert!(message.contains(want), "no `{want}` in {message}");
    }
    assert!(
        !message.contains("Stack backtrace"),
        "no native stack in the report: {message}"
    );
    // Envoy sends nothing more to a failed VM.
    let again = request_failure(&host);
    assert!(again.contains("after the plugin trapped"), "{again}");
}

#[test]
fn runaway_callbacks_are_stopped_by_the_fuel_limit() {
    let wat = module(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (loop $forever (br $forever))
             (i32.const 0))"#,
    );
    let host = MockHost::builder()
        .echo_logs(false)
        .wasm_with_fuel_limit(&load(&wat), 10_000);
    let message = request_failure(&host);
    assert!(message.to_lowercase().contains("fuel"), "{message}");
}

#[test]
fn fuel_counts_instructions_per_callback() {
    // Ten (i32.const, drop) pairs: drop is free in wasmtime's fuel, so ten more.
    let body = "(drop (i32.const 1))".repeat(10);
    let wat = module(&format!(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
           (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) {body} (i32.const 0))"#
    ));
    let host = host(&wat);
    let mut stream = host.http_stream();
    let (_, request) = host.measure(|_| stream.request_headers(&[(":path", "/")], true));
    let (_, response) = host.measure(|_| stream.response_headers(&[(":status", "200")], true));
    assert_eq!(response.usage.fuel - request.usage.fuel, 10);
    assert_eq!(request.callbacks.len(), 1);
    assert_eq!(request.callbacks[0].export, "proxy_on_request_headers");
    assert_eq!(request.callbacks[0].context_id, stream.id().0);
}

#[test]
fn hostcalls_are_counted_by_name() {
    let wat = module(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (call $say (i32.const 0) (i32.const 2))
             (call $say (i32.const 0) (i32.const 2))
             (i32.const 1))"#,
    );
    let host = host(&wat);
    let (action, cost) = host.measure(|h| h.http_stream().request_headers(&[(":path", "/")], true));
    assert_eq!(action, Action::Pause);
    assert_eq!(cost.usage.hostcalls.get("proxy_log"), Some(&2));
    assert_eq!(cost.usage.hostcall_total(), 2);
}

#[test]
fn memory_pages_are_reported() {
    let wat = module(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (drop (memory.grow (i32.const 2)))
             (i32.const 0))"#,
    );
    let host = host(&wat);
    let (_, cost) = host.measure(|h| h.http_stream().request_headers(&[(":path", "/")], true));
    assert_eq!((cost.pages_before, cost.pages_after), (1, 3));
    assert_eq!(host.memory_pages(), 3);
}

#[test]
fn absent_callbacks_get_envoys_defaults() {
    let host = host(&module(""));
    assert!(
        host.start(),
        "no on_vm_start/on_configure: starting succeeds"
    );
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Action::Continue
    );
    assert_eq!(
        stream.response_headers(&[(":status", "200")], true),
        Action::Continue
    );
    stream.complete();
}

// ---- WASI -----------------------------------------------------------------------------

const WASI: &str = r#"
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
"#;

#[test]
fn stdout_and_stderr_become_log_records() {
    let wat = module(&format!(
        r#"{WASI}
           (data (i32.const 16) "to stdout\n")
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (i32.store (i32.const 64) (i32.const 16))
             (i32.store (i32.const 68) (i32.const 10))
             (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 72)))
             (drop (call $fd_write (i32.const 2) (i32.const 64) (i32.const 1) (i32.const 72)))
             CHECK
             (i32.const 0))"#
    ))
    .replace("CHECK", &check("(i32.eq (call $fd_write (i32.const 3) (i32.const 64) (i32.const 1) (i32.const 72)) (i32.const 8))"));
    let host = host(&wat);
    host.http_stream().request_headers(&[(":path", "/")], true);
    let logs: Vec<String> = host
        .logs()
        .records()
        .iter()
        .map(|r| format!("{:?} {}", r.level, r.message))
        .collect();
    assert_eq!(logs, ["Info to stdout", "Error to stdout", "Info ok"]);
}

#[test]
fn the_wasi_clock_is_the_emulators_clock() {
    // clock_time_get(realtime) must equal proxy_get_current_time_nanoseconds,
    // before and after the test advances the clock.
    let wat = module(&format!(
        r#"{WASI}
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 64)))
             (drop (call $now (i32.const 72)))
             CHECK
             (i32.const 0))"#
    ))
    .replace(
        "CHECK",
        &check("(i64.eq (i64.load (i32.const 64)) (i64.load (i32.const 72)))"),
    );
    let host = host(&wat);
    host.http_stream().request_headers(&[(":path", "/")], true);
    host.time().advance(Duration::from_secs(3600));
    host.http_stream().request_headers(&[(":path", "/")], true);
    let messages: Vec<String> = host
        .logs()
        .records()
        .into_iter()
        .map(|r| r.message)
        .collect();
    assert_eq!(messages, ["ok", "ok"]);
}

#[test]
fn random_get_is_capped_at_64_kib_like_envoy() {
    let wat = module(&format!(
        r#"{WASI}
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             CHECK
             (i32.const 0))"#
    ))
    .replace(
        "CHECK",
        &check(
            "(i32.and (i32.eqz (call $random (i32.const 64) (i32.const 16))) \
             (i32.eq (call $random (i32.const 64) (i32.const 65537)) (i32.const 28)))",
        ),
    );
    let host = host(&wat);
    assert_eq!(last_log(&host).as_deref(), Some("ok"));
}

#[test]
fn proc_exit_is_named_in_the_trap_report() {
    let wat = module(&format!(
        r#"{WASI}
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (call $exit (i32.const 3))
             (unreachable))"#
    ));
    let host = host(&wat);
    let message = request_failure(&host);
    assert!(message.contains("proc_exit(3)"), "{message}");
}

// ---- load-time checks -------------------------------------------------------------------

#[test]
fn a_module_without_the_abi_marker_does_not_load() {
    let error = load_error(
        r#"(module (memory (export "memory") 1) (func (export "malloc") (param i32) (result i32) (i32.const 0)))"#,
    );
    assert!(
        error.contains("Missing or unknown Proxy-Wasm ABI version"),
        "{error}"
    );
}

#[test]
fn a_module_without_an_allocation_export_does_not_load() {
    let error = load_error(
        r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))"#,
    );
    assert!(error.contains("MissingFunction"), "{error}");
}

#[test]
fn imports_must_have_envoys_exact_type() {
    let mistyped = module(
        r#"(import "env" "proxy_set_tick_period_milliseconds" (func (param i64) (result i32)))"#,
    );
    let error = load_error(&mistyped);
    assert!(error.contains("import type mismatch"), "{error}");
    assert!(
        error.contains("proxy_set_tick_period_milliseconds"),
        "{error}"
    );
}

#[test]
fn imports_envoy_does_not_register_for_0_2_1_do_not_load() {
    let error = load_error(&module(
        r#"(import "env" "proxy_continue_request" (func (result i32)))"#,
    ));
    assert!(error.contains("only for ABI v0.1.0"), "{error}");
    let error = load_error(&module(
        r#"(import "env" "proxy_no_such_call" (func (result i32)))"#,
    ));
    assert!(error.contains("missing import"), "{error}");
    let v0_2_0 = module(r#"(import "env" "proxy_get_log_level" (func (param i32) (result i32)))"#)
        .replace("proxy_abi_version_0_2_1", "proxy_abi_version_0_2_0");
    let error = load_error(&v0_2_0);
    assert!(error.contains("proxy_get_log_level"), "{error}");
}

#[test]
fn a_callback_export_with_the_wrong_type_does_not_load() {
    let error = load_error(&module(
        r#"(func (export "proxy_on_request_headers") (param i32 i32) (result i32) (i32.const 0))"#,
    ));
    assert!(error.contains("Bad function signature"), "{error}");
}

#[test]
fn every_import_envoy_registers_links_with_its_exact_type() {
    use proxywasm_wasmtime::abi::{ENV_SHIMS, IMPORTS, Signature, WASI_IMPORTS};
    let ty = |types: &[proxywasm_wasmtime::abi::WasmType]| {
        types.iter().map(|t| format!("{t} ")).collect::<String>()
    };
    let import = |module_name: &str, name: &str, sig: &Signature| {
        format!(
            "(import \"{module_name}\" \"{name}\" (func (param {}) (result {})))\n",
            ty(sig.params),
            ty(sig.results)
        )
    };
    let mut imports = String::new();
    for f in IMPORTS {
        imports += &import("env", f.name, &f.signature);
    }
    for (name, sig) in ENV_SHIMS {
        imports += &import("env", name, sig);
    }
    for module_name in ["wasi_snapshot_preview1", "wasi_unstable"] {
        for (name, sig) in WASI_IMPORTS {
            imports += &import(module_name, name, sig);
        }
    }
    let plugin = load(&module(&imports));
    // proxy_log is imported twice (by the helper module too).
    assert_eq!(
        plugin.imports().len(),
        1 + IMPORTS.len() + ENV_SHIMS.len() + 2 * WASI_IMPORTS.len()
    );
    let host = MockHost::builder().echo_logs(false).wasm(&plugin);
    assert!(host.start());
}

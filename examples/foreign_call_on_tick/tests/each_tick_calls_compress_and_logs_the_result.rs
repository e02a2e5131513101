//! `foreign_call_on_tick` ticks every 100 ms; each tick calls Envoy's
//! `compress` on `hello world!`, logs the call's count and the zlib stream
//! in hex, and checks it with `uncompress`. A failing call is logged and the
//! next tick tries again.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on
//! the mock host, then on the release `foreign_call_on_tick.wasm` under wasmtime.

use foreign_call_on_tick::{MESSAGE, TICK_PERIOD};
use proxywasm::Status;
use proxywasm::mock::MockHost;
use proxywasm_wasmtime::Dual;
use std::time::Duration;

/// `hello world!` as Envoy 1.40's `compress` deflates it (measured; the
/// emulator's zlib gives the same bytes).
const PACKED: &str = "789ccb48cdc9c95728cf2fca495104001e89047e";

/// The plugin natively and as its release `.wasm` on a plain host (it has
/// Envoy's `compress` and `uncompress`), started, its log cleared.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.plugin(foreign_call_on_tick::plugin)
})
.started()
.log_cleared();

/// The log lines that report `compress` calls.
fn compress_lines(host: &MockHost) -> Vec<String> {
    host.logs()
        .info()
        .into_iter()
        .filter(|line| line.starts_with("foreign function (compress) called: "))
        .collect()
}

#[test]
fn the_tick_period_is_100_ms() {
    DUAL.run(|host| {
        assert_eq!(TICK_PERIOD, Duration::from_millis(100));
        assert_eq!(host.time().tick_period(), Some(TICK_PERIOD));
    });
}

#[test]
fn each_tick_counts_its_call_and_logs_the_zlib_stream() {
    DUAL.run(|host| {
        for _ in 0..3 {
            host.time().tick();
        }
        let lines = compress_lines(host);
        assert_eq!(lines.len(), 3, "{lines:?}");
        for (n, line) in lines.iter().enumerate() {
            assert_eq!(
                line,
                &format!(
                    "foreign function (compress) called: {}, result: {PACKED}",
                    n + 1
                )
            );
        }
        let calls = host.foreign_functions().calls();
        let compress: Vec<_> = calls
            .iter()
            .filter(|(name, _)| name == "compress")
            .collect();
        assert_eq!(compress.len(), 3);
        assert!(compress.iter().all(|(_, arguments)| arguments == MESSAGE));
    });
}

#[test]
fn uncompress_gives_the_message_back() {
    DUAL.run(|host| {
        host.time().tick();
        assert_eq!(
            host.logs().info().last().map(String::as_str),
            Some(r#"foreign function (uncompress) gave back "hello world!""#)
        );
        let names: Vec<String> = host
            .foreign_functions()
            .calls()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["compress", "uncompress"]);
    });
}

#[test]
fn a_failing_call_is_logged_and_the_next_tick_tries_again() {
    DUAL.run_with(
        || {
            MockHost::builder()
                .foreign_function("compress", |_: &[u8]| Err(Status::InternalFailure))
        },
        |host| {
            host.time().tick();
            host.time().tick();
            assert!(compress_lines(host).is_empty());
            assert_eq!(host.foreign_functions().calls().len(), 2);
            assert!(
                host.logs()
                    .contain("proxy_call_foreign_function(compress) failed: INTERNAL_FAILURE"),
                "{:?}",
                host.logs().records()
            );
        },
    );
}

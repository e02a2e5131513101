//! `foreign_call_on_tick` ticks every 100 ms; each tick calls Envoy's
//! `compress` on `hello world!`, logs the call's count and the zlib stream
//! in hex, and checks it with `uncompress`. A failing call is logged and the
//! next tick tries again.
//!
//! Every test runs twice with `dual_run` (see `common/mod.rs`): natively on
//! the mock host, then on the release `foreign_call_on_tick.wasm` under wasmtime.

use foreign_call_on_tick::{MESSAGE, TICK_PERIOD};
use proxywasm::Status;
use proxywasm::mock::MockHost;
use std::time::Duration;

/// `hello world!` as Envoy 1.40's `compress` deflates it (measured; the
/// emulator's zlib gives the same bytes).
const PACKED: &str = "789ccb48cdc9c95728cf2fca495104001e89047e";

mod common;
use common::{dual, dual_with};

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
    dual(|host| {
        assert_eq!(TICK_PERIOD, Duration::from_millis(100));
        assert_eq!(host.time().tick_period(), Some(TICK_PERIOD));
    });
}

#[test]
fn each_tick_counts_its_call_and_logs_the_zlib_stream() {
    dual(|host| {
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
    dual(|host| {
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
    dual_with(
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

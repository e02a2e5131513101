//! An `http_headers` stream ends as Envoy ends HTTP streams: `on_log` (where
//! the plugin logs the final status), then `on_done`, then `on_delete`.
//!
//! Every test runs twice with `DUAL` (see `common/mod.rs`): natively on the mock host, then
//! on the release `http_headers.wasm` under wasmtime.

use proxywasm::mock::Export;

mod common;
use common::{DUAL, assert_logged, request};

#[test]
fn completion_logs_the_status_of_the_response() {
    DUAL.run(|host| {
        for status in ["200", "404"] {
            let mut stream = request(host, "/");
            stream.response_headers(&[(":status", status)], true);
            stream.complete();
            assert_logged(
                host,
                &format!("http_headers: stream complete, status {status}"),
            );
        }
    });
}

#[test]
fn a_stream_with_no_response_logs_status_none() {
    DUAL.run(|host| {
        request(host, "/").complete();
        assert_logged(host, "http_headers: stream complete, status none");
    });
}

#[test]
fn log_comes_before_done_and_delete() {
    DUAL.run(|host| {
        let mut stream = request(host, "/");
        let id = stream.id().0;
        stream.response_headers(&[(":status", "200")], true);
        assert!(!host.logs().contain("stream complete"));
        stream.complete();
        // The stream's last three callbacks, and the last of all.
        assert!(
            host.callbacks().ends_with(&[
                Export::Log { context_id: id },
                Export::Done { context_id: id },
                Export::Delete { context_id: id },
            ]),
            "{:?}",
            host.callbacks()
        );
        // The status line is written by on_log, on the stream's own context.
        let record = host
            .logs()
            .records()
            .into_iter()
            .find(|record| record.message == "http_headers: stream complete, status 200");
        assert_eq!(record.map(|r| r.context_id.0), Some(id));
    });
}

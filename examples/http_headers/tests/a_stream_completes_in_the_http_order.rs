//! An `http_headers` stream ends as Envoy ends HTTP streams: `on_log` (where
//! the plugin logs the final status), then `on_done`, then `on_delete`.
//!
//! Every test runs twice with `dual_run` (see `common/mod.rs`): natively on the mock host, then
//! on the release `http_headers.wasm` under wasmtime.

use proxywasm::mock::Export;

mod common;
use common::dual;

#[test]
fn completion_logs_the_status_of_the_response() {
    dual(|host| {
        for status in ["200", "404"] {
            let mut stream = host.http_stream();
            stream.request_headers(&[(":path", "/")], true);
            stream.response_headers(&[(":status", status)], true);
            stream.complete();
            let line = format!("http_headers: stream complete, status {status}");
            assert!(host.logs().contain(&line), "{:?}", host.logs().records());
        }
    });
}

#[test]
fn a_stream_with_no_response_logs_status_none() {
    dual(|host| {
        let mut stream = host.http_stream();
        stream.request_headers(&[(":path", "/")], true);
        stream.complete();
        assert!(
            host.logs()
                .contain("http_headers: stream complete, status none"),
            "{:?}",
            host.logs().records()
        );
    });
}

#[test]
fn log_comes_before_done_and_delete() {
    dual(|host| {
        let mut stream = host.http_stream();
        let id = stream.id().0;
        stream.request_headers(&[(":path", "/")], true);
        stream.response_headers(&[(":status", "200")], true);
        assert!(!host.logs().contain("stream complete"));
        stream.complete();
        let tail: Vec<Export> = host
            .callbacks()
            .into_iter()
            .filter(|export| {
                matches!(
                    export,
                    Export::Log { context_id }
                        | Export::Done { context_id }
                        | Export::Delete { context_id } if *context_id == id
                )
            })
            .collect();
        assert_eq!(
            tail,
            [
                Export::Log { context_id: id },
                Export::Done { context_id: id },
                Export::Delete { context_id: id },
            ]
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

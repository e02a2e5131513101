//! Issue "foundation", bad input from the host: any status code gives an
//! `Err` with the code; non-UTF-8 header names and values are reachable as
//! bytes; zero-length results are empty values; an unknown context id is
//! ignored with a log line. Each runs through the real exports, imports and
//! allocation hand-off, on the mock host.

use proxywasm::mock::{Export, MockHost};
use proxywasm::{Action, HttpContext, Result, Status, http};
use std::cell::RefCell;
use std::rc::Rc;

type Seen = Rc<RefCell<Vec<String>>>;

/// Runs `probe` in `on_request_headers` and records what it reports.
struct Probe {
    seen: Seen,
    probe: fn() -> Vec<String>,
}

impl HttpContext for Probe {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        self.seen.borrow_mut().extend((self.probe)());
        Ok(Action::Continue)
    }

    fn on_response_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        // The request continued, so Envoy no longer lets the plugin read its
        // headers: the host answers BAD_ARGUMENT, which must be an Err.
        let err = http::request_headers().get(":path").err();
        self.seen.borrow_mut().push(format!(
            "after continue: {:?}",
            err.and_then(|e| e.status())
        ));
        Ok(Action::Continue)
    }
}

fn run(headers: &[(&str, &str)], probe: fn() -> Vec<String>) -> (MockHost, Vec<String>) {
    let seen: Seen = Rc::default();
    let factory_seen = seen.clone();
    let host = MockHost::builder().http(move |_| Probe {
        seen: factory_seen.clone(),
        probe,
    });
    let mut stream = host.http_stream();
    stream.request_headers(headers, true);
    stream.response_headers(&[(":status", "200")], true);
    let seen = seen.borrow().clone();
    (host, seen)
}

#[test]
fn non_utf8_header_names_and_values_are_reachable_as_bytes() {
    let (_host, seen) = run(&[(":path", "/")], || {
        let headers = http::request_headers();
        let mut out = Vec::new();
        // The plugin itself puts non-UTF-8 bytes in the map (the mock's
        // stream API takes text), then reads them back through the host.
        out.push(format!(
            "add: {:?}",
            headers.add(b"x-bin\xff", b"caf\xe9").is_ok()
        ));
        let value = headers.get(b"x-bin\xff").ok().flatten();
        out.push(format!(
            "get: {:?}",
            value.as_ref().map(|v| v.as_bytes().to_vec())
        ));
        out.push(format!(
            "to_str is an error: {}",
            value.as_ref().is_some_and(|v| v.to_str().is_err())
        ));
        out.push(format!(
            "lossy: {}",
            value
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let pairs = headers.pairs().ok();
        let found = pairs.as_ref().and_then(|p| {
            p.iter()
                .find(|(k, _)| *k == b"x-bin\xff")
                .map(|(_, v)| v.to_vec())
        });
        out.push(format!("pairs: {found:?}"));
        out
    });
    assert_eq!(
        seen[..5],
        [
            "add: true".to_string(),
            format!("get: {:?}", Some(b"caf\xe9".to_vec())),
            "to_str is an error: true".to_string(),
            "lossy: caf\u{fffd}".to_string(),
            format!("pairs: {:?}", Some(b"caf\xe9".to_vec())),
        ]
    );
}

#[test]
fn zero_length_results_are_empty_values() {
    let (_host, seen) = run(&[(":path", "/"), ("x-empty", "")], || {
        let value = http::request_headers().get("x-empty");
        let body = http::request_body().read_all();
        let trailers = http::request_trailers().pairs();
        vec![
            format!("empty header: {:?}", value.map(|v| v.map(|v| v.len()))),
            format!("empty body: {:?}", body.map(|b| b.len())),
            format!("no trailers: {:?}", trailers.map(|t| t.len())),
        ]
    });
    assert_eq!(
        seen[..3],
        [
            "empty header: Ok(Some(0))".to_string(),
            "empty body: Ok(0)".to_string(),
            "no trailers: Ok(0)".to_string(),
        ]
    );
}

#[test]
fn a_status_from_the_host_is_an_err_with_the_code() {
    let (_host, seen) = run(&[(":path", "/")], || {
        let missing = http::request_headers().get("absent");
        // A read-only map: Envoy answers BAD_ARGUMENT to writes.
        let read_only = proxywasm::callout::response_headers().add("x", "y");
        let shutdown = proxywasm::plugin::done();
        vec![
            format!("absent header is None: {:?}", missing.map(|v| v.is_none())),
            format!(
                "read-only map: {:?}",
                read_only.err().and_then(|e| e.status())
            ),
            format!(
                "done while not shutting down: {:?}",
                shutdown.err().and_then(|e| e.status())
            ),
        ]
    });
    assert_eq!(seen[0], "absent header is None: Ok(true)");
    assert_eq!(
        seen[1],
        format!("read-only map: {:?}", Some(Status::BadArgument))
    );
    assert_eq!(
        seen[2],
        format!("done while not shutting down: {:?}", Some(Status::NotFound))
    );
    assert_eq!(
        seen[3],
        format!("after continue: {:?}", Some(Status::BadArgument))
    );
}

#[test]
fn an_unknown_context_id_is_ignored_with_a_log_line() {
    struct Noop;
    impl HttpContext for Noop {}
    let host = MockHost::builder().http(|_| Noop);
    assert!(host.start());
    let exports = [
        Export::RequestHeaders {
            context_id: 4242,
            num_headers: 1,
            end_of_stream: true,
        },
        Export::ResponseBody {
            context_id: 4242,
            body_size: 3,
            end_of_stream: false,
        },
        Export::Log { context_id: 4242 },
        Export::Delete { context_id: 4242 },
    ];
    for export in exports {
        // The ABI's default answer (Continue, or nothing), never a trap.
        assert_eq!(host.call_export(export), 0);
    }
    let errors = host.logs().error();
    assert!(
        errors
            .iter()
            .filter(|line| line.contains("unknown context 4242"))
            .count()
            >= 3,
        "{errors:#?}"
    );
    // The plugin is still usable afterwards.
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Action::Continue
    );
}

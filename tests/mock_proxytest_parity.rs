//! Go `proxytest` parity: one test per `EmulatorOption` setting and
//! `HostEmulator` method, each using its Rust counterpart (the table is in
//! book: testing.md#go-proxytest-parity).
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::callout::{self, HttpCallToken};
use proxywasm::logging::{self, LogLevel};
use proxywasm::metrics::{Counter, Gauge, Histogram};
use proxywasm::mock::{Export, HttpStream, MockHost, TcpConnection};
use proxywasm::{
    Action, Configuration, ContextId, HttpCallResponse, HttpContext, NoContext, PeerType,
    PluginContext, QueueId, Result, TcpContext, VmContext, http,
};
use std::time::Duration;

mod support;
use support::{
    Noop, OnCalloutResponse, OnConfigure, OnTick, ResumeOnTick, get_stream, status_and_body,
    tick_every,
};

fn call(upstream: &str) -> Result<HttpCallToken> {
    support::call(upstream, "a", None)
}

// ---- EmulatorOption -------------------------------------------------------------------------------

struct Vm(String);
struct Plugin;
impl PluginContext for Plugin {
    type Http = NoContext;
    type Tcp = NoContext;
}
impl VmContext for Vm {
    type Plugin = Plugin;
    fn on_vm_start(&mut self, config: Configuration) -> Result<()> {
        self.0 = config.to_string_lossy()?;
        proxywasm::log::info!("vm config: {}", self.0);
        Ok(())
    }
    fn new_plugin_context(&mut self, _id: ContextId) -> Plugin {
        Plugin
    }
}

#[test]
fn with_vm_context_is_builder_vm() {
    let host = MockHost::builder().vm(|| Vm(String::new()));
    assert!(host.start());
}

#[test]
fn with_plugin_context_is_builder_plugin() {
    let host = MockHost::builder().plugin(|_| Plugin);
    assert!(host.start());
    assert_eq!(host.root_context_ids(), vec![ContextId(1)]);
}

#[test]
fn with_http_context_is_builder_http() {
    let host = MockHost::builder().http(|_| Noop);
    assert_eq!(get_stream(&host).1, Action::Continue);
}

#[test]
fn with_tcp_context_is_builder_tcp() {
    struct Conn;
    impl TcpContext for Conn {}
    let host = MockHost::builder().tcp(|_| Conn);
    let mut conn = host.tcp_connection();
    assert_eq!(conn.downstream_data(b"x", false), Action::Continue);
}

#[test]
fn with_plugin_configuration_is_builder_plugin_configuration() {
    let configured = |_| {
        OnConfigure(|config: Configuration| {
            proxywasm::log::info!("plugin config: {}", config.to_string_lossy()?);
            Ok(())
        })
    };
    let host = MockHost::builder()
        .plugin_configuration(r#"{"k": 1}"#)
        .plugin(configured);
    assert!(host.start());
    assert!(host.logs().contain(r#"plugin config: {"k": 1}"#));
}

#[test]
fn with_vm_configuration_is_builder_vm_configuration() {
    let host = MockHost::builder()
        .vm_configuration("vm-cfg")
        .vm(|| Vm(String::new()));
    assert!(host.start());
    assert!(host.logs().contain("vm config: vm-cfg"));
}

#[test]
fn with_property_is_builder_property() {
    let host = MockHost::builder()
        .property(&["route_metadata", "auth"], "cookie")
        .http(|_| Noop);
    let value = host
        .run(|| proxywasm::property::get_string(&["route_metadata", "auth"]))
        .unwrap();
    assert_eq!(value.as_deref(), Some("cookie"));
}

// ---- VM / plugin lifecycle -----------------------------------------------------------------------

#[test]
fn start_vm_calls_on_vm_start() {
    let host = MockHost::builder()
        .vm_configuration("x")
        .vm(|| Vm(String::new()));
    assert!(host.start_vm());
    assert!(host.callbacks().contains(&Export::VmStart {
        context_id: 1,
        configuration_size: 1
    }));
    assert!(!host.is_started());
}

#[test]
fn start_plugin_calls_on_configure() {
    let host = MockHost::builder()
        .plugin_configuration("abc")
        .plugin(|_| Plugin);
    assert!(host.start_plugin());
    assert!(host.callbacks().contains(&Export::Configure {
        context_id: 1,
        configuration_size: 3
    }));
}

#[test]
fn finish_vm_calls_on_done() {
    struct Lingering;
    impl PluginContext for Lingering {
        type Http = NoContext;
        type Tcp = NoContext;
        fn on_done(&mut self) -> bool {
            false
        }
        fn on_tick(&mut self) -> Result<()> {
            let _ = proxywasm::plugin::done();
            Ok(())
        }
    }
    let host = MockHost::builder().plugin(|_| Lingering);
    host.run(|| proxywasm::time::set_tick_period(Duration::from_secs(1)))
        .unwrap();
    assert!(
        !host.finish(),
        "on_done returned false: the plugin finishes later"
    );
    assert_eq!(host.root_context_ids(), vec![ContextId(1)]);
    host.time().tick(); // calls proxywasm::plugin::done()
    assert!(host.root_context_ids().is_empty());
    assert_eq!(
        host.callbacks().last(),
        Some(&Export::Delete { context_id: 1 })
    );
}

// ---- timers, queues, foreign functions ----------------------------------------------------------

#[test]
fn get_tick_period_is_tick_period() {
    let host = MockHost::builder().http(|_| Noop);
    assert_eq!(host.time().tick_period(), None);
    host.run(|| proxywasm::time::set_tick_period(Duration::from_millis(100)))
        .unwrap();
    assert_eq!(host.time().tick_period(), Some(Duration::from_millis(100)));
}

#[test]
fn tick_calls_on_tick() {
    let host = MockHost::builder().plugin(|_| OnTick(|| proxywasm::log::info!("ticked")));
    tick_every(&host, Duration::from_secs(3600));
    host.time().tick();
    host.time().tick();
    assert_eq!(host.logs().info(), vec!["ticked", "ticked"]);
}

#[test]
fn get_queue_size_is_queue_size() {
    let host = MockHost::builder().http(|_| Noop);
    let queue = host.run(|| proxywasm::shared::register_queue("q")).unwrap();
    assert_eq!(host.shared_data().queue_size(queue), 0);
    host.run(|| {
        proxywasm::shared::enqueue(queue, b"1")?;
        proxywasm::shared::enqueue(queue, b"2")
    })
    .unwrap();
    assert_eq!(host.shared_data().queue_size(queue), 2);
}

#[test]
fn register_foreign_function_is_register_foreign_function() {
    let host = MockHost::builder().http(|_| Noop);
    host.foreign_functions()
        .register("compress", |args| Ok(args.iter().rev().copied().collect()));
    let out = host
        .run(|| proxywasm::foreign::call("compress", b"hello world!"))
        .unwrap()
        .unwrap();
    assert_eq!(out, "!dlrow olleh");
    // Unlike Go (log.Fatalf), an unregistered name is Envoy's NOT_FOUND.
    assert!(
        host.run(|| proxywasm::foreign::call("nope", b""))
            .unwrap()
            .is_none()
    );
}

// ---- HTTP callouts ----------------------------------------------------------------------------------

#[test]
fn get_callout_attributes_from_context_is_http_calls_from() {
    struct Caller;
    impl HttpContext for Caller {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            let _ = support::get("httpbin", "/uuid", "httpbin.org")
                .body(b"q")
                .trailer("t", "1")
                .timeout(Duration::from_secs(5))
                .send();
            Ok(Action::Pause)
        }
    }
    let host = MockHost::builder().http(|_| Caller);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    let calls = host.callouts().http_from(stream.id());
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.upstream, "httpbin");
    assert_eq!(call.header(":path"), Some("/uuid"));
    assert_eq!(call.body, b"q");
    assert_eq!(call.trailers, vec![("t".to_string(), "1".to_string())]);
    assert_eq!(call.timeout, Some(Duration::from_secs(5)));
    assert_eq!(call.token.0 % 4, 0);
}

#[test]
fn call_on_http_call_response_is_respond_to_http_call() {
    let host = MockHost::builder().plugin(|_| {
        OnCalloutResponse(|response: HttpCallResponse| {
            let (status, body) = status_and_body();
            let status = Some(status);
            let trailer = callout::response_trailers()
                .get("t")
                .ok()
                .flatten()
                .map(|s| s.to_string());
            proxywasm::log::info!(
                "{} {:?} {body} {:?} ({} headers, {} trailers)",
                response.body_size,
                status,
                trailer,
                response.num_headers,
                response.num_trailers
            );
        })
    });
    let token = host.run(|| call("c")).unwrap();
    host.callouts().respond_http(
        token,
        &[(":status", "200"), ("x", "y")],
        b"hello",
        &[("t", "v")],
    );
    assert_eq!(
        host.logs().info(),
        vec![r#"5 Some("200") hello Some("v") (2 headers, 1 trailers)"#]
    );
    assert!(
        host.callouts().http().is_empty(),
        "answered callouts are forgotten"
    );
}

// ---- metrics -------------------------------------------------------------------------------------------

/// A host whose plugin defined the metric `name` and applied `values` to it
/// in order.
fn recorded<M, V: Copy>(
    define: fn(&str) -> Result<M>,
    name: &str,
    apply: fn(&M, V) -> Result<()>,
    values: &[V],
) -> MockHost {
    let host = MockHost::builder().http(|_| Noop);
    host.run(|| {
        let metric = define(name)?;
        values.iter().try_for_each(|v| apply(&metric, *v))
    })
    .unwrap();
    host
}

#[test]
fn get_counter_metric_is_counter() {
    let host = recorded(Counter::define, "hits", Counter::increment, &[1, 2]);
    assert_eq!(host.metrics().counter("hits"), Some(3));
    assert_eq!(host.metrics().counter("misses"), None);
}

#[test]
fn get_gauge_metric_is_gauge() {
    let host = recorded(Gauge::define, "conns", Gauge::add, &[5, -2]);
    assert_eq!(host.metrics().gauge("conns"), Some(3));
}

#[test]
fn get_histogram_metric_is_histogram() {
    let host = recorded(Histogram::define, "sizes", Histogram::record, &[10, 20]);
    assert_eq!(host.metrics().histogram("sizes"), Some(vec![10, 20]));
    assert_eq!(
        host.metrics()
            .histogram("sizes")
            .and_then(|v| v.last().copied()),
        Some(20)
    ); // Go's value
}

// ---- logs ------------------------------------------------------------------------------------------------

#[test]
fn get_level_logs_are_level_logs() {
    let host = MockHost::builder().http(|_| Noop);
    host.run(|| {
        proxywasm::log::trace!("t");
        proxywasm::log::debug!("d");
        proxywasm::log::info!("i");
        proxywasm::log::warn!("w");
        proxywasm::log::error!("e");
        logging::write(LogLevel::Critical, "c")
    })
    .unwrap();
    assert_eq!(host.logs().trace(), vec!["t"]);
    assert_eq!(host.logs().debug(), vec!["d"]);
    assert_eq!(host.logs().info(), vec!["i"]);
    assert_eq!(host.logs().warn(), vec!["w"]);
    assert_eq!(host.logs().error(), vec!["e"]);
    assert_eq!(host.logs().critical(), vec!["c"]);
}

#[test]
fn all_logs_in_order_is_logs() {
    let host = MockHost::builder().http(|_| Noop);
    host.run(|| {
        proxywasm::log::error!("first");
        proxywasm::log::info!("second");
    });
    let records = host.logs().records();
    assert_eq!(
        records
            .iter()
            .map(|r| r.message.as_str())
            .collect::<Vec<_>>(),
        vec!["first", "second"]
    );
    assert_eq!(records[0].level, LogLevel::Error);
    assert_eq!(records[0].context_id, ContextId(1));
}

// ---- TCP -------------------------------------------------------------------------------------------------

#[derive(Default)]
struct Network;
impl TcpContext for Network {
    fn on_new_connection(&mut self) -> Result<Action> {
        proxywasm::log::info!("new connection!");
        Ok(Action::Continue)
    }
    fn on_downstream_data(&mut self, size: usize, eos: bool) -> Result<Action> {
        proxywasm::log::info!("downstream {size} {eos}");
        Ok(Action::Continue)
    }
    fn on_upstream_data(&mut self, size: usize, eos: bool) -> Result<Action> {
        proxywasm::log::info!("upstream {size} {eos}");
        if size < 4 {
            Ok(Action::Pause)
        } else {
            Ok(Action::Continue)
        }
    }
    fn on_downstream_close(&mut self, peer: PeerType) -> Result<()> {
        proxywasm::log::info!("downstream close {}", peer.name());
        Ok(())
    }
    fn on_upstream_close(&mut self, peer: PeerType) -> Result<()> {
        proxywasm::log::info!("upstream close {}", peer.name());
        Ok(())
    }
    fn on_done(&mut self) -> Result<()> {
        proxywasm::log::info!("done");
        Ok(())
    }
    fn on_log(&mut self) -> Result<()> {
        proxywasm::log::info!("connection complete!");
        Ok(())
    }
}

/// Context 2's last two logs were `last`, then it was deleted.
fn assert_completed(host: &MockHost, last: [&str; 2]) {
    let logs = host.logs().info();
    assert_eq!(&logs[logs.len() - 2..], last);
    let deleted = Export::Delete { context_id: 2 };
    assert_eq!(host.callbacks().last(), Some(&deleted));
}

/// A `Network` connection, opened.
fn connection() -> (MockHost, TcpConnection) {
    let host = MockHost::builder().tcp(|_| Network);
    let conn = host.tcp_connection();
    (host, conn)
}

#[test]
fn initialize_connection_is_tcp_connection() {
    let (host, conn) = connection();
    assert_eq!(conn.id(), ContextId(2));
    assert_eq!(conn.action(), Action::Continue);
    assert_eq!(host.logs().info(), vec!["new connection!"]);
}

#[test]
fn call_on_upstream_data_is_upstream_data() {
    let (host, mut conn) = connection();
    assert_eq!(conn.upstream_data(b"ab", false), Action::Pause);
    assert_eq!(conn.upstream_data(b"cd", false), Action::Continue); // sees the buffered 4 bytes
    assert!(host.logs().contain("upstream 4 false"));
    assert_eq!(conn.current_upstream_data(), b"abcd");
}

#[test]
fn call_on_downstream_data_is_downstream_data() {
    let (host, mut conn) = connection();
    assert_eq!(conn.downstream_data(b"hello", true), Action::Continue);
    assert!(host.logs().contain("downstream 5 true"));
}

/// Closes one side of a fresh connection and checks the plugin heard of it.
fn close(side: &str, close: fn(&mut TcpConnection, PeerType)) {
    let (host, mut conn) = connection();
    close(&mut conn, PeerType::Local);
    assert!(host.logs().contain(&format!("{side} close local")));
}

#[test]
fn close_upstream_connection_is_upstream_close() {
    close("upstream", TcpConnection::upstream_close);
}

#[test]
fn close_downstream_connection_is_downstream_close() {
    close("downstream", TcpConnection::downstream_close);
}

#[test]
fn complete_connection_is_complete() {
    let (host, conn) = connection();
    conn.complete();
    // TCP order: on_done, then on_log, then on_delete.
    assert_completed(&host, ["done", "connection complete!"]);
}

// ---- HTTP ------------------------------------------------------------------------------------------------

#[derive(Default)]
struct Headers;
impl HttpContext for Headers {
    fn on_request_headers(&mut self, n: usize, eos: bool) -> Result<Action> {
        let headers = http::request_headers();
        let _ = headers.replace("test", "best");
        let _ = headers.add("x-proxy-wasm", "1");
        proxywasm::log::info!("request headers {n} {eos}");
        Ok(Action::Continue)
    }
    fn on_request_body(&mut self, size: usize, eos: bool) -> Result<Action> {
        proxywasm::log::info!("request body {size} {eos}");
        if eos {
            let _ = http::request_body().append(b"!");
            Ok(Action::Continue)
        } else {
            Ok(Action::Pause)
        }
    }
    fn on_request_trailers(&mut self, n: usize) -> Result<Action> {
        let _ = http::request_trailers().add("x-trailer", "added");
        proxywasm::log::info!("request trailers {n}");
        Ok(Action::Continue)
    }
    fn on_response_headers(&mut self, n: usize, eos: bool) -> Result<Action> {
        let _ = http::response_headers().add("x-wasm-header", "demo-wasm");
        proxywasm::log::info!("response headers {n} {eos}");
        Ok(Action::Continue)
    }
    fn on_response_body(&mut self, size: usize, eos: bool) -> Result<Action> {
        proxywasm::log::info!("response body {size} {eos}");
        let _ = http::response_body().prepend(b"[");
        Ok(Action::Continue)
    }
    fn on_response_trailers(&mut self, n: usize) -> Result<Action> {
        let _ = http::response_trailers().remove("secret");
        proxywasm::log::info!("response trailers {n}");
        Ok(Action::Continue)
    }
    fn on_log(&mut self) -> Result<()> {
        proxywasm::log::info!("on_log");
        Ok(())
    }
    fn on_done(&mut self) -> Result<()> {
        proxywasm::log::info!("on_done");
        Ok(())
    }
}

#[test]
fn initialize_http_context_is_http_stream() {
    let host = MockHost::builder().http(|_| Headers);
    let stream = host.http_stream();
    assert_eq!(stream.id(), ContextId(2));
    assert!(host.callbacks().contains(&Export::ContextCreate {
        context_id: 2,
        parent_id: 1
    }));
}

/// A `Headers` stream that received `request`'s headers.
fn stream(request: &[(&str, &str)], end_of_stream: bool) -> (MockHost, HttpStream) {
    let host = MockHost::builder().http(|_| Headers);
    let mut stream = host.http_stream();
    stream.request_headers(request, end_of_stream);
    (host, stream)
}

/// A GET: request headers that end the request.
fn get() -> (MockHost, HttpStream) {
    stream(&[(":path", "/")], true)
}

/// A POST: request headers, a body or trailers to follow.
fn post() -> (MockHost, HttpStream) {
    stream(&[(":method", "POST")], false)
}

/// A GET answered with response headers, a body or trailers to follow.
fn responding() -> (MockHost, HttpStream) {
    let (host, mut stream) = get();
    stream.response_headers(&[(":status", "200")], false);
    (host, stream)
}

#[test]
fn call_on_request_headers_is_request_headers() {
    let host = MockHost::builder().http(|_| Headers);
    let mut stream = host.http_stream();
    let action = stream.request_headers(&[(":path", "/"), ("Test", "worst")], false);
    assert_eq!(action, Action::Continue);
    assert!(host.logs().contain("request headers 2 false"));
}

#[test]
fn call_on_request_body_is_request_body() {
    let (host, mut stream) = post();
    assert_eq!(stream.request_body(b"abc", false), Action::Pause);
    assert_eq!(stream.request_body(b"de", true), Action::Continue);
    let total = "request body 5 true";
    assert!(
        host.logs().contain(total),
        "the second call sees the buffered total"
    );
}

#[test]
fn call_on_request_trailers_is_request_trailers() {
    let (host, mut stream) = post();
    let action = stream.request_trailers(&[("checksum", "x")]);
    assert_eq!(action, Action::Continue);
    assert!(host.logs().contain("request trailers 1"));
}

#[test]
fn call_on_response_headers_is_response_headers() {
    let (host, mut stream) = get();
    let action = stream.response_headers(&[(":status", "200")], true);
    assert_eq!(action, Action::Continue);
    assert!(host.logs().contain("response headers 1 true"));
}

#[test]
fn call_on_response_body_is_response_body() {
    let (host, mut stream) = responding();
    assert_eq!(stream.response_body(b"body]", true), Action::Continue);
    assert!(host.logs().contain("response body 5 true"));
}

#[test]
fn call_on_response_trailers_is_response_trailers() {
    let (host, mut stream) = responding();
    let action = stream.response_trailers(&[("secret", "s"), ("grpc-status", "0")]);
    assert_eq!(action, Action::Continue);
    assert!(host.logs().contain("response trailers 2"));
}

#[test]
fn complete_http_context_is_complete() {
    let (host, stream) = get();
    stream.complete();
    // HTTP order: on_log, then on_done, then on_delete.
    assert_completed(&host, ["on_log", "on_done"]);
}

#[test]
fn get_current_http_stream_action_is_action() {
    #[derive(Default)]
    struct Postpone;
    impl HttpContext for Postpone {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            Ok(Action::Pause)
        }
    }
    let host = MockHost::builder().plugin(|_| ResumeOnTick::<Postpone>::new());
    tick_every(&host, Duration::from_secs(1));
    let (stream, action) = get_stream(&host);
    assert_eq!(action, Action::Pause);
    assert_eq!(stream.action(), Action::Pause);
    host.time().tick();
    assert_eq!(stream.action(), Action::Continue);
}

#[test]
fn get_current_request_headers_is_current_request_headers() {
    let (_host, stream) = stream(&[(":path", "/"), ("Test", "worst")], true);
    let expected = [(":path", "/"), ("test", "best"), ("x-proxy-wasm", "1")]
        .map(|(name, value)| (name.to_string(), value.to_string()));
    assert_eq!(stream.current_request_headers(), expected);
}

#[test]
fn get_current_response_headers_is_current_response_headers() {
    let (_host, mut stream) = get();
    stream.response_headers(&[(":status", "200")], true);
    let added = stream.current_response_header("x-wasm-header");
    assert_eq!(added.as_deref(), Some("demo-wasm"));
    assert_eq!(stream.current_response_headers().len(), 2);
}

#[test]
fn get_current_request_body_is_current_request_body() {
    let (_host, mut stream) = post();
    stream.request_body(b"[original body]", true);
    assert_eq!(stream.current_request_body(), b"[original body]!");
}

#[test]
fn get_current_response_body_is_current_response_body() {
    let (_host, mut stream) = responding();
    stream.response_body(b"body]", true);
    assert_eq!(stream.current_response_body(), b"[body]");
}

#[test]
fn get_sent_local_response_is_local_response() {
    struct Deny;
    impl HttpContext for Deny {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            let _ = http::LocalResponse::new(403)
                .header("powered-by", "proxy-wasm")
                .body("access forbidden")
                .details("denied by policy")
                .send();
            Ok(Action::Pause)
        }
    }
    let host = MockHost::builder().http(|_| Deny);
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Action::Pause
    );
    let reply = stream.local_response().expect("a local reply");
    assert_eq!(reply.status_code, 403);
    assert_eq!(reply.body, b"access forbidden");
    assert_eq!(reply.details, "denied_by_policy");
    assert_eq!(reply.header("powered-by"), Some("proxy-wasm"));
    assert_eq!(reply.grpc_status, None);
}

// ---- properties ----------------------------------------------------------------------------------------

#[test]
fn get_property_is_property() {
    let host = MockHost::builder()
        .property(&["xds", "cluster_name"], "backend")
        .http(|_| Noop);
    assert_eq!(
        host.property(&["xds", "cluster_name"]),
        Some(b"backend".to_vec())
    );
    assert_eq!(host.property(&["xds", "route_name"]), None);
}

#[test]
fn set_property_is_set_property() {
    let host = MockHost::builder().http(|_| Noop);
    host.set_property(
        &["xds", "route_metadata", "filter_metadata", "wasm", "auth"],
        "cookie",
    );
    let value = host
        .run(|| {
            proxywasm::property::get_string(&[
                "xds",
                "route_metadata",
                "filter_metadata",
                "wasm",
                "auth",
            ])
        })
        .unwrap();
    assert_eq!(value.as_deref(), Some("cookie"));
}

#[test]
fn queue_ids_are_plain_values_the_test_can_keep() {
    // Not a proxytest method: QueueId round-trips through the host API.
    let host = MockHost::builder().http(|_| Noop);
    let queue: QueueId = host.run(|| proxywasm::shared::register_queue("q")).unwrap();
    assert_eq!(host.shared_data().queue_id("q"), Some(queue));
}

//! The gaps of Go `proxytest` the mock host closes (issue 3, "The gaps
//! closed"), one test each.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::callout::{self, GrpcCall, GrpcToken, HttpCallToken};
use proxywasm::logging::LogLevel;
use proxywasm::mock::{GrpcKind, MockHost, MockWorld};
use proxywasm::{
    Action, Configuration, ContextId, GrpcEvent, HttpCallResponse, HttpContext, NoContext,
    PluginContext, QueueId, Result, TcpContext, http, shared, tcp,
};
use std::time::{Duration, UNIX_EPOCH};

mod support;
use support::{Noop, OnCalloutResponse, OnTick, status_and_body, tick_every};

fn call(timeout: Duration) -> Result<HttpCallToken> {
    support::call("backend", "backend", Some(timeout))
}

#[test]
fn request_and_response_trailers_are_readable_after_mutation() {
    struct Trailers;
    impl HttpContext for Trailers {
        fn on_request_body(&mut self, _size: usize, end_of_stream: bool) -> Result<Action> {
            if end_of_stream {
                // The last body callback of a request without trailers may create them.
                let _ = http::request_trailers().add("x-created", "from-body");
            }
            Ok(Action::Continue)
        }
        fn on_response_trailers(&mut self, _n: usize) -> Result<Action> {
            let trailers = http::response_trailers();
            let _ = trailers.replace("grpc-status", "13");
            let _ = trailers.add("x-added", "1");
            Ok(Action::Continue)
        }
    }
    let host = MockHost::builder().http(|_| Trailers);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":method", "POST")], false);
    stream.request_body(b"x", true);
    assert_eq!(
        stream.current_request_trailers(),
        vec![("x-created".to_string(), "from-body".to_string())]
    );
    stream.response_headers(&[(":status", "200")], false);
    stream.response_trailers(&[("grpc-status", "0")]);
    assert_eq!(
        stream.current_response_trailers(),
        vec![
            ("grpc-status".to_string(), "13".to_string()),
            ("x-added".to_string(), "1".to_string())
        ]
    );
}

#[test]
fn shared_data_is_seeded_and_inspected_by_the_test() {
    struct Counter;
    impl HttpContext for Counter {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            // The Go shared_data example: CAS-retry increment.
            loop {
                let Ok(Some((value, cas))) = shared::get("count") else {
                    break;
                };
                let n: u64 = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                match shared::set("count", (n + 1).to_string().as_bytes(), Some(cas)) {
                    Err(e) if shared::is_cas_mismatch(&e) => continue,
                    _ => break,
                }
            }
            Ok(Action::Continue)
        }
    }
    let host = MockHost::builder().http(|_| Counter);
    host.shared_data().set("count", b"41");
    let (_, seeded_cas) = host.shared_data().get("count").unwrap();
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    let (value, cas) = host.shared_data().get("count").unwrap();
    assert_eq!(value, b"42");
    assert_ne!(cas, seeded_cas, "every write gets a fresh CAS");
    assert_eq!(host.world().shared_data_keys(""), vec!["count".to_string()]);
}

// The Go shared_queue example, which proxytest cannot test: a receiver VM
// registers queues, a sender VM in another vm_id resolves and fills them.
struct Receiver {
    queues: Vec<(QueueId, String)>,
}
impl PluginContext for Receiver {
    type Http = NoContext;
    type Tcp = NoContext;
    fn on_configure(&mut self, config: Configuration) -> Result<()> {
        let name = config.to_string_lossy()?;
        let queue = shared::register_queue(&name)?;
        self.queues.push((queue, name));
        Ok(())
    }
    fn on_queue_ready(&mut self, queue: QueueId) -> Result<()> {
        let name = self
            .queues
            .iter()
            .find(|(q, _)| *q == queue)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        while let Ok(Some(item)) = shared::dequeue(queue) {
            proxywasm::log::info!("dequeued data from {name}: {item}");
        }
        Ok(())
    }
}

struct Sender;
impl HttpContext for Sender {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        if let Ok(Some(queue)) = shared::resolve_queue("receiver", "http_request_headers") {
            if let Ok(Some(method)) = http::request_headers().get(":method") {
                let item = format!(r#"{{"key": ":method","value": "{method}"}}"#);
                if shared::enqueue(queue, item.as_bytes()).is_ok() {
                    proxywasm::log::info!("enqueued data: {item}");
                }
            }
        }
        Ok(Action::Continue)
    }
}

#[test]
fn several_vms_share_queues_and_shared_data_per_vm_id() {
    let world = MockWorld::new();
    let receiver = MockHost::builder()
        .world(&world)
        .vm_id("receiver")
        .plugin_configuration("http_request_headers")
        .add_plugin("http_response_headers")
        .plugin(|_| Receiver { queues: Vec::new() });
    assert!(receiver.start());
    let sender = MockHost::builder()
        .world(&world)
        .vm_id("sender")
        .http(|_| Sender);

    let mut stream = sender.http_stream();
    stream.request_headers(&[(":method", "GET"), (":path", "/")], true);
    assert!(
        sender
            .logs()
            .contain(r#"enqueued data: {"key": ":method","value": "GET"}"#)
    );
    // Envoy posts on_queue_ready to the registrant's VM; it runs right after the sender's callback.
    assert!(
        receiver.logs().contain(
            r#"dequeued data from http_request_headers: {"key": ":method","value": "GET"}"#
        )
    );
    assert_eq!(world.queue_len("receiver", "http_request_headers"), Some(0));
    // An empty vm_id resolves in the caller's own VM: the sender has no such queue.
    assert_eq!(
        sender
            .run(|| shared::resolve_queue("", "http_request_headers"))
            .unwrap(),
        None
    );

    // Shared data is scoped by vm_id too.
    sender.run(|| shared::set("who", b"sender", None)).unwrap();
    assert_eq!(world.shared_data("sender", "who").unwrap().0, b"sender");
    assert_eq!(receiver.run(|| shared::get("who")).unwrap(), None);
    let twin = MockHost::builder()
        .world(&world)
        .vm_id("sender")
        .http(|_| Noop);
    assert_eq!(
        twin.run(|| shared::get("who")).unwrap().unwrap().0,
        "sender"
    );
}

#[test]
fn a_callout_reset_after_its_headers_arrives_without_headers() {
    let host = MockHost::builder().plugin(|_| {
        OnCalloutResponse(|response: HttpCallResponse| {
            let (code, message) = callout::grpc_status().unwrap_or_default();
            proxywasm::log::warn!("failure={} status={code} {message}", response.is_failure());
        })
    });
    let token = host.run(|| call(Duration::from_secs(1))).unwrap();
    host.callouts().reset_http(token);
    assert_eq!(host.logs().warn(), vec!["failure=true status=11 reset"]);
}

#[test]
fn a_callout_to_an_unreachable_upstream_arrives_as_envoys_503() {
    let host = MockHost::builder().plugin(|_| {
        OnCalloutResponse(|response: HttpCallResponse| {
            let (status, body) = status_and_body();
            let headers = callout::response_headers().pairs().unwrap().to_lossy_vec();
            proxywasm::log::info!(
                "failure={} status {status} body {body} headers {headers:?}",
                response.is_failure()
            );
        })
    });
    let token = host.run(|| call(Duration::from_secs(1))).unwrap();
    host.callouts().connect_failure_http(token);
    assert_eq!(
        host.logs().info(),
        vec![
            "failure=false status 503 body upstream connect error or disconnect/reset before headers. reset \
             reason: remote connection failure headers [(\":status\", \"503\"), (\"content-length\", \"98\"), \
             (\"content-type\", \"text/plain\")]"
        ]
    );
}

#[test]
fn a_callout_times_out_with_504_after_its_timeout() {
    let host = MockHost::builder().plugin(|_| {
        OnCalloutResponse(|_: HttpCallResponse| {
            let (status, body) = status_and_body();
            proxywasm::log::info!("status {status} body {body}");
        })
    });
    host.run(|| call(Duration::from_millis(100))).unwrap();
    host.time().advance(Duration::from_millis(99));
    assert_eq!(host.callouts().http().len(), 1, "not yet");
    host.time().advance(Duration::from_millis(1));
    assert!(host.callouts().http().is_empty());
    assert_eq!(
        host.logs().info(),
        vec!["status 504 body upstream request timeout"]
    );
}

#[test]
fn a_controllable_clock_drives_time_and_ticks() {
    let log_the_time = || {
        let now = proxywasm::time::now().unwrap_or(UNIX_EPOCH);
        let ms = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        proxywasm::log::info!("tick at {}", ms.as_millis());
    };
    let start = UNIX_EPOCH + Duration::from_secs(1_000);
    let host = MockHost::builder()
        .start_time(start)
        .plugin(move |_| OnTick(log_the_time));
    assert!(host.start());
    tick_every(&host, Duration::from_millis(500));
    assert_eq!(host.run(proxywasm::time::now).unwrap(), start);
    host.time().advance(Duration::from_millis(1_499));
    assert_eq!(
        host.logs().info(),
        vec!["tick at 1000500", "tick at 1001000"]
    );
    host.time().advance(Duration::from_millis(1));
    assert_eq!(
        host.logs().info().last().map(String::as_str),
        Some("tick at 1001500")
    );
    assert_eq!(host.time().now(), start + Duration::from_millis(1_500));
    // The same clock backs WASI clock_time_get (for the engine host).
    let wall = host.vm().state().wasi_clock_time_get(0).unwrap();
    assert_eq!(wall, 1_001_500_000_000);
    assert_eq!(
        host.vm().state().wasi_clock_time_get(1).unwrap(),
        1_500_000_000
    );
}

#[test]
fn grpc_calls_and_streams_are_recorded_and_answered() {
    #[derive(Default)]
    struct Grpc;
    impl PluginContext for Grpc {
        type Http = NoContext;
        type Tcp = NoContext;
        fn on_grpc_event(&mut self, token: GrpcToken, event: GrpcEvent) -> Result<()> {
            match event {
                GrpcEvent::InitialMetadata { count } => {
                    let v = callout::grpc_initial_metadata()
                        .get("x-md")
                        .ok()
                        .flatten()
                        .map(|v| v.to_string());
                    proxywasm::log::info!("{}: initial {count} {}", token.0, v.unwrap_or_default());
                }
                GrpcEvent::Message { size } => {
                    let m = callout::grpc_message().read_all().unwrap_or_default();
                    proxywasm::log::info!("{}: message {size} {m}", token.0);
                }
                GrpcEvent::TrailingMetadata { count } => {
                    proxywasm::log::info!("{}: trailing {count}", token.0)
                }
                GrpcEvent::Close { status } => {
                    let (_, message) = callout::grpc_status().unwrap_or_default();
                    proxywasm::log::info!("{}: close {status} {message}", token.0);
                }
                _ => {}
            }
            Ok(())
        }
    }
    let host = MockHost::builder().plugin(|_| Grpc);
    let (call, stream) = host
        .run(|| {
            let call = GrpcCall::new("grpc", "pkg.Auth", "Check")
                .metadata("x-a", "1")
                .timeout(Duration::from_secs(2))
                .send(b"request")?;
            let stream = GrpcCall::new("grpc", "pkg.Feed", "Watch").open_stream()?;
            callout::grpc_send(stream, b"hello", false)?;
            Ok::<_, proxywasm::Error>((call, stream))
        })
        .unwrap();
    let calls = host.callouts().grpc();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].kind, GrpcKind::Call);
    assert_eq!(
        calls[0].initial_metadata,
        vec![("x-a".to_string(), "1".to_string())]
    );
    assert_eq!(calls[0].messages, vec![b"request".to_vec()]);
    assert_eq!(calls[0].timeout, Some(Duration::from_secs(2)));
    assert_eq!(calls[1].kind, GrpcKind::Stream);
    assert_eq!(calls[1].messages, vec![b"hello".to_vec()]);

    host.callouts().respond_grpc(call, b"allowed");
    host.callouts()
        .grpc_initial_metadata(stream, &[("x-md", "m")]);
    host.callouts().grpc_message(stream, b"event 1");
    host.callouts()
        .grpc_trailing_metadata(stream, &[("grpc-status", "0")]);
    host.callouts().close_grpc(stream, 4, "deadline");
    let (c, s) = (call.0, stream.0);
    assert_eq!(
        host.logs().info(),
        vec![
            format!("{c}: message 7 allowed"),
            format!("{s}: initial 1 m"),
            format!("{s}: message 7 event 1"),
            format!("{s}: trailing 1"),
            format!("{s}: close 4 deadline"),
        ]
    );
    assert!(host.callouts().grpc().is_empty());
}

#[test]
fn tcp_data_can_be_mutated() {
    struct Upper;
    impl TcpContext for Upper {
        fn on_downstream_data(&mut self, size: usize, _eos: bool) -> Result<Action> {
            let data = tcp::downstream_data();
            if let Ok(Some(bytes)) = data.read(0, size) {
                let _ = data.replace(bytes.to_ascii_uppercase());
            }
            Ok(Action::Continue)
        }
        fn on_upstream_data(&mut self, _size: usize, _eos: bool) -> Result<Action> {
            let _ = tcp::upstream_data().prepend(b"<");
            let _ = tcp::upstream_data().append(b">");
            Ok(Action::Continue)
        }
    }
    let host = MockHost::builder().tcp(|_| Upper);
    let mut conn = host.tcp_connection();
    conn.downstream_data(b"ping", false);
    conn.upstream_data(b"pong", false);
    assert_eq!(conn.current_downstream_data(), b"PING");
    assert_eq!(conn.current_upstream_data(), b"<pong>");
}

#[test]
fn the_plugin_sees_the_host_log_level() {
    let host = MockHost::builder().log_level(LogLevel::Warn).http(|_| Noop);
    assert_eq!(
        host.run(proxywasm::logging::log_level).unwrap(),
        LogLevel::Warn
    );
    host.run(|| {
        proxywasm::log::info!("dropped by the host");
        proxywasm::log::warn!("kept");
    });
    assert_eq!(host.logs().records().len(), 1);
    host.logs().set_level(LogLevel::Debug);
    assert_eq!(
        host.run(proxywasm::logging::log_level).unwrap(),
        LogLevel::Debug
    );
}

#[test]
fn a_paused_body_buffers_and_the_next_call_sees_the_total() {
    struct WholeBody;
    impl HttpContext for WholeBody {
        fn on_request_body(&mut self, size: usize, end_of_stream: bool) -> Result<Action> {
            let seen = http::request_body().read_all().unwrap_or_default();
            proxywasm::log::info!("{size} {end_of_stream} {seen}");
            if end_of_stream {
                Ok(Action::Continue)
            } else {
                Ok(Action::Pause)
            }
        }
    }
    let host = MockHost::builder().http(|_| WholeBody);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":method", "POST")], false);
    assert_eq!(stream.request_body(b"one ", false), Action::Pause);
    assert!(stream.is_request_paused());
    assert_eq!(stream.request_body(b"two ", false), Action::Pause);
    assert_eq!(stream.request_body(b"three", true), Action::Continue);
    assert_eq!(
        host.logs().info(),
        vec!["4 false one ", "8 false one two ", "13 true one two three"]
    );
    assert_eq!(stream.current_request_body(), b"one two three");
}

#[test]
fn several_plugin_contexts_share_one_vm() {
    struct Named(String);
    impl PluginContext for Named {
        type Http = Tagger;
        type Tcp = NoContext;
        fn on_configure(&mut self, config: Configuration) -> Result<()> {
            self.0 = config.to_string_lossy()?;
            Ok(())
        }
        fn new_http_context(&mut self, _id: ContextId) -> Option<Tagger> {
            Some(Tagger(self.0.clone()))
        }
    }
    struct Tagger(String);
    impl HttpContext for Tagger {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            let _ = http::request_headers().add("x-plugin", &self.0);
            Ok(Action::Continue)
        }
    }
    let host = MockHost::builder()
        .plugin_configuration("first")
        .add_plugin("second")
        .plugin(|_| Named(String::new()));
    assert!(host.start());
    let roots = host.root_context_ids();
    assert_eq!(roots, vec![ContextId(1), ContextId(2)]);
    let mut a = host.http_stream_for(roots[0]);
    let mut b = host.http_stream_for(roots[1]);
    a.request_headers(&[(":path", "/")], true);
    b.request_headers(&[(":path", "/")], true);
    for (stream, plugin) in [(a, "first"), (b, "second")] {
        let header = stream.current_request_header("x-plugin");
        assert_eq!(header.as_deref(), Some(plugin));
    }
}

#[test]
fn hosts_are_isolated_and_context_ids_start_fresh() {
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let host = MockHost::builder().echo_logs(false).http(|_| Noop);
                host.shared_data().set("k", format!("{i}").as_bytes());
                let stream = host.http_stream();
                (stream.id(), host.shared_data().get("k").unwrap().0)
            })
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        let (id, value) = thread.join().unwrap();
        assert_eq!(
            id,
            ContextId(2),
            "each host starts at 1 (its plugin), so its first stream is 2"
        );
        assert_eq!(
            value,
            format!("{i}").into_bytes(),
            "no shared state between hosts"
        );
    }
    // Two hosts on one thread are independent too.
    let a = MockHost::builder().http(|_| Noop);
    let b = MockHost::builder().http(|_| Noop);
    assert_eq!(a.http_stream().id(), b.http_stream().id());
}

#[test]
fn built_in_attributes_are_derived_from_the_stream() {
    struct Props;
    impl HttpContext for Props {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            let path = proxywasm::property::get_string(&["request", "path"])
                .ok()
                .flatten();
            let url_path = proxywasm::property::get_string(&["request", "url_path"])
                .ok()
                .flatten();
            let host = proxywasm::property::get_string(&["request", "host"])
                .ok()
                .flatten();
            let ua = proxywasm::property::get_string(&["request", "headers", "user-agent"])
                .ok()
                .flatten();
            let plugin = proxywasm::property::get_string(&["plugin_name"])
                .ok()
                .flatten();
            proxywasm::log::info!("{path:?} {url_path:?} {host:?} {ua:?} {plugin:?}");
            Ok(Action::Continue)
        }
        fn on_response_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            let code = proxywasm::property::get_i64(&["response", "code"])
                .ok()
                .flatten();
            proxywasm::log::info!("code {code:?}");
            Ok(Action::Continue)
        }
    }
    let host = MockHost::builder().plugin_name("props").http(|_| Props);
    let mut stream = host.http_stream();
    stream.request_headers(
        &[
            (":path", "/a?b=1"),
            (":authority", "example.com"),
            ("user-agent", "curl"),
        ],
        true,
    );
    stream.response_headers(&[(":status", "404")], true);
    assert_eq!(
        host.logs().info(),
        vec![
            r#"Some("/a?b=1") Some("/a") Some("example.com") Some("curl") Some("props")"#
                .to_string(),
            "code Some(404)".to_string()
        ]
    );
}

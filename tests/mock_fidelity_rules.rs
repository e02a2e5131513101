//! Envoy fidelity rules (book: reference/README.md): each is on by default and can be switched
//! off per test with `MockHostBuilder::fidelity`. One test per rule and state.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::callout::{HttpCall, HttpCallToken};
use proxywasm::mock::{Export, Fidelity, MockHost, MockHostBuilder};
use proxywasm::{
    Action, ContextId, HttpCallResponse, HttpContext, NoContext, PluginContext, Result, Status,
    http,
};
use std::time::Duration;

fn without(rule: impl FnOnce(&mut Fidelity)) -> Fidelity {
    let mut fidelity = Fidelity::envoy();
    rule(&mut fidelity);
    fidelity
}

/// A host builder with one fidelity rule turned off.
fn emulator_without(rule: impl FnOnce(&mut Fidelity)) -> MockHostBuilder {
    MockHost::builder().fidelity(without(rule))
}

// ---- request headers are gone once the request continued --------------------------------------------
// book: reference/hostcalls.md#header-maps

struct LateReader;
impl HttpContext for LateReader {
    fn on_response_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let value = http::request_headers().get(":path");
        let pairs = http::request_headers().pairs().map(|p| p.len());
        let property = proxywasm::property::get(&["request", "path"]).map(|p| p.is_some());
        proxywasm::log::info!("get={value:?} pairs={pairs:?} property={property:?}");
        Ok(Action::Continue)
    }
    fn on_log(&mut self) -> Result<()> {
        let value = http::request_headers()
            .get(":path")
            .ok()
            .flatten()
            .map(|v| v.to_string());
        proxywasm::log::info!("on_log sees {value:?}");
        Ok(())
    }
}

fn late_read(fidelity: Fidelity) -> Vec<String> {
    let host = MockHost::builder().fidelity(fidelity).http(|_| LateReader);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/x")], true);
    stream.response_headers(&[(":status", "200")], true);
    stream.complete();
    host.logs().info()
}

#[test]
fn request_headers_are_unreadable_once_the_request_continued() {
    let logs = late_read(Fidelity::envoy());
    assert!(logs[0].starts_with("get=Err("), "{}", logs[0]);
    assert!(logs[0].contains("BAD_ARGUMENT"), "{}", logs[0]);
    assert!(
        logs[0].contains("pairs=Ok(0) property=Ok(false)"),
        "{}",
        logs[0]
    );
    assert_eq!(
        logs[1], r#"on_log sees Some("/x")"#,
        "on_log makes them readable again"
    );
}

/// Answers each request with a local reply, then reads the request headers
/// on the response path.
struct LocalReplier;
impl HttpContext for LocalReplier {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        http::LocalResponse::new(403).send()?;
        Ok(Action::Continue)
    }
    fn on_response_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let headers = http::request_headers();
        let value = headers.get(":path").map(|v| v.map(|v| v.to_string()));
        let pairs = headers.pairs().map(|p| p.len());
        let size = headers.byte_size();
        let property = proxywasm::property::get(&["request", "path"]).map(|p| p.is_some());
        proxywasm::log::info!("response: {value:?} {pairs:?} {size:?} {property:?}");
        Ok(Action::Continue)
    }
    fn on_log(&mut self) -> Result<()> {
        let size = http::request_headers().byte_size();
        proxywasm::log::info!("log: {size:?}");
        Ok(())
    }
}

#[test]
fn request_headers_answered_by_a_local_reply_stay_readable() {
    // book: reference/envoy-1.40.md#header-maps-after-the-request-continued
    let host = MockHost::builder().http(|_| LocalReplier);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/local")], true);
    assert_eq!(stream.local_response().map(|r| r.status_code), Some(403));
    stream.complete();
    let logs = host.logs().info();
    assert!(
        logs.contains(&r#"response: Ok(Some("/local")) Ok(1) Ok(11) Ok(true)"#.to_string()),
        "{logs:?}"
    );
    assert!(logs.contains(&"log: Ok(11)".to_string()), "{logs:?}");
}

/// Answers `/deny` with a local reply; logs `response.code_details` in
/// `on_log`.
struct Details;
impl HttpContext for Details {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        if http::request_headers().get(":path")?.as_deref() == Some(&b"/deny"[..]) {
            http::LocalResponse::new(403).details("no entry").send()?;
        }
        Ok(Action::Continue)
    }
    fn on_log(&mut self) -> Result<()> {
        let details = proxywasm::attribute::response::CODE_DETAILS.get()?;
        proxywasm::log::info!("details {details:?}");
        Ok(())
    }
}

#[test]
fn response_code_details_name_what_answered() {
    // book: reference/properties.md#typed-accessors
    let host = MockHost::builder().http(|_| Details);
    let mut denied = host.http_stream();
    denied.request_headers(&[(":path", "/deny")], true);
    denied.complete();
    let mut routed = host.http_stream();
    routed.request_headers(&[(":path", "/")], true);
    routed.response_headers(&[(":status", "200")], true);
    routed.complete();
    let logs = host.logs().info();
    assert_eq!(
        logs,
        [
            r#"details Some("no_entry")"#,
            r#"details Some("via_upstream")"#
        ]
    );
}

/// Answers with a JSON body and its own `content-type`.
struct JsonReplier;
impl HttpContext for JsonReplier {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        http::LocalResponse::new(400)
            .header("Content-Type", "application/json")
            .body("{}")
            .send()?;
        Ok(Action::Pause)
    }
}

/// Answers a plain request with a gRPC status, which Envoy does not send.
struct GrpcStatusReplier;
impl HttpContext for GrpcStatusReplier {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        http::LocalResponse::new(403).grpc_status(7).send()?;
        Ok(Action::Pause)
    }
}

#[test]
fn a_plain_local_reply_carries_no_grpc_status() {
    // book: reference/hostcalls.md#local-responses
    let host = MockHost::builder().http(|_| GrpcStatusReplier);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    assert_eq!(
        stream.current_response_header(":status").as_deref(),
        Some("403")
    );
    assert_eq!(stream.current_response_header("grpc-status"), None);
}

#[test]
fn a_local_replys_own_content_type_replaces_envoys_default() {
    // book: reference/hostcalls.md#local-responses
    let host = MockHost::builder().http(|_| JsonReplier);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    let types: Vec<String> = stream
        .current_response_headers()
        .into_iter()
        .filter(|(name, _)| name == "content-type")
        .map(|(_, value)| value)
        .collect();
    assert_eq!(types, ["application/json"]);
}

#[test]
fn request_headers_stay_readable_with_the_rule_off() {
    let logs = late_read(without(|f| f.header_lifetime = false));
    assert!(logs[0].starts_with("get=Ok(Some("), "{}", logs[0]);
    assert!(
        logs[0].contains("pairs=Ok(1) property=Ok(true)"),
        "{}",
        logs[0]
    );
}

#[test]
fn paused_request_headers_stay_readable_until_resumed() {
    struct Hold;
    impl HttpContext for Hold {
        fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
            Ok(Action::Pause)
        }
    }
    let host = MockHost::builder().http(|_| Hold);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/held")], true);
    // Simulate a later root callback acting on the paused stream.
    let id = stream.id();
    let seen = host
        .run(|| {
            proxywasm::plugin::set_effective_context(id)?;
            let path = http::request_headers().get(":path")?;
            http::resume_request()?;
            Ok::<_, proxywasm::Error>(path.map(|p| p.to_string()))
        })
        .unwrap();
    assert_eq!(seen.as_deref(), Some("/held"));
    assert_eq!(stream.action(), Action::Continue);
    let after = host.run(|| {
        proxywasm::plugin::set_effective_context(id)?;
        http::request_headers().get(":path")
    });
    assert_eq!(
        after.unwrap_err().status(),
        Some(Status::BadArgument),
        "resuming drops them"
    );
}

// ---- no hostcalls during start-up -------------------------------------------------------------------
// book: reference/lifecycle.md#start-up-and-the-restricted-phase

fn start_up_host(fidelity: Fidelity) -> MockHost {
    struct Noop;
    impl HttpContext for Noop {}
    MockHost::builder()
        .fidelity(fidelity)
        .on_initialize(|| {
            proxywasm::log::info!("logging is allowed");
            let result = proxywasm::time::set_tick_period(Duration::from_secs(1));
            proxywasm::log::info!("tick period: {:?}", result.map_err(|e| e.status()));
        })
        .http(|_| Noop)
}

fn start_up(fidelity: Fidelity) -> MockHost {
    let host = start_up_host(fidelity);
    assert!(host.start());
    host
}

/// Envoy traps on the hostcall (the VM fails to start): the test fails
/// there, with the rule broken as its message, and the violation is recorded.
#[test]
fn hostcalls_during_start_up_trap() {
    let host = start_up_host(Fidelity::envoy());
    let trap = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| host.start()))
        .expect_err("the hostcall traps");
    let message = trap.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.starts_with(
            "restricted_callback: proxy_set_tick_period_milliseconds in _initialize (context 0): \
             a hostcall during start-up"
        ),
        "{message}"
    );
    assert_eq!(host.logs().info(), vec!["logging is allowed"]);
    let violations = host.violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(
        violations[0].hostcall,
        Some("proxy_set_tick_period_milliseconds")
    );
    assert_eq!(violations[0].callback, "_initialize");
}

#[test]
fn hostcalls_during_start_up_pass_with_the_rule_off() {
    let host = start_up(without(|f| f.restricted_start_up = false));
    assert_eq!(host.logs().info()[1], "tick period: Ok(())");
    assert!(host.violations().is_empty());
}

// ---- callout responses arrive on the root context ---------------------------------------------------
// book: reference/hostcalls.md#http-callouts

struct Caller;
impl PluginContext for Caller {
    type Http = Streamer;
    type Tcp = NoContext;
    fn on_tick(&mut self) -> Result<()> {
        let _ = send();
        Ok(())
    }
    fn on_http_call_response(&mut self, token: HttpCallToken, _r: HttpCallResponse) -> Result<()> {
        proxywasm::log::info!("root got {}", token.0);
        Ok(())
    }
    fn new_http_context(&mut self, _id: ContextId) -> Option<Streamer> {
        Some(Streamer)
    }
}
struct Streamer;
impl HttpContext for Streamer {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let _ = send();
        Ok(Action::Pause)
    }
    fn on_http_call_response(&mut self, token: HttpCallToken, _r: HttpCallResponse) -> Result<()> {
        proxywasm::log::info!("stream got {}", token.0);
        let _ = http::resume_request();
        Ok(())
    }
}

mod support;

fn send() -> Result<HttpCallToken> {
    support::call("c", "a", None)
}

fn delivered_to(host: &MockHost) -> Vec<u32> {
    host.callbacks()
        .into_iter()
        .filter_map(|e| match e {
            Export::HttpCallResponse { context_id, .. } => Some(context_id),
            _ => None,
        })
        .collect()
}

#[test]
fn an_http_call_made_from_a_tick_is_answered_on_the_root_context() {
    let host = MockHost::builder().plugin(|_| Caller);
    support::tick_every(&host, Duration::from_secs(1));
    host.time().advance(Duration::from_secs(1));
    let call = host.callouts().http().pop().unwrap();
    assert_eq!(call.context_id, ContextId(1));
    host.callouts()
        .respond_http(call.token, &[(":status", "200")], b"", &[]);
    assert_eq!(delivered_to(&host), vec![1]);
    assert_eq!(
        host.logs().info(),
        vec![format!("root got {}", call.token.0)]
    );
}

#[test]
fn a_call_made_from_a_stream_is_delivered_on_the_root_and_routed_by_the_sdk() {
    let host = MockHost::builder().plugin(|_| Caller);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    let call = host.callouts().http_from(stream.id()).pop().unwrap();
    host.callouts()
        .respond_http(call.token, &[(":status", "200")], b"", &[]);
    assert_eq!(
        delivered_to(&host),
        vec![1],
        "Envoy addresses the root context"
    );
    assert_eq!(
        host.logs().info(),
        vec![format!("stream got {}", call.token.0)],
        "the SDK routes it to the stream"
    );
    assert_eq!(stream.action(), Action::Continue);
}

#[test]
fn with_the_rule_off_responses_go_to_the_calling_context() {
    let host = emulator_without(|f| f.callouts_on_root = false).plugin(|_| Caller);
    let (stream, _) = support::get_stream(&host);
    let call = host.callouts().http().pop().unwrap();
    host.callouts()
        .respond_http(call.token, &[(":status", "200")], b"", &[]);
    assert_eq!(delivered_to(&host), vec![stream.id().0]);
    assert_eq!(
        host.logs().info(),
        vec![format!("stream got {}", call.token.0)]
    );
}

// ---- a local reply passes through the plugin's own response callbacks -------------------------------
// book: reference/hostcalls.md#local-responses

struct Deny;
impl HttpContext for Deny {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let _ = http::LocalResponse::new(403).body("no").send();
        Ok(Action::Continue) // overridden: a local reply stops iteration
    }
    fn on_response_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let status = http::response_headers()
            .get(":status")
            .ok()
            .flatten()
            .map(|s| s.to_string());
        proxywasm::log::info!("own reply passes through: {}", status.unwrap_or_default());
        let _ = http::response_headers().add("x-seen-by-filter", "yes");
        Ok(Action::Continue)
    }
}

#[test]
fn a_local_reply_passes_through_the_plugins_response_callbacks() {
    let host = MockHost::builder().http(|_| Deny);
    let (stream, action) = support::get_stream(&host);
    assert_eq!(action, Action::Pause);
    assert_eq!(host.logs().info(), vec!["own reply passes through: 403"]);
    assert_eq!(
        stream
            .current_response_header("x-seen-by-filter")
            .as_deref(),
        Some("yes")
    );
    assert_eq!(stream.current_response_body(), b"no");
    assert_eq!(stream.local_response().unwrap().status_code, 403);
}

#[test]
fn with_the_rule_off_a_local_reply_skips_the_plugin() {
    let host = emulator_without(|f| f.local_reply_through_filter = false).http(|_| Deny);
    let (stream, _) = support::get_stream(&host);
    assert!(host.logs().info().is_empty());
    assert_eq!(
        stream.current_response_header(":status").as_deref(),
        Some("403")
    );
}

// ---- one local reply per callback; the plugin's own reply can be replaced --------------------------
// book: reference/envoy-1.40.md#local-replies

/// By path: `/request` and `/response` send two local replies from that
/// side's headers callback; `/own` sends a 403 from `on_request_headers`,
/// then replaces it with a 451 from `on_response_headers`; `/own-body` sends
/// a 403, then a 452 from `on_response_body` once the 403's headers went
/// out; `/fails` sends a 451 from `on_response_headers`, then fails.
#[derive(Default)]
struct Replies {
    path: String,
}

/// Sends a 451, then tries a 452 and logs whether the SDK refused it.
fn reply_twice() -> Result<()> {
    http::LocalResponse::new(451).body("first").send()?;
    let second = http::LocalResponse::new(452).body("second").send();
    proxywasm::log::info!("second refused: {}", second.is_err_and(|e| e.is_refused()));
    Ok(())
}

impl HttpContext for Replies {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        self.path = http::request_headers()
            .get(":path")?
            .map(|p| p.to_string())
            .unwrap_or_default();
        match self.path.as_str() {
            "/request" => reply_twice()?,
            "/own" | "/own-body" | "/own-held" | "/own-held/resumed" => {
                http::LocalResponse::new(403).body("first").send()?
            }
            _ => {}
        }
        Ok(Action::Continue)
    }
    fn on_response_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let status = http::response_headers()
            .get(":status")?
            .map(|s| s.to_string());
        proxywasm::log::info!("on_response_headers: {}", status.unwrap_or_default());
        match self.path.as_str() {
            "/response" => reply_twice()?,
            "/switch" => {
                // Made effective again (as after a switch to another
                // context and back): its reply still counts.
                http::LocalResponse::new(451).body("first").send()?;
                proxywasm::plugin::set_effective_context(proxywasm::plugin::current_context())?;
                let second = http::LocalResponse::new(452).send();
                proxywasm::log::info!("second refused: {}", second.is_err_and(|e| e.is_refused()));
            }
            "/own" => http::LocalResponse::new(451).body("replaced").send()?,
            "/own-held" => return Ok(Action::Pause),
            "/own-held/resumed" => {
                HttpCall::new("upstream")
                    .headers(&[(":method", "GET"), (":path", "/"), (":authority", "up")])
                    .send()?;
                return Ok(Action::Pause);
            }
            "/fails" => {
                http::LocalResponse::new(451).body("mine").send()?;
                return Err(proxywasm::Error::other("after the reply"));
            }
            _ => {}
        }
        Ok(Action::Continue)
    }
    fn on_http_call_response(&mut self, _token: HttpCallToken, _r: HttpCallResponse) -> Result<()> {
        http::resume_response()
    }
    fn on_response_body(&mut self, size: usize, _eos: bool) -> Result<Action> {
        proxywasm::log::info!("on_response_body: {size}");
        if self.path == "/own-body" {
            http::LocalResponse::new(452).body("too late").send()?;
        }
        Ok(Action::Continue)
    }
}

#[test]
fn a_second_local_reply_in_one_request_callback_is_refused() {
    let host = MockHost::builder().http(|_| Replies::default());
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/request")], true),
        Action::Pause
    );
    assert_eq!(stream.local_response().unwrap().status_code, 451);
    assert_eq!(stream.current_response_body(), b"first");
    assert!(host.logs().contain("second refused: true"));
    assert!(host.violations().is_empty());
}

#[test]
fn a_second_local_reply_in_on_response_headers_is_refused_before_it_crashes_envoy() {
    let host = MockHost::builder().http(|_| Replies::default());
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/response")], true),
        Action::Continue
    );
    stream.response_headers(&[(":status", "200")], false);
    let reply = stream.local_response().unwrap();
    assert_eq!(
        (reply.status_code, reply.body.as_slice()),
        (451, &b"first"[..])
    );
    assert!(host.logs().contain("second refused: true"));
    assert!(host.violations().is_empty());
}

#[test]
fn a_context_made_effective_again_keeps_its_reply_of_this_callback() {
    let host = MockHost::builder().http(|_| Replies::default());
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/switch")], true);
    stream.response_headers(&[(":status", "200")], false);
    assert_eq!(stream.local_response().unwrap().status_code, 451);
    assert!(host.logs().contain("second refused: true"));
    assert!(host.violations().is_empty());
}

#[test]
fn the_plugins_own_reply_held_by_on_response_headers_waits_until_resumed() {
    let host = MockHost::builder().http(|_| Replies::default());
    let mut held = host.http_stream();
    held.request_headers(&[(":path", "/own-held")], true);
    assert!(held.is_response_paused());
    let mut resumed = host.http_stream();
    resumed.request_headers(&[(":path", "/own-held/resumed")], true);
    assert!(resumed.is_response_paused());
    // Nothing of the held reply's body reaches the plugin until it resumes.
    assert_eq!(
        host.logs().info(),
        vec!["on_response_headers: 403", "on_response_headers: 403"]
    );
    let call = host.callouts().http().pop().unwrap();
    host.callouts()
        .respond_http(call.token, &[(":status", "200")], b"", &[]);
    assert!(!resumed.is_response_paused());
    assert!(host.logs().contain("on_response_body: 5"));
    assert_eq!(resumed.current_response_body(), b"first");
    assert!(held.is_response_paused());
    assert!(host.violations().is_empty());
}

#[test]
fn on_response_headers_can_replace_the_plugins_own_local_reply() {
    let host = MockHost::builder().http(|_| Replies::default());
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/own")], true),
        Action::Pause
    );
    let reply = stream.local_response().unwrap();
    assert_eq!(
        (reply.status_code, reply.body.as_slice()),
        (451, &b"replaced"[..])
    );
    assert_eq!(
        stream.current_response_header(":status").as_deref(),
        Some("451")
    );
    assert_eq!(stream.current_response_body(), b"replaced");
    // The first reply's body never reaches the plugin: the second went
    // straight to the client.
    assert_eq!(host.logs().info(), vec!["on_response_headers: 403"]);
}

#[test]
fn a_local_reply_after_the_own_replys_headers_went_out_resets_the_stream() {
    let host = MockHost::builder().http(|_| Replies::default());
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/own-body")], true),
        Action::Pause
    );
    // Envoy 1.40 answers OK, then resets the stream: the client has the
    // 403's headers and no body.
    assert!(stream.is_reset());
    assert_eq!(
        stream.current_response_header(":status").as_deref(),
        Some("403")
    );
    assert_eq!(
        host.logs().info(),
        vec!["on_response_headers: 403", "on_response_body: 5"]
    );
    assert!(host.violations().is_empty());
}

#[test]
fn a_callback_failing_after_its_local_reply_keeps_that_reply() {
    let host = MockHost::builder().http(|_| Replies::default());
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/fails")], true),
        Action::Continue
    );
    stream.response_headers(&[(":status", "200")], false);
    let reply = stream.local_response().unwrap();
    assert_eq!(
        (reply.status_code, reply.body.as_slice()),
        (451, &b"mine"[..])
    );
    assert!(host.logs().contain(
        "on_response_headers of context 2 failed: after the reply; its local reply stands"
    ));
    assert!(host.violations().is_empty());
}

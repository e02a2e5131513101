//! `#[proxywasm::callbacks]`: the callbacks a context type does not write
//! are answered at once, with their default, without the dispatcher finding
//! the context; the ones it writes, and the events the SDK has work of its
//! own in, still reach it. What a plugin does is the same either way: an
//! event for a context id the plugin does not know shows which route it took
//! (the full route logs an "unknown context" line, the short one answers
//! without looking).

use proxywasm::callout::HttpCall;
use proxywasm::dns::DnsToken;
use proxywasm::foreign::FunctionId;
use proxywasm::mock::MockHost;
use proxywasm::{Action, ContextId, HttpContext, NoContext, PluginContext, Result};
use proxywasm::{PeerType, QueueId, TcpContext, http};
use proxywasm_abi::Export;

/// Pauses each request until a callout answers (a closure resumes it), and
/// logs each stream's end.
struct Gate;

#[proxywasm::callbacks]
impl HttpContext for Gate {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        HttpCall::new("auth")
            .headers(&[(":method", "GET"), (":path", "/"), (":authority", "auth")])
            .send_then(|_gate: &mut Gate, _response| http::resume_request())?;
        Ok(Action::Pause)
    }

    fn on_log(&mut self) -> Result<()> {
        proxywasm::log::info!("gate: logged");
        Ok(())
    }
}

/// The context id no context has.
const UNKNOWN: u32 = 4242;

/// Whether each export (for [`UNKNOWN`]) took the full route.
fn full_routes(host: &MockHost, exports: &[Export]) -> Vec<bool> {
    let mut routes = Vec::new();
    for &export in exports {
        host.logs().clear();
        let answer = host.call_export(export);
        // Either way the host gets the default answer.
        let default = u32::from(matches!(export, Export::Done { .. }));
        assert_eq!(answer, default, "{export:?}");
        routes.push(host.logs().contain("unknown context 4242"));
    }
    routes
}

const REQUEST_HEADERS: Export = Export::RequestHeaders {
    context_id: UNKNOWN,
    num_headers: 1,
    end_of_stream: true,
};
const REQUEST_BODY: Export = Export::RequestBody {
    context_id: UNKNOWN,
    body_size: 3,
    end_of_stream: true,
};
const RESPONSE_HEADERS: Export = Export::ResponseHeaders {
    context_id: UNKNOWN,
    num_headers: 1,
    end_of_stream: true,
};
const NEW_CONNECTION: Export = Export::NewConnection {
    context_id: UNKNOWN,
};
const LOG: Export = Export::Log {
    context_id: UNKNOWN,
};
const DONE: Export = Export::Done {
    context_id: UNKNOWN,
};
const TICK: Export = Export::Tick {
    context_id: UNKNOWN,
};

#[test]
fn a_stream_runs_the_callbacks_written_and_the_sdk_still_routes_its_callouts() {
    let host = MockHost::builder().http(|_| Gate);
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Action::Pause
    );
    // The closure's response reaches the SDK although `Gate` writes no
    // `on_http_call_response`.
    let call = host.callouts().http().pop().expect("one call");
    host.callouts()
        .respond_http(call.token, &[(":status", "200")], b"", &[]);
    assert_eq!(stream.action(), Action::Continue);
    // Not written: answered Continue, as the default would.
    assert_eq!(
        stream.response_headers(&[(":status", "200")], false),
        Action::Continue
    );
    assert_eq!(stream.response_body(b"hello", true), Action::Continue);
    stream.complete();
    assert!(host.logs().contain("gate: logged"));
}

#[test]
fn only_the_callbacks_written_take_the_full_route() {
    let host = MockHost::builder().http(|_| Gate);
    assert!(host.start());
    // Written by `Gate` (request headers, log): the dispatcher looks for
    // the context. Written by no context type of the plugin (the SDK's own
    // plugin context writes none): answered at once.
    assert_eq!(
        full_routes(
            &host,
            &[
                REQUEST_HEADERS,
                LOG,
                REQUEST_BODY,
                RESPONSE_HEADERS,
                DONE,
                TICK
            ]
        ),
        [true, true, false, false, false, false]
    );
}

/// A plugin context without the attribute: every callback may be written.
struct Plain;
impl PluginContext for Plain {
    type Http = Gate;
    type Tcp = NoContext;
    fn new_http_context(&mut self, _id: ContextId) -> Option<Gate> {
        Some(Gate)
    }
}

#[test]
fn a_callback_any_context_type_may_write_takes_the_full_route() {
    let host = MockHost::builder().plugin(|_| Plain);
    assert!(host.start());
    // `Plain` may write `on_done` and `on_tick` (it has no attribute);
    // `Gate` writes neither. Response headers are only `Gate`'s to write.
    assert_eq!(
        full_routes(&host, &[DONE, TICK, RESPONSE_HEADERS]),
        [true, true, false]
    );
}

/// A connection that writes nothing.
struct Quiet;
#[proxywasm::callbacks]
impl TcpContext for Quiet {}

/// A plugin with both stream kinds.
struct Both;
#[proxywasm::callbacks]
impl PluginContext for Both {
    type Http = Gate;
    type Tcp = Quiet;
    fn new_http_context(&mut self, _id: ContextId) -> Option<Gate> {
        Some(Gate)
    }
    fn new_tcp_context(&mut self, _id: ContextId) -> Option<Quiet> {
        Some(Quiet)
    }
}

#[test]
fn every_event_of_a_plugin_with_both_stream_kinds_takes_the_full_route() {
    // Its streams become HTTP or TCP at their first callback, which must
    // reach them even if no type writes it.
    let host = MockHost::builder().plugin(|_| Both);
    assert!(host.start());
    assert_eq!(
        full_routes(&host, &[RESPONSE_HEADERS, NEW_CONNECTION, DONE]),
        [true, true, true]
    );
    // And a connection whose type writes nothing still gets its context.
    let mut connection = host.tcp_connection();
    assert_eq!(connection.downstream_data(b"ping", false), Action::Continue);
}

/// Writes every HTTP callback.
struct AllHttp;
#[proxywasm::callbacks]
impl HttpContext for AllHttp {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_request_body(&mut self, _size: usize, _eos: bool) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_request_trailers(&mut self, _n: usize) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_response_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_response_body(&mut self, _size: usize, _eos: bool) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_response_trailers(&mut self, _n: usize) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_log(&mut self) -> Result<()> {
        Ok(())
    }
    fn on_done(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Writes every TCP callback.
struct AllTcp;
#[proxywasm::callbacks]
impl TcpContext for AllTcp {
    fn on_new_connection(&mut self) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_downstream_data(&mut self, _size: usize, _eos: bool) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_upstream_data(&mut self, _size: usize, _eos: bool) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_downstream_close(&mut self, _peer: PeerType) -> Result<()> {
        Ok(())
    }
    fn on_upstream_close(&mut self, _peer: PeerType) -> Result<()> {
        Ok(())
    }
}

/// Writes every plugin callback the SDK may answer early.
struct AllPlugin;
#[proxywasm::callbacks]
impl PluginContext for AllPlugin {
    type Http = NoContext;
    type Tcp = NoContext;
    fn on_tick(&mut self) -> Result<()> {
        Ok(())
    }
    fn on_queue_ready(&mut self, _queue: QueueId) -> Result<()> {
        Ok(())
    }
    fn on_foreign_function(&mut self, _function: FunctionId, _size: usize) -> Result<()> {
        Ok(())
    }
    fn on_resolve_dns(&mut self, _token: DnsToken, _size: usize) -> Result<()> {
        Ok(())
    }
}

#[test]
fn a_type_that_writes_every_callback_gets_every_event() {
    // The names the attribute reads are the traits' own, and the
    // dispatcher's names for its events must match them all: a name that
    // drifted would leave a written callback unrun.
    let context_id = UNKNOWN;
    let http = MockHost::builder().http(|_| AllHttp);
    assert!(http.start());
    let exports = [
        REQUEST_HEADERS,
        REQUEST_BODY,
        Export::RequestTrailers {
            context_id,
            num_trailers: 1,
        },
        RESPONSE_HEADERS,
        Export::ResponseBody {
            context_id,
            body_size: 3,
            end_of_stream: true,
        },
        Export::ResponseTrailers {
            context_id,
            num_trailers: 1,
        },
        LOG,
        DONE,
    ];
    assert!(full_routes(&http, &exports).into_iter().all(|full| full));

    let tcp = MockHost::builder().tcp(|_| AllTcp);
    assert!(tcp.start());
    let exports = [
        NEW_CONNECTION,
        Export::DownstreamData {
            context_id,
            data_size: 3,
            end_of_stream: false,
        },
        Export::UpstreamData {
            context_id,
            data_size: 3,
            end_of_stream: false,
        },
        Export::DownstreamConnectionClose {
            context_id,
            peer_type: 1,
        },
        Export::UpstreamConnectionClose {
            context_id,
            peer_type: 1,
        },
    ];
    assert!(full_routes(&tcp, &exports).into_iter().all(|full| full));

    let plugin = MockHost::builder().plugin(|_| AllPlugin);
    assert!(plugin.start());
    let exports = [
        TICK,
        Export::QueueReady {
            context_id,
            queue_id: 1,
        },
        Export::ForeignFunction {
            context_id,
            function_id: 1,
            arguments_size: 0,
        },
        Export::ResolveDns {
            context_id,
            token: 1,
            data_size: 0,
        },
    ];
    assert!(full_routes(&plugin, &exports).into_iter().all(|full| full));
}

//! The dispatcher, driven through the emulator by arbitrary sequences of
//! host events: HTTP streams and TCP connections in any valid order, callout
//! answers, failures and timeouts, ticks, queue items, time passing, and raw
//! exports the emulator's bookkeeping does not vouch for (unknown and deleted
//! context ids, repeated deletes, `on_done` twice, callbacks for contexts of
//! the wrong kind, callout answers with unknown tokens, odd sizes and peer
//! types), also delivered re-entrantly from inside the plugin's hostcalls.
//! Whatever the host does, the SDK must not panic, leak or hang, and must not
//! report a panic of its own (a critical log).
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proxywasm::callout::{self, HttpCall, HttpCallToken};
use proxywasm::mock::{Export, HttpStream, MockHost, TcpConnection};
use proxywasm::shared::QueueId;
use proxywasm::{
    Action, Configuration, ContextId, HttpCallResponse, HttpContext, PeerType, PluginContext,
    Result, TcpContext, http, shared, tcp, time,
};

// ---- the plugin: every callback uses the hostcalls of its kind ----------------------------

struct Root {
    queue: Option<QueueId>,
}

fn callout(path: &str) -> Result<HttpCallToken> {
    HttpCall::new("upstream")
        .header(":method", "GET")
        .header(":path", path)
        .header(":authority", "fuzz")
        .timeout(Duration::from_millis(500))
        .send()
}

fn read_callout() {
    let _ = callout::response_headers().pairs();
    let _ = callout::response_body().read_all();
    let _ = callout::response_trailers().pairs();
}

impl PluginContext for Root {
    type Http = Filter;
    type Tcp = Conn;

    fn on_configure(&mut self, _configuration: Configuration) -> Result<()> {
        time::set_tick_period(Duration::from_secs(1))?;
        self.queue = Some(shared::register_queue("fuzz")?);
        Ok(())
    }

    fn on_tick(&mut self) -> Result<()> {
        let _ = callout("/tick");
        let _ = time::now();
        Ok(())
    }

    fn on_queue_ready(&mut self, queue: QueueId) -> Result<()> {
        while let Ok(Some(_item)) = shared::dequeue(queue) {}
        if let Some(own) = self.queue {
            let _ = shared::dequeue(own);
        }
        Ok(())
    }

    fn on_http_call_response(&mut self, _token: HttpCallToken, _response: HttpCallResponse) -> Result<()> {
        read_callout();
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        Some(Filter { paused: false })
    }

    fn new_tcp_context(&mut self, _id: ContextId) -> Option<Conn> {
        Some(Conn)
    }
}

struct Filter {
    paused: bool,
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let path = http::request_headers().get(":path").ok().flatten();
        let path = path
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = http::request_headers().pairs();
        let _ = http::request_headers().add("x-fuzz", &path);
        match path.as_str() {
            "/call" => match callout(&path) {
                Ok(_) => {
                    self.paused = true;
                    Ok(Action::Pause)
                }
                Err(_) => Ok(Action::Continue),
            },
            "/deny" => {
                let _ = http::LocalResponse::new(403).body("denied").send();
                Ok(Action::Pause)
            }
            "/reset" => {
                let _ = http::reset();
                Ok(Action::Pause)
            }
            _ => Ok(Action::Continue),
        }
    }

    fn on_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Result<Action> {
        let body = http::request_body();
        let _ = body.read(0, body_size);
        if end_of_stream {
            let _ = body.replace(b"replaced");
            Ok(Action::Continue)
        } else {
            Ok(Action::Pause)
        }
    }

    fn on_request_trailers(&mut self, _num_trailers: usize) -> Result<Action> {
        let _ = http::request_trailers().pairs();
        Ok(Action::Continue)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let _ = http::response_headers().replace("x-fuzz", "response");
        Ok(Action::Continue)
    }

    fn on_response_body(&mut self, body_size: usize, _end_of_stream: bool) -> Result<Action> {
        let _ = http::response_body().read(0, body_size);
        Ok(Action::Continue)
    }

    fn on_log(&mut self) -> Result<()> {
        let _ = http::request_headers().pairs();
        let _ = http::response_headers().pairs();
        Ok(())
    }

    fn on_http_call_response(&mut self, _token: HttpCallToken, _response: HttpCallResponse) -> Result<()> {
        read_callout();
        if self.paused {
            self.paused = false;
            let _ = http::resume_request();
        }
        Ok(())
    }
}

struct Conn;

impl TcpContext for Conn {
    fn on_downstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Result<Action> {
        let data = tcp::downstream_data().read(0, data_size).ok().flatten();
        if data.as_deref() == Some(&b"call"[..]) && callout("/tcp").is_ok() {
            return Ok(Action::Pause);
        }
        if end_of_stream {
            let _ = tcp::close_upstream();
        }
        Ok(Action::Continue)
    }

    fn on_upstream_data(&mut self, data_size: usize, _end_of_stream: bool) -> Result<Action> {
        let _ = tcp::upstream_data().read(0, data_size);
        let _ = tcp::upstream_data().prepend(b">");
        Ok(Action::Continue)
    }

    fn on_downstream_close(&mut self, _peer: PeerType) -> Result<()> {
        let _ = tcp::close_upstream();
        Ok(())
    }

    fn on_http_call_response(&mut self, _token: HttpCallToken, _response: HttpCallResponse) -> Result<()> {
        read_callout();
        let _ = tcp::resume_downstream();
        Ok(())
    }
}

// ---- the host's moves ------------------------------------------------------------------------

/// A context id: mostly one the host created, sometimes any number.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Id {
    Known(u8),
    Small(u8),
    Any(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Raw {
    ContextCreate(Id, Id),
    VmStart(Id, u16),
    Configure(Id, u16),
    Tick(Id),
    QueueReady(Id, u32),
    ForeignFunction(Id, u32, u16),
    ResolveDns(Id, u32, u16),
    NewConnection(Id),
    DownstreamData(Id, u16, bool),
    UpstreamData(Id, u16, bool),
    DownstreamClose(Id, u32),
    UpstreamClose(Id, u32),
    RequestHeaders(Id, u16, bool),
    RequestBody(Id, u32, bool),
    RequestTrailers(Id, u16),
    ResponseHeaders(Id, u16, bool),
    ResponseBody(Id, u32, bool),
    ResponseTrailers(Id, u16),
    HttpCallResponse(Id, u32, u16, u32, u16),
    GrpcInitialMetadata(Id, u32, u16),
    GrpcReceive(Id, u32, u16),
    GrpcTrailingMetadata(Id, u32, u16),
    GrpcClose(Id, u32, u32),
    Done(Id),
    Log(Id),
    Delete(Id),
}

const HOSTCALLS: &[&str] = &[
    "proxy_get_header_map_value",
    "proxy_get_header_map_pairs",
    "proxy_add_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_get_buffer_bytes",
    "proxy_set_buffer_bytes",
    "proxy_http_call",
    "proxy_continue_stream",
    "proxy_dequeue_shared_queue",
    "proxy_get_current_time_nanoseconds",
    "proxy_send_local_response",
    "proxy_close_stream",
    "proxy_log",
];

const PATHS: &[&str] = &["/", "/call", "/deny", "/reset", ""];

#[derive(Arbitrary, Debug)]
enum Op {
    NewHttp,
    NewTcp,
    RequestHeaders(u8, u8, Vec<(String, String)>, bool),
    RequestBody(u8, Vec<u8>, bool),
    RequestTrailers(u8),
    ResponseHeaders(u8, bool),
    ResponseBody(u8, Vec<u8>, bool),
    ResponseTrailers(u8),
    CompleteHttp(u8),
    Downstream(u8, Vec<u8>, bool),
    Upstream(u8, Vec<u8>, bool),
    DownstreamClose(u8, bool),
    UpstreamClose(u8, bool),
    CompleteTcp(u8),
    Respond(u8, u16, Vec<u8>),
    Fail(u8),
    TimeOut(u8),
    Tick,
    Enqueue(Vec<u8>),
    /// Time passes, in steps of 20 ms (at most about five ticks).
    Advance(u8),
    Raw(Raw),
    Reenter(u8, Raw),
}

#[derive(Default)]
struct Flow {
    started: bool,
    ended: bool,
}

impl Flow {
    /// Started and not ended: more of it may be sent.
    fn is_open(&self) -> bool {
        self.started && !self.ended
    }
}

/// Who closed a side of a connection.
fn closer(remote: bool) -> PeerType {
    if remote {
        PeerType::Remote
    } else {
        PeerType::Local
    }
}

struct Stream {
    handle: HttpStream,
    request: Flow,
    response: Flow,
}

impl Stream {
    fn open(&self) -> bool {
        self.handle.local_response().is_none() && !self.handle.is_reset()
    }
}

struct World {
    host: MockHost,
    streams: Vec<Stream>,
    connections: Vec<(TcpConnection, bool)>,
    /// Every context id the host created, for raw exports to pick from.
    ids: Vec<u32>,
}

impl World {
    fn id(&self, id: Id) -> u32 {
        match id {
            Id::Known(i) => self
                .ids
                .get(usize::from(i) % self.ids.len().max(1))
                .copied()
                .unwrap_or(1),
            Id::Small(n) => u32::from(n % 16),
            Id::Any(n) => n,
        }
    }

    fn export(&self, raw: Raw) -> Export {
        let peer = |p: u32| p % 4;
        match raw {
            Raw::ContextCreate(c, p) => Export::ContextCreate {
                context_id: self.id(c),
                parent_id: self.id(p),
            },
            Raw::VmStart(c, n) => Export::VmStart {
                context_id: self.id(c),
                configuration_size: n.into(),
            },
            Raw::Configure(c, n) => Export::Configure {
                context_id: self.id(c),
                configuration_size: n.into(),
            },
            Raw::Tick(c) => Export::Tick {
                context_id: self.id(c),
            },
            Raw::QueueReady(c, q) => Export::QueueReady {
                context_id: self.id(c),
                queue_id: q,
            },
            Raw::ForeignFunction(c, f, n) => Export::ForeignFunction {
                context_id: self.id(c),
                function_id: f,
                arguments_size: n.into(),
            },
            Raw::ResolveDns(c, t, n) => Export::ResolveDns {
                context_id: self.id(c),
                token: t,
                data_size: n.into(),
            },
            Raw::NewConnection(c) => Export::NewConnection {
                context_id: self.id(c),
            },
            Raw::DownstreamData(c, n, e) => Export::DownstreamData {
                context_id: self.id(c),
                data_size: n.into(),
                end_of_stream: e,
            },
            Raw::UpstreamData(c, n, e) => Export::UpstreamData {
                context_id: self.id(c),
                data_size: n.into(),
                end_of_stream: e,
            },
            Raw::DownstreamClose(c, p) => Export::DownstreamConnectionClose {
                context_id: self.id(c),
                peer_type: peer(p),
            },
            Raw::UpstreamClose(c, p) => Export::UpstreamConnectionClose {
                context_id: self.id(c),
                peer_type: p,
            },
            Raw::RequestHeaders(c, n, e) => Export::RequestHeaders {
                context_id: self.id(c),
                num_headers: n.into(),
                end_of_stream: e,
            },
            Raw::RequestBody(c, n, e) => Export::RequestBody {
                context_id: self.id(c),
                body_size: n,
                end_of_stream: e,
            },
            Raw::RequestTrailers(c, n) => Export::RequestTrailers {
                context_id: self.id(c),
                num_trailers: n.into(),
            },
            Raw::ResponseHeaders(c, n, e) => Export::ResponseHeaders {
                context_id: self.id(c),
                num_headers: n.into(),
                end_of_stream: e,
            },
            Raw::ResponseBody(c, n, e) => Export::ResponseBody {
                context_id: self.id(c),
                body_size: n,
                end_of_stream: e,
            },
            Raw::ResponseTrailers(c, n) => Export::ResponseTrailers {
                context_id: self.id(c),
                num_trailers: n.into(),
            },
            Raw::HttpCallResponse(c, t, h, b, tr) => Export::HttpCallResponse {
                context_id: self.id(c),
                token: t % 8,
                num_headers: h.into(),
                body_size: b,
                num_trailers: tr.into(),
            },
            Raw::GrpcInitialMetadata(c, t, n) => Export::GrpcReceiveInitialMetadata {
                context_id: self.id(c),
                token: t,
                num_elements: n.into(),
            },
            Raw::GrpcReceive(c, t, n) => Export::GrpcReceive {
                context_id: self.id(c),
                token: t,
                message_size: n.into(),
            },
            Raw::GrpcTrailingMetadata(c, t, n) => Export::GrpcReceiveTrailingMetadata {
                context_id: self.id(c),
                token: t,
                num_elements: n.into(),
            },
            Raw::GrpcClose(c, t, s) => Export::GrpcClose {
                context_id: self.id(c),
                token: t,
                status_code: s,
            },
            Raw::Done(c) => Export::Done {
                context_id: self.id(c),
            },
            Raw::Log(c) => Export::Log {
                context_id: self.id(c),
            },
            Raw::Delete(c) => Export::Delete {
                context_id: self.id(c),
            },
        }
    }

    fn stream(&mut self, i: u8) -> Option<&mut Stream> {
        let len = self.streams.len();
        if len == 0 {
            return None;
        }
        self.streams
            .get_mut(usize::from(i) % len)
            .filter(|s| s.open())
    }

    fn connection(&mut self, i: u8) -> Option<&mut (TcpConnection, bool)> {
        let len = self.connections.len();
        if len == 0 {
            return None;
        }
        self.connections.get_mut(usize::from(i) % len)
    }

    fn callout_token(&self, i: u8) -> Option<HttpCallToken> {
        let calls = self.host.callouts().http();
        if calls.is_empty() {
            return None;
        }
        Some(calls[usize::from(i) % calls.len()].token)
    }

    /// Runs `send` on stream `i` if its request is under way and not ended;
    /// the request ends with it if `ends`.
    fn send_request(&mut self, i: u8, ends: bool, send: impl FnOnce(&mut HttpStream)) {
        if let Some(s) = self.stream(i).filter(|s| s.request.is_open()) {
            send(&mut s.handle);
            s.request.ended = ends;
        }
    }

    /// [`Self::send_request`] for the response.
    fn send_response(&mut self, i: u8, ends: bool, send: impl FnOnce(&mut HttpStream)) {
        if let Some(s) = self.stream(i).filter(|s| s.response.is_open()) {
            send(&mut s.handle);
            s.response.ended = ends;
        }
    }

    /// Runs `send` on connection `i` unless it is closed; it closes if `closes`.
    fn send_tcp(&mut self, i: u8, closes: bool, send: impl FnOnce(&mut TcpConnection)) {
        if let Some((c, closed)) = self.connection(i).filter(|(_, closed)| !closed) {
            send(c);
            *closed |= closes;
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::NewHttp => {
                if self.streams.len() < 8 {
                    let handle = self.host.http_stream();
                    self.ids.push(handle.id().0);
                    self.streams.push(Stream {
                        handle,
                        request: Flow::default(),
                        response: Flow::default(),
                    });
                }
            }
            Op::NewTcp => {
                if self.connections.len() < 4 {
                    let handle = self.host.tcp_connection();
                    self.ids.push(handle.id().0);
                    self.connections.push((handle, false));
                }
            }
            Op::RequestHeaders(i, path, extra, eos) => {
                if let Some(s) = self.stream(i).filter(|s| !s.request.started) {
                    let path = PATHS[usize::from(path) % PATHS.len()];
                    let mut headers: Vec<(&str, &str)> = vec![(":path", path), (":method", "GET")];
                    headers.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    s.handle.request_headers(&headers, eos);
                    s.request = Flow {
                        started: true,
                        ended: eos,
                    };
                }
            }
            Op::RequestBody(i, body, eos) => self.send_request(i, eos, |h| {
                h.request_body(&body, eos);
            }),
            Op::RequestTrailers(i) => self.send_request(i, true, |h| {
                h.request_trailers(&[("x-trailer", "1")]);
            }),
            Op::ResponseHeaders(i, eos) => {
                if let Some(s) = self
                    .stream(i)
                    .filter(|s| s.request.started && !s.response.started)
                {
                    s.handle.response_headers(&[(":status", "200")], eos);
                    s.response = Flow {
                        started: true,
                        ended: eos,
                    };
                }
            }
            Op::ResponseBody(i, body, eos) => self.send_response(i, eos, |h| {
                h.response_body(&body, eos);
            }),
            Op::ResponseTrailers(i) => self.send_response(i, true, |h| {
                h.response_trailers(&[("x-trailer", "2")]);
            }),
            Op::CompleteHttp(i) => {
                if !self.streams.is_empty() {
                    let len = self.streams.len();
                    self.streams
                        .swap_remove(usize::from(i) % len)
                        .handle
                        .complete();
                }
            }
            Op::Downstream(i, data, eos) => self.send_tcp(i, eos, |c| {
                c.downstream_data(&data, eos);
            }),
            Op::Upstream(i, data, eos) => self.send_tcp(i, eos, |c| {
                c.upstream_data(&data, eos);
            }),
            Op::DownstreamClose(i, remote) => {
                self.send_tcp(i, true, |c| c.downstream_close(closer(remote)))
            }
            Op::UpstreamClose(i, remote) => {
                self.send_tcp(i, true, |c| c.upstream_close(closer(remote)))
            }
            Op::CompleteTcp(i) => {
                if !self.connections.is_empty() {
                    let len = self.connections.len();
                    self.connections
                        .swap_remove(usize::from(i) % len)
                        .0
                        .complete();
                }
            }
            Op::Respond(i, status, body) => {
                if let Some(token) = self.callout_token(i) {
                    let status = status.to_string();
                    self.host
                        .callouts()
                        .respond_http(token, &[(":status", &status)], &body, &[]);
                }
            }
            Op::Fail(i) => {
                if let Some(token) = self.callout_token(i) {
                    self.host.callouts().reset_http(token);
                }
            }
            Op::TimeOut(i) => {
                if let Some(token) = self.callout_token(i) {
                    self.host.callouts().time_out_http(token);
                }
            }
            Op::Tick => {
                if self.host.time().tick_period().is_some() {
                    self.host.time().tick();
                }
            }
            Op::Enqueue(item) => {
                if let Some(queue) = self.host.shared_data().queue_id("fuzz") {
                    self.host.shared_data().enqueue(queue, &item);
                }
            }
            Op::Advance(steps) => self
                .host
                .time()
                .advance(Duration::from_millis(20 * u64::from(steps))),
            Op::Raw(raw) => {
                let export = self.export(raw);
                self.host.call_export(export);
            }
            Op::Reenter(hostcall, raw) => {
                let export = self.export(raw);
                self.host
                    .reenter_on(HOSTCALLS[usize::from(hostcall) % HOSTCALLS.len()], export);
            }
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let host = MockHost::builder()
        .echo_logs(false)
        .plugin(|_| Root { queue: None });
    if !host.start() {
        return;
    }
    let root = host.root_context_id().0;
    let mut world = World {
        host,
        streams: Vec::new(),
        connections: Vec::new(),
        ids: vec![root],
    };
    for op in ops.into_iter().take(64) {
        world.apply(op);
        let critical = world.host.logs().critical();
        assert!(
            critical.is_empty(),
            "the SDK reported a panic: {critical:?}"
        );
    }
});

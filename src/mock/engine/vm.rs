//! Driving the plugin: the [`Export`] calls (generated from the ABI table),
//! the [`Guest`] seam a front door implements to make them, and [`Vm`],
//! which runs Envoy's lifecycles
//! (start-up, streams, ticks, callouts, deferred actions, queue
//! notifications) over any guest.
//!
//! # The seam
//! A front door supplies a [`Guest`]: "call this export with these wire
//! arguments and return its raw result". The native mock host calls the SDK's
//! `proxy_on_*` trampolines; an engine host calls the module's wasm exports
//! of the same names ([`Export::name`], [`Export::args`]). Everything else —
//! state, rules, bookkeeping — is here and shared.
//!
//! Rules for a guest:
//! * [`Guest::call`] is made with the [`HostState`] **not** borrowed; the
//!   plugin's hostcalls borrow it (through [`Vm::state`]) one at a time;
//! * after serving each hostcall, call [`Vm::after_hostcall`] (it runs
//!   re-entry hooks, which call back into the guest);
//! * a trap may panic: the test fails with the guest's message.

use super::records::LocalReply;
use super::state::{Deferred, HostState, Payload, status};
use super::stream::{self, Context, HttpStream, Map, Pause, Root, Side, TcpConnection};
use super::world::{Event, MockWorld};
use crate::abi::wire::stream as stream_type;
use core::cell::{Cell, RefCell, RefMut};
use core::time::Duration;
use proxywasm_abi::Export;
use std::rc::{Rc, Weak};

/// How a front door calls into the plugin. See the module documentation for
/// the rules.
pub trait Guest {
    /// Calls `export` and returns its raw result (0 for exports without one).
    fn call(&self, export: Export) -> u32;

    /// Runs native test code as if it were plugin code inside a callback of
    /// `context` (so its hostcalls reach this host, and the SDK treats
    /// `context` as active). Only the native guest can.
    fn run_native(&self, context: u32, code: &mut dyn FnMut()) {
        let _ = (context, code);
        panic!(
            "this mock host runs a compiled module: native code cannot run inside it (MockHost::run)"
        );
    }
}

/// Largest number of queue notifications one settle may deliver before the
/// emulator reports a notification loop.
const MAX_EVENTS: usize = 100_000;

/// One emulated VM: the [`HostState`] and the [`Guest`] that runs the plugin.
pub struct Vm {
    state: RefCell<HostState>,
    guest: Box<dyn Guest>,
    world: MockWorld,
    index: usize,
    ops: Cell<u32>,
    pumping: Cell<bool>,
    reported: Cell<usize>,
    reentry: RefCell<Vec<(String, Export)>>,
    reentries: RefCell<Vec<(Export, u32)>>,
}

impl core::fmt::Debug for Vm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Vm")
            .field("index", &self.index)
            .field("state", &self.state.try_borrow().ok())
            .finish()
    }
}

/// What the host does with a filter status.
fn stops(raw: u32) -> bool {
    raw != 0 && raw != 2
}

fn reply_for(deferred: &[Deferred], context: u32) -> bool {
    deferred
        .iter()
        .any(|d| matches!(d, Deferred::LocalReply { context: c, .. } if *c == context))
}

fn len32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl Vm {
    /// Creates a VM in `world` whose plugin runs behind the guest `make_guest`
    /// returns (it receives a weak handle to the VM, for re-entry).
    pub fn new(state: HostState, make_guest: impl FnOnce(Weak<Vm>) -> Box<dyn Guest>) -> Rc<Vm> {
        Rc::new_cyclic(|weak| {
            let world = state.world.clone();
            let index = world.register_vm(weak.clone());
            let mut state = state;
            state.vm_index = index;
            Vm {
                state: RefCell::new(state),
                guest: make_guest(weak.clone()),
                world,
                index,
                ops: Cell::new(0),
                pumping: Cell::new(false),
                reported: Cell::new(0),
                reentry: RefCell::new(Vec::new()),
                reentries: RefCell::new(Vec::new()),
            }
        })
    }

    /// The host state, borrowed mutably for one hostcall (or one inspection).
    ///
    /// # Panics
    /// If it is already borrowed (a hostcall made from inside another).
    pub fn state(&self) -> RefMut<'_, HostState> {
        self.state.borrow_mut()
    }

    /// The host state if it is free.
    pub fn try_state(&self) -> Option<RefMut<'_, HostState>> {
        self.state.try_borrow_mut().ok()
    }

    /// The world this VM lives in.
    pub fn world(&self) -> &MockWorld {
        &self.world
    }

    /// Envoy's start-up rule for hostcall `name` ([`HostState::admit`]): a
    /// front door traps, with the reason given, when it refuses. (With the
    /// state busy, the hostcall itself answers `INTERNAL_FAILURE`.)
    ///
    /// # Errors
    /// The reason for the trap.
    pub fn admit(&self, name: &'static str) -> Result<(), String> {
        self.try_state()
            .map_or(Ok(()), |mut state| state.admit(name))
    }

    /// Call after serving the hostcall `name`: runs a re-entry hook armed for
    /// it with [`Vm::reenter_on`].
    pub fn after_hostcall(&self, name: &str) {
        let hook = {
            let Ok(mut hooks) = self.reentry.try_borrow_mut() else {
                return;
            };
            if hooks.is_empty() {
                return;
            }
            hooks
                .iter()
                .position(|(n, _)| n == name)
                .map(|i| hooks.remove(i))
        };
        if let Some((_, export)) = hook {
            let (raw, deferred) = self.invoke(export, Payload::None);
            self.apply(deferred);
            self.reentries.borrow_mut().push((export, raw));
        }
    }

    /// Arms a one-shot hook: the next time the plugin makes hostcall
    /// `hostcall`, the host calls `export` from inside it, before returning.
    pub fn reenter_on(&self, hostcall: &str, export: Export) {
        self.reentry
            .borrow_mut()
            .push((hostcall.to_owned(), export));
    }

    /// The exports run by re-entry hooks and their raw results.
    pub fn reentries(&self) -> Vec<(Export, u32)> {
        self.reentries.borrow().clone()
    }

    // ---- plumbing ------------------------------------------------------------------------

    /// Calls one export as Envoy does: a fresh frame (no effective context),
    /// the callback, then the frame's deferred effects are returned.
    pub(crate) fn invoke(&self, export: Export, payload: Payload) -> (u32, Vec<Deferred>) {
        {
            let mut s = self.state();
            let context = export.context_id();
            s.trace.push(export);
            s.push_frame(context, Some(export), payload);
            if context != 0 && s.deleted.contains(&context) {
                s.violate(
                    None,
                    format!(
                        "{} on context {context}, which was already deleted",
                        export.name()
                    ),
                );
            }
        }
        let unwinding = FrameGuard(self);
        let raw = self.guest.call(export);
        core::mem::forget(unwinding);
        let frame = self.state().pop_frame();
        (raw, frame.map(|f| f.deferred).unwrap_or_default())
    }

    /// Runs a top-level operation: afterwards, delivers pending queue
    /// notifications (here and in other VMs of the world) and, in strict mode,
    /// fails the test on new violations.
    pub(crate) fn op<R>(&self, f: impl FnOnce() -> R) -> R {
        self.ops.set(self.ops.get() + 1);
        let leaving = OpGuard(self);
        let result = f();
        drop(leaving);
        if self.ops.get() == 0 {
            self.settle();
        }
        result
    }

    fn settle(&self) {
        self.pump();
        self.check_strict();
    }

    fn pump(&self) {
        if self.pumping.replace(true) {
            return;
        }
        let mut delivered = 0usize;
        loop {
            let mail = self.world.take_mail(self.index);
            let mut progressed = !mail.is_empty();
            for event in mail {
                delivered += 1;
                assert!(
                    delivered <= MAX_EVENTS,
                    "the plugins kept enqueueing into shared queues from on_queue_ready: {MAX_EVENTS} notifications \
                     and counting"
                );
                match event {
                    Event::QueueReady { root, token } => {
                        if self.state().is_live(root) {
                            let (_, deferred) = self.invoke(
                                Export::QueueReady {
                                    context_id: root,
                                    queue_id: token,
                                },
                                Payload::None,
                            );
                            self.apply(deferred);
                        }
                    }
                }
            }
            for other in self.world.others_with_mail(self.index) {
                if other.ops.get() == 0 && !other.pumping.get() {
                    other.settle();
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        self.pumping.set(false);
    }

    fn check_strict(&self) {
        let message = {
            let s = self.state.borrow();
            if !s.config.strict || s.violations.len() <= self.reported.get() {
                return;
            }
            let new: Vec<String> = s
                .violations
                .iter()
                .skip(self.reported.get())
                .map(|v| format!("  - {v}"))
                .collect();
            self.reported.set(s.violations.len());
            new.join("\n")
        };
        panic!("strict mode: the plugin broke the emulator's expectations:\n{message}");
    }

    /// Applies effects Envoy defers to the end of a callback.
    pub(crate) fn apply(&self, deferred: Vec<Deferred>) {
        for effect in deferred {
            match effect {
                Deferred::Continue { context, stream } => self.resume(context, stream),
                Deferred::Close { context, stream } => self.close(context, stream),
                Deferred::LocalReply {
                    context,
                    reply,
                    from,
                } => self.local_reply(context, reply, from),
                Deferred::DeleteRoot { root } => self.delete_root(root),
            }
        }
    }

    fn resume(&self, context: u32, kind: u32) {
        let side = match kind {
            stream_type::HTTP_REQUEST => Side::Request,
            stream_type::HTTP_RESPONSE => Side::Response,
            stream_type::DOWNSTREAM => {
                if let Some(conn) = self.state().tcp_mut(context) {
                    if conn.downstream.paused {
                        conn.downstream.paused = false;
                        conn.downstream.forward();
                        conn.action = 0;
                    }
                }
                return;
            }
            _ => return,
        };
        let was = {
            let mut s = self.state();
            let Some(stream) = s.http_mut(context) else {
                return;
            };
            let flow = stream.flow_mut(side);
            let was = flow.paused;
            if was == Pause::No {
                return;
            }
            flow.paused = Pause::No;
            if was != Pause::Headers {
                flow.forward();
            }
            stream.action = 0;
            was
        };
        if was == Pause::Headers {
            self.deliver_held(context, side);
        }
    }

    fn close(&self, context: u32, kind: u32) {
        let mut s = self.state();
        match s.contexts.get_mut(&context) {
            Some(Context::Http(stream)) if kind <= stream_type::HTTP_RESPONSE => {
                stream.reset = true
            }
            Some(Context::Tcp(conn)) if kind == stream_type::DOWNSTREAM => {
                conn.downstream.closed_by_plugin = true
            }
            Some(Context::Tcp(conn)) if kind == stream_type::UPSTREAM => {
                conn.upstream.closed_by_plugin = true
            }
            _ => {}
        }
    }

    fn local_reply(&self, context: u32, reply: LocalReply, from: &'static str) {
        let mut headers: Map = vec![(
            b":status".to_vec(),
            reply.status_code.to_string().into_bytes(),
        )];
        if !reply.body.is_empty() {
            headers.push((
                b"content-length".to_vec(),
                reply.body.len().to_string().into_bytes(),
            ));
            headers.push((b"content-type".to_vec(), b"text/plain".to_vec()));
        }
        if let Some(grpc) = reply.grpc_status {
            headers.push((b"grpc-status".to_vec(), grpc.to_string().into_bytes()));
        }
        headers.extend(
            reply
                .headers
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())),
        );
        let body = reply.body.clone();
        let (response_started, response_held, through_filter) = {
            let mut s = self.state();
            let through_filter = s.config.fidelity.local_reply_through_filter;
            let Some(stream) = s.http_mut(context) else {
                return;
            };
            if stream.local_reply.is_some() || stream.reset {
                return;
            }
            stream.local_reply = Some(reply);
            stream.local_reply_from = from;
            stream.request.paused = Pause::No;
            stream.request.held = stream::Held::default();
            stream.request.ended = true;
            stream.action = 1;
            (
                stream.response.started,
                stream.response.paused == Pause::Headers,
                through_filter,
            )
        };
        if response_started && !response_held {
            // Response headers already went out: Envoy resets the stream.
            if let Some(stream) = self.state().http_mut(context) {
                stream.reset = true;
            }
            return;
        }
        if response_started || !through_filter {
            // Headers held by this filter (or the rule is off): straight to the codec.
            if let Some(stream) = self.state().http_mut(context) {
                let response = &mut stream.response;
                response.started = true;
                response.headers = Some(headers);
                response.paused = Pause::No;
                response.held = stream::Held::default();
                response.buffer.clear();
                response.forwarded = body;
                response.ended = true;
            }
            return;
        }
        // From the request path: through this plugin's encoder callbacks.
        let end_of_stream = body.is_empty();
        if let Some(stream) = self.state().http_mut(context) {
            stream.response.started = true;
        }
        self.flow_headers(context, Side::Response, headers, end_of_stream);
        if !end_of_stream {
            self.flow_body(context, Side::Response, body, true);
        }
        // The request was answered, never resumed: the stream's action stays Pause.
        if let Some(stream) = self.state().http_mut(context) {
            stream.action = 1;
        }
    }

    fn delete_root(&self, root: u32) {
        if !self.state().is_live(root) {
            return;
        }
        let (_, deferred) = self.invoke(Export::Delete { context_id: root }, Payload::None);
        self.state().delete(root);
        self.apply(deferred);
    }

    // ---- HTTP flows --------------------------------------------------------------------

    fn export_headers(
        side: Side,
        context_id: u32,
        num_headers: u32,
        end_of_stream: bool,
    ) -> Export {
        match side {
            Side::Request => Export::RequestHeaders {
                context_id,
                num_headers,
                end_of_stream,
            },
            Side::Response => Export::ResponseHeaders {
                context_id,
                num_headers,
                end_of_stream,
            },
        }
    }

    pub(crate) fn flow_headers(
        &self,
        context: u32,
        side: Side,
        headers: Map,
        end_of_stream: bool,
    ) -> u32 {
        let count = len32(headers.len());
        {
            let mut s = self.state();
            let Some(stream) = s.http_mut(context) else {
                return 0;
            };
            let flow = stream.flow_mut(side);
            flow.started = true;
            flow.headers = Some(headers);
            flow.ended = end_of_stream;
        }
        let (raw, deferred) = self.invoke(
            Self::export_headers(side, context, count, end_of_stream),
            Payload::None,
        );
        let replied = reply_for(&deferred, context);
        let action = u32::from(replied || stops(raw));
        if let Some(stream) = self.state().http_mut(context) {
            stream.action = action;
            stream.flow_mut(side).paused = if action == 1 && !replied {
                Pause::Headers
            } else {
                Pause::No
            };
        }
        self.apply(deferred);
        action
    }

    pub(crate) fn flow_body(
        &self,
        context: u32,
        side: Side,
        chunk: Vec<u8>,
        end_of_stream: bool,
    ) -> u32 {
        let size = {
            let mut s = self.state();
            let Some(stream) = s.http_mut(context) else {
                return 0;
            };
            let flow = stream.flow_mut(side);
            if flow.paused == Pause::Headers {
                flow.held.any = true;
                flow.held.body.extend_from_slice(&chunk);
                flow.held.end_of_stream = end_of_stream;
                flow.ended = end_of_stream;
                return 1;
            }
            flow.buffer.extend_from_slice(&chunk);
            flow.ended = end_of_stream;
            len32(flow.buffer.len())
        };
        let export = match side {
            Side::Request => Export::RequestBody {
                context_id: context,
                body_size: size,
                end_of_stream,
            },
            Side::Response => Export::ResponseBody {
                context_id: context,
                body_size: size,
                end_of_stream,
            },
        };
        let (raw, deferred) = self.invoke(export, Payload::None);
        let replied = reply_for(&deferred, context);
        let action = u32::from(replied || raw != 0);
        if let Some(stream) = self.state().http_mut(context) {
            stream.action = action;
            let flow = stream.flow_mut(side);
            match raw {
                _ if replied => flow.paused = Pause::No,
                0 => {
                    flow.forward();
                    flow.paused = Pause::No;
                }
                // StopIterationNoBuffer: Envoy does not keep the chunk.
                3 => {
                    flow.buffer.clear();
                    flow.paused = Pause::Body;
                }
                _ => flow.paused = Pause::Body,
            }
        }
        self.apply(deferred);
        action
    }

    pub(crate) fn flow_trailers(&self, context: u32, side: Side, trailers: Map) -> u32 {
        let count = {
            let mut s = self.state();
            let Some(stream) = s.http_mut(context) else {
                return 0;
            };
            let flow = stream.flow_mut(side);
            flow.ended = true;
            if flow.paused == Pause::Headers {
                flow.held.any = true;
                flow.held.trailers = Some(trailers);
                return 1;
            }
            let count = len32(trailers.len());
            flow.trailers = Some(trailers);
            count
        };
        let export = match side {
            Side::Request => Export::RequestTrailers {
                context_id: context,
                num_trailers: count,
            },
            Side::Response => Export::ResponseTrailers {
                context_id: context,
                num_trailers: count,
            },
        };
        let (raw, deferred) = self.invoke(export, Payload::None);
        let replied = reply_for(&deferred, context);
        let action = u32::from(replied || raw != 0);
        if let Some(stream) = self.state().http_mut(context) {
            stream.action = action;
            let flow = stream.flow_mut(side);
            if replied {
                flow.paused = Pause::No;
            } else if raw == 0 {
                flow.forward();
                flow.paused = Pause::No;
            } else {
                flow.paused = Pause::Trailers;
            }
        }
        self.apply(deferred);
        action
    }

    /// Delivers what arrived while headers were paused, as Envoy does on resume.
    fn deliver_held(&self, context: u32, side: Side) {
        let held = {
            let mut s = self.state();
            let Some(stream) = s.http_mut(context) else {
                return;
            };
            core::mem::take(&mut stream.flow_mut(side).held)
        };
        if !held.any {
            return;
        }
        let trailers_follow = held.trailers.is_some();
        if !held.body.is_empty() || (held.end_of_stream && !trailers_follow) {
            self.flow_body(
                context,
                side,
                held.body,
                held.end_of_stream && !trailers_follow,
            );
        }
        if let Some(trailers) = held.trailers {
            let live = self
                .state()
                .http(context)
                .is_some_and(|s| s.local_reply.is_none() && !s.reset);
            if live {
                self.flow_trailers(context, side, trailers);
            }
        }
    }

    // ---- test-facing HTTP operations (with bad-input checks) -----------------------------------

    fn check_http(&self, context: u32, side: Side, what: &str) {
        let s = self.state.borrow();
        let Some(stream) = s.http(context) else {
            panic!(
                "HTTP stream {context} is gone (completed or never created); it accepts no {side} {what}",
                side = side.name()
            );
        };
        if let Some(reply) = &stream.local_reply {
            panic!(
                "the plugin sent a local response ({}) from {}; Envoy passes no more {} data to stream {context}. \
                 Inspect stream.local_response(), then call complete()",
                reply.status_code,
                stream.local_reply_from,
                if side == Side::Request {
                    "request"
                } else {
                    "upstream response"
                }
            );
        }
        assert!(
            !stream.reset,
            "the plugin reset stream {context} (proxy_close_stream); Envoy delivers nothing more to it. Check \
             stream.is_reset(), then call complete()"
        );
        let flow = stream.flow(side);
        let name = side.name();
        if what == "headers" {
            assert!(
                !flow.started,
                "the {name} headers of stream {context} were already sent; send them once"
            );
            if side == Side::Response {
                assert!(
                    stream.request.started,
                    "stream {context}: send the request headers before the response headers"
                );
            }
        } else {
            assert!(
                flow.started,
                "stream {context}: send the {name} headers before the {name} {what}"
            );
            assert!(
                !flow.ended,
                "stream {context}: the {name} already ended (end_of_stream was true, or trailers were sent); no \
                 more {name} {what} can follow"
            );
        }
    }

    pub(crate) fn http_headers(
        &self,
        context: u32,
        side: Side,
        headers: &[(&str, &str)],
        end_of_stream: bool,
    ) -> u32 {
        self.op(|| {
            self.check_http(context, side, "headers");
            self.flow_headers(context, side, stream::from_text(headers), end_of_stream)
        })
    }

    pub(crate) fn http_body(
        &self,
        context: u32,
        side: Side,
        body: &[u8],
        end_of_stream: bool,
    ) -> u32 {
        self.op(|| {
            self.check_http(context, side, "body");
            self.flow_body(context, side, body.to_vec(), end_of_stream)
        })
    }

    pub(crate) fn http_trailers(&self, context: u32, side: Side, trailers: &[(&str, &str)]) -> u32 {
        self.op(|| {
            self.check_http(context, side, "trailers");
            self.flow_trailers(context, side, stream::from_text(trailers))
        })
    }

    pub(crate) fn complete_http(&self, context: u32) {
        self.op(|| {
            assert!(
                self.state().http(context).is_some(),
                "HTTP stream {context} was already completed"
            );
            for export in [
                Export::Log {
                    context_id: context,
                },
                Export::Done {
                    context_id: context,
                },
            ] {
                let (_, deferred) = self.invoke(export, Payload::None);
                self.apply(deferred);
            }
            let (_, deferred) = self.invoke(
                Export::Delete {
                    context_id: context,
                },
                Payload::None,
            );
            self.state().delete(context);
            self.apply(deferred);
        })
    }

    // ---- TCP -----------------------------------------------------------------------------

    pub(crate) fn tcp_data(
        &self,
        context: u32,
        downstream: bool,
        data: &[u8],
        end_of_stream: bool,
    ) -> u32 {
        self.op(|| {
            let size = {
                let mut s = self.state();
                let Some(conn) = s.tcp_mut(context) else {
                    panic!("TCP connection {context} is gone (completed); it accepts no more data")
                };
                let (flow, side) =
                    if downstream { (&mut conn.downstream, "downstream") } else { (&mut conn.upstream, "upstream") };
                assert!(!flow.closed, "connection {context}: the {side} side was already closed; it sends no more data");
                assert!(!flow.ended, "connection {context}: the {side} side already ended (end_of_stream was true)");
                flow.buffer.extend_from_slice(data);
                flow.ended = end_of_stream;
                len32(flow.buffer.len())
            };
            let export = if downstream {
                Export::DownstreamData { context_id: context, data_size: size, end_of_stream }
            } else {
                Export::UpstreamData { context_id: context, data_size: size, end_of_stream }
            };
            let (raw, deferred) = self.invoke(export, Payload::None);
            let action = u32::from(raw != 0);
            if let Some(conn) = self.state().tcp_mut(context) {
                conn.action = action;
                let flow = if downstream { &mut conn.downstream } else { &mut conn.upstream };
                if action == 0 {
                    flow.forward();
                    flow.paused = false;
                } else {
                    flow.paused = true;
                }
            }
            self.apply(deferred);
            if !downstream && end_of_stream {
                // Envoy reports the upstream's end of stream as a close of unknown origin.
                self.tcp_close_inner(context, false, 0);
            }
            action
        })
    }

    fn tcp_close_inner(&self, context: u32, downstream: bool, peer: u32) {
        if let Some(conn) = self.state().tcp_mut(context) {
            if downstream {
                &mut conn.downstream
            } else {
                &mut conn.upstream
            }
            .closed = true;
        }
        let export = if downstream {
            Export::DownstreamConnectionClose {
                context_id: context,
                peer_type: peer,
            }
        } else {
            Export::UpstreamConnectionClose {
                context_id: context,
                peer_type: peer,
            }
        };
        let (_, deferred) = self.invoke(export, Payload::None);
        self.apply(deferred);
    }

    pub(crate) fn tcp_close(&self, context: u32, downstream: bool, peer: u32) {
        self.op(|| {
            assert!(
                self.state().tcp(context).is_some(),
                "TCP connection {context} is gone (completed)"
            );
            self.tcp_close_inner(context, downstream, peer);
        })
    }

    pub(crate) fn complete_tcp(&self, context: u32) {
        self.op(|| {
            assert!(
                self.state().tcp(context).is_some(),
                "TCP connection {context} was already completed"
            );
            for export in [
                Export::Done {
                    context_id: context,
                },
                Export::Log {
                    context_id: context,
                },
            ] {
                let (_, deferred) = self.invoke(export, Payload::None);
                self.apply(deferred);
            }
            let (_, deferred) = self.invoke(
                Export::Delete {
                    context_id: context,
                },
                Payload::None,
            );
            self.state().delete(context);
            self.apply(deferred);
        })
    }

    // ---- VM and plugin lifecycle ------------------------------------------------------------

    fn initialize(&self) {
        let first = {
            let mut s = self.state();
            !core::mem::replace(&mut s.initialized, true)
        };
        if first {
            let (_, deferred) = self.invoke(Export::Initialize, Payload::None);
            self.apply(deferred);
        }
    }

    fn start_vm_inner(&self) -> bool {
        self.initialize();
        let (plugins, vm_size) = {
            let s = self.state.borrow();
            (
                s.config.plugins.len(),
                len32(s.config.vm_configuration.len()),
            )
        };
        let created = self
            .state
            .borrow()
            .contexts
            .values()
            .filter(|c| matches!(c, Context::Root(_)))
            .count()
            + self.state.borrow().deleted.len();
        if created == 0 {
            for plugin in 0..plugins {
                let id = {
                    let mut s = self.state();
                    let id = s.alloc_id();
                    s.contexts.insert(
                        id,
                        Context::Root(Root {
                            plugin,
                            ..Root::default()
                        }),
                    );
                    s.roots.push(id);
                    id
                };
                let (_, deferred) = self.invoke(
                    Export::ContextCreate {
                        context_id: id,
                        parent_id: 0,
                    },
                    Payload::None,
                );
                self.apply(deferred);
                let (raw, deferred) = self.invoke(
                    Export::VmStart {
                        context_id: id,
                        configuration_size: vm_size,
                    },
                    Payload::None,
                );
                if let Some(root) = self.state().root_mut(id) {
                    root.vm_started = Some(raw != 0);
                }
                self.apply(deferred);
            }
        }
        let s = self.state.borrow();
        s.roots
            .iter()
            .all(|r| s.root(*r).is_some_and(|root| root.vm_started == Some(true)))
    }

    fn start_plugin_inner(&self) -> bool {
        self.start_vm_inner();
        let roots = self.state.borrow().roots.clone();
        for id in roots {
            let size = {
                let s = self.state.borrow();
                let Some(root) = s.root(id) else { continue };
                if root.configured.is_some() || root.vm_started != Some(true) {
                    continue;
                }
                len32(
                    s.config
                        .plugins
                        .get(root.plugin)
                        .map_or(0, |p| p.configuration.len()),
                )
            };
            let (raw, deferred) = self.invoke(
                Export::Configure {
                    context_id: id,
                    configuration_size: size,
                },
                Payload::None,
            );
            if let Some(root) = self.state().root_mut(id) {
                root.configured = Some(raw != 0);
            }
            self.apply(deferred);
        }
        self.started()
    }

    pub(crate) fn started(&self) -> bool {
        let s = self.state.borrow();
        !s.roots.is_empty()
            && s.roots.iter().all(|r| {
                s.root(*r).is_some_and(|root| {
                    root.vm_started == Some(true) && root.configured == Some(true)
                })
            })
    }

    pub(crate) fn start_vm(&self) -> bool {
        self.op(|| self.start_vm_inner())
    }

    pub(crate) fn start_plugin(&self) -> bool {
        self.op(|| self.start_plugin_inner())
    }

    pub(crate) fn start(&self) -> bool {
        self.op(|| self.start_vm_inner() && self.start_plugin_inner())
    }

    fn ensure_started(&self) {
        if self.started() {
            return;
        }
        if !self.start_plugin_inner() {
            let errors: Vec<String> = self
                .state
                .borrow()
                .logs
                .iter()
                .filter(|l| l.level >= crate::logging::LogLevel::Warn)
                .map(|l| format!("  {l}"))
                .collect();
            panic!(
                "the plugin failed to start (on_vm_start or on_configure returned false), so Envoy would create no \
                 streams. Its warnings and errors:\n{}",
                if errors.is_empty() {
                    "  (none)".to_owned()
                } else {
                    errors.join("\n")
                }
            );
        }
    }

    fn pick_root(&self, root: Option<u32>) -> u32 {
        let s = self.state.borrow();
        match root {
            Some(id) => {
                assert!(
                    s.root(id).is_some(),
                    "context {id} is not a live plugin context; the plugin contexts are {:?}",
                    s.roots
                );
                id
            }
            None => *s
                .roots
                .first()
                .unwrap_or_else(|| panic!("the VM has no live plugin context")),
        }
    }

    pub(crate) fn new_http_stream(&self, root: Option<u32>) -> u32 {
        self.op(|| {
            self.ensure_started();
            let root = self.pick_root(root);
            let id = {
                let mut s = self.state();
                let id = s.alloc_id();
                s.contexts.insert(
                    id,
                    Context::Http(HttpStream {
                        root,
                        ..HttpStream::default()
                    }),
                );
                id
            };
            let (_, deferred) = self.invoke(
                Export::ContextCreate {
                    context_id: id,
                    parent_id: root,
                },
                Payload::None,
            );
            self.apply(deferred);
            id
        })
    }

    pub(crate) fn new_tcp_connection(&self, root: Option<u32>) -> u32 {
        self.op(|| {
            self.ensure_started();
            let root = self.pick_root(root);
            let id = {
                let mut s = self.state();
                let id = s.alloc_id();
                s.contexts.insert(
                    id,
                    Context::Tcp(TcpConnection {
                        root,
                        ..TcpConnection::default()
                    }),
                );
                id
            };
            let (_, deferred) = self.invoke(
                Export::ContextCreate {
                    context_id: id,
                    parent_id: root,
                },
                Payload::None,
            );
            self.apply(deferred);
            let (raw, deferred) =
                self.invoke(Export::NewConnection { context_id: id }, Payload::None);
            if let Some(conn) = self.state().tcp_mut(id) {
                conn.action = u32::from(raw != 0);
            }
            self.apply(deferred);
            id
        })
    }

    pub(crate) fn finish(&self) -> bool {
        self.op(|| {
            let roots = self.state.borrow().roots.clone();
            let mut all = true;
            for root in roots {
                let (raw, deferred) = self.invoke(Export::Done { context_id: root }, Payload::None);
                if raw != 0 {
                    let (_, more) = self.invoke(Export::Delete { context_id: root }, Payload::None);
                    self.state().delete(root);
                    self.apply(deferred);
                    self.apply(more);
                } else {
                    all = false;
                    if let Some(r) = self.state().root_mut(root) {
                        r.pending_done = true;
                    }
                    self.apply(deferred);
                }
            }
            all
        })
    }

    // ---- time -------------------------------------------------------------------------------

    fn fire_tick(&self, root: u32) {
        let (_, deferred) = self.invoke(Export::Tick { context_id: root }, Payload::None);
        {
            let mut s = self.state();
            let now = s.now;
            if let Some(r) = s.root_mut(root) {
                r.next_tick =
                    (r.tick_period_ms > 0).then(|| now + u64::from(r.tick_period_ms) * 1_000_000);
            }
        }
        self.apply(deferred);
    }

    pub(crate) fn tick(&self) {
        self.op(|| {
            let due: Vec<u32> = {
                let s = self.state.borrow();
                s.roots.iter().copied().filter(|r| s.root(*r).is_some_and(|root| root.tick_period_ms > 0)).collect()
            };
            assert!(
                !due.is_empty(),
                "tick(): no plugin context set a tick period (proxy_set_tick_period_milliseconds), so Envoy would \
                 never call proxy_on_tick"
            );
            for root in due {
                self.fire_tick(root);
            }
        })
    }

    pub(crate) fn advance_time(&self, by: Duration) {
        self.op(|| {
            let target = {
                let s = self.state.borrow();
                s.now
                    .saturating_add(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX))
            };
            loop {
                let next = {
                    let s = self.state.borrow();
                    let ticks = s.roots.iter().filter_map(|r| {
                        s.root(*r)
                            .and_then(|root| root.next_tick)
                            .map(|t| (t, 0, *r))
                    });
                    let timeouts = s
                        .http_calls
                        .iter()
                        .filter_map(|(token, call)| call.deadline.map(|t| (t, 1, *token)));
                    ticks.chain(timeouts).filter(|(t, _, _)| *t <= target).min()
                };
                let Some((time, kind, id)) = next else { break };
                self.set_now(time);
                if kind == 0 {
                    self.fire_tick(id);
                } else {
                    self.deliver_http(
                        id,
                        timeout_headers(),
                        b"upstream request timeout".to_vec(),
                        Vec::new(),
                    );
                }
            }
            self.set_now(target);
        })
    }

    fn set_now(&self, time: u64) {
        let mut s = self.state();
        if time > s.now {
            let step = time - s.now;
            s.now = time;
            s.monotonic = s.monotonic.saturating_add(step);
        }
    }

    // ---- callouts --------------------------------------------------------------------------

    fn callout_target(&self, root: u32, caller: u32) -> u32 {
        if self.state.borrow().config.fidelity.callouts_on_root {
            root
        } else {
            caller
        }
    }

    pub(crate) fn deliver_http(&self, token: u32, headers: Map, body: Vec<u8>, trailers: Map) {
        let Some(call) = self.state().http_calls.remove(&token) else {
            return;
        };
        let target = self.callout_target(call.root, call.record.context_id.0);
        if !self.state().is_live(target) {
            eprintln!(
                "[proxywasm mock] HTTP callout {token}: context {target} is gone; the response is dropped, as Envoy \
                 does"
            );
            return;
        }
        if headers.is_empty() {
            if let Some(root) = self.state().root_mut(call.root) {
                root.status = (status::BROKEN_CONNECTION, b"reset".to_vec());
            }
        }
        let export = Export::HttpCallResponse {
            context_id: target,
            token,
            num_headers: len32(headers.len()),
            body_size: len32(body.len()),
            num_trailers: len32(trailers.len()),
        };
        let (_, deferred) = self.invoke(
            export,
            Payload::HttpResponse {
                headers,
                body,
                trailers,
            },
        );
        if let Some(root) = self.state().root_mut(call.root) {
            root.status.1.clear();
        }
        self.apply(deferred);
    }

    fn pending_http(&self, token: u32) {
        let s = self.state.borrow();
        if s.http_calls.contains_key(&token) {
            return;
        }
        let pending: Vec<String> = s
            .http_calls
            .values()
            .map(|c| {
                format!(
                    "{} (to {:?}, from context {})",
                    c.record.token.0, c.record.upstream, c.record.context_id
                )
            })
            .collect();
        panic!(
            "no pending HTTP callout has token {token}; expected one of [{}] (a callout is answered once, and only \
             after the plugin dispatched it)",
            pending.join(", ")
        );
    }

    pub(crate) fn respond_http(
        &self,
        token: u32,
        headers: &[(&str, &str)],
        body: &[u8],
        trailers: &[(&str, &str)],
    ) {
        self.op(|| {
            self.pending_http(token);
            self.deliver_http(
                token,
                stream::from_text(headers),
                body.to_vec(),
                stream::from_text(trailers),
            );
        })
    }

    pub(crate) fn fail_http(&self, token: u32) {
        self.op(|| {
            self.pending_http(token);
            self.deliver_http(token, Vec::new(), Vec::new(), Vec::new());
        })
    }

    pub(crate) fn time_out_http(&self, token: u32) {
        self.op(|| {
            self.pending_http(token);
            self.deliver_http(
                token,
                timeout_headers(),
                b"upstream request timeout".to_vec(),
                Vec::new(),
            );
        })
    }

    fn pending_grpc(&self, token: u32, stream_only: bool) -> (u32, u32) {
        let s = self.state.borrow();
        match s.grpc_calls.get(&token) {
            Some(call) => {
                assert!(
                    !stream_only || call.record.kind == super::records::GrpcKind::Stream,
                    "gRPC token {token} is a unary call; metadata and stream messages only exist on streams \
                     (answer a call with respond_to_grpc_call or fail_grpc_call)"
                );
                (call.root, call.record.context_id.0)
            }
            None => {
                let open: Vec<String> = s
                    .grpc_calls
                    .values()
                    .map(|c| {
                        format!(
                            "{} ({:?} {}/{})",
                            c.record.token.0, c.record.kind, c.record.service_name, c.record.method
                        )
                    })
                    .collect();
                panic!(
                    "no open gRPC call or stream has token {token}; expected one of [{}] (cancelled and finished calls \
                     take no more events)",
                    open.join(", ")
                );
            }
        }
    }

    pub(crate) fn grpc_event(&self, token: u32, event: GrpcDelivery) {
        self.op(|| {
            let stream_only = matches!(
                event,
                GrpcDelivery::InitialMetadata(_) | GrpcDelivery::TrailingMetadata(_)
            );
            let (root, caller) = self.pending_grpc(token, stream_only);
            let target = self.callout_target(root, caller);
            let (export, payload, finished) = match event {
                GrpcDelivery::InitialMetadata(map) => (
                    Export::GrpcReceiveInitialMetadata {
                        context_id: target,
                        token,
                        num_elements: len32(map.len()),
                    },
                    Payload::Metadata(map),
                    false,
                ),
                GrpcDelivery::Message(message) => {
                    let unary = self
                        .state
                        .borrow()
                        .grpc_calls
                        .get(&token)
                        .is_some_and(|c| c.record.kind == super::records::GrpcKind::Call);
                    (
                        Export::GrpcReceive {
                            context_id: target,
                            token,
                            message_size: len32(message.len()),
                        },
                        Payload::Message(message),
                        unary,
                    )
                }
                GrpcDelivery::TrailingMetadata(map) => (
                    Export::GrpcReceiveTrailingMetadata {
                        context_id: target,
                        token,
                        num_elements: len32(map.len()),
                    },
                    Payload::Metadata(map),
                    false,
                ),
                GrpcDelivery::Close(code, message) => {
                    if let Some(r) = self.state().root_mut(root) {
                        r.status = (code, message);
                    }
                    (
                        Export::GrpcClose {
                            context_id: target,
                            token,
                            status_code: code,
                        },
                        Payload::None,
                        true,
                    )
                }
            };
            if finished {
                self.state().grpc_calls.remove(&token);
            }
            if !self.state().is_live(target) {
                return;
            }
            let (_, deferred) = self.invoke(export, payload);
            if let Some(r) = self.state().root_mut(root) {
                r.status.1.clear();
            }
            self.apply(deferred);
        })
    }

    pub(crate) fn respond_dns(&self, token: u32, results: &[(u32, &str)]) {
        self.op(|| {
            let lookup = {
                let mut s = self.state();
                let lookup = s.dns.remove(&token);
                let Some(lookup) = lookup else {
                    let open: Vec<String> = s
                        .dns
                        .values()
                        .map(|l| format!("{} ({})", l.token, l.name))
                        .collect();
                    drop(s);
                    panic!(
                        "no pending DNS lookup has token {token}; expected one of [{}]",
                        open.join(", ")
                    );
                };
                lookup
            };
            let mut data = Vec::new();
            data.extend_from_slice(&len32(results.len()).to_le_bytes());
            for (ttl, _) in results {
                data.extend_from_slice(&ttl.to_le_bytes());
            }
            for (_, address) in results {
                data.extend_from_slice(address.as_bytes());
                data.push(0);
            }
            let (root, size) = {
                let mut s = self.state();
                s.call_data = data.clone();
                (
                    s.root_of(lookup.context_id.0),
                    len32(if results.is_empty() { 0 } else { data.len() }),
                )
            };
            let target = self.callout_target(root, lookup.context_id.0);
            if !self.state().is_live(target) {
                return;
            }
            let (_, deferred) = self.invoke(
                Export::ResolveDns {
                    context_id: target,
                    token,
                    data_size: size,
                },
                Payload::CallData(data),
            );
            self.apply(deferred);
        })
    }

    pub(crate) fn foreign_function_callback(
        &self,
        root: Option<u32>,
        function_id: u32,
        arguments: &[u8],
    ) {
        self.op(|| {
            self.ensure_started();
            let root = self.pick_root(root);
            self.state().call_data = arguments.to_vec();
            let export = Export::ForeignFunction {
                context_id: root,
                function_id,
                arguments_size: len32(arguments.len()),
            };
            let (_, deferred) = self.invoke(export, Payload::CallData(arguments.to_vec()));
            self.apply(deferred);
        })
    }

    pub(crate) fn enqueue(&self, token: u32, data: &[u8]) {
        self.op(|| {
            let result = self.state().enqueue(token, data);
            if result.is_err() {
                panic!("no shared queue has id {token}; a plugin must register it first (proxy_register_shared_queue)");
            }
        })
    }

    /// Calls one export directly, outside the emulator's bookkeeping (for
    /// lifecycle-violation and re-entrancy tests).
    pub(crate) fn call_export(&self, export: Export) -> u32 {
        self.op(|| {
            let (raw, deferred) = self.invoke(export, Payload::None);
            self.apply(deferred);
            raw
        })
    }

    /// Runs `code` as plugin code on `context`, inside `export` (as if the
    /// plugin ran it from that callback) or, with `None`, inside no callback
    /// in particular (`MockHost::run`).
    pub(crate) fn run_in<R>(
        &self,
        context: u32,
        export: Option<Export>,
        code: impl FnOnce() -> R,
    ) -> R {
        self.op(|| {
            self.state().push_frame(context, export, Payload::None);
            let mut code = Some(code);
            let mut result = None;
            let unwinding = FrameGuard(self);
            self.guest.run_native(context, &mut || {
                if let Some(code) = code.take() {
                    result = Some(code());
                }
            });
            core::mem::forget(unwinding);
            let frame = self.state().pop_frame();
            self.apply(frame.map(|f| f.deferred).unwrap_or_default());
            result.unwrap_or_else(|| panic!("the guest did not run the code"))
        })
    }
}

/// Pops the running frame if plugin or test code panics through a callback,
/// so a test that catches the panic finds the host consistent.
struct FrameGuard<'a>(&'a Vm);

impl Drop for FrameGuard<'_> {
    fn drop(&mut self) {
        if let Some(mut state) = self.0.try_state() {
            state.pop_frame();
        }
    }
}

/// Leaves a top-level operation, also when it panics.
struct OpGuard<'a>(&'a Vm);

impl Drop for OpGuard<'_> {
    fn drop(&mut self) {
        self.0.ops.set(self.0.ops.get().saturating_sub(1));
    }
}

/// Events a test delivers on a gRPC call or stream.
#[derive(Clone, Debug)]
pub(crate) enum GrpcDelivery {
    InitialMetadata(Map),
    Message(Vec<u8>),
    TrailingMetadata(Map),
    Close(u32, Vec<u8>),
}

fn timeout_headers() -> Map {
    stream::from_text(&[
        (":status", "504"),
        ("content-length", "24"),
        ("content-type", "text/plain"),
    ])
}

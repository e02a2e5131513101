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

use super::records::{HostAllocation, LocalReply};
use super::state::{Deferred, HostState, Payload};
use super::stream::{self, Context, HttpStream, Map, Pause, Root, Side, TcpConnection};
use super::world::{Event, MockWorld};
use crate::abi::wire::stream as stream_type;
use core::cell::{Cell, RefCell, RefMut};
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

/// Test code armed to run after a hostcall.
type TestCode = Box<dyn FnOnce()>;

/// One emulated VM: the [`HostState`] and the [`Guest`] that runs the plugin.
pub struct Vm {
    pub(super) state: RefCell<HostState>,
    pub(super) guest: Box<dyn Guest>,
    pub(super) world: MockWorld,
    pub(super) index: usize,
    pub(super) ops: Cell<u32>,
    pub(super) pumping: Cell<bool>,
    pub(super) reported: Cell<usize>,
    pub(super) reentry: RefCell<Vec<(String, Export)>>,
    pub(super) reentries: RefCell<Vec<(Export, u32)>>,
    /// One-shot test code run after a hostcall ([`Vm::interleave_on`]).
    pub(super) interleaved: RefCell<Vec<(String, TestCode)>>,
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
pub(super) fn stops(raw: u32) -> bool {
    raw != 0 && raw != 2
}

pub(super) fn reply_for(deferred: &[Deferred], context: u32) -> bool {
    deferred
        .iter()
        .any(|d| matches!(d, Deferred::LocalReply { context: c, .. } if *c == context))
}

pub(super) fn len32(len: usize) -> u32 {
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
                interleaved: RefCell::new(Vec::new()),
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

    /// Restricted mode for hostcall `name` ([`HostState::admit`], the
    /// [`Policy`](super::Policy)): a front door traps, with the reason given,
    /// when it refuses. (With the state busy, the hostcall itself answers
    /// `INTERNAL_FAILURE`.)
    ///
    /// # Errors
    /// The reason for the trap.
    pub fn admit(&self, name: &'static str) -> Result<(), String> {
        self.try_state()
            .map_or(Ok(()), |mut state| state.admit(name))
    }

    /// Runs `hand_over` (which calls the plugin's allocation export) in
    /// [`Phase::Allocating`](super::Phase), where the policy restricts the
    /// hostcalls the allocator may make.
    pub fn handing_over<R>(&self, hand_over: impl FnOnce() -> R) -> R {
        let step = |entering: bool| {
            if let Some(mut state) = self.try_state() {
                state.handing_over = if entering {
                    state.handing_over.saturating_add(1)
                } else {
                    state.handing_over.saturating_sub(1)
                };
            }
        };
        step(true);
        let result = hand_over();
        step(false);
        result
    }

    /// Call after serving the hostcall `name`: runs the code armed for it
    /// with [`Vm::interleave_on`], then a re-entry hook armed with
    /// [`Vm::reenter_on`].
    pub fn after_hostcall(&self, name: &str) {
        let code = self
            .interleaved
            .try_borrow_mut()
            .ok()
            .and_then(|mut armed| {
                let at = armed.iter().position(|(n, _)| n == name)?;
                Some(armed.remove(at).1)
            });
        if let Some(code) = code {
            code();
        }
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
            let raw = self.call(export, Payload::None);
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

    /// Arms one-shot test code: the next time the plugin makes `hostcall`,
    /// the host runs `code` before returning to the plugin, as if another
    /// worker ran in between (`code` may drive other VMs of the world).
    pub fn interleave_on(&self, hostcall: &str, code: Box<dyn FnOnce()>) {
        self.interleaved
            .borrow_mut()
            .push((hostcall.to_owned(), code));
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

    /// [`Vm::invoke`], then the deferred effects: the raw result.
    pub(crate) fn call(&self, export: Export, payload: Payload) -> u32 {
        let (raw, deferred) = self.invoke(export, payload);
        self.apply(deferred);
        raw
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

    pub(super) fn settle(&self) {
        self.pump();
        self.check_strict();
    }

    pub(super) fn pump(&self) {
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
                            let export = Export::QueueReady {
                                context_id: root,
                                queue_id: token,
                            };
                            self.call(export, Payload::None);
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

    pub(super) fn check_strict(&self) {
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
                Deferred::DeleteRoot { root } => self.delete(root),
            }
        }
    }

    /// `proxy_continue_stream`, once the callback returned: an HTTP side
    /// paused at its headers gets what arrived meanwhile; a body, trailers or
    /// TCP data paused is forwarded.
    pub(super) fn resume(&self, context: u32, kind: u32) {
        let (side, was) = {
            let mut s = self.state();
            let (flow, action, side) = match (s.contexts.get_mut(&context), kind) {
                (Some(Context::Http(h)), stream_type::HTTP_REQUEST) => {
                    (&mut h.request, &mut h.action, Some(Side::Request))
                }
                (Some(Context::Http(h)), stream_type::HTTP_RESPONSE) => {
                    (&mut h.response, &mut h.action, Some(Side::Response))
                }
                (Some(Context::Tcp(c)), stream_type::DOWNSTREAM) => {
                    (&mut c.downstream, &mut c.action, None)
                }
                _ => return,
            };
            let was = core::mem::take(&mut flow.paused);
            match was {
                Pause::No => return,
                Pause::Headers => {}
                Pause::HeadersOnly | Pause::Body | Pause::Trailers => flow.forward(),
            }
            *action = 0;
            (side, was)
        };
        if let (Some(side), Pause::Headers) = (side, was) {
            self.deliver_held(context, side);
        }
    }

    pub(super) fn close(&self, context: u32, kind: u32) {
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

    pub(super) fn local_reply(&self, context: u32, reply: LocalReply, from: &'static str) {
        let grpc_request = self.state().http(context).is_some_and(|stream| {
            let headers = stream.request.headers.as_deref().unwrap_or_default();
            headers.iter().any(|(name, value)| {
                name.eq_ignore_ascii_case(b"content-type") && value.starts_with(b"application/grpc")
            })
        });
        let (text, body) = if grpc_request {
            grpc_reply_shape(&reply)
        } else {
            http_reply_shape(&reply)
        };
        let headers: Map = text
            .into_iter()
            .map(|(k, v)| (k.into_bytes(), v.into_bytes()))
            .collect();
        let (response_started, response_held, replacing, through_filter) = {
            let mut s = self.state();
            let through_filter = s.config.fidelity.local_reply_through_filter;
            let Some(stream) = s.http_mut(context) else {
                return;
            };
            // A second reply is dropped, except one from the response
            // callbacks the plugin's own reply passes through: it goes where
            // any reply from there goes (below; book:
            // reference/envoy-1.40.md#local-replies).
            if (stream.local_reply.is_some() && !stream.reply_in_filter) || stream.reset {
                return;
            }
            stream.local_reply = Some(reply);
            stream.local_reply_from = from;
            stream.request_kept |=
                stream.request.paused != Pause::No || from.starts_with("proxy_on_request_");
            stream.request.paused = Pause::No;
            stream.request.held = stream::Held::default();
            stream.request.ended = true;
            stream.action = 1;
            (
                stream.response.started,
                matches!(stream.response.paused, Pause::Headers | Pause::HeadersOnly),
                // (From `on_response_headers` for the plugin's own reply:
                // that reply's headers have not gone out yet.)
                from == "proxy_on_response_headers" && stream.reply_in_filter,
                through_filter,
            )
        };
        if response_started && !response_held && !replacing {
            // Response headers already went out: Envoy resets the stream.
            if let Some(stream) = self.state().http_mut(context) {
                stream.reset = true;
            }
            return;
        }
        if response_started || !through_filter {
            // Headers held by this filter (or the rule is off, or the reply
            // replaces the plugin's own): straight to the codec.
            if let Some(stream) = self.state().http_mut(context) {
                stream.reply_in_filter = false;
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
            stream.reply_in_filter = true;
        }
        self.flow_headers(context, Side::Response, headers, end_of_stream);
        // (Still in the filter unless `on_response_headers` replaced it.)
        let in_filter = self
            .state()
            .http(context)
            .is_some_and(|stream| stream.reply_in_filter);
        if !end_of_stream && in_filter {
            self.flow_body(context, Side::Response, body, true);
        }
        // The request was answered, never resumed: the stream's action stays Pause.
        if let Some(stream) = self.state().http_mut(context) {
            stream.reply_in_filter = false;
            stream.action = 1;
        }
    }

    /// `on_delete` on a live context, which is gone afterwards.
    pub(super) fn delete(&self, context_id: u32) {
        if !self.state().is_live(context_id) {
            return;
        }
        let (_, deferred) = self.invoke(Export::Delete { context_id }, Payload::None);
        self.state().delete(context_id);
        self.apply(deferred);
    }

    // ---- VM and plugin lifecycle ------------------------------------------------------------

    pub(super) fn initialize(&self) {
        let first = {
            let mut s = self.state();
            !core::mem::replace(&mut s.initialized, true)
        };
        if first {
            self.call(Export::Initialize, Payload::None);
        }
    }

    /// Go `StartVM`: start-up, then `proxy_on_context_create` and
    /// `proxy_on_vm_start` for every plugin (if the VM has none yet).
    pub(super) fn start_vm_inner(&self) -> bool {
        self.initialize();
        if self.fresh() {
            for plugin in 0..self.plugins() {
                self.start_root(plugin);
            }
        }
        let s = self.state.borrow();
        s.roots
            .iter()
            .all(|r| s.root(*r).is_some_and(|root| root.vm_started == Some(true)))
    }

    /// How many plugins the VM is configured with.
    fn plugins(&self) -> usize {
        self.state.borrow().config.plugins.len()
    }

    /// Whether no plugin context was created yet.
    fn fresh(&self) -> bool {
        let s = self.state.borrow();
        s.roots.is_empty() && s.deleted.is_empty()
    }

    /// Creates plugin `plugin`'s context and calls its `proxy_on_vm_start`;
    /// returns the context's id.
    fn start_root(&self, plugin: usize) -> u32 {
        let (context_id, configuration_size) = {
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
            (id, len32(s.config.vm_configuration.len()))
        };
        let create = Export::ContextCreate {
            context_id,
            parent_id: 0,
        };
        self.call(create, Payload::None);
        let start = Export::VmStart {
            context_id,
            configuration_size,
        };
        self.start_step(context_id, start, |root, ok| root.vm_started = Some(ok));
        context_id
    }

    /// Calls a start-up export (`on_vm_start`, `on_configure`) on plugin
    /// `id` and records whether it returned true.
    fn start_step(&self, id: u32, export: Export, record: impl FnOnce(&mut Root, bool)) {
        let (raw, deferred) = self.invoke(export, Payload::None);
        if let Some(root) = self.state().root_mut(id) {
            record(root, raw != 0);
        }
        self.apply(deferred);
    }

    /// `proxy_on_configure` on plugin context `id`, unless it is configured
    /// already or its `on_vm_start` failed.
    fn configure(&self, id: u32) {
        let size = {
            let s = self.state.borrow();
            let Some(root) = s.root(id) else { return };
            if root.configured.is_some() || root.vm_started != Some(true) {
                return;
            }
            let plugin = s.config.plugins.get(root.plugin);
            len32(plugin.map_or(0, |p| p.configuration.len()))
        };
        let configure = Export::Configure {
            context_id: id,
            configuration_size: size,
        };
        self.start_step(id, configure, |root, ok| root.configured = Some(ok));
    }

    /// Go `StartPlugin`: `proxy_on_configure` for every plugin not yet
    /// configured. On a fresh VM, plugin by plugin as Envoy 1.40 does: each
    /// one's `proxy_on_context_create`, `proxy_on_vm_start` and
    /// `proxy_on_configure` before the next one's (book:
    /// reference/lifecycle.md).
    pub(super) fn start_plugin_inner(&self) -> bool {
        self.initialize();
        if self.fresh() {
            for plugin in 0..self.plugins() {
                let id = self.start_root(plugin);
                self.configure(id);
            }
        }
        let roots = self.state.borrow().roots.clone();
        for id in roots {
            self.configure(id);
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

    /// Starts whatever is not started yet: on a fresh VM, every plugin in
    /// turn (`proxy_on_context_create`, `proxy_on_vm_start`,
    /// `proxy_on_configure`), as Envoy does; after [`Vm::start_vm`], the
    /// configuring of each.
    pub(crate) fn start(&self) -> bool {
        self.op(|| self.start_plugin_inner())
    }

    pub(super) fn ensure_started(&self) {
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

    pub(crate) fn pick_root(&self, root: Option<u32>) -> u32 {
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

    /// Creates a stream context (`make` builds it for its root) and calls
    /// `proxy_on_context_create` on it.
    fn create_stream(&self, root: Option<u32>, make: impl FnOnce(u32) -> Context) -> u32 {
        self.ensure_started();
        let root = self.pick_root(root);
        let id = {
            let mut s = self.state();
            let id = s.alloc_id();
            s.contexts.insert(id, make(root));
            id
        };
        let export = Export::ContextCreate {
            context_id: id,
            parent_id: root,
        };
        self.call(export, Payload::None);
        id
    }

    /// Completes stream `context` (a `live` `kind`, or the test fails): its
    /// two closing callbacks in the stream kind's `order` (HTTP: `on_log`
    /// then `on_done`; TCP: the reverse), then `on_delete`.
    pub(super) fn complete(&self, context: u32, live: bool, kind: &str, order: [Export; 2]) {
        assert!(live, "{kind} {context} was already completed");
        self.op(|| {
            for export in order {
                self.call(export, Payload::None);
            }
            self.delete(context);
        });
        self.check_leaks();
    }

    /// The buffers handed to the plugin that it still holds (pruning those
    /// it freed since). Only a front door that sees frees records any (the
    /// native one).
    pub(crate) fn live_host_memory(&self) -> Vec<HostAllocation> {
        let mut s = self.state();
        s.handed
            .retain(|(at, serial, _)| crate::abi::memory::handed::serial(*at) == Some(*serial));
        s.handed
            .iter()
            .map(|(_, _, record)| record.clone())
            .collect()
    }

    /// [`Vm::live_host_memory`] whose context is gone: never freed.
    pub(crate) fn leaked_host_memory(&self) -> Vec<HostAllocation> {
        let live = self.live_host_memory();
        let s = self.state.borrow();
        live.into_iter()
            .filter(|record| !s.is_live(record.context_id.0))
            .collect()
    }

    /// Fails the test if a context that is gone left host memory unfreed
    /// (unless the test turned the check off).
    pub(crate) fn check_leaks(&self) {
        if !self.state.borrow().leak_check {
            return;
        }
        let leaked = self.leaked_host_memory();
        if leaked.is_empty() {
            return;
        }
        let list: Vec<String> = leaked.iter().map(|l| format!("  - {l}")).collect();
        panic!(
            "leak check: the plugin never freed {} buffer(s) the host allocated in its memory for hostcall \
             results, and the contexts that received them are gone:\n{}\nA HostBytes (or a HeaderPairs) kept \
             past its context (mem::forget, a static, Box::leak) is never freed; in Envoy the VM's memory grows \
             with every such request. Keep owned data as Vec/String (into_vec) or drop it; \
             MockHostBuilder::leak_check(false) turns this check off",
            leaked.len(),
            list.join("\n")
        );
    }

    pub(crate) fn new_http_stream(&self, root: Option<u32>) -> u32 {
        self.op(|| {
            self.create_stream(root, |root| {
                Context::Http(HttpStream {
                    root,
                    ..HttpStream::default()
                })
            })
        })
    }

    pub(crate) fn new_tcp_connection(&self, root: Option<u32>) -> u32 {
        self.op(|| {
            let id = self.create_stream(root, |root| {
                Context::Tcp(TcpConnection {
                    root,
                    ..TcpConnection::default()
                })
            });
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
        let all = self.finish_inner();
        self.check_leaks();
        all
    }

    fn finish_inner(&self) -> bool {
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

    /// Calls one export directly, outside the emulator's bookkeeping (for
    /// lifecycle-violation and re-entrancy tests).
    pub(crate) fn call_export(&self, export: Export) -> u32 {
        self.op(|| self.call(export, Payload::None))
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
pub(super) struct FrameGuard<'a>(&'a Vm);

impl Drop for FrameGuard<'_> {
    fn drop(&mut self) {
        if let Some(mut state) = self.0.try_state() {
            state.pop_frame();
        }
    }
}

/// Leaves a top-level operation, also when it panics.
pub(super) struct OpGuard<'a>(&'a Vm);

impl Drop for OpGuard<'_> {
    fn drop(&mut self) {
        self.0.ops.set(self.0.ops.get().saturating_sub(1));
    }
}

/// The response Envoy sends for a local reply to an HTTP request: the status, the
/// body with its length and `text/plain` (unless the plugin gave a `content-type`),
/// then the plugin's headers; never a `grpc-status`.
fn http_reply_shape(reply: &LocalReply) -> (Vec<(String, String)>, Vec<u8>) {
    let mut text = vec![(":status".to_owned(), reply.status_code.to_string())];
    if !reply.body.is_empty() {
        text.push(("content-length".into(), reply.body.len().to_string()));
        // Envoy's default only: a plugin's own `content-type` is the one
        // sent (book: reference/hostcalls.md#local-responses).
        if !reply.headers.iter().any(|(name, _)| name == "content-type") {
            text.push(("content-type".into(), "text/plain".into()));
        }
    }
    // (No `grpc-status` here, whatever the plugin gave: Envoy sends it to
    // gRPC requests only, in `grpc_reply_shape`.)
    text.extend(reply.headers.iter().cloned());
    (text, reply.body.clone())
}

/// The response Envoy 1.40 sends for a local reply to a gRPC request
/// (`content-type: application/grpc…`): a trailers-only `200` with
/// `content-type: application/grpc`, the given gRPC status (or the one mapped from
/// the HTTP status), the body as `grpc-message` and no body (book:
/// reference/envoy-1.40.md#grpc-local-replies).
fn grpc_reply_shape(reply: &LocalReply) -> (Vec<(String, String)>, Vec<u8>) {
    let status = reply
        .grpc_status
        .unwrap_or_else(|| grpc_status_of_http(reply.status_code));
    let mut text = vec![
        (":status".to_owned(), "200".to_owned()),
        ("content-type".into(), "application/grpc".into()),
        ("grpc-status".into(), status.to_string()),
    ];
    if !reply.body.is_empty() {
        text.push((
            "grpc-message".into(),
            String::from_utf8_lossy(&reply.body).into_owned(),
        ));
    }
    text.extend(reply.headers.iter().cloned());
    (text, Vec::new())
}

/// Envoy's mapping of an HTTP status to a gRPC status for local replies.
fn grpc_status_of_http(status: u32) -> u32 {
    match status {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    }
}

//! [`HostState`]: everything one emulated VM knows, and every hostcall as a
//! method on plain Rust values (`&[u8]` in; `Vec<u8>`, integers or a status
//! out). Front doors read the plugin's memory, call these, and write results
//! back; nothing here touches raw pointers.
//!
//! Statuses are raw `u32` codes
//! (book: reference/enumerations.md#status-codes): `Err(code)` is what the
//! host returns to the plugin.

use super::records::{
    DnsLookup, Fidelity, GrpcCallout, HostAllocation, HttpCallout, LocalReply, LogRecord, Violation,
};
use super::stream::{Context, HttpStream, Map, Root, TcpConnection};
use super::world::{MetricKind, MockWorld};
use crate::logging::LogLevel;
use crate::{ContextId, Status};
use proxywasm_abi::Export;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Raw status codes (book: reference/enumerations.md#status-codes).
pub mod status {
    /// Success.
    pub const OK: u32 = 0;
    /// Absent key, map, token…
    pub const NOT_FOUND: u32 = 1;
    /// Rejected argument or unavailable map.
    pub const BAD_ARGUMENT: u32 = 2;
    /// A value could not be serialized.
    pub const SERIALIZATION_FAILURE: u32 = 3;
    /// A value (e.g. a gRPC service) could not be parsed.
    pub const PARSE_FAILURE: u32 = 4;
    /// Bad pointer or length, or the allocator failed.
    pub const INVALID_MEMORY_ACCESS: u32 = 6;
    /// The queue is empty.
    pub const EMPTY: u32 = 7;
    /// The CAS did not match.
    pub const CAS_MISMATCH: u32 = 8;
    /// Refused (e.g. a call to a cluster Envoy's client refuses, or a
    /// hostcall while the host is busy).
    pub const INTERNAL_FAILURE: u32 = 10;
    /// `proxy_get_status` code after a failed HTTP call.
    pub const BROKEN_CONNECTION: u32 = 11;
    /// Not implemented (e.g. `continue_stream(UPSTREAM)`).
    pub const UNIMPLEMENTED: u32 = 12;
}

use status::*;

/// One plugin (root context) of a VM: its configuration and identity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginConfig {
    /// Plugin name (`plugin_name` property).
    pub name: String,
    /// Root id (`plugin_root_id` property).
    pub root_id: String,
    /// Plugin configuration bytes (buffer 7 during `on_configure`).
    pub configuration: Vec<u8>,
    /// Envoy's `allow_on_headers_stop_iteration` (default false): whether a
    /// headers callback's StopIteration holds only the headers (book:
    /// reference/callbacks.md#return-values).
    pub allow_on_headers_stop_iteration: bool,
}

/// How a VM is configured; built by [`MockHostBuilder`](crate::mock::MockHostBuilder).
#[derive(Clone, Debug)]
pub struct VmConfig {
    /// `vm_config.vm_id`: the scope of shared data and queues.
    pub vm_id: String,
    /// VM configuration bytes (buffer 6).
    pub vm_configuration: Vec<u8>,
    /// The plugins (root contexts), in start order.
    pub plugins: Vec<PluginConfig>,
    /// Properties seeded by the test: NUL-joined path → value.
    pub properties: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The clock at start, in ns since the Unix epoch.
    pub start_time_nanos: u64,
    /// The host's log level (what `proxy_get_log_level` returns).
    pub log_level: LogLevel,
    /// Envoy fidelity rules.
    pub fidelity: Fidelity,
    /// Strict mode: unexpected hostcalls and lifecycle violations fail the test.
    pub strict: bool,
    /// Hostcalls strict mode expects, by ABI name (`"proxy_http_call"`).
    pub expected_hostcalls: BTreeSet<String>,
    /// Echo every log record to stderr (captured by the test harness).
    pub echo_logs: bool,
    /// When set, `http_call`/`grpc_*` to other clusters fail as in Envoy.
    pub known_clusters: Option<BTreeSet<String>>,
    /// Clusters whose calls Envoy's async client refuses (`INTERNAL_FAILURE`,
    /// no callback).
    pub refused_clusters: BTreeSet<String>,
}

impl Default for VmConfig {
    fn default() -> VmConfig {
        VmConfig {
            vm_id: String::new(),
            vm_configuration: Vec::new(),
            plugins: vec![PluginConfig::default()],
            properties: BTreeMap::new(),
            // 2024-01-01T00:00:00Z: a fixed, recognisable start.
            start_time_nanos: 1_704_067_200 * 1_000_000_000,
            log_level: LogLevel::Trace,
            fidelity: Fidelity::default(),
            strict: false,
            expected_hostcalls: BTreeSet::new(),
            echo_logs: true,
            known_clusters: None,
            refused_clusters: BTreeSet::new(),
        }
    }
}

/// A host foreign function: arguments in, result bytes or a status out.
pub type ForeignFunction = Box<dyn FnMut(&[u8]) -> Result<Vec<u8>, Status>>;

/// Data a callback exposes while it runs (callout responses, metadata…).
#[derive(Clone, Debug, Default)]
pub(crate) enum Payload {
    #[default]
    None,
    HttpResponse {
        headers: Map,
        body: Vec<u8>,
        trailers: Map,
    },
    Metadata(Map),
    Message(Vec<u8>),
    CallData(Vec<u8>),
}

/// An effect Envoy defers until the current callback returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Deferred {
    Continue {
        context: u32,
        stream: u32,
    },
    Close {
        context: u32,
        stream: u32,
    },
    LocalReply {
        context: u32,
        reply: LocalReply,
        from: &'static str,
    },
    DeleteRoot {
        root: u32,
    },
}

/// A running callback.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) context: u32,
    /// The export running; `None` for test code run inside the context
    /// (`MockHost::run`).
    pub(crate) export: Option<Export>,
    pub(crate) name: &'static str,
    pub(crate) effective: Option<u32>,
    pub(crate) deferred: Vec<Deferred>,
    pub(crate) payload: Payload,
}

#[derive(Clone, Debug)]
pub(crate) struct PendingHttp {
    pub(crate) record: HttpCallout,
    pub(crate) root: u32,
    pub(crate) deadline: Option<u64>,
}

#[derive(Clone, Debug)]
pub(crate) struct PendingGrpc {
    pub(crate) record: GrpcCallout,
    pub(crate) root: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    None,
    Read,
    Write,
}

/// Everything one emulated VM knows. Hostcalls are methods; see the module
/// documentation. Shared data, queues and metrics live in its [`MockWorld`].
pub struct HostState {
    pub(crate) config: VmConfig,
    pub(crate) world: MockWorld,
    pub(crate) vm_index: usize,
    pub(crate) contexts: BTreeMap<u32, Context>,
    pub(crate) deleted: BTreeSet<u32>,
    pub(crate) next_id: u32,
    pub(crate) roots: Vec<u32>,
    pub(crate) frames: Vec<Frame>,
    pub(crate) now: u64,
    pub(crate) monotonic: u64,
    pub(crate) logs: Vec<LogRecord>,
    /// The plugin's last [`RECENT_LINES`] log lines at any level.
    pub(crate) recent_lines: VecDeque<String>,
    pub(crate) http_calls: BTreeMap<u32, PendingHttp>,
    pub(crate) grpc_calls: BTreeMap<u32, PendingGrpc>,
    pub(crate) dns: BTreeMap<u32, DnsLookup>,
    pub(crate) next_token: u32,
    pub(crate) metric_ids: BTreeMap<u32, (MetricKind, String)>,
    pub(crate) next_metric: u32,
    pub(crate) foreign: BTreeMap<String, ForeignFunction>,
    /// The CEL expressions the built-in `expr_*` functions serve.
    pub(crate) expressions: std::rc::Rc<core::cell::RefCell<super::foreign::Expressions>>,
    /// The built-in `declare_property`'s declarations.
    pub(crate) declarations: std::rc::Rc<core::cell::RefCell<super::foreign::Declarations>>,
    pub(crate) foreign_calls: Vec<(String, Vec<u8>)>,
    pub(crate) violations: Vec<Violation>,
    pub(crate) hostcall_counts: BTreeMap<&'static str, u64>,
    pub(crate) trace: Vec<Export>,
    pub(crate) initialized: bool,
    pub(crate) call_data: Vec<u8>,
    /// Nonzero while the host hands a result over through the plugin's
    /// allocation export ([`Phase::Allocating`](super::Phase)).
    pub(crate) handing_over: u32,
    /// The last hostcall entered.
    pub(crate) last_hostcall: &'static str,
    /// Buffers handed to the plugin, by a front door that can tell when
    /// they are freed (the native one): address, serial, and the record.
    pub(crate) handed: Vec<(usize, u64, HostAllocation)>,
    /// Fail the test when a completed context leaked host memory.
    pub(crate) leak_check: bool,
}

impl core::fmt::Debug for HostState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HostState")
            .field("vm_id", &self.config.vm_id)
            .field("contexts", &self.contexts.keys().collect::<Vec<_>>())
            .field("now", &self.now)
            .field("logs", &self.logs.len())
            .finish_non_exhaustive()
    }
}

/// How many log lines [`HostState::recent_log_lines`] keeps.
pub(super) const RECENT_LINES: usize = 10;

pub(super) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `HostState::root`, `root_mut` and the like: the context `id` if it is of
/// that kind.
macro_rules! context_accessors {
    ($($get:ident, $get_mut:ident: $variant:ident => $ty:ty;)*) => {$(
        pub(crate) fn $get(&self, id: u32) -> Option<&$ty> {
            match self.contexts.get(&id) {
                Some(Context::$variant(context)) => Some(context),
                _ => None,
            }
        }

        pub(crate) fn $get_mut(&mut self, id: u32) -> Option<&mut $ty> {
            match self.contexts.get_mut(&id) {
                Some(Context::$variant(context)) => Some(context),
                _ => None,
            }
        }
    )*};
}

impl HostState {
    /// A fresh VM in `world`, not yet registered there (the driver does that).
    pub fn new(config: VmConfig, world: MockWorld) -> HostState {
        let now = config.start_time_nanos;
        let expressions = std::rc::Rc::default();
        let declarations = std::rc::Rc::default();
        HostState {
            config,
            world,
            vm_index: usize::MAX,
            contexts: BTreeMap::new(),
            deleted: BTreeSet::new(),
            next_id: 1,
            roots: Vec::new(),
            frames: Vec::new(),
            now,
            monotonic: 0,
            logs: Vec::new(),
            recent_lines: VecDeque::new(),
            http_calls: BTreeMap::new(),
            grpc_calls: BTreeMap::new(),
            dns: BTreeMap::new(),
            next_token: 0,
            metric_ids: BTreeMap::new(),
            next_metric: 0,
            foreign: super::foreign::builtins(&expressions, &declarations),
            expressions,
            declarations,
            foreign_calls: Vec::new(),
            violations: Vec::new(),
            hostcall_counts: BTreeMap::new(),
            trace: Vec::new(),
            initialized: false,
            call_data: Vec::new(),
            handing_over: 0,
            last_hostcall: "",
            handed: Vec::new(),
            leak_check: true,
        }
    }

    /// Records that the plugin received a buffer of `size` bytes the host
    /// allocated at `at` (its allocation serial tells a later buffer at the
    /// same address apart), for the leak check. Called by the native front
    /// door, which can tell when the plugin frees it.
    pub(crate) fn handed_to_plugin(&mut self, at: usize, serial: u64, size: usize) {
        let record = HostAllocation {
            size,
            hostcall: self.last_hostcall,
            context_id: ContextId(self.acting_context()),
            callback: self.frames.last().map_or("no callback", |f| f.name),
        };
        self.handed.push((at, serial, record));
    }

    /// The configuration.
    pub fn config(&self) -> &VmConfig {
        &self.config
    }

    /// Registers a foreign function for `proxy_call_foreign_function`.
    pub fn register_foreign_function(&mut self, name: &str, function: ForeignFunction) {
        self.foreign.insert(name.to_owned(), function);
    }

    // ---- frames and contexts -------------------------------------------------

    /// Starts running `export` (`None`: test code) on `context`.
    pub(crate) fn push_frame(&mut self, context: u32, export: Option<Export>, payload: Payload) {
        self.frames.push(Frame {
            context,
            export,
            name: export.map_or("MockHost::run", |e| e.name()),
            effective: None,
            deferred: Vec::new(),
            payload,
        });
    }

    pub(crate) fn pop_frame(&mut self) -> Option<Frame> {
        self.frames.pop()
    }

    /// The context hostcalls act on: the effective context if the plugin set
    /// one, else the context whose callback is running (0 outside callbacks).
    pub fn acting_context(&self) -> u32 {
        self.frames
            .last()
            .map_or(0, |f| f.effective.unwrap_or(f.context))
    }

    /// The export running on `context`, if the top frame is on it.
    pub(super) fn running_on(&self, context: u32) -> Option<Export> {
        self.frames
            .last()
            .filter(|f| f.context == context)
            .and_then(|f| f.export)
    }

    /// The export running (the top frame's).
    pub(super) fn running(&self) -> Option<Export> {
        self.frames.last().and_then(|f| f.export)
    }

    pub(crate) fn alloc_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn is_live(&self, id: u32) -> bool {
        self.contexts.contains_key(&id)
    }

    pub(crate) fn root_of(&self, id: u32) -> u32 {
        self.contexts.get(&id).map_or(0, |c| c.root_id(id))
    }

    /// Whether the plugin of stream `id` sets `allow_on_headers_stop_iteration`.
    pub(crate) fn allows_headers_stop_iteration(&self, id: u32) -> bool {
        self.root(self.root_of(id))
            .and_then(|root| self.config.plugins.get(root.plugin))
            .is_some_and(|plugin| plugin.allow_on_headers_stop_iteration)
    }

    context_accessors! {
        root, root_mut: Root => Root;
        http, http_mut: Http => HttpStream;
        tcp, tcp_mut: Tcp => TcpConnection;
    }

    pub(crate) fn delete(&mut self, id: u32) {
        if self.contexts.remove(&id).is_some() {
            self.deleted.insert(id);
            self.roots.retain(|r| *r != id);
        }
    }

    pub(crate) fn violate(&mut self, hostcall: Option<&'static str>, message: impl Into<String>) {
        let (context, callback) = self
            .frames
            .last()
            .map_or((0, "no callback"), |f| (f.context, f.name));
        let violation = Violation {
            hostcall,
            context_id: ContextId(context),
            callback,
            message: message.into(),
        };
        if !self.config.strict {
            eprintln!("[proxywasm mock] Envoy rule broken: {violation}");
        }
        self.violations.push(violation);
    }

    pub(super) fn defer(&mut self, deferred: Deferred) {
        if let Some(frame) = self.frames.last_mut() {
            frame.deferred.push(deferred);
        }
    }

    pub(super) fn payload(&self) -> &Payload {
        self.frames.last().map_or(&Payload::None, |f| &f.payload)
    }
}

impl HostState {
    // ---- context management -------------------------------------------------------------

    /// `proxy_set_effective_context`: lasts until the current callback returns.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` if `context` is not live.
    pub fn set_effective_context(&mut self, context: u32) -> Result<(), u32> {
        self.enter("proxy_set_effective_context")?;
        if !self.is_live(context) {
            return Err(BAD_ARGUMENT);
        }
        if let Some(frame) = self.frames.last_mut() {
            frame.effective = Some(context);
        }
        Ok(())
    }

    /// `proxy_done`: finishes a plugin whose `on_done` returned false
    /// (`on_delete` runs after the current callback).
    ///
    /// # Errors
    /// `NOT_FOUND` when the plugin is not pending shutdown.
    pub fn done(&mut self) -> Result<(), u32> {
        self.enter("proxy_done")?;
        let root = self.root_of(self.acting_context());
        match self.root_mut(root) {
            Some(r) if r.pending_done => {
                r.pending_done = false;
                self.defer(Deferred::DeleteRoot { root });
                Ok(())
            }
            _ => Err(NOT_FOUND),
        }
    }
}

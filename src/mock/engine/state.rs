//! [`HostState`]: everything one emulated VM knows, and every hostcall as a
//! method on plain Rust values (`&[u8]` in; `Vec<u8>`, integers or a status
//! out). Front doors read the plugin's memory, call these, and write results
//! back; nothing here touches raw pointers.
//!
//! Statuses are raw `u32` codes
//! (book: reference/enumerations.md#status-codes): `Err(code)` is what the
//! host returns to the plugin.

use super::records::{
    DnsLookup, Fidelity, GrpcCallout, GrpcKind, HttpCallout, LocalReply, LogRecord, Violation,
    lossy_pairs,
};
use super::stream::{
    self, Context, HttpStream, Map, Pause, Root, Side, TcpConnection, map_add, map_get, map_remove,
    map_replace, parse_pairs,
};
use super::world::{Event, MetricKind, MockWorld, Queue};
use crate::abi::wire::{buffer, map, stream as stream_type};
use crate::callout::{GrpcToken, HttpCallToken};
use crate::logging::LogLevel;
use crate::{ContextId, Status};
use core::time::Duration;
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

/// Hostcalls Envoy allows during start-up, besides WASI (see
/// [`HostState::admit`]).
pub const START_UP_HOSTCALLS: [&str; 2] = ["proxy_log", "emscripten_notify_memory_growth"];

/// Hostcalls strict mode always allows: the SDK makes them on its own
/// (logging, its level check, and callout routing).
pub const AMBIENT_HOSTCALLS: [&str; 3] = [
    "proxy_log",
    "proxy_get_log_level",
    "proxy_set_effective_context",
];

/// One plugin (root context) of a VM: its configuration and identity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginConfig {
    /// Plugin name (`plugin_name` property).
    pub name: String,
    /// Root id (`plugin_root_id` property).
    pub root_id: String,
    /// Plugin configuration bytes (buffer 7 during `on_configure`).
    pub configuration: Vec<u8>,
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

/// Whether `running` is the headers callback of `side`.
fn is_headers(running: Option<Export>, side: Side) -> bool {
    matches!(
        (running, side),
        (Some(Export::RequestHeaders { .. }), Side::Request)
            | (Some(Export::ResponseHeaders { .. }), Side::Response)
    )
}

/// Whether `running` is the body callback of `side`.
fn is_body(running: Option<Export>, side: Side) -> bool {
    matches!(
        (running, side),
        (Some(Export::RequestBody { .. }), Side::Request)
            | (Some(Export::ResponseBody { .. }), Side::Response)
    )
}

/// Whether `running` is the trailers callback of `side`.
fn is_trailers(running: Option<Export>, side: Side) -> bool {
    matches!(
        (running, side),
        (Some(Export::RequestTrailers { .. }), Side::Request)
            | (Some(Export::ResponseTrailers { .. }), Side::Response)
    )
}

/// Whether `running` is the data callback of a TCP direction.
fn is_data(running: Option<Export>, downstream: bool) -> bool {
    matches!(
        (running, downstream),
        (Some(Export::DownstreamData { .. }), true) | (Some(Export::UpstreamData { .. }), false)
    )
}

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
enum Access {
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
    pub(crate) foreign_calls: Vec<(String, Vec<u8>)>,
    pub(crate) violations: Vec<Violation>,
    pub(crate) hostcall_counts: BTreeMap<&'static str, u64>,
    pub(crate) trace: Vec<Export>,
    pub(crate) initialized: bool,
    pub(crate) call_data: Vec<u8>,
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
const RECENT_LINES: usize = 10;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl HostState {
    /// A fresh VM in `world`, not yet registered there (the driver does that).
    pub fn new(config: VmConfig, world: MockWorld) -> HostState {
        let now = config.start_time_nanos;
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
            foreign: BTreeMap::new(),
            foreign_calls: Vec::new(),
            violations: Vec::new(),
            hostcall_counts: BTreeMap::new(),
            trace: Vec::new(),
            initialized: false,
            call_data: Vec::new(),
        }
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
    fn running_on(&self, context: u32) -> Option<Export> {
        self.frames
            .last()
            .filter(|f| f.context == context)
            .and_then(|f| f.export)
    }

    /// The export running (the top frame's).
    fn running(&self) -> Option<Export> {
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

    pub(crate) fn root(&self, id: u32) -> Option<&Root> {
        match self.contexts.get(&id) {
            Some(Context::Root(root)) => Some(root),
            _ => None,
        }
    }

    pub(crate) fn root_mut(&mut self, id: u32) -> Option<&mut Root> {
        match self.contexts.get_mut(&id) {
            Some(Context::Root(root)) => Some(root),
            _ => None,
        }
    }

    pub(crate) fn http(&self, id: u32) -> Option<&HttpStream> {
        match self.contexts.get(&id) {
            Some(Context::Http(stream)) => Some(stream),
            _ => None,
        }
    }

    pub(crate) fn http_mut(&mut self, id: u32) -> Option<&mut HttpStream> {
        match self.contexts.get_mut(&id) {
            Some(Context::Http(stream)) => Some(stream),
            _ => None,
        }
    }

    pub(crate) fn tcp(&self, id: u32) -> Option<&TcpConnection> {
        match self.contexts.get(&id) {
            Some(Context::Tcp(conn)) => Some(conn),
            _ => None,
        }
    }

    pub(crate) fn tcp_mut(&mut self, id: u32) -> Option<&mut TcpConnection> {
        match self.contexts.get_mut(&id) {
            Some(Context::Tcp(conn)) => Some(conn),
            _ => None,
        }
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

    fn defer(&mut self, deferred: Deferred) {
        if let Some(frame) = self.frames.last_mut() {
            frame.deferred.push(deferred);
        }
    }

    fn payload(&self) -> &Payload {
        self.frames.last().map_or(&Payload::None, |f| &f.payload)
    }

    /// Envoy's start-up rule: while the module starts (`_initialize`, `main`,
    /// static constructors; natively the builder's `on_initialize` code) only
    /// [`START_UP_HOSTCALLS`] (and WASI) may be called; Envoy traps on any
    /// other hostcall and the VM fails. Both front doors ask this before
    /// serving a hostcall, and trap when it refuses.
    ///
    /// # Errors
    /// The trap's reason (the violation, which is also recorded) for a
    /// refused hostcall, when [`Fidelity::restricted_start_up`] is on.
    pub fn admit(&mut self, name: &'static str) -> Result<(), String> {
        if self.running() != Some(Export::Initialize)
            || START_UP_HOSTCALLS.contains(&name)
            || !self.config.fidelity.restricted_start_up
        {
            return Ok(());
        }
        self.violate(
            Some(name),
            "a hostcall during start-up (`_initialize`, `main`, static constructors): Envoy allows only \
             proxy_log there and fails the VM",
        );
        let violation = self.violations.last().map(ToString::to_string);
        Err(format!(
            "restricted_callback: {}",
            violation.unwrap_or_default()
        ))
    }

    /// Every hostcall starts here: counts it and applies strict mode.
    ///
    /// # Errors
    /// None today; a `Result` so that a rule may refuse with a status.
    pub fn enter(&mut self, name: &'static str) -> Result<(), u32> {
        *self.hostcall_counts.entry(name).or_insert(0) += 1;
        if self.config.strict
            && !AMBIENT_HOSTCALLS.contains(&name)
            && !self.config.expected_hostcalls.contains(name)
        {
            let expected: Vec<&str> = self
                .config
                .expected_hostcalls
                .iter()
                .map(String::as_str)
                .collect();
            self.violate(
                Some(name),
                format!(
                    "strict mode: the test did not expect this hostcall (expected: [{}]; always allowed: {})",
                    expected.join(", "),
                    AMBIENT_HOSTCALLS.join(", ")
                ),
            );
        }
        Ok(())
    }

    // ---- logging, time, timers -------------------------------------------

    /// `proxy_log`.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for a level above 5.
    pub fn log(&mut self, level: u32, message: &[u8]) -> Result<(), u32> {
        self.enter("proxy_log")?;
        let names = ["trace", "debug", "info", "warn", "error", "critical"];
        let source = names.get(level as usize).copied().unwrap_or("log");
        self.remember_line(source, message);
        if level > 5 {
            return Err(BAD_ARGUMENT);
        }
        let level = LogLevel::from_raw(level);
        if level < self.config.log_level {
            return Ok(());
        }
        let record = LogRecord {
            level,
            message: text(message),
            context_id: ContextId(self.acting_context()),
        };
        if self.config.echo_logs {
            eprintln!("[proxywasm mock] {record}");
        }
        self.logs.push(record);
        Ok(())
    }

    fn remember_line(&mut self, source: &str, message: &[u8]) {
        if self.recent_lines.len() == RECENT_LINES {
            self.recent_lines.pop_front();
        }
        let message = String::from_utf8_lossy(message);
        let line = format!("[{source}] {}", message.trim_end_matches('\n'));
        self.recent_lines.push_back(line);
    }

    /// The plugin's last log lines (`proxy_log`, and stdout/stderr through
    /// WASI), whatever the host's log level, oldest first: what a trap report
    /// shows.
    pub fn recent_log_lines(&self) -> Vec<String> {
        self.recent_lines.iter().cloned().collect()
    }

    /// `proxy_get_log_level`: the host's level (6 when off).
    ///
    /// # Errors
    /// Only the start-up rule.
    pub fn get_log_level(&mut self) -> Result<u32, u32> {
        self.enter("proxy_get_log_level")?;
        Ok(self.config.log_level.as_raw())
    }

    /// `proxy_get_current_time_nanoseconds`: the emulated wall clock.
    ///
    /// # Errors
    /// Only the start-up rule.
    pub fn get_current_time_nanoseconds(&mut self) -> Result<u64, u32> {
        self.enter("proxy_get_current_time_nanoseconds")?;
        Ok(self.now)
    }

    /// `proxy_set_tick_period_milliseconds`: sets the timer of the root of the
    /// acting context; 0 disables it. Always OK.
    ///
    /// # Errors
    /// Only the start-up rule.
    pub fn set_tick_period_milliseconds(&mut self, period: u32) -> Result<(), u32> {
        self.enter("proxy_set_tick_period_milliseconds")?;
        let root = self.root_of(self.acting_context());
        let now = self.now;
        if let Some(root) = self.root_mut(root) {
            root.tick_period_ms = period;
            root.next_tick = (period > 0).then(|| now + u64::from(period) * 1_000_000);
        }
        Ok(())
    }

    /// WASI `clock_time_get`: clock 0 is the emulated wall clock, 1 the
    /// monotonic clock (ns since the host was created); others `Err(58)` (NOTSUP).
    ///
    /// # Errors
    /// WASI errno 58 for clocks other than 0 and 1.
    pub fn wasi_clock_time_get(&mut self, clock: u32) -> Result<u64, u16> {
        match clock {
            0 => Ok(self.now),
            1 => Ok(self.monotonic),
            _ => Err(58),
        }
    }

    /// WASI `fd_write`: fd 1 becomes an info log, fd 2 an error log (one
    /// record per call, trailing newline removed), as Envoy does.
    ///
    /// # Errors
    /// WASI errno 8 (BADF) for other descriptors.
    pub fn wasi_fd_write(&mut self, fd: u32, bytes: &[u8]) -> Result<(), u16> {
        let (level, source) = match fd {
            1 => (LogLevel::Info, "stdout"),
            2 => (LogLevel::Error, "stderr"),
            _ => return Err(8),
        };
        self.remember_line(source, bytes);
        let trimmed = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let record = LogRecord {
            level,
            message: text(trimmed),
            context_id: ContextId(self.acting_context()),
        };
        if level >= self.config.log_level {
            if self.config.echo_logs {
                eprintln!("[proxywasm mock] {record}");
            }
            self.logs.push(record);
        }
        Ok(())
    }

    // ---- buffers ------------------------------------------------------------

    fn buffer_read(&self, kind: u32) -> Result<Vec<u8>, u32> {
        let ctx = self.acting_context();
        match kind {
            buffer::HTTP_REQUEST_BODY | buffer::HTTP_RESPONSE_BODY => {
                let side = if kind == buffer::HTTP_REQUEST_BODY {
                    Side::Request
                } else {
                    Side::Response
                };
                let Some(stream) = self.http(ctx) else {
                    return Ok(Vec::new());
                };
                let flow = stream.flow(side);
                if is_body(self.running_on(ctx), side) || flow.paused == Pause::Body {
                    Ok(flow.buffer.clone())
                } else {
                    Ok(Vec::new())
                }
            }
            buffer::DOWNSTREAM_DATA | buffer::UPSTREAM_DATA => {
                let Some(conn) = self.tcp(ctx) else {
                    return Ok(Vec::new());
                };
                let downstream = kind == buffer::DOWNSTREAM_DATA;
                let flow = if downstream {
                    &conn.downstream
                } else {
                    &conn.upstream
                };
                if is_data(self.running_on(ctx), downstream) || flow.paused {
                    Ok(flow.buffer.clone())
                } else {
                    Ok(Vec::new())
                }
            }
            buffer::HTTP_CALL_RESPONSE_BODY => match self.payload() {
                Payload::HttpResponse { body, .. } => Ok(body.clone()),
                _ => Err(NOT_FOUND),
            },
            buffer::GRPC_RECEIVE_BUFFER => match (self.running(), self.payload()) {
                (Some(Export::GrpcReceive { .. }), Payload::Message(message)) => {
                    Ok(message.clone())
                }
                _ => Ok(Vec::new()),
            },
            buffer::VM_CONFIGURATION => Ok(self.config.vm_configuration.clone()),
            buffer::PLUGIN_CONFIGURATION => {
                let frame = self.frames.last().ok_or(NOT_FOUND)?;
                let in_window = matches!(
                    frame.export,
                    Some(Export::Configure { .. } | Export::ContextCreate { .. })
                );
                match self.root(frame.context) {
                    Some(root) if in_window => Ok(self
                        .config
                        .plugins
                        .get(root.plugin)
                        .map(|p| p.configuration.clone())
                        .unwrap_or_default()),
                    _ => Err(NOT_FOUND),
                }
            }
            buffer::CALL_DATA => match self.payload() {
                Payload::CallData(data) => Ok(data.clone()),
                _ => Ok(self.call_data.clone()),
            },
            _ => Err(BAD_ARGUMENT),
        }
    }

    fn buffer_write(&mut self, kind: u32) -> Result<&mut Vec<u8>, u32> {
        let ctx = self.acting_context();
        let running = self.running_on(ctx);
        match kind {
            buffer::HTTP_REQUEST_BODY | buffer::HTTP_RESPONSE_BODY => {
                let side = if kind == buffer::HTTP_REQUEST_BODY {
                    Side::Request
                } else {
                    Side::Response
                };
                let flow = self.http_mut(ctx).ok_or(BAD_ARGUMENT)?.flow_mut(side);
                if is_body(running, side) || flow.paused == Pause::Body {
                    Ok(&mut flow.buffer)
                } else {
                    Err(BAD_ARGUMENT)
                }
            }
            buffer::DOWNSTREAM_DATA | buffer::UPSTREAM_DATA => {
                let conn = self.tcp_mut(ctx).ok_or(BAD_ARGUMENT)?;
                let downstream = kind == buffer::DOWNSTREAM_DATA;
                let flow = if downstream {
                    &mut conn.downstream
                } else {
                    &mut conn.upstream
                };
                if is_data(running, downstream) || flow.paused {
                    Ok(&mut flow.buffer)
                } else {
                    Err(BAD_ARGUMENT)
                }
            }
            _ => Err(BAD_ARGUMENT),
        }
    }

    /// `proxy_get_buffer_bytes`: up to `max_size` bytes from `start`.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for an unknown type; `NOT_FOUND` when the buffer is not
    /// available (callout body outside its callback, plugin configuration
    /// outside `on_configure`). Body and data buffers read as empty outside
    /// their window, as in Envoy.
    pub fn get_buffer_bytes(
        &mut self,
        kind: u32,
        start: u32,
        max_size: u32,
    ) -> Result<Vec<u8>, u32> {
        self.enter("proxy_get_buffer_bytes")?;
        let bytes = self.buffer_read(kind)?;
        let start = start as usize;
        if start >= bytes.len() {
            return Ok(Vec::new());
        }
        let end = start.saturating_add(max_size as usize).min(bytes.len());
        Ok(bytes
            .get(start..end)
            .map(<[u8]>::to_vec)
            .unwrap_or_default())
    }

    /// `proxy_set_buffer_bytes`, with Envoy's forms only: `start == 0` drains
    /// `size` bytes then prepends; `start >= len` appends.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for immutable or unavailable buffers and middle edits.
    pub fn set_buffer_bytes(
        &mut self,
        kind: u32,
        start: u32,
        size: u32,
        data: &[u8],
    ) -> Result<(), u32> {
        self.enter("proxy_set_buffer_bytes")?;
        let buffer = self.buffer_write(kind)?;
        let start = start as usize;
        if start == 0 {
            let drain = (size as usize).min(buffer.len());
            buffer.drain(..drain);
            buffer.splice(0..0, data.iter().copied());
            Ok(())
        } else if start >= buffer.len() {
            buffer.extend_from_slice(data);
            Ok(())
        } else {
            Err(BAD_ARGUMENT)
        }
    }

    /// `proxy_get_buffer_status`: `(length, flags)`; flags are always 0 in Envoy.
    ///
    /// # Errors
    /// As [`HostState::get_buffer_bytes`].
    pub fn get_buffer_status(&mut self, kind: u32) -> Result<(u32, u32), u32> {
        self.enter("proxy_get_buffer_status")?;
        let len = self.buffer_read(kind)?.len();
        Ok((u32::try_from(len).unwrap_or(u32::MAX), 0))
    }

    // ---- header maps ------------------------------------------------------

    fn map_access(&self, kind: u32) -> Access {
        let top = self.running();
        match kind {
            map::GRPC_INITIAL_METADATA => {
                if matches!(top, Some(Export::GrpcReceiveInitialMetadata { .. })) {
                    Access::Read
                } else {
                    Access::None
                }
            }
            map::GRPC_TRAILING_METADATA => {
                if matches!(top, Some(Export::GrpcReceiveTrailingMetadata { .. })) {
                    Access::Read
                } else {
                    Access::None
                }
            }
            map::HTTP_CALL_RESPONSE_HEADERS | map::HTTP_CALL_RESPONSE_TRAILERS => {
                if matches!(self.payload(), Payload::HttpResponse { .. }) {
                    Access::Read
                } else {
                    Access::None
                }
            }
            map::REQUEST_HEADERS
            | map::REQUEST_TRAILERS
            | map::RESPONSE_HEADERS
            | map::RESPONSE_TRAILERS => {
                let ctx = self.acting_context();
                let Some(stream) = self.http(ctx) else {
                    return Access::None;
                };
                let running = self.running_on(ctx);
                if matches!(running, Some(Export::Log { .. })) {
                    return Access::Read;
                }
                if !self.config.fidelity.header_lifetime {
                    return Access::Write;
                }
                let side = if kind < map::RESPONSE_HEADERS {
                    Side::Request
                } else {
                    Side::Response
                };
                let flow = stream.flow(side);
                let available = if kind % 2 == 0 {
                    is_headers(running, side) || flow.paused == Pause::Headers
                } else {
                    is_trailers(running, side)
                        || flow.paused == Pause::Trailers
                        || (is_body(running, side) && flow.ended && flow.trailers.is_none())
                };
                if available {
                    Access::Write
                } else {
                    Access::None
                }
            }
            _ => Access::None,
        }
    }

    fn map_read(&self, kind: u32) -> Option<&Map> {
        match kind {
            map::REQUEST_HEADERS
            | map::REQUEST_TRAILERS
            | map::RESPONSE_HEADERS
            | map::RESPONSE_TRAILERS => {
                let stream = self.http(self.acting_context())?;
                match kind {
                    map::REQUEST_HEADERS => stream.request.headers.as_ref(),
                    map::REQUEST_TRAILERS => stream.request.trailers.as_ref(),
                    map::RESPONSE_HEADERS => stream.response.headers.as_ref(),
                    _ => stream.response.trailers.as_ref(),
                }
            }
            map::GRPC_INITIAL_METADATA | map::GRPC_TRAILING_METADATA => match self.payload() {
                Payload::Metadata(map) => Some(map),
                _ => None,
            },
            map::HTTP_CALL_RESPONSE_HEADERS => match self.payload() {
                Payload::HttpResponse { headers, .. } => Some(headers),
                _ => None,
            },
            map::HTTP_CALL_RESPONSE_TRAILERS => match self.payload() {
                Payload::HttpResponse { trailers, .. } => Some(trailers),
                _ => None,
            },
            _ => None,
        }
    }

    /// The map to write, created empty if absent (trailers can be added from
    /// the last body callback). Checks availability.
    fn map_write(&mut self, kind: u32) -> Result<&mut Map, u32> {
        if kind > map::HTTP_CALL_RESPONSE_TRAILERS || self.map_access(kind) != Access::Write {
            return Err(BAD_ARGUMENT);
        }
        let ctx = self.acting_context();
        let stream = self.http_mut(ctx).ok_or(BAD_ARGUMENT)?;
        let slot = match kind {
            map::REQUEST_HEADERS => &mut stream.request.headers,
            map::REQUEST_TRAILERS => &mut stream.request.trailers,
            map::RESPONSE_HEADERS => &mut stream.response.headers,
            map::RESPONSE_TRAILERS => &mut stream.response.trailers,
            _ => return Err(BAD_ARGUMENT),
        };
        Ok(slot.get_or_insert_with(Vec::new))
    }

    /// `proxy_get_header_map_pairs`: the serialized map; an unavailable map is
    /// OK and empty (Envoy never answers `NOT_FOUND` here).
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for a map type above 7.
    pub fn get_header_map_pairs(&mut self, kind: u32) -> Result<Vec<u8>, u32> {
        self.enter("proxy_get_header_map_pairs")?;
        if kind > map::HTTP_CALL_RESPONSE_TRAILERS {
            return Err(BAD_ARGUMENT);
        }
        if self.map_access(kind) == Access::None {
            return Ok(Vec::new());
        }
        Ok(self
            .map_read(kind)
            .map(stream::serialize)
            .unwrap_or_default())
    }

    /// `proxy_set_header_map_pairs`: replaces every entry; a malformed buffer
    /// clears the map.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for unavailable or read-only maps.
    pub fn set_header_map_pairs(&mut self, kind: u32, serialized: &[u8]) -> Result<(), u32> {
        self.enter("proxy_set_header_map_pairs")?;
        let pairs = parse_pairs(serialized, true);
        *self.map_write(kind)? = pairs;
        Ok(())
    }

    /// `proxy_get_header_map_value`: the first value of `key`.
    ///
    /// # Errors
    /// `NOT_FOUND` for a missing key; `BAD_ARGUMENT` for an unavailable map.
    pub fn get_header_map_value(&mut self, kind: u32, key: &[u8]) -> Result<Vec<u8>, u32> {
        self.enter("proxy_get_header_map_value")?;
        if kind > map::HTTP_CALL_RESPONSE_TRAILERS || self.map_access(kind) == Access::None {
            return Err(BAD_ARGUMENT);
        }
        self.map_read(kind)
            .and_then(|m| map_get(m, key))
            .map(<[u8]>::to_vec)
            .ok_or(NOT_FOUND)
    }

    /// `proxy_add_header_map_value`: appends (duplicates allowed).
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for unavailable or read-only maps.
    pub fn add_header_map_value(&mut self, kind: u32, key: &[u8], value: &[u8]) -> Result<(), u32> {
        self.enter("proxy_add_header_map_value")?;
        map_add(self.map_write(kind)?, key, value);
        Ok(())
    }

    /// `proxy_replace_header_map_value`: sets `key` to exactly this value.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for unavailable or read-only maps.
    pub fn replace_header_map_value(
        &mut self,
        kind: u32,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), u32> {
        self.enter("proxy_replace_header_map_value")?;
        map_replace(self.map_write(kind)?, key, value);
        Ok(())
    }

    /// `proxy_remove_header_map_value`: removes every value (OK if absent).
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for unavailable or read-only maps.
    pub fn remove_header_map_value(&mut self, kind: u32, key: &[u8]) -> Result<(), u32> {
        self.enter("proxy_remove_header_map_value")?;
        map_remove(self.map_write(kind)?, key);
        Ok(())
    }

    /// `proxy_get_header_map_size`: Envoy's **byte** size (sum of name and
    /// value lengths).
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for read-only or unavailable maps (Envoy uses the
    /// mutable lookup).
    pub fn get_header_map_size(&mut self, kind: u32) -> Result<u32, u32> {
        self.enter("proxy_get_header_map_size")?;
        let map = self.map_write(kind)?;
        let size: usize = map.iter().map(|(k, v)| k.len() + v.len()).sum();
        Ok(u32::try_from(size).unwrap_or(u32::MAX))
    }

    // ---- stream control ------------------------------------------------------

    /// `proxy_continue_stream`: deferred until the callback returns; a no-op
    /// when nothing is paused.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` above 3; `UNIMPLEMENTED` for 3 (upstream), as Envoy.
    pub fn continue_stream(&mut self, kind: u32) -> Result<(), u32> {
        self.enter("proxy_continue_stream")?;
        match kind {
            stream_type::UPSTREAM => Err(UNIMPLEMENTED),
            k if k > stream_type::UPSTREAM => Err(BAD_ARGUMENT),
            _ => {
                let context = self.acting_context();
                self.defer(Deferred::Continue {
                    context,
                    stream: kind,
                });
                Ok(())
            }
        }
    }

    /// `proxy_close_stream`: 0/1 reset the HTTP stream, 2/3 close a TCP side;
    /// deferred until the callback returns.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` above 3.
    pub fn close_stream(&mut self, kind: u32) -> Result<(), u32> {
        self.enter("proxy_close_stream")?;
        if kind > stream_type::UPSTREAM {
            return Err(BAD_ARGUMENT);
        }
        let context = self.acting_context();
        self.defer(Deferred::Close {
            context,
            stream: kind,
        });
        Ok(())
    }

    /// `proxy_send_local_response`: OK even without an HTTP stream (then a
    /// no-op); the reply is sent after the callback returns.
    ///
    /// # Errors
    /// Only the start-up rule.
    pub fn send_local_response(
        &mut self,
        status_code: u32,
        details: &[u8],
        body: &[u8],
        serialized_headers: &[u8],
        grpc_status: i32,
    ) -> Result<(), u32> {
        self.enter("proxy_send_local_response")?;
        let context = self.acting_context();
        if self.http(context).is_none() {
            return Ok(());
        }
        let reply = LocalReply {
            status_code,
            details: text(details).replace(' ', "_"),
            body: body.to_vec(),
            headers: lossy_pairs(&parse_pairs(serialized_headers, true)),
            grpc_status: u32::try_from(grpc_status).ok().filter(|s| *s <= 16),
        };
        let from = self.frames.last().map_or("no callback", |f| f.name);
        self.defer(Deferred::LocalReply {
            context,
            reply,
            from,
        });
        Ok(())
    }

    /// `proxy_get_status`: the root context's last status (after a failed
    /// HTTP call: 11 and `"reset"`; after a gRPC close: its status and message).
    ///
    /// # Errors
    /// Only the start-up rule.
    pub fn get_status(&mut self) -> Result<(u32, Vec<u8>), u32> {
        self.enter("proxy_get_status")?;
        let root = self.root_of(self.acting_context());
        Ok(self
            .root(root)
            .map(|r| r.status.clone())
            .unwrap_or_default())
    }

    // ---- callouts ------------------------------------------------------

    fn token(&mut self, kind: u32) -> u32 {
        self.next_token += 1;
        self.next_token.wrapping_mul(4) | kind
    }

    fn cluster_known(&self, cluster: &str) -> bool {
        self.config
            .known_clusters
            .as_ref()
            .is_none_or(|known| known.contains(cluster))
    }

    /// `proxy_http_call`: records the call; the test answers it later.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` without `:method`, `:path` or `:authority`, for a
    /// timeout ≥ 2³¹ ms, or for a cluster outside the known set;
    /// `INTERNAL_FAILURE` for a refused cluster (no callback will come).
    pub fn http_call(
        &mut self,
        upstream: &[u8],
        serialized_headers: &[u8],
        body: &[u8],
        serialized_trailers: &[u8],
        timeout_ms: u32,
    ) -> Result<u32, u32> {
        self.enter("proxy_http_call")?;
        let headers = parse_pairs(serialized_headers, true);
        let upstream = text(upstream);
        let required = [&b":method"[..], b":path", b":authority"];
        if required
            .iter()
            .any(|name| map_get(&headers, name).is_none())
            || timeout_ms >= 1 << 31
            || !self.cluster_known(&upstream)
        {
            return Err(BAD_ARGUMENT);
        }
        if self.config.refused_clusters.contains(&upstream) {
            return Err(INTERNAL_FAILURE);
        }
        let caller = self.acting_context();
        let root = self.root_of(caller);
        let token = self.token(0);
        let timeout = (timeout_ms > 0).then(|| Duration::from_millis(u64::from(timeout_ms)));
        let record = HttpCallout {
            token: HttpCallToken(token),
            upstream,
            headers: lossy_pairs(&headers),
            body: body.to_vec(),
            trailers: lossy_pairs(&parse_pairs(serialized_trailers, true)),
            timeout,
            context_id: ContextId(caller),
        };
        let deadline = (timeout_ms > 0).then(|| self.now + u64::from(timeout_ms) * 1_000_000);
        self.http_calls.insert(
            token,
            PendingHttp {
                record,
                root,
                deadline,
            },
        );
        Ok(token)
    }

    #[allow(clippy::too_many_arguments)]
    fn grpc_open(
        &mut self,
        kind: GrpcKind,
        service: &[u8],
        service_name: &[u8],
        method: &[u8],
        metadata: &[u8],
        message: Option<&[u8]>,
        timeout_ms: u32,
    ) -> Result<u32, u32> {
        if !self.cluster_known(&text(service)) {
            return Err(PARSE_FAILURE);
        }
        if self.config.refused_clusters.contains(&text(service)) {
            return Err(INTERNAL_FAILURE);
        }
        let caller = self.acting_context();
        let root = self.root_of(caller);
        let token = self.token(if kind == GrpcKind::Call { 1 } else { 2 });
        let record = GrpcCallout {
            token: GrpcToken(token),
            kind,
            service: service.to_vec(),
            service_name: text(service_name),
            method: text(method),
            initial_metadata: lossy_pairs(&parse_pairs(metadata, true)),
            messages: message.map(|m| vec![m.to_vec()]).unwrap_or_default(),
            timeout: (kind == GrpcKind::Call).then(|| Duration::from_millis(u64::from(timeout_ms))),
            local_closed: kind == GrpcKind::Call,
            context_id: ContextId(caller),
        };
        self.grpc_calls.insert(token, PendingGrpc { record, root });
        Ok(token)
    }

    /// `proxy_grpc_call`: records a unary call.
    ///
    /// # Errors
    /// `PARSE_FAILURE` for a cluster outside the known set;
    /// `INTERNAL_FAILURE` for a refused one.
    #[allow(clippy::too_many_arguments)]
    pub fn grpc_call(
        &mut self,
        service: &[u8],
        service_name: &[u8],
        method: &[u8],
        serialized_metadata: &[u8],
        message: &[u8],
        timeout_ms: u32,
    ) -> Result<u32, u32> {
        self.enter("proxy_grpc_call")?;
        self.grpc_open(
            GrpcKind::Call,
            service,
            service_name,
            method,
            serialized_metadata,
            Some(message),
            timeout_ms,
        )
    }

    /// `proxy_grpc_stream`: records a stream.
    ///
    /// # Errors
    /// As [`HostState::grpc_call`].
    pub fn grpc_stream(
        &mut self,
        service: &[u8],
        service_name: &[u8],
        method: &[u8],
        serialized_metadata: &[u8],
    ) -> Result<u32, u32> {
        self.enter("proxy_grpc_stream")?;
        self.grpc_open(
            GrpcKind::Stream,
            service,
            service_name,
            method,
            serialized_metadata,
            None,
            0,
        )
    }

    /// `proxy_grpc_send`: records a message on a stream.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown token; `BAD_ARGUMENT` for a unary call.
    pub fn grpc_send(&mut self, token: u32, message: &[u8], end_stream: bool) -> Result<(), u32> {
        self.enter("proxy_grpc_send")?;
        let call = self.grpc_calls.get_mut(&token).ok_or(if token % 4 == 2 {
            NOT_FOUND
        } else {
            BAD_ARGUMENT
        })?;
        if call.record.kind != GrpcKind::Stream {
            return Err(BAD_ARGUMENT);
        }
        call.record.messages.push(message.to_vec());
        call.record.local_closed |= end_stream;
        Ok(())
    }

    /// `proxy_grpc_cancel`: forgets the call or stream; no more callbacks.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown gRPC token; `BAD_ARGUMENT` for a non-gRPC token.
    pub fn grpc_cancel(&mut self, token: u32) -> Result<(), u32> {
        self.enter("proxy_grpc_cancel")?;
        if self.grpc_calls.remove(&token).is_some() {
            Ok(())
        } else if matches!(token % 4, 1 | 2) {
            Err(NOT_FOUND)
        } else {
            Err(BAD_ARGUMENT)
        }
    }

    /// `proxy_grpc_close`: a call is cancelled; a stream is half-closed locally
    /// (its close callback comes when the test closes the remote side).
    ///
    /// # Errors
    /// As [`HostState::grpc_cancel`].
    pub fn grpc_close(&mut self, token: u32) -> Result<(), u32> {
        self.enter("proxy_grpc_close")?;
        match self.grpc_calls.get_mut(&token) {
            Some(call) if call.record.kind == GrpcKind::Stream => {
                call.record.local_closed = true;
                Ok(())
            }
            Some(_) => {
                self.grpc_calls.remove(&token);
                Ok(())
            }
            None if matches!(token % 4, 1 | 2) => Err(NOT_FOUND),
            None => Err(BAD_ARGUMENT),
        }
    }

    // ---- shared data -------------------------------------------------------------

    /// `proxy_get_shared_data`: value and CAS from this VM's `vm_id` scope.
    ///
    /// # Errors
    /// `NOT_FOUND` for a missing key.
    pub fn get_shared_data(&mut self, key: &[u8]) -> Result<(Vec<u8>, u32), u32> {
        self.enter("proxy_get_shared_data")?;
        let vm_id = &self.config.vm_id;
        self.world
            .with(|w| w.shared.get(vm_id).and_then(|m| m.get(key)).cloned())
            .ok_or(NOT_FOUND)
    }

    /// `proxy_set_shared_data`: CAS 0 writes unconditionally; a missing key is
    /// created regardless of the CAS; each write gets a fresh, non-zero CAS.
    ///
    /// # Errors
    /// `CAS_MISMATCH` when a non-zero CAS differs from the stored one.
    pub fn set_shared_data(&mut self, key: &[u8], value: &[u8], cas: u32) -> Result<(), u32> {
        self.enter("proxy_set_shared_data")?;
        let vm_id = self.config.vm_id.clone();
        self.world.with(|w| {
            let current = w
                .shared
                .get(&vm_id)
                .and_then(|m| m.get(key))
                .map(|(_, c)| *c);
            if let Some(stored) = current {
                if cas != 0 && cas != stored {
                    return Err(CAS_MISMATCH);
                }
            }
            let fresh = w.fresh_cas();
            w.shared
                .entry(vm_id)
                .or_default()
                .insert(key.to_vec(), (value.to_vec(), fresh));
            Ok(())
        })
    }

    // ---- shared queues ----------------------------------------------------------------

    /// `proxy_register_shared_queue`: idempotent by name; re-registering
    /// retargets notifications to the caller's root (last registrant wins).
    ///
    /// # Errors
    /// Only the start-up rule.
    pub fn register_shared_queue(&mut self, name: &[u8]) -> Result<u32, u32> {
        self.enter("proxy_register_shared_queue")?;
        let vm_id = self.config.vm_id.clone();
        let name = text(name);
        let registrant = (self.vm_index, self.root_of(self.acting_context()));
        Ok(self.world.with(|w| {
            if let Some((token, queue)) = w
                .queues
                .iter_mut()
                .find(|(_, q)| q.vm_id == vm_id && q.name == name)
            {
                queue.registrant = registrant;
                return *token;
            }
            w.next_queue += 1;
            let token = w.next_queue;
            w.queues.insert(
                token,
                Queue {
                    vm_id,
                    name,
                    items: Default::default(),
                    registrant,
                },
            );
            token
        }))
    }

    /// `proxy_resolve_shared_queue`: an empty `vm_id` means this VM's.
    ///
    /// # Errors
    /// `NOT_FOUND` if never registered.
    pub fn resolve_shared_queue(&mut self, vm_id: &[u8], name: &[u8]) -> Result<u32, u32> {
        self.enter("proxy_resolve_shared_queue")?;
        let vm_id = if vm_id.is_empty() {
            self.config.vm_id.clone()
        } else {
            text(vm_id)
        };
        let name = text(name);
        self.world
            .with(|w| {
                w.queues
                    .iter()
                    .find(|(_, q)| q.vm_id == vm_id && q.name == name)
                    .map(|(t, _)| *t)
            })
            .ok_or(NOT_FOUND)
    }

    /// `proxy_enqueue_shared_queue`: appends and posts `on_queue_ready` to the
    /// registrant's VM (delivered after the current callback, never nested).
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown token.
    pub fn enqueue_shared_queue(&mut self, token: u32, data: &[u8]) -> Result<(), u32> {
        self.enter("proxy_enqueue_shared_queue")?;
        self.enqueue(token, data)
    }

    pub(crate) fn enqueue(&mut self, token: u32, data: &[u8]) -> Result<(), u32> {
        let registrant = self.world.with(|w| {
            let queue = w.queues.get_mut(&token)?;
            queue.items.push_back(data.to_vec());
            Some(queue.registrant)
        });
        let (vm, root) = registrant.ok_or(NOT_FOUND)?;
        self.world.post(vm, Event::QueueReady { root, token });
        Ok(())
    }

    /// `proxy_dequeue_shared_queue`.
    ///
    /// # Errors
    /// `EMPTY` when empty; `NOT_FOUND` for an unknown token.
    pub fn dequeue_shared_queue(&mut self, token: u32) -> Result<Vec<u8>, u32> {
        self.enter("proxy_dequeue_shared_queue")?;
        self.world.with(|w| {
            let queue = w.queues.get_mut(&token).ok_or(NOT_FOUND)?;
            queue.items.pop_front().ok_or(EMPTY)
        })
    }

    // ---- metrics -------------------------------------------------------------------------

    fn metric(&self, id: u32) -> Result<(MetricKind, String), u32> {
        self.metric_ids.get(&id).cloned().ok_or(NOT_FOUND)
    }

    /// `proxy_define_metric`: a new id (type in the low two bits) bound to the
    /// world-wide stat of that name.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for a type above 2.
    pub fn define_metric(&mut self, kind: u32, name: &[u8]) -> Result<u32, u32> {
        self.enter("proxy_define_metric")?;
        let metric_kind = match kind {
            0 => MetricKind::Counter,
            1 => MetricKind::Gauge,
            2 => MetricKind::Histogram,
            _ => return Err(BAD_ARGUMENT),
        };
        self.next_metric += 1;
        let id = (self.next_metric << 2) | kind;
        let name = text(name);
        self.world.with(|w| {
            w.metrics.entry((metric_kind, name.clone())).or_default();
        });
        self.metric_ids.insert(id, (metric_kind, name));
        Ok(id)
    }

    /// `proxy_increment_metric`: counters need `offset > 0`; gauges add.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown id; `BAD_ARGUMENT` for a histogram or a
    /// non-positive counter offset.
    pub fn increment_metric(&mut self, id: u32, offset: i64) -> Result<(), u32> {
        self.enter("proxy_increment_metric")?;
        let key = self.metric(id)?;
        if key.0 == MetricKind::Histogram || (key.0 == MetricKind::Counter && offset <= 0) {
            return Err(BAD_ARGUMENT);
        }
        self.world.with(|w| {
            let metric = w.metrics.entry(key).or_default();
            metric.value = metric.value.wrapping_add(offset);
        });
        Ok(())
    }

    /// `proxy_record_metric`: counters **add** (Envoy), gauges set, histograms
    /// record a sample.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown id.
    pub fn record_metric(&mut self, id: u32, value: u64) -> Result<(), u32> {
        self.enter("proxy_record_metric")?;
        let key = self.metric(id)?;
        self.world.with(|w| {
            let kind = key.0;
            let metric = w.metrics.entry(key).or_default();
            match kind {
                MetricKind::Counter => metric.value = metric.value.wrapping_add(value as i64),
                MetricKind::Gauge => metric.value = value as i64,
                MetricKind::Histogram => metric.samples.push(value),
            }
        });
        Ok(())
    }

    /// `proxy_get_metric`.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown id; `BAD_ARGUMENT` for a histogram.
    pub fn get_metric(&mut self, id: u32) -> Result<u64, u32> {
        self.enter("proxy_get_metric")?;
        let key = self.metric(id)?;
        if key.0 == MetricKind::Histogram {
            return Err(BAD_ARGUMENT);
        }
        Ok(self
            .world
            .with(|w| w.metrics.get(&key).map_or(0, |m| m.value as u64)))
    }

    // ---- properties ----------------------------------------------------------------------

    /// `proxy_get_property`. Looks up, in order: values the plugin set on
    /// this stream, properties the test seeded for the stream, properties the
    /// test seeded for the VM, and the attributes the emulator derives
    /// (`plugin_name`, `plugin_root_id`, `plugin_vm_id`, and `request.*` /
    /// `response.*` from the stream's live headers).
    ///
    /// # Errors
    /// `NOT_FOUND` for anything else (and for `request.*` once the request
    /// headers are gone, as in Envoy).
    pub fn get_property(&mut self, path: &[u8]) -> Result<Vec<u8>, u32> {
        self.enter("proxy_get_property")?;
        let path = path.strip_suffix(&[0]).unwrap_or(path);
        let ctx = self.acting_context();
        let (filter_state, stream_properties) = match self.contexts.get(&ctx) {
            Some(Context::Http(s)) => (Some(&s.filter_state), Some(&s.properties)),
            Some(Context::Tcp(c)) => (Some(&c.filter_state), Some(&c.properties)),
            _ => (None, None),
        };
        if let Some(state) = filter_state {
            if let Some(value) = state.get(path) {
                return Ok(value.clone());
            }
            if let Some(key) = path.strip_prefix(b"filter_state\0wasm.") {
                if let Some(value) = state.get(key) {
                    return Ok(value.clone());
                }
            }
        }
        if let Some(value) = stream_properties.and_then(|p| p.get(path)) {
            return Ok(value.clone());
        }
        if let Some(value) = self.config.properties.get(path) {
            return Ok(value.clone());
        }
        self.derived_property(ctx, path).ok_or(NOT_FOUND)
    }

    fn derived_property(&self, ctx: u32, path: &[u8]) -> Option<Vec<u8>> {
        let segments: Vec<&[u8]> = path.split(|b| *b == 0).collect();
        let root = self.root(self.root_of(ctx))?;
        let plugin = self.config.plugins.get(root.plugin)?;
        match segments.as_slice() {
            [b"plugin_name"] => return Some(plugin.name.as_bytes().to_vec()),
            [b"plugin_root_id"] => return Some(plugin.root_id.as_bytes().to_vec()),
            [b"plugin_vm_id"] => return Some(self.config.vm_id.as_bytes().to_vec()),
            _ => {}
        }
        let stream = self.http(ctx)?;
        let header_map = |kind: u32, map: &Option<Map>| -> Option<Map> {
            (self.map_access(kind) != Access::None)
                .then(|| map.clone())
                .flatten()
        };
        match segments.as_slice() {
            [b"request", rest @ ..] => {
                let headers = header_map(map::REQUEST_HEADERS, &stream.request.headers)?;
                let get = |name: &[u8]| map_get(&headers, name).map(<[u8]>::to_vec);
                match rest {
                    [b"path"] => get(b":path"),
                    [b"url_path"] => get(b":path")
                        .map(|p| p.split(|b| *b == b'?').next().unwrap_or(&[]).to_vec()),
                    [b"query"] => get(b":path").map(|p| {
                        let query = p.splitn(2, |b| *b == b'?').nth(1).unwrap_or(&[]);
                        query.split(|b| *b == b'#').next().unwrap_or(&[]).to_vec()
                    }),
                    [b"host"] => get(b":authority"),
                    [b"scheme"] => get(b":scheme"),
                    [b"method"] => get(b":method"),
                    [b"id"] => get(b"x-request-id"),
                    [b"useragent"] => get(b"user-agent"),
                    [b"referer"] => get(b"referer"),
                    [b"headers"] => Some(crate::abi::wire::serialize_pairs(&joined(&headers))),
                    [b"headers", name] => joined_value(&headers, name),
                    _ => None,
                }
            }
            [b"response", rest @ ..] => {
                let headers = header_map(map::RESPONSE_HEADERS, &stream.response.headers)?;
                match rest {
                    [b"code"] => {
                        let status = map_get(&headers, b":status")?;
                        let code: i64 = core::str::from_utf8(status).ok()?.parse().ok()?;
                        Some(code.to_le_bytes().to_vec())
                    }
                    [b"headers"] => Some(crate::abi::wire::serialize_pairs(&joined(&headers))),
                    [b"headers", name] => joined_value(&headers, name),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `proxy_set_property`: Envoy stores the whole path as one filter-state
    /// key on the current stream.
    ///
    /// # Errors
    /// `NOT_FOUND` when the acting context is not a stream (root contexts).
    pub fn set_property(&mut self, path: &[u8], value: &[u8]) -> Result<(), u32> {
        self.enter("proxy_set_property")?;
        let path = path.strip_suffix(&[0]).unwrap_or(path).to_vec();
        let ctx = self.acting_context();
        match self.contexts.get_mut(&ctx) {
            Some(Context::Http(s)) => s.filter_state.insert(path, value.to_vec()),
            Some(Context::Tcp(c)) => c.filter_state.insert(path, value.to_vec()),
            _ => return Err(NOT_FOUND),
        };
        Ok(())
    }

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

    // ---- foreign functions, DNS ----------------------------------------------------

    /// `proxy_call_foreign_function`: runs the registered function.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unregistered name; otherwise the function's status.
    pub fn call_foreign_function(&mut self, name: &[u8], arguments: &[u8]) -> Result<Vec<u8>, u32> {
        self.enter("proxy_call_foreign_function")?;
        let name = text(name);
        self.foreign_calls.push((name.clone(), arguments.to_vec()));
        let function = self.foreign.get_mut(&name).ok_or(NOT_FOUND)?;
        function(arguments).map_err(Status::as_raw)
    }

    /// `envoy_resolve_dns`: records the lookup; the test answers it later.
    ///
    /// # Errors
    /// Only the start-up rule.
    pub fn resolve_dns(&mut self, name: &[u8]) -> Result<u32, u32> {
        self.enter("envoy_resolve_dns")?;
        let token = self.token(3);
        let context_id = ContextId(self.acting_context());
        self.dns.insert(
            token,
            DnsLookup {
                token,
                name: text(name),
                context_id,
            },
        );
        Ok(token)
    }
}

/// A header map with duplicate names joined by `,` (Envoy's attribute view).
fn joined(headers: &Map) -> Map {
    let mut out: Map = Vec::new();
    for (k, v) in headers {
        match out.iter_mut().find(|(key, _)| key == k) {
            Some((_, value)) => {
                value.push(b',');
                value.extend_from_slice(v);
            }
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}

fn joined_value(headers: &Map, name: &[u8]) -> Option<Vec<u8>> {
    let name = stream::lower(name);
    joined(headers)
        .into_iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> HostState {
        let mut s = HostState::new(
            VmConfig {
                echo_logs: false,
                ..VmConfig::default()
            },
            MockWorld::new(),
        );
        let root = s.alloc_id();
        s.contexts.insert(root, Context::Root(Root::default()));
        s.roots.push(root);
        s
    }

    fn with_stream(s: &mut HostState) -> u32 {
        let id = s.alloc_id();
        s.contexts.insert(
            id,
            Context::Http(HttpStream {
                root: 1,
                ..HttpStream::default()
            }),
        );
        id
    }

    #[test]
    fn request_headers_vanish_once_the_request_continued() {
        let mut s = state();
        let id = with_stream(&mut s);
        s.http_mut(id).unwrap().request.headers = Some(stream::from_text(&[(":path", "/a")]));
        s.push_frame(
            id,
            Some(Export::RequestHeaders {
                context_id: id,
                num_headers: 0,
                end_of_stream: false,
            }),
            Payload::None,
        );
        assert_eq!(
            s.get_header_map_value(map::REQUEST_HEADERS, b":PATH"),
            Ok(b"/a".to_vec())
        );
        s.pop_frame();
        s.push_frame(
            id,
            Some(Export::ResponseHeaders {
                context_id: id,
                num_headers: 0,
                end_of_stream: false,
            }),
            Payload::None,
        );
        assert_eq!(
            s.get_header_map_value(map::REQUEST_HEADERS, b":path"),
            Err(BAD_ARGUMENT)
        );
        assert_eq!(s.get_header_map_pairs(map::REQUEST_HEADERS), Ok(Vec::new()));
        assert_eq!(
            s.add_header_map_value(map::REQUEST_HEADERS, b"a", b"b"),
            Err(BAD_ARGUMENT)
        );
        assert_eq!(s.get_property(b"request\0path"), Err(NOT_FOUND));
        s.config.fidelity.header_lifetime = false;
        assert_eq!(
            s.get_header_map_value(map::REQUEST_HEADERS, b":path"),
            Ok(b"/a".to_vec())
        );
        assert_eq!(s.get_property(b"request\0path"), Ok(b"/a".to_vec()));
    }

    #[test]
    fn buffers_follow_envoys_edit_forms() {
        let mut s = state();
        let id = with_stream(&mut s);
        s.http_mut(id).unwrap().request.buffer = b"hello".to_vec();
        s.push_frame(
            id,
            Some(Export::RequestBody {
                context_id: id,
                body_size: 0,
                end_of_stream: false,
            }),
            Payload::None,
        );
        assert_eq!(
            s.get_buffer_bytes(buffer::HTTP_REQUEST_BODY, 1, 3),
            Ok(b"ell".to_vec())
        );
        assert_eq!(
            s.get_buffer_bytes(buffer::HTTP_REQUEST_BODY, 9, 3),
            Ok(Vec::new())
        );
        assert_eq!(
            s.set_buffer_bytes(buffer::HTTP_REQUEST_BODY, 2, 1, b"x"),
            Err(BAD_ARGUMENT)
        );
        s.set_buffer_bytes(buffer::HTTP_REQUEST_BODY, 0, 1, b"J")
            .unwrap();
        s.set_buffer_bytes(buffer::HTTP_REQUEST_BODY, u32::MAX, 0, b"!")
            .unwrap();
        assert_eq!(
            s.get_buffer_bytes(buffer::HTTP_REQUEST_BODY, 0, u32::MAX),
            Ok(b"Jello!".to_vec())
        );
        assert_eq!(s.get_buffer_status(buffer::HTTP_REQUEST_BODY), Ok((6, 0)));
        assert_eq!(
            s.set_buffer_bytes(buffer::VM_CONFIGURATION, 0, 0, b""),
            Err(BAD_ARGUMENT)
        );
        assert_eq!(
            s.get_buffer_bytes(buffer::HTTP_CALL_RESPONSE_BODY, 0, 1),
            Err(NOT_FOUND)
        );
        assert_eq!(s.get_buffer_bytes(9, 0, 1), Err(BAD_ARGUMENT));
        s.pop_frame();
        s.push_frame(
            id,
            Some(Export::ResponseHeaders {
                context_id: id,
                num_headers: 0,
                end_of_stream: false,
            }),
            Payload::None,
        );
        assert_eq!(
            s.get_buffer_bytes(buffer::HTTP_REQUEST_BODY, 0, 10),
            Ok(Vec::new())
        );
        assert_eq!(
            s.set_buffer_bytes(buffer::HTTP_REQUEST_BODY, 0, 0, b"x"),
            Err(BAD_ARGUMENT)
        );
    }

    #[test]
    fn shared_data_cas_rules() {
        let mut s = state();
        s.push_frame(1, None, Payload::None);
        assert_eq!(s.get_shared_data(b"k"), Err(NOT_FOUND));
        s.set_shared_data(b"k", b"1", 77).unwrap(); // missing key: created regardless of CAS
        let (value, cas) = s.get_shared_data(b"k").unwrap();
        assert_eq!(value, b"1");
        assert_eq!(
            s.set_shared_data(b"k", b"2", cas.wrapping_add(1)),
            Err(CAS_MISMATCH)
        );
        s.set_shared_data(b"k", b"2", cas).unwrap();
        assert_eq!(s.set_shared_data(b"k", b"3", cas), Err(CAS_MISMATCH));
        s.set_shared_data(b"k", b"3", 0).unwrap();
        assert_eq!(s.get_shared_data(b"k").unwrap().0, b"3");
    }

    #[test]
    fn metrics_follow_envoy() {
        let mut s = state();
        s.push_frame(1, None, Payload::None);
        assert_eq!(s.define_metric(3, b"x"), Err(BAD_ARGUMENT));
        let counter = s.define_metric(0, b"c").unwrap();
        assert_eq!(counter % 4, 0);
        assert_eq!(s.increment_metric(counter, 0), Err(BAD_ARGUMENT));
        s.increment_metric(counter, 2).unwrap();
        s.record_metric(counter, 3).unwrap(); // counters add
        assert_eq!(s.get_metric(counter), Ok(5));
        let again = s.define_metric(0, b"c").unwrap();
        assert_ne!(again, counter);
        assert_eq!(s.get_metric(again), Ok(5));
        let histogram = s.define_metric(2, b"h").unwrap();
        assert_eq!(s.get_metric(histogram), Err(BAD_ARGUMENT));
        assert_eq!(s.increment_metric(histogram, 1), Err(BAD_ARGUMENT));
        assert_eq!(s.get_metric(99), Err(NOT_FOUND));
    }

    #[test]
    fn queues_and_streams_status_codes() {
        let mut s = state();
        s.vm_index = s.world.register_vm(std::rc::Weak::new());
        s.push_frame(1, None, Payload::None);
        let q = s.register_shared_queue(b"q").unwrap();
        assert_eq!(s.register_shared_queue(b"q"), Ok(q));
        assert_eq!(s.resolve_shared_queue(b"", b"q"), Ok(q));
        assert_eq!(s.resolve_shared_queue(b"other", b"q"), Err(NOT_FOUND));
        assert_eq!(s.dequeue_shared_queue(q), Err(EMPTY));
        assert_eq!(s.enqueue_shared_queue(q + 1, b"x"), Err(NOT_FOUND));
        s.enqueue_shared_queue(q, b"x").unwrap();
        assert_eq!(s.dequeue_shared_queue(q), Ok(b"x".to_vec()));
        assert_eq!(s.continue_stream(3), Err(UNIMPLEMENTED));
        assert_eq!(s.continue_stream(4), Err(BAD_ARGUMENT));
        assert_eq!(s.close_stream(4), Err(BAD_ARGUMENT));
        assert_eq!(s.set_effective_context(42), Err(BAD_ARGUMENT));
        assert_eq!(s.done(), Err(NOT_FOUND));
        assert_eq!(s.set_property(b"x", b"y"), Err(NOT_FOUND)); // no stream
        assert_eq!(s.log(6, b"x"), Err(BAD_ARGUMENT));
    }

    #[test]
    fn http_call_checks_required_headers_and_tokens() {
        let mut s = state();
        s.push_frame(1, None, Payload::None);
        let headers = crate::abi::wire::serialize_pairs(&[
            (":method", "GET"),
            (":path", "/"),
            (":authority", "a"),
        ]);
        assert_eq!(
            s.http_call(
                b"c",
                &crate::abi::wire::serialize_pairs(&[(":path", "/")]),
                b"",
                b"",
                10
            ),
            Err(BAD_ARGUMENT)
        );
        assert_eq!(
            s.http_call(b"c", &headers, b"", b"", 1 << 31),
            Err(BAD_ARGUMENT)
        );
        let token = s.http_call(b"c", &headers, b"", b"", 0).unwrap();
        assert_eq!(token % 4, 0);
        assert_eq!(s.http_calls[&token].record.timeout, None);
        let grpc = s.grpc_call(b"c", b"s", b"m", b"", b"msg", 5).unwrap();
        assert_eq!(grpc % 4, 1);
        assert_eq!(s.grpc_send(grpc, b"x", false), Err(BAD_ARGUMENT));
        assert_eq!(s.grpc_cancel(token), Err(BAD_ARGUMENT));
        let stream = s.grpc_stream(b"c", b"s", b"m", b"").unwrap();
        assert_eq!(stream % 4, 2);
        s.grpc_send(stream, b"1", true).unwrap();
        assert!(s.grpc_calls[&stream].record.local_closed);
        s.grpc_cancel(stream).unwrap();
        assert_eq!(s.grpc_cancel(stream), Err(NOT_FOUND));
    }

    #[test]
    fn start_up_allows_only_logging() {
        let mut s = state();
        s.push_frame(0, Some(Export::Initialize), Payload::None);
        assert_eq!(s.admit("proxy_log"), Ok(()));
        assert_eq!(s.admit("emscripten_notify_memory_growth"), Ok(()));
        let trap = s.admit("proxy_get_current_time_nanoseconds").unwrap_err();
        assert!(
            trap.starts_with(
                "restricted_callback: proxy_get_current_time_nanoseconds in _initialize (context 0): \
                 a hostcall during start-up"
            ),
            "{trap}"
        );
        assert_eq!(s.violations.len(), 1);
        s.config.fidelity.restricted_start_up = false;
        assert_eq!(s.admit("proxy_get_current_time_nanoseconds"), Ok(()));
        s.pop_frame();
        s.config.fidelity.restricted_start_up = true;
        s.push_frame(1, None, Payload::None);
        assert_eq!(s.admit("proxy_get_current_time_nanoseconds"), Ok(()));
    }

    #[test]
    fn wasi_clock_and_fd_write() {
        let mut s = state();
        assert_eq!(s.wasi_clock_time_get(0), Ok(s.now));
        assert_eq!(s.wasi_clock_time_get(1), Ok(0));
        assert_eq!(s.wasi_clock_time_get(2), Err(58));
        s.wasi_fd_write(2, b"oops\n").unwrap();
        assert_eq!(s.logs[0].message, "oops");
        assert_eq!(s.logs[0].level, LogLevel::Error);
        assert_eq!(s.wasi_fd_write(3, b"x"), Err(8));
    }
}

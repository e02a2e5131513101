//! `envoy_probe`: observes, in a real Envoy, the host behaviours that reading
//! Envoy's source left unsure (book: reference/envoy-1.40.md#measured), and
//! logs each observation as one stable line `probe: <name> = <observed>`. The
//! e2e checks of `envoy_probe` (`xtask/src/e2e.rs`, run by `cargo xtask e2e`
//! and the gate) start Envoy on `envoy.yaml`, send the requests below and
//! assert the lines, so what Envoy 1.40 actually does is recorded in CI.
//!
//! The plugin configuration selects the role:
//! * `"http"` (plugin `envoy_probe`, HTTP filter on 127.0.0.1:18400, routed to
//!   the upstream cluster `probe_upstream`, 127.0.0.1:18402):
//!   * `GET /routed`: in `on_request_headers`, the log level, the header-map
//!     size against the pairs, the "newer builds" properties and foreign
//!     functions, and the shared-data CAS rules on fresh keys; in
//!     `on_response_headers`, the request headers after the
//!     request continued and the properties again; in `on_log`, both again;
//!   * `GET /local`: answered with a local reply from `on_request_headers`;
//!     `on_response_headers` logs that it ran for it.
//! * `"tcp"` (plugin `tcp_probe`, network filter on 127.0.0.1:18403, then
//!   `tcp_proxy` to the same upstream): `send_local_response` from
//!   `on_new_connection`.
//!
//! * any other configuration (plugins `struct_config`, `bytes_config`,
//!   `string_config`: the same JSON document as a `google.protobuf.Struct`, a
//!   `BytesValue` and a `StringValue`): logs what `Configuration::json` reads.
//!
//! * `"actions"` (plugins `actions_default` on 127.0.0.1:18404 and
//!   `actions_allow`, with `allow_on_headers_stop_iteration: true`, on
//!   127.0.0.1:18405; both routed to `probe_upstream`): see [`actions`].
//! * `"upstream"` (plugin `upstream_probe` on the upstream listener): logs
//!   the body that reached the upstream for a request carrying
//!   `x-probe-case` (see [`actions`]).
//!
//! Both roles log `on_vm_start`/`on_configure` with the plugin name, so the
//! canary and per-worker runs can be counted, and the HTTP role logs its
//! first tick once per VM that ticks (then stops its timer). Nothing here
//! panics: every failure is logged as part of the observation.

use proxywasm::attribute::{
    self, Attribute, FromAttribute, connection, destination, plugin, request, response, source,
    upstream, xds,
};
use proxywasm::http::{self, HeaderMap, HeaderPairs, LocalResponse};
use proxywasm::log::{info, warn};
use proxywasm::shared::{self, Cas};
use proxywasm::{
    Action, Configuration, ContextId, Error, HttpContext, PluginContext, Result, TcpContext,
    VmContext, foreign, logging, property, time,
};
use std::time::Duration;

pub mod actions;
pub mod measured;

/// The actions role's tick period.
pub const ACTIONS_TICK: Duration = Duration::from_millis(100);

/// The properties only newer Envoy builds have (book: reference/properties.md).
pub const PROPERTIES: &[(&[&str], Shape)] = &[
    (&["request", "headers_bytes"], Shape::Int),
    (&["response", "headers_bytes"], Shape::Int),
    (&["upstream", "num_endpoints"], Shape::Int),
    (&["connection", "peer_certificate"], Shape::Bytes),
    (&["xds", "upstream_host_locality_metadata"], Shape::Bytes),
];

/// The foreign-function calls probed: name, label, arguments
/// (book: reference/hostcalls.md#envoys-foreign-functions).
/// `no_such_function` is the control: what a missing function looks like.
pub const FOREIGN_CALLS: &[(&str, &str, &[u8])] = &[
    ("no_such_function", "empty", b""),
    ("clear_route_cache", "empty", b""),
    ("sign", "empty", b""),
    ("sign", "garbage", b"\xff\xff\xff\xff"),
    ("verify_signature", "empty", b""),
    ("verify_signature", "garbage", b"\xff\xff\xff\xff"),
];

/// The HTTP role's tick period (the timer stops after the first tick).
pub const TICK_PERIOD: Duration = Duration::from_millis(100);

/// The path answered with a local reply.
pub const LOCAL_PATH: &str = "/local";
/// The path probed in full (routed to the upstream).
pub const ROUTED_PATH: &str = "/routed";

/// Logs `probe: <name> = <observed>`.
pub(crate) fn observe(name: &str, observed: &str) {
    info!("probe: {name} = {observed}");
}

/// `NAME` of a host status, or the error's text for other errors.
fn status_name(e: &Error) -> String {
    match e.status() {
        Some(status) => status.name().to_string(),
        None => format!("error: {e}"),
    }
}

/// `Err(NAME)`.
fn err(e: &Error) -> String {
    format!("Err({})", status_name(e))
}

/// `OK` or `Err(NAME)`.
fn unit(result: &Result<()>) -> String {
    match result {
        Ok(()) => "OK".to_string(),
        Err(e) => err(e),
    }
}

/// How to show a property value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An 8-byte little-endian integer: `Ok(8 bytes, int N)`.
    Int,
    /// Bytes, shown escaped: `Ok(N bytes: "...")`.
    Bytes,
}

/// A property as `Ok(...)` (see [`Shape`]), `Err(NOT_FOUND)` or `Err(NAME)`.
fn describe_property(path: &[&str], shape: Shape) -> String {
    match property::get(path) {
        Ok(Some(value)) => {
            let bytes = value.as_bytes();
            match (shape, <[u8; 8]>::try_from(bytes)) {
                (Shape::Int, Ok(n)) => format!("Ok(8 bytes, int {})", i64::from_le_bytes(n)),
                _ => format!(
                    "Ok({} bytes: {:?})",
                    bytes.len(),
                    String::from_utf8_lossy(bytes)
                ),
            }
        }
        Ok(None) => "Err(NOT_FOUND)".to_string(),
        Err(e) => err(&e),
    }
}

/// A foreign-function call as `Ok(N bytes: "...")`, `Err(NOT_FOUND)` (no such
/// function) or `Err(NAME)`.
fn describe_foreign(name: &str, arguments: &[u8]) -> String {
    match foreign::call(name, arguments) {
        Ok(Some(out)) => format!("Ok({} bytes: {:?})", out.len(), out.to_string_lossy()),
        Ok(None) => "Err(NOT_FOUND)".to_string(),
        Err(e) => err(&e),
    }
}

/// The host's log level as `Name (raw)`.
fn describe_log_level() -> String {
    match logging::log_level() {
        Ok(level) => format!("{level:?} ({})", level.as_raw()),
        Err(e) => err(&e),
    }
}

/// `get(":path")`, `pairs()` and `byte_size()` of a header map.
fn describe_map(map: HeaderMap) -> [(&'static str, String); 3] {
    let value = match map.get(":path") {
        Ok(Some(v)) => format!("Ok({:?})", v.to_string_lossy()),
        Ok(None) => "Err(NOT_FOUND)".to_string(),
        Err(e) => err(&e),
    };
    let pairs = match map.pairs() {
        Ok(p) => format!("Ok({} pairs)", p.len()),
        Err(e) => err(&e),
    };
    let size = match map.byte_size() {
        Ok(n) => format!("Ok({n})"),
        Err(e) => err(&e),
    };
    [
        ("get(:path)", value),
        ("pairs()", pairs),
        ("byte_size()", size),
    ]
}

/// A typed attribute as `None`, `Some(<Debug>)` or `Err(NAME)`.
fn describe_attribute<T: FromAttribute + core::fmt::Debug>(a: Attribute<T>) -> (String, String) {
    let shown = match a.get() {
        Ok(Some(v)) => format!("Some({v:?})"),
        Ok(None) => "None".to_string(),
        Err(e) => err(&e),
    };
    (a.path().join("."), shown)
}

/// A typed map attribute as `Some(N pairs)`, `None` or `Err(NAME)`.
fn describe_map_attribute(a: Attribute<HeaderPairs>) -> (String, String) {
    let shown = match a.get() {
        Ok(Some(map)) => format!("Some({} pairs)", map.len()),
        Ok(None) => "None".to_string(),
        Err(e) => err(&e),
    };
    (a.path().join("."), shown)
}

/// Every accessor of `proxywasm::attribute`, read and described: the typed
/// surface checked against Envoy (book: reference/properties.md).
pub fn typed_attributes() -> Vec<(String, String)> {
    vec![
        describe_attribute(request::PATH),
        describe_attribute(request::URL_PATH),
        describe_attribute(request::HOST),
        describe_attribute(request::SCHEME),
        describe_attribute(request::METHOD),
        describe_map_attribute(request::HEADERS),
        describe_attribute(request::REFERER),
        describe_attribute(request::USERAGENT),
        describe_attribute(request::ID),
        describe_attribute(request::QUERY),
        describe_attribute(request::TIME),
        describe_attribute(request::PROTOCOL),
        describe_attribute(request::DURATION),
        describe_attribute(request::SIZE),
        describe_attribute(request::TOTAL_SIZE),
        describe_attribute(response::CODE),
        describe_attribute(response::CODE_DETAILS),
        describe_attribute(response::FLAGS),
        describe_attribute(response::GRPC_STATUS),
        describe_map_attribute(response::HEADERS),
        describe_map_attribute(response::TRAILERS),
        describe_attribute(response::SIZE),
        describe_attribute(response::TOTAL_SIZE),
        describe_attribute(response::BACKEND_LATENCY),
        describe_attribute(source::ADDRESS),
        describe_attribute(source::PORT),
        describe_attribute(destination::ADDRESS),
        describe_attribute(destination::PORT),
        describe_attribute(connection::ID),
        describe_attribute(connection::MTLS),
        describe_attribute(connection::REQUESTED_SERVER_NAME),
        describe_attribute(connection::TLS_VERSION),
        describe_attribute(connection::SUBJECT_PEER_CERTIFICATE),
        describe_attribute(connection::DNS_SAN_PEER_CERTIFICATE),
        describe_attribute(connection::URI_SAN_PEER_CERTIFICATE),
        describe_attribute(connection::TRANSPORT_FAILURE_REASON),
        describe_attribute(connection::TERMINATION_DETAILS),
        describe_attribute(upstream::ADDRESS),
        describe_attribute(upstream::PORT),
        describe_attribute(upstream::LOCAL_ADDRESS),
        describe_attribute(upstream::TLS_VERSION),
        describe_attribute(upstream::TRANSPORT_FAILURE_REASON),
        describe_attribute(upstream::REQUEST_ATTEMPT_COUNT),
        describe_attribute(upstream::NUM_ENDPOINTS),
        describe_attribute(xds::NODE_ID),
        describe_attribute(xds::NODE_CLUSTER),
        describe_attribute(xds::CLUSTER_NAME),
        describe_attribute(xds::CLUSTER_METADATA),
        describe_attribute(xds::ROUTE_NAME),
        describe_attribute(xds::ROUTE_METADATA),
        describe_attribute(xds::VIRTUAL_HOST_NAME),
        describe_attribute(xds::VIRTUAL_HOST_METADATA),
        describe_attribute(xds::UPSTREAM_HOST_METADATA),
        describe_attribute(xds::LISTENER_METADATA),
        describe_attribute(xds::LISTENER_DIRECTION),
        describe_attribute(xds::FILTER_CHAIN_NAME),
        describe_attribute(plugin::NAME),
        describe_attribute(plugin::ROOT_ID),
        describe_attribute(plugin::VM_ID),
        describe_attribute(attribute::METADATA),
    ]
}

/// Logs `probe: attribute[PHASE] PATH = VALUE` for every typed attribute.
fn observe_attributes(phase: &str) {
    for (path, shown) in typed_attributes() {
        observe(&format!("attribute[{phase}] {path}"), &shown);
    }
}

/// The plugin's name (`plugin_name` property), or a description of why not.
pub(crate) fn plugin_name() -> String {
    match property::get_string(&["plugin_name"]) {
        Ok(Some(name)) => name,
        Ok(None) => "<plugin_name NOT_FOUND>".to_string(),
        Err(e) => format!("<plugin_name {}>", err(&e)),
    }
}

/// `value V, cas C` of a shared-data read, with the CAS shown as `0`,
/// `u32::MAX` or `other` (its number changes from run to run).
fn describe_shared(key: &str) -> (String, Option<Cas>) {
    match shared::get(key) {
        Ok(Some((value, cas))) => {
            let shown = match cas.0 {
                0 => "0",
                u32::MAX => "u32::MAX",
                _ => "other",
            };
            (
                format!("value {}, cas {shown}", value.to_string_lossy()),
                Some(cas),
            )
        }
        Ok(None) => ("NOT_FOUND".to_string(), None),
        Err(e) => (err(&e), None),
    }
}

/// The shared-data rules `shared::update` relies on (book:
/// reference/hostcalls.md#shared-data), on keys no earlier run wrote (they
/// carry the time), so every run observes the same.
fn shared_data_rules() {
    let stamp = time::now()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let key = format!("probe-cas-{stamp}");
    observe(
        "shared_data[missing key] set with cas u32::MAX",
        &unit(&shared::set(&key, b"a", Some(Cas(u32::MAX)))),
    );
    let (created, first) = describe_shared(&key);
    observe("shared_data[created] get", &created);
    observe(
        "shared_data[existing key] set with cas u32::MAX",
        &unit(&shared::set(&key, b"b", Some(Cas(u32::MAX)))),
    );
    observe(
        "shared_data[existing key] set with the current cas",
        &unit(&shared::set(&key, b"c", first)),
    );
    let (_, second) = describe_shared(&key);
    let order = match (first, second) {
        (Some(Cas(a)), Some(Cas(b))) if b > a => "later write, larger cas",
        (Some(Cas(a)), Some(Cas(b))) if b == a => "same cas",
        (Some(_), Some(_)) => "later write, smaller cas",
        _ => "unreadable",
    };
    observe("shared_data[existing key] cas after a write", order);
    observe(
        "shared_data[existing key] set with a stale cas",
        &unit(&shared::set(&key, b"d", first)),
    );
    observe(
        "shared_data[existing key] set with cas 0",
        &unit(&shared::set(&key, b"e", None)),
    );
    observe("shared_data[after cas 0] get", &describe_shared(&key).0);
    let other = format!("probe-stale-{stamp}");
    observe(
        "shared_data[missing key] set with cas 12345",
        &unit(&shared::set(&other, b"x", Some(Cas(12345)))),
    );
    let counter_key = format!("probe-counter-{stamp}");
    let counter = shared::Counter::new(&counter_key);
    let adds = [counter.add(1), counter.add(2)]
        .map(|r| r.map_or_else(|e| err(&e), |n| format!("Ok({n})")));
    observe("shared::Counter add(1), add(2)", &adds.join(", "));
}

/// The VM context: logs each `on_vm_start`.
#[derive(Debug, Default)]
pub struct Vm;

impl VmContext for Vm {
    type Plugin = Plugin;

    fn on_vm_start(&mut self, _configuration: Configuration) -> Result<()> {
        observe("on_vm_start", &plugin_name());
        observe("log_level[on_vm_start]", &describe_log_level());
        Ok(())
    }

    fn new_plugin_context(&mut self, _id: ContextId) -> Plugin {
        Plugin::default()
    }
}

/// What a plugin configuration makes this plugin do.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Not configured (creates no stream contexts).
    #[default]
    None,
    /// HTTP filter.
    Http,
    /// Network filter.
    Tcp,
    /// HTTP filter answering the action a request names ([`actions`]).
    Actions,
    /// HTTP filter on the upstream: logs what reached it ([`actions`]).
    Upstream,
}

/// The plugin context: its role.
#[derive(Debug, Default)]
pub struct Plugin {
    role: Role,
}

impl PluginContext for Plugin {
    type Http = HttpProbe;
    type Tcp = TcpProbe;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        observe("on_configure", &plugin_name());
        observe_attributes(&format!("on_configure,{}", plugin_name()));
        let text = configuration.to_string_lossy()?;
        self.role = match text.trim() {
            "http" => Role::Http,
            "tcp" => Role::Tcp,
            "actions" => Role::Actions,
            "upstream" => Role::Upstream,
            // Any other configuration is a JSON document in one of the forms
            // Envoy sends (StringValue, BytesValue, Struct): observe how
            // `Configuration::json` reads it; no streams.
            _ => {
                let read = configuration.json::<serde_json::Value>();
                observe(
                    &format!("configuration[{}]", plugin_name()),
                    &read.map_or_else(|e| format!("Err({e})"), |v| v.to_string()),
                );
                Role::None
            }
        };
        if self.role == Role::Actions {
            time::set_tick_period(ACTIONS_TICK)?;
        }
        if self.role == Role::Http {
            observe(
                "set_tick_period[on_configure]",
                &unit(&time::set_tick_period(TICK_PERIOD)),
            );
        }
        Ok(())
    }

    fn on_tick(&mut self) -> Result<()> {
        if self.role == Role::Actions {
            return actions::resume_stopped();
        }
        observe("first_tick", &plugin_name());
        if let Err(e) = time::set_tick_period(Duration::ZERO) {
            warn!("probe: cannot stop the timer: {e}");
        }
        Ok(())
    }

    fn new_http_context(&mut self, id: ContextId) -> Option<HttpProbe> {
        match self.role {
            Role::Http => Some(HttpProbe::default()),
            Role::Actions => Some(HttpProbe {
                actions: Some(actions::ActionProbe::new(id)),
                ..HttpProbe::default()
            }),
            Role::Upstream => Some(HttpProbe {
                upstream: Some(actions::UpstreamProbe::default()),
                ..HttpProbe::default()
            }),
            Role::None | Role::Tcp => None,
        }
    }

    fn new_tcp_context(&mut self, _id: ContextId) -> Option<TcpProbe> {
        (self.role == Role::Tcp).then_some(TcpProbe)
    }
}

/// The HTTP stream context: remembers the request path.
#[derive(Debug, Default)]
pub struct HttpProbe {
    path: String,
    /// The actions role's state.
    actions: Option<actions::ActionProbe>,
    /// The upstream role's state.
    upstream: Option<actions::UpstreamProbe>,
}

impl HttpProbe {
    /// `local` or `routed` (or `other`), for observation names.
    fn tag(&self) -> &'static str {
        match self.path.as_str() {
            LOCAL_PATH => "local",
            ROUTED_PATH => "routed",
            _ => "other",
        }
    }

    fn properties(&self, phase: &str) {
        for (path, shape) in PROPERTIES {
            observe(
                &format!("property[{phase}] {}", path.join(".")),
                &describe_property(path, *shape),
            );
        }
    }

    fn request_headers_in(&self, phase: &str) {
        for (call, observed) in describe_map(http::request_headers()) {
            observe(
                &format!("request_headers[{phase},{}].{call}", self.tag()),
                &observed,
            );
        }
        observe(
            &format!("property[{phase},{}] request.path", self.tag()),
            &describe_property(&["request", "path"], Shape::Bytes),
        );
    }
}

impl HttpContext for HttpProbe {
    fn on_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Result<Action> {
        if let Some(probe) = &mut self.actions {
            return probe.on_request_headers(end_of_stream);
        }
        if let Some(probe) = &mut self.upstream {
            return probe.on_request_headers(end_of_stream);
        }
        self.path = match http::request_headers().get(":path") {
            Ok(Some(path)) => path.to_string_lossy().into_owned(),
            Ok(None) => String::new(),
            Err(e) => {
                warn!("probe: cannot read :path: {e}");
                String::new()
            }
        };
        if self.path == LOCAL_PATH {
            let sent = LocalResponse::new(200)
                .header("content-type", "text/plain")
                .body("probe local reply\n")
                .details("probe_local_reply")
                .send();
            observe("local_reply_sent", &unit(&sent));
            return Ok(Action::Pause);
        }
        if self.path != ROUTED_PATH {
            return Ok(Action::Continue);
        }
        observe("log_level[on_request_headers]", &describe_log_level());
        let headers = http::request_headers();
        let size = headers.byte_size();
        let pairs = headers.pairs();
        match (size, pairs) {
            (Ok(size), Ok(pairs)) => {
                let key_value: usize = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();
                observe(
                    "header_map_size[on_request_headers]",
                    &format!(
                        "{size}; key+value bytes {key_value}; entries {}; serialized {}",
                        pairs.len(),
                        pairs.as_bytes().len()
                    ),
                );
            }
            (size, pairs) => observe(
                "header_map_size[on_request_headers]",
                &format!(
                    "size {}; pairs {}",
                    size.map_or_else(|e| err(&e), |n| n.to_string()),
                    pairs.map_or_else(|e| err(&e), |p| p.len().to_string())
                ),
            ),
        }
        self.properties("on_request_headers");
        observe_attributes("on_request_headers");
        shared_data_rules();
        for (name, label, arguments) in FOREIGN_CALLS {
            observe(
                &format!("foreign {name}({label})"),
                &describe_foreign(name, arguments),
            );
        }
        Ok(Action::Continue)
    }

    fn on_request_body(&mut self, size: usize, end_of_stream: bool) -> Result<Action> {
        if let Some(probe) = &mut self.actions {
            return probe.on_request_body(size, end_of_stream);
        }
        if let Some(probe) = &mut self.upstream {
            return probe.on_request_body(end_of_stream);
        }
        Ok(Action::Continue)
    }

    fn on_request_trailers(&mut self, _num_trailers: usize) -> Result<Action> {
        if let Some(probe) = &mut self.actions {
            return Ok(probe.on_request_trailers());
        }
        Ok(Action::Continue)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if self.path == LOCAL_PATH {
            observe("local_reply_on_response_headers", "ran");
        }
        if self.path != LOCAL_PATH && self.path != ROUTED_PATH {
            return Ok(Action::Continue);
        }
        self.request_headers_in("on_response_headers");
        if self.path == ROUTED_PATH {
            self.properties("on_response_headers");
            observe(
                "property[on_response_headers] response.code",
                &describe_property(&["response", "code"], Shape::Int),
            );
        }
        Ok(Action::Continue)
    }

    fn on_log(&mut self) -> Result<()> {
        if let Some(probe) = &self.actions {
            probe.on_log();
            return Ok(());
        }
        if let Some(probe) = &self.upstream {
            probe.on_log();
            return Ok(());
        }
        if self.path != LOCAL_PATH && self.path != ROUTED_PATH {
            return Ok(());
        }
        self.request_headers_in("on_log");
        if self.path == ROUTED_PATH {
            self.properties("on_log");
            observe_attributes("on_log");
        }
        Ok(())
    }
}

/// The TCP connection context.
#[derive(Debug, Default)]
pub struct TcpProbe;

impl TcpContext for TcpProbe {
    fn on_new_connection(&mut self) -> Result<Action> {
        let sent = LocalResponse::new(403)
            .body("not for TCP\n")
            .details("probe_tcp")
            .send();
        observe("tcp_send_local_response[on_new_connection]", &unit(&sent));
        Ok(Action::Continue)
    }
}

/// The entry point: a VM context that logs every start.
#[proxywasm::main]
pub fn vm() -> Vm {
    Vm
}

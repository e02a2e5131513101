//! Callouts: HTTP calls, gRPC calls and streams, DNS lookups and foreign
//! functions. The hostcalls record them; the test answers them, and the
//! answer is delivered on the root context as Envoy does
//! (book: reference/hostcalls.md#http-callouts).

use super::records::{DnsLookup, GrpcCallout, GrpcKind, HttpCallout, lossy_pairs};
use super::state::status::{self, *};
use super::state::{HostState, Payload, PendingGrpc, PendingHttp, text};
use super::stream::{self, Map, map_get, parse_pairs};
use super::vm::{Vm, len32};
use crate::ContextId;
use crate::callout::{GrpcToken, HttpCallToken};
use core::time::Duration;
use proxywasm_abi::Export;

impl HostState {
    /// `proxy_get_status`: the root context's last status (after a failed
    /// HTTP call: 11 and `"reset"`; after a gRPC close: its status and message).
    pub fn get_status(&mut self) -> Result<(u32, Vec<u8>), u32> {
        self.enter("proxy_get_status")?;
        let root = self.root_of(self.acting_context());
        Ok(self
            .root(root)
            .map(|r| r.status.clone())
            .unwrap_or_default())
    }

    pub(super) fn token(&mut self, kind: u32) -> u32 {
        self.next_token += 1;
        self.next_token.wrapping_mul(4) | kind
    }

    pub(super) fn cluster_known(&self, cluster: &str) -> bool {
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
    pub(super) fn grpc_open(
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
}

impl HostState {
    // ---- foreign functions, DNS ---------------------------------------------

    /// `proxy_call_foreign_function`: runs the registered function; its
    /// answer, failure included, is written to the result words as Envoy
    /// does ([`ForeignAnswer`](super::ForeignAnswer)).
    ///
    /// # Errors
    /// `NOT_FOUND` for an unregistered name, before any result word is
    /// written.
    pub fn call_foreign_function(
        &mut self,
        name: &[u8],
        arguments: &[u8],
    ) -> Result<super::ForeignAnswer, u32> {
        self.enter("proxy_call_foreign_function")?;
        let name = text(name);
        self.foreign_calls.push((name.clone(), arguments.to_vec()));
        // (Envoy's functions act for the running callback's context, not
        // the effective one.)
        let caller = self.frames.last().map_or(0, |f| f.context);
        self.declarations.borrow_mut().caller = caller;
        let function = self.foreign.get_mut(&name).ok_or(NOT_FOUND)?;
        Ok(super::ForeignAnswer::from(function(arguments)))
    }

    /// `envoy_resolve_dns`: records the lookup; the test answers it later.
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

impl Vm {
    pub(super) fn callout_target(&self, root: u32, caller: u32) -> u32 {
        if self.state.borrow().config.fidelity.callouts_on_root {
            root
        } else {
            caller
        }
    }

    /// Calls the callout callback `export` with `payload`, then clears the
    /// status message of `root` (readable only during the callback).
    fn deliver_callout(&self, root: u32, export: Export, payload: Payload) {
        let (_, deferred) = self.invoke(export, payload);
        if let Some(root) = self.state().root_mut(root) {
            root.status.1.clear();
        }
        self.apply(deferred);
    }

    /// Delivers the outcome of HTTP callout `token` as Envoy does: an answer,
    /// Envoy's own 503 or 504 response, or (a reset after the response
    /// headers) a response without headers, with `proxy_get_status` (11,
    /// `"reset"`).
    pub(crate) fn deliver_http(&self, token: u32, outcome: HttpOutcome) {
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
        let (headers, body, trailers) = outcome.into_response();
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
        let payload = Payload::HttpResponse {
            headers,
            body,
            trailers,
        };
        self.deliver_callout(call.root, export, payload);
    }

    /// The test answers HTTP callout `token` ([`Vm::deliver_http`]).
    pub(crate) fn answer_http(&self, token: u32, outcome: HttpOutcome) {
        self.op(|| {
            let s = self.state.borrow();
            if !s.http_calls.contains_key(&token) {
                let pending = s.http_calls.values().map(|c| {
                    let record = &c.record;
                    format!(
                        "{} (to {:?}, from context {})",
                        record.token.0, record.upstream, record.context_id
                    )
                });
                no_such(
                    "pending HTTP callout",
                    token,
                    pending,
                    "a callout is answered once, and only after the plugin dispatched it",
                );
            }
            drop(s);
            self.deliver_http(token, outcome);
        })
    }

    /// The root, caller and kind of open gRPC call `token`.
    fn open_grpc(&self, token: u32) -> (u32, u32, GrpcKind) {
        let s = self.state.borrow();
        let Some(call) = s.grpc_calls.get(&token) else {
            let open = s.grpc_calls.values().map(|c| {
                let r = &c.record;
                format!(
                    "{} ({:?} {}/{})",
                    r.token.0, r.kind, r.service_name, r.method
                )
            });
            let rule = "cancelled and finished calls take no more events";
            no_such("open gRPC call or stream", token, open, rule);
        };
        (call.root, call.record.context_id.0, call.record.kind)
    }

    pub(crate) fn grpc_event(&self, token: u32, event: GrpcDelivery) {
        self.op(|| {
            let (root, caller, kind) = self.open_grpc(token);
            let stream = kind == GrpcKind::Stream;
            match &event {
                GrpcDelivery::Metadata { .. } => assert!(
                    stream,
                    "gRPC token {token} is a unary call; metadata and stream messages only exist on streams \
                     (answer a call with respond_to_grpc_call or fail_grpc_call)"
                ),
                GrpcDelivery::Message { reply: true, .. } => assert!(
                    !stream,
                    "gRPC token {token} is a stream; deliver stream messages with callouts().grpc_message"
                ),
                _ => {}
            }
            let context_id = self.callout_target(root, caller);
            let (export, payload, finished) = match event {
                GrpcDelivery::Metadata { trailing, map } => {
                    let num_elements = len32(map.len());
                    let export = if trailing {
                        Export::GrpcReceiveTrailingMetadata {
                            context_id,
                            token,
                            num_elements,
                        }
                    } else {
                        Export::GrpcReceiveInitialMetadata {
                            context_id,
                            token,
                            num_elements,
                        }
                    };
                    (export, Payload::Metadata(map), false)
                }
                GrpcDelivery::Message { message, .. } => {
                    let message_size = len32(message.len());
                    let export = Export::GrpcReceive {
                        context_id,
                        token,
                        message_size,
                    };
                    // A message ends a unary call.
                    (export, Payload::Message(message), !stream)
                }
                GrpcDelivery::Close(status_code, message) => {
                    if let Some(r) = self.state().root_mut(root) {
                        r.status = (status_code, message);
                    }
                    let export = Export::GrpcClose {
                        context_id,
                        token,
                        status_code,
                    };
                    (export, Payload::None, true)
                }
            };
            if finished {
                self.state().grpc_calls.remove(&token);
            }
            if self.state().is_live(context_id) {
                self.deliver_callout(root, export, payload);
            }
        })
    }

    pub(crate) fn respond_dns(&self, token: u32, results: &[(u32, &str)]) {
        self.op(|| {
            let lookup = self.state().dns.remove(&token);
            let Some(lookup) = lookup else {
                let s = self.state.borrow();
                let open = s.dns.values().map(|l| format!("{} ({})", l.token, l.name));
                no_such(
                    "pending DNS lookup",
                    token,
                    open,
                    "a lookup is answered once",
                );
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
            let root = {
                let mut s = self.state();
                s.call_data = data.clone();
                s.root_of(lookup.context_id.0)
            };
            let context_id = self.callout_target(root, lookup.context_id.0);
            if !self.state().is_live(context_id) {
                return;
            }
            let data_size = len32(if results.is_empty() { 0 } else { data.len() });
            let export = Export::ResolveDns {
                context_id,
                token,
                data_size,
            };
            self.call(export, Payload::CallData(data));
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
            self.call(export, Payload::CallData(arguments.to_vec()));
        })
    }
}

/// The test named a callout that is not pending: fails it, listing the
/// `open` ones.
fn no_such(what: &str, token: u32, open: impl Iterator<Item = String>, rule: &str) -> ! {
    let open: Vec<String> = open.collect();
    panic!(
        "no {what} has token {token}; expected one of [{}] ({rule})",
        open.join(", ")
    );
}

/// Envoy's body for a callout whose upstream refused the connection
/// (book: reference/envoy-1.40.md#http-callout-failures).
pub(crate) const CONNECT_FAILURE_BODY: &[u8] =
    b"upstream connect error or disconnect/reset before headers. reset reason: remote connection failure";

/// Envoy's body for a callout whose timeout passed.
pub(crate) const TIMEOUT_BODY: &[u8] = b"upstream request timeout";

/// How an HTTP callout ends, as the plugin sees it in Envoy.
#[derive(Clone, Debug)]
pub(crate) enum HttpOutcome {
    /// The upstream answered: headers, body, trailers.
    Answer(Map, Vec<u8>, Map),
    /// The upstream refused the connection: Envoy answers 503 itself.
    ConnectFailure,
    /// The timeout passed: Envoy answers 504 itself.
    Timeout,
    /// The upstream reset the stream after its response headers: no headers,
    /// no body (the only outcome that arrives without headers).
    Reset,
}

impl HttpOutcome {
    /// Envoy's local answer: `status`, then the body's length and type.
    fn envoy_reply(status: &str, body: &[u8]) -> (Map, Vec<u8>, Map) {
        let length = body.len().to_string();
        let headers = [
            (":status", status),
            ("content-length", length.as_str()),
            ("content-type", "text/plain"),
        ];
        (stream::from_text(&headers), body.to_vec(), Vec::new())
    }

    fn into_response(self) -> (Map, Vec<u8>, Map) {
        match self {
            HttpOutcome::Answer(headers, body, trailers) => (headers, body, trailers),
            HttpOutcome::ConnectFailure => Self::envoy_reply("503", CONNECT_FAILURE_BODY),
            HttpOutcome::Timeout => Self::envoy_reply("504", TIMEOUT_BODY),
            HttpOutcome::Reset => Default::default(),
        }
    }
}

/// Events a test delivers on a gRPC call or stream.
#[derive(Clone, Debug)]
pub(crate) enum GrpcDelivery {
    /// Initial or trailing metadata (streams only).
    Metadata { trailing: bool, map: Map },
    /// A message; a `reply` answers a unary call (never a stream).
    Message { message: Vec<u8>, reply: bool },
    /// The remote side closes with a status and its message.
    Close(u32, Vec<u8>),
}

//! HTTP streams: their control hostcalls (`proxy_continue_stream`,
//! `proxy_close_stream`, `proxy_send_local_response`) and their lifecycle
//! steps: headers, bodies and trailers each way, pauses and resumes, local
//! replies, completion (book: reference/lifecycle.md#streams).

use super::records::{LocalReply, lossy_pairs};
use super::state::status::*;
use super::state::{Deferred, HostState, Payload, text};
use super::stream::{self, Flow, Map, Part, Pause, Side, parse_pairs};
use super::vm::{Vm, len32, reply_for, stops};
use crate::abi::wire::stream as stream_type;
use proxywasm_abi::Export;

impl HostState {
    // ---- hostcalls ------------------------------------------------------------

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
    /// no-op); the reply is sent after the callback returns. Of two in one
    /// callback the first is sent; two in one `on_response_headers` break an
    /// Envoy rule (Envoy 1.40 crashes).
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
        let again = self
            .frames
            .last()
            .is_some_and(|f| super::vm::reply_for(&f.deferred, context));
        if again && from == "proxy_on_response_headers" {
            self.violate(
                Some("proxy_send_local_response"),
                "a second local reply from one on_response_headers: Envoy 1.40 crashes \
                 (segmentation fault); the emulator keeps the first \
                 (book: reference/envoy-1.40.md#local-replies)",
            );
        }
        self.defer(Deferred::LocalReply {
            context,
            reply,
            from,
        });
        Ok(())
    }
}

impl Vm {
    // ---- lifecycle steps ------------------------------------------------------

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
        let allow = self.state().allows_headers_stop_iteration(context);
        let export = side.export(Part::Headers, context, count, end_of_stream);
        let action = self.run_flow(context, side, export, stops, |flow, raw, replied| {
            flow.paused = match raw {
                _ if replied => Pause::No,
                // StopIteration: Envoy makes it StopAllIterationAndWatermark
                // unless the plugin allows it.
                1 if allow => Pause::HeadersOnly,
                // Continue, and ContinueAndEndStream, which Envoy treats as it.
                0 | 2 => Pause::No,
                // StopAllIterationAndBuffer / AndWatermark, and anything above:
                // all held (the two differ only past the buffer limit).
                _ => Pause::Headers,
            };
        });
        if side == Side::Request {
            self.answer_from_route(context);
        }
        action
    }

    /// If stream `context`'s route is a direct response and the request
    /// headers went past this filter (no pause, no reply, no reset), Envoy
    /// answers from them: the request body and trailers are never delivered
    /// (held data is dropped), and the answer passes through the plugin's
    /// response callbacks (book: reference/envoy-1.40.md#direct-response-routes).
    pub(super) fn answer_from_route(&self, context: u32) {
        let (status, body) = {
            let mut s = self.state();
            let Some(stream) = s.http_mut(context) else {
                return;
            };
            let waiting = stream.request.paused != Pause::No
                || stream.local_reply.is_some()
                || stream.reset
                || stream.answered_by_route;
            let Some(direct) = stream.direct_response.clone().filter(|_| !waiting) else {
                return;
            };
            stream.answered_by_route = true;
            stream.request.held = stream::Held::default();
            stream.request.ended = true;
            stream.response.started = true;
            direct
        };
        let length = body.len().to_string();
        let status_text = status.to_string();
        let mut headers = vec![(":status", status_text.as_str())];
        if !body.is_empty() {
            headers.push(("content-length", length.as_str()));
            headers.push(("content-type", "text/plain"));
        }
        let headers = stream::from_text(&headers);
        let end_of_stream = body.is_empty();
        self.flow_headers(context, Side::Response, headers, end_of_stream);
        let live = self
            .state()
            .http(context)
            .is_some_and(|s| s.local_reply.is_none() && !s.reset);
        if !end_of_stream && live {
            self.flow_body(context, Side::Response, body, true);
        }
    }

    /// Runs one callback of stream `context` on `side`: records the action
    /// it returned (`stop` says which raw values stop iteration; a local
    /// reply sent from it always does), lets `settle` update the side's flow
    /// with the raw result and whether it replied, then applies the deferred
    /// effects.
    fn run_flow(
        &self,
        context: u32,
        side: Side,
        export: Export,
        stop: fn(u32) -> bool,
        settle: impl FnOnce(&mut Flow, u32, bool),
    ) -> u32 {
        let (raw, deferred) = self.invoke(export, Payload::None);
        let replied = reply_for(&deferred, context);
        let action = u32::from(replied || stop(raw));
        if let Some(stream) = self.state().http_mut(context) {
            stream.action = action;
            settle(stream.flow_mut(side), raw, replied);
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
        let export = side.export(Part::Body, context, size, end_of_stream);
        let settle = |flow: &mut Flow, raw: u32, replied: bool| {
            match raw {
                _ if replied => flow.paused = Pause::No,
                0 => {
                    flow.forward();
                    flow.paused = Pause::No;
                }
                // StopIterationAndBuffer: the next chunk joins this buffer.
                1 => {
                    flow.buffering = true;
                    flow.paused = flow.paused.stopped_at(Pause::Body);
                }
                // StopIterationAndWatermark: Envoy keeps the chunk, but the
                // next callback sees only the next chunk.
                2 => {
                    flow.keep();
                    flow.paused = flow.paused.stopped_at(Pause::Body);
                }
                // StopIterationNoBuffer (and anything above, which Envoy treats
                // as it): the chunk is dropped, unless the previous answer had
                // already buffered it; then it is kept, unseen.
                _ => {
                    if flow.buffering {
                        flow.keep();
                    } else {
                        flow.buffer.clear();
                    }
                    flow.paused = flow.paused.stopped_at(Pause::Body);
                }
            }
        };
        let action = self.run_flow(context, side, export, |raw| raw != 0, settle);
        if side == Side::Request {
            // Headers held under `allow_on_headers_stop_iteration` go on with this
            // body: a direct-response route answers now.
            self.answer_from_route(context);
        }
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
        let export = side.export(Part::Trailers, context, count, true);
        let settle = |flow: &mut Flow, raw: u32, replied: bool| {
            if replied {
                flow.paused = Pause::No;
            } else if raw == 0 {
                flow.forward();
                flow.paused = Pause::No;
            } else {
                flow.paused = flow.paused.stopped_at(Pause::Trailers);
            }
        };
        self.run_flow(context, side, export, |raw| raw != 0, settle)
    }

    /// Delivers what arrived while headers were paused, as Envoy does on resume.
    pub(super) fn deliver_held(&self, context: u32, side: Side) {
        let direct = side == Side::Request
            && self
                .state()
                .http(context)
                .is_some_and(|s| s.direct_response.is_some());
        if direct {
            self.answer_from_route(context);
            return;
        }
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

    pub(super) fn check_http(&self, context: u32, side: Side, what: &str) {
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
        if stream.answered_by_route && side == Side::Response {
            panic!(
                "the route of stream {context} answered it directly (direct_response); no upstream response comes. \
                 Inspect current_response_headers() and current_response_body(), then call complete()"
            );
        }
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
        headers: Map,
        end_of_stream: bool,
    ) -> u32 {
        self.op(|| {
            self.check_http(context, side, "headers");
            self.flow_headers(context, side, headers, end_of_stream)
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
            if self.dropped_by_route(context, side, "body") {
                return 0;
            }
            self.check_http(context, side, "body");
            self.flow_body(context, side, body.to_vec(), end_of_stream)
        })
    }

    pub(crate) fn http_trailers(&self, context: u32, side: Side, trailers: Map) -> u32 {
        self.op(|| {
            if self.dropped_by_route(context, side, "trailers") {
                return 0;
            }
            self.check_http(context, side, "trailers");
            self.flow_trailers(context, side, trailers)
        })
    }

    /// Whether request data the test sends is dropped because the route
    /// already answered from the headers (Envoy never delivers it).
    fn dropped_by_route(&self, context: u32, side: Side, what: &str) -> bool {
        let s = self.state.borrow();
        let Some(stream) = s.http(context) else {
            return false;
        };
        if side != Side::Request || stream.direct_response.is_none() {
            return false;
        }
        assert!(
            stream.request.started,
            "stream {context}: send the request headers before the request {what}"
        );
        stream.answered_by_route
    }

    /// Makes stream `context`'s route a direct response with `status` and `body`.
    pub(crate) fn set_direct_response(&self, context: u32, status: u32, body: Vec<u8>) {
        let mut s = self.state();
        let Some(stream) = s.http_mut(context) else {
            panic!("HTTP stream {context} is gone (completed)");
        };
        assert!(
            !stream.request.started,
            "stream {context}: say the route is a direct response before sending the request headers"
        );
        stream.direct_response = Some((status, body));
    }

    pub(crate) fn complete_http(&self, context: u32) {
        let live = self.state().http(context).is_some();
        self.complete(
            context,
            live,
            "HTTP stream",
            [
                Export::Log {
                    context_id: context,
                },
                Export::Done {
                    context_id: context,
                },
            ],
        );
    }
}

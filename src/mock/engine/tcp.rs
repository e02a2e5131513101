//! TCP connections: data both ways, closes, completion
//! (book: reference/lifecycle.md#streams).

use super::state::Payload;
use super::stream::Pause;
use super::vm::{Vm, len32};
use proxywasm_abi::Export;

fn side(downstream: bool) -> &'static str {
    if downstream { "downstream" } else { "upstream" }
}

impl Vm {
    pub(crate) fn tcp_data(
        &self,
        context: u32,
        downstream: bool,
        data: &[u8],
        end_of_stream: bool,
    ) -> u32 {
        self.op(|| {
            let data_size = {
                let mut s = self.state();
                let Some(conn) = s.tcp_mut(context) else {
                    panic!("TCP connection {context} is gone (completed); it accepts no more data")
                };
                let flow = conn.flow_mut(downstream);
                let side = side(downstream);
                assert!(
                    !flow.closed,
                    "connection {context}: the {side} side was already closed; it sends no more data"
                );
                assert!(
                    !flow.ended,
                    "connection {context}: the {side} side already ended (end_of_stream was true)"
                );
                flow.buffer.extend_from_slice(data);
                flow.ended = end_of_stream;
                len32(flow.buffer.len())
            };
            let context_id = context;
            let export = if downstream {
                Export::DownstreamData {
                    context_id,
                    data_size,
                    end_of_stream,
                }
            } else {
                Export::UpstreamData {
                    context_id,
                    data_size,
                    end_of_stream,
                }
            };
            let (raw, deferred) = self.invoke(export, Payload::None);
            let action = u32::from(raw != 0);
            if let Some(conn) = self.state().tcp_mut(context) {
                conn.action = action;
                let flow = conn.flow_mut(downstream);
                if action == 0 {
                    flow.forward();
                    flow.paused = Pause::No;
                } else {
                    flow.paused = Pause::Body;
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

    pub(super) fn tcp_close_inner(&self, context_id: u32, downstream: bool, peer_type: u32) {
        if let Some(conn) = self.state().tcp_mut(context_id) {
            conn.flow_mut(downstream).closed = true;
        }
        let export = if downstream {
            Export::DownstreamConnectionClose {
                context_id,
                peer_type,
            }
        } else {
            Export::UpstreamConnectionClose {
                context_id,
                peer_type,
            }
        };
        self.call(export, Payload::None);
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

    pub(crate) fn complete_tcp(&self, context_id: u32) {
        let live = self.state().tcp(context_id).is_some();
        let order = [Export::Done { context_id }, Export::Log { context_id }];
        self.complete(context_id, live, "TCP connection", order);
    }
}

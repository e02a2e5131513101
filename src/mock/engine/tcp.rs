//! TCP connections: data both ways, closes, completion
//! (book: reference/lifecycle.md#streams).

use super::state::Payload;
use super::vm::{Vm, len32};
use proxywasm_abi::Export;

impl Vm {
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

    pub(super) fn tcp_close_inner(&self, context: u32, downstream: bool, peer: u32) {
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

    pub(crate) fn complete_tcp(&self, context: u32) {
        let live = self.state().tcp(context).is_some();
        self.complete(
            context,
            live,
            "TCP connection",
            [
                Export::Done {
                    context_id: context,
                },
                Export::Log {
                    context_id: context,
                },
            ],
        );
    }
}

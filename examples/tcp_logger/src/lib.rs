//! `tcp_logger`: a network filter that logs each connection's lifecycle and
//! how many bytes flow each way.

use proxywasm::log::info;
use proxywasm::{Action, ContextId, PeerType, Result, TcpContext};

/// One connection.
#[derive(Debug)]
pub struct TcpLogger {
    id: ContextId,
    downstream_bytes: usize,
    upstream_bytes: usize,
}

impl TcpContext for TcpLogger {
    fn on_new_connection(&mut self) -> Result<Action> {
        let peer = proxywasm::property::get_string(&["source", "address"])?;
        info!(
            "tcp_logger: new connection {} from {}",
            self.id,
            peer.as_deref().unwrap_or("unknown")
        );
        Ok(Action::Continue)
    }

    fn on_downstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Result<Action> {
        self.downstream_bytes += data_size;
        info!("tcp_logger: downstream data {data_size} bytes, end_of_stream={end_of_stream}");
        Ok(Action::Continue)
    }

    fn on_upstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Result<Action> {
        self.upstream_bytes += data_size;
        info!("tcp_logger: upstream data {data_size} bytes, end_of_stream={end_of_stream}");
        Ok(Action::Continue)
    }

    fn on_downstream_close(&mut self, peer: PeerType) -> Result<()> {
        info!("tcp_logger: downstream close, peer={}", peer.name());
        Ok(())
    }

    fn on_upstream_close(&mut self, peer: PeerType) -> Result<()> {
        info!("tcp_logger: upstream close, peer={}", peer.name());
        Ok(())
    }

    fn on_done(&mut self) -> Result<()> {
        info!(
            "tcp_logger: connection done, {} bytes from downstream, {} bytes from upstream",
            self.downstream_bytes, self.upstream_bytes
        );
        Ok(())
    }
}

/// The entry point: one `TcpLogger` per connection.
#[proxywasm::main(tcp)]
pub fn connection(id: ContextId) -> TcpLogger {
    TcpLogger {
        id,
        downstream_bytes: 0,
        upstream_bytes: 0,
    }
}

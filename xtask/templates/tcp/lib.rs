//! {{name}}: a network (TCP) filter. It counts the bytes of every connection
//! in each direction and logs them when the connection ends.

use proxywasm::log::info;
use proxywasm::{Action, ContextId, Result, TcpContext};

/// One per TCP connection (Envoy creates a context per connection).
#[derive(Debug, Default)]
pub struct Connection {
    downstream: usize,
    upstream: usize,
}

impl TcpContext for Connection {
    fn on_new_connection(&mut self) -> Result<Action> {
        info!("{{name}}: new connection");
        Ok(Action::Continue)
    }

    fn on_downstream_data(&mut self, data_size: usize, _end_of_stream: bool) -> Result<Action> {
        self.downstream += data_size;
        Ok(Action::Continue)
    }

    fn on_upstream_data(&mut self, data_size: usize, _end_of_stream: bool) -> Result<Action> {
        self.upstream += data_size;
        Ok(Action::Continue)
    }

    fn on_log(&mut self) -> Result<()> {
        info!(
            "{{name}}: connection closed: {} bytes from downstream, {} from upstream",
            self.downstream, self.upstream
        );
        Ok(())
    }
}

/// The entry point: a new `Connection` for every connection.
#[proxywasm::main(tcp)]
pub fn connection(_id: ContextId) -> Connection {
    Connection::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxywasm::mock::MockHost;

    /// One body, two runs: natively on the emulator, then on the release
    /// `.wasm` under wasmtime.
    #[test]
    fn bytes_are_counted_each_way() {
        proxywasm_wasmtime::dual_run(
            env!("CARGO_PKG_NAME"),
            MockHost::builder,
            |builder| builder.tcp(connection),
            |host| {
                let mut connection = host.tcp_connection();
                connection.downstream_data(b"ping", false);
                connection.upstream_data(b"pong!", false);
                connection.downstream_data(b"bye", true);
                connection.complete();
                assert_eq!(
                    host.logs().info(),
                    [
                        "{{name}}: new connection",
                        "{{name}}: connection closed: 7 bytes from downstream, 5 from upstream"
                    ]
                );
            },
        );
    }
}

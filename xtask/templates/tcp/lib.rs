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

// `#[proxywasm::callbacks]`: the callbacks a block does not write are
// answered without reaching the context (fewer instructions per request).
#[proxywasm::callbacks]
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
    use proxywasm_wasmtime::Dual;

    /// The plugin under test, natively and as its release `.wasm`: each
    /// test's body runs twice, on the emulator, then under wasmtime.
    const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.tcp(connection));

    #[test]
    fn bytes_are_counted_each_way() {
        DUAL.run(|host| {
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
        });
    }
}

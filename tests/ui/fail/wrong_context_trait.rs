struct Connection;
impl proxywasm::TcpContext for Connection {}

// A TCP context registered as an HTTP filter.
#[proxywasm::main(http)]
fn filter(_id: proxywasm::ContextId) -> Connection {
    Connection
}

fn main() {}

#[proxywasm::main(http)]
fn filter(_id: proxywasm::ContextId) {}

fn main() {}

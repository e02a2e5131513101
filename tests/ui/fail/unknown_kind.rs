struct Filter;
impl proxywasm::HttpContext for Filter {}

#[proxywasm::main(grpc)]
fn filter(_id: proxywasm::ContextId) -> Filter {
    Filter
}

fn main() {}

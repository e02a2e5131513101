struct Filter;
impl proxywasm::HttpContext for Filter {}

#[proxywasm::main(http, crate = proxywasm)]
fn filter(_id: proxywasm::ContextId) -> Filter {
    Filter
}

fn main() {}

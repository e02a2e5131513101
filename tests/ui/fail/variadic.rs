struct Filter;
impl proxywasm::HttpContext for Filter {}

#[proxywasm::main(http)]
fn filter(_id: proxywasm::ContextId, ...) -> Filter {
    Filter
}

fn main() {}

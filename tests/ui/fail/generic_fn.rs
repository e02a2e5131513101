struct Filter;
impl proxywasm::HttpContext for Filter {}

#[proxywasm::main(http)]
fn filter<T>(_id: proxywasm::ContextId) -> Filter {
    Filter
}

fn main() {}

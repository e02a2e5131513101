struct Filter;
impl proxywasm::HttpContext for Filter {}

#[proxywasm::main(http, root_id = "x")]
fn filter(_id: proxywasm::ContextId) -> Filter {
    Filter
}

fn main() {}

struct Filter;
impl proxywasm::HttpContext for Filter {}

#[proxywasm::main(http)]
extern "C" fn filter(_id: proxywasm::ContextId) -> Filter {
    Filter
}

fn main() {}

// Each entry below fails on a qualifier of its function.
struct Filter;
impl proxywasm::HttpContext for Filter {}

#[proxywasm::main(http)]
async fn async_entry(_id: proxywasm::ContextId) -> Filter {
    Filter
}

#[proxywasm::main(http)]
unsafe fn unsafe_entry(_id: proxywasm::ContextId) -> Filter {
    Filter
}

#[proxywasm::main(http)]
extern "C" fn extern_entry(_id: proxywasm::ContextId) -> Filter {
    Filter
}

fn main() {}

struct Filter;
impl proxywasm::HttpContext for Filter {}

#[proxywasm::main(http)]
fn filter() -> Filter {
    Filter
}

fn main() {}

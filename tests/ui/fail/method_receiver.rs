struct Filter;
impl proxywasm::HttpContext for Filter {}

impl Filter {
    #[proxywasm::main(http)]
    fn filter(&self) -> Filter {
        Filter
    }
}

fn main() {}

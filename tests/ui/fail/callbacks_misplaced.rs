struct Filter;

#[proxywasm::callbacks]
impl Filter {
    fn on_request_headers(&mut self) {}
}

#[proxywasm::callbacks]
fn filter() {}

fn main() {}

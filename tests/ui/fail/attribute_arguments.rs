// Each entry below fails on its attribute's arguments alone.
struct Filter;
impl proxywasm::HttpContext for Filter {}

#[proxywasm::main(grpc)]
fn unknown_kind(_id: proxywasm::ContextId) -> Filter {
    Filter
}

#[proxywasm::main(http, tcp)]
fn two_kinds(_id: proxywasm::ContextId) -> Filter {
    Filter
}

#[proxywasm::main(http, root_id = "x")]
fn unknown_option(_id: proxywasm::ContextId) -> Filter {
    Filter
}

#[proxywasm::main(http, crate = "not a path")]
fn crate_not_a_path(_id: proxywasm::ContextId) -> Filter {
    Filter
}

#[proxywasm::main(http, crate = proxywasm)]
fn crate_not_a_string(_id: proxywasm::ContextId) -> Filter {
    Filter
}

fn main() {}

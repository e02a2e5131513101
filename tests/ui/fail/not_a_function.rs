#[proxywasm::main(http)]
struct Filter;

fn main() {}

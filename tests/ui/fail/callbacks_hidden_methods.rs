use proxywasm::{HttpContext, Result};

macro_rules! log_callback {
    () => {
        fn on_log(&mut self) -> Result<()> {
            Ok(())
        }
    };
}

struct Filter;

#[proxywasm::callbacks]
impl HttpContext for Filter {
    log_callback!();
}

struct Written;

#[proxywasm::callbacks]
impl HttpContext for Written {
    const CALLBACKS: proxywasm::Callbacks = proxywasm::Callbacks::ALL;
}

struct Options;

#[proxywasm::callbacks(http)]
impl HttpContext for Options {}

fn main() {}

//! `noop`: an HTTP filter that does nothing.
use proxywasm::{ContextId, HttpContext};

/// The filter.
pub struct Noop;
#[proxywasm::callbacks]
impl HttpContext for Noop {}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> Noop {
    Noop
}

//! Built for `wasm32-wasip1` by the gate: the entry macro's wasm expansion
//! (exports, `_initialize`, the dispatcher static) must compile in a crate
//! that forbids `unsafe` and has no implicit prelude, and so must
//! `#[proxywasm::callbacks]`'s.
#![no_implicit_prelude]
#![forbid(unsafe_code)]

/// A filter that adds one header.
pub struct Filter;

#[::proxywasm::callbacks]
impl ::proxywasm::HttpContext for Filter {
    fn on_response_headers(
        &mut self,
        _headers: usize,
        _end_of_stream: bool,
    ) -> ::proxywasm::Result<::proxywasm::Action> {
        ::proxywasm::http::response_headers().add("x-hygiene", "ok")?;
        ::core::result::Result::Ok(::proxywasm::Action::Continue)
    }
}

/// The entry point.
#[::proxywasm::main(http)]
pub fn filter(_id: ::proxywasm::ContextId) -> Filter {
    Filter
}

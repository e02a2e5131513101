//! The `#[proxywasm::main]` and `#[proxywasm::callbacks]` attributes. Use
//! them through the `proxywasm` crate, which re-exports and documents them.
//!
//! `parse` validates the entry attribute and function (every error spanned
//! at the user's code); `expand` emits the function unchanged plus the
//! module entry; `callbacks` reads the methods of a context's `impl` block.

mod callbacks;
mod expand;
mod parse;

use proc_macro::TokenStream;

/// Marks the function that builds a plugin's context. See `proxywasm::main`,
/// whose documentation has the runnable examples (this crate cannot depend on
/// `proxywasm`, which depends on it), for the attribute's forms:
///
/// ```text
/// #[proxywasm::main(http)]
/// fn filter(_id: proxywasm::ContextId) -> MyFilter { MyFilter }
/// ```
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    let expanded = parse::parse(attr.into(), item.clone()).and_then(|entry| expand::expand(&entry));
    or_errors_with(expanded, item)
}

/// Sets a context type's `CALLBACKS` from the methods its `impl` block
/// writes. See `proxywasm::callbacks`, whose documentation has the runnable
/// examples:
///
/// ```text
/// #[proxywasm::callbacks]
/// impl proxywasm::HttpContext for MyFilter { /* callbacks */ }
/// ```
#[proc_macro_attribute]
pub fn callbacks(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    or_errors_with(callbacks::expand(attr.into(), item.clone()), item)
}

/// The expansion, or its errors followed by the user's `item` unchanged (so
/// that the IDE still sees the function or the methods).
fn or_errors_with(
    expanded: syn::Result<proc_macro2::TokenStream>,
    item: proc_macro2::TokenStream,
) -> TokenStream {
    match expanded {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let mut out = error.to_compile_error();
            out.extend(item);
            out.into()
        }
    }
}

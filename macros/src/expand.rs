//! Code generation. Absolute paths only, no `unsafe` blocks; the one export
//! attribute is generated with the macro's own span.

use crate::parse::{Entry, Kind};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

pub(crate) fn expand(entry: &Entry) -> TokenStream {
    let function = &entry.function;
    let name = &function.sig.ident;
    let krate = &entry.krate;
    let constructor = match entry.kind {
        Kind::Vm => quote!(vm),
        Kind::Plugin => quote!(plugin),
        Kind::Http => quote!(http),
        Kind::Tcp => quote!(tcp),
    };
    // Type errors (the return type does not implement the trait) point at the
    // return type.
    let span = match &function.sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => name.span(),
    };
    let build = quote_spanned! {span=>
        #krate::__private::Entry::#constructor(#name)
    };
    quote! {
        #function

        const _: () = {
            #[allow(dead_code)]
            fn __proxywasm_entry_of() -> #krate::__private::Entry {
                #build
            }

            #[cfg(target_family = "wasm")]
            #[unsafe(export_name = "__proxywasm_entry")]
            extern "Rust" fn __proxywasm_entry() -> #krate::__private::Entry {
                __proxywasm_entry_of()
            }
        };
    }
}

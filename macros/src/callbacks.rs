//! `#[proxywasm::callbacks]`: reads the callbacks an `impl` block of a
//! context trait writes, and sets the trait's `CALLBACKS` to them.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::{ImplItem, ItemImpl, Meta, Path};

/// The attribute's options: only `crate = "path"`.
fn parse_args(attr: TokenStream) -> syn::Result<Path> {
    let metas =
        syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated.parse2(attr)?;
    let mut krate = None;
    for meta in metas {
        match &meta {
            Meta::NameValue(nv) if nv.path.is_ident("crate") => {
                krate = Some(crate::parse::crate_path(nv)?);
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "unknown option: `#[proxywasm::callbacks]` takes only `crate = \"path\"`",
                ));
            }
        }
    }
    Ok(krate.unwrap_or_else(|| syn::parse_quote!(::proxywasm)))
}

/// The `impl` block with `const CALLBACKS` added: the names of the
/// methods it writes.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let krate = parse_args(attr);
    let mut block: ItemImpl = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "`#[proxywasm::callbacks]` goes on an `impl HttpContext for …` block \
             (or `TcpContext`, `PluginContext`)",
        )
    })?;
    let krate = krate?;
    if block.trait_.is_none() {
        return Err(syn::Error::new_spanned(
            &block.self_ty,
            "`#[proxywasm::callbacks]` goes on an `impl HttpContext for …` block \
             (or `TcpContext`, `PluginContext`), not on inherent methods",
        ));
    }
    let mut names = Vec::new();
    for item in &block.items {
        match item {
            ImplItem::Fn(method) => names.push(method.sig.ident.to_string()),
            ImplItem::Const(constant) if constant.ident == "CALLBACKS" => {
                return Err(syn::Error::new_spanned(
                    &constant.ident,
                    "`#[proxywasm::callbacks]` sets `CALLBACKS` from the methods written here; \
                     remove this one (or the attribute)",
                ));
            }
            ImplItem::Macro(call) => {
                return Err(syn::Error::new_spanned(
                    call,
                    "`#[proxywasm::callbacks]` cannot see the methods a macro writes, and \
                     would answer their callbacks without calling them; write the methods \
                     out, or remove the attribute",
                ));
            }
            _ => {}
        }
    }
    block.items.push(syn::parse_quote! {
        const CALLBACKS: #krate::Callbacks = #krate::Callbacks::only(&[#(#names),*]);
    });
    Ok(quote!(#block))
}

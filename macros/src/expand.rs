//! Code generation. Absolute paths only; no `unsafe` blocks. On wasm the
//! expansion holds the plugin's dispatcher in a `static` (`ModuleStatic`) of its
//! concrete type and emits the module's exports from the SDK's export table
//! (`__proxywasm_exports!`), so every callback is statically dispatched.

use crate::parse::{EntryFunction, Kind};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

pub(crate) fn expand(entry: &EntryFunction) -> syn::Result<TokenStream> {
    let function = &entry.function;
    let name = &function.sig.ident;
    let krate = &entry.krate;
    let syn::ReturnType::Type(_, ret) = &function.sig.output else {
        return Err(syn::Error::new_spanned(
            &function.sig,
            "the entry function must return the context it builds",
        ));
    };
    if let syn::Type::ImplTrait(impl_trait) = &**ret {
        return Err(syn::Error::new_spanned(
            impl_trait,
            "the entry function must name its return type (not `impl Trait`): the SDK keeps a static of that type",
        ));
    }
    let span = ret.span();
    let context_id = quote!(#krate::ContextId);
    // A direct bound check on the return type, so a missing trait impl is
    // reported there.
    let bound = match entry.kind {
        Kind::Vm => quote_spanned!(span=> #krate::VmContext),
        Kind::Plugin => quote_spanned!(span=> #krate::PluginContext),
        Kind::Http => quote_spanned!(span=> #krate::HttpContext),
        Kind::Tcp => quote_spanned!(span=> #krate::TcpContext),
    };
    let assertion = quote_spanned! {span=>
        #[allow(dead_code)]
        fn __proxywasm_assert_context<T: #bound>() {}
        #[allow(dead_code)]
        const __PROXYWASM_ASSERT: fn() = __proxywasm_assert_context::<#ret>;
    };
    // The VM context type, its factory, and the native type check.
    let (vm, factory, check) = match entry.kind {
        Kind::Vm => (
            quote!(#ret),
            quote!(#name),
            quote_spanned!(span=> #krate::__private::BoxedDispatcher::vm(#name)),
        ),
        Kind::Plugin => (
            quote!(#krate::__private::AnonVm<__ProxywasmMake>),
            quote!(|| #krate::__private::AnonVm::new(__ProxywasmMake)),
            quote_spanned!(span=> #krate::__private::BoxedDispatcher::plugin(#name)),
        ),
        Kind::Http => (
            quote!(#krate::__private::HttpVm<__ProxywasmMake>),
            quote!(|| #krate::__private::HttpVm::new(__ProxywasmMake)),
            quote_spanned!(span=> #krate::__private::BoxedDispatcher::http(#name)),
        ),
        Kind::Tcp => (
            quote!(#krate::__private::TcpVm<__ProxywasmMake>),
            quote!(|| #krate::__private::TcpVm::new(__ProxywasmMake)),
            quote_spanned!(span=> #krate::__private::BoxedDispatcher::tcp(#name)),
        ),
    };
    // A zero-sized factory that calls the entry function: creating a context
    // is then an inlined call, not a call through a function pointer.
    // The http and tcp forms leave out the exports their contexts cannot use.
    let exports_form = match entry.kind {
        Kind::Http => quote!(, http),
        Kind::Tcp => quote!(, tcp),
        Kind::Vm | Kind::Plugin => quote!(),
    };
    let make = if entry.kind == Kind::Vm {
        quote!()
    } else {
        quote! {
            #[cfg(target_family = "wasm")]
            #[derive(::core::clone::Clone, ::core::marker::Copy)]
            struct __ProxywasmMake;

            #[cfg(target_family = "wasm")]
            impl #krate::__private::Make for __ProxywasmMake {
                type Output = #ret;
                #[inline(always)]
                fn make(&mut self, id: #context_id) -> #ret {
                    #name(id)
                }
            }
        }
    };
    Ok(quote! {
        #function

        const _: () = {
            #assertion

            #make

            // Type-checks the entry natively too (wasm builds check it below).
            #[cfg(not(target_family = "wasm"))]
            #[allow(dead_code)]
            fn __proxywasm_entry_check() -> #krate::__private::BoxedDispatcher {
                #check
            }

            #[cfg(target_family = "wasm")]
            static __PROXYWASM_DISPATCHER: #krate::__private::ModuleStatic<#krate::__private::Dispatcher<#vm, fn() -> #vm>> =
                #krate::__private::ModuleStatic(#krate::__private::Dispatcher::new(#factory));

            #[cfg(target_family = "wasm")]
            #[unsafe(no_mangle)]
            extern "C" fn _initialize() {
                #krate::__private::initialize()
            }

            #[cfg(target_family = "wasm")]
            #krate::__proxywasm_exports!(__PROXYWASM_DISPATCHER #exports_form);
        };
    })
}

//! Attribute and function validation.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Meta, Path, ReturnType};

/// Which context the function builds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Vm,
    Plugin,
    Http,
    Tcp,
}

impl Kind {
    pub(crate) fn form(self) -> &'static str {
        match self {
            Kind::Vm => "`#[proxywasm::main]` expects `fn() -> impl VmContext`",
            Kind::Plugin => {
                "`#[proxywasm::main(plugin)]` expects `fn(ContextId) -> impl PluginContext`"
            }
            Kind::Http => "`#[proxywasm::main(http)]` expects `fn(ContextId) -> impl HttpContext`",
            Kind::Tcp => "`#[proxywasm::main(tcp)]` expects `fn(ContextId) -> impl TcpContext`",
        }
    }
}

/// The function `#[proxywasm::main]` marks, with the attribute's options.
pub(crate) struct EntryFunction {
    pub(crate) kind: Kind,
    pub(crate) krate: Path,
    pub(crate) function: ItemFn,
}

fn parse_args(attr: TokenStream) -> syn::Result<(Kind, Path)> {
    let metas =
        syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated.parse2(attr)?;
    let mut kind: Option<(Kind, Span)> = None;
    let mut krate: Option<Path> = None;
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match errors.as_mut() {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for meta in metas {
        match &meta {
            Meta::Path(path) if path.get_ident().is_some() => {
                let ident = path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let found = match ident.as_str() {
                    "plugin" => Kind::Plugin,
                    "http" => Kind::Http,
                    "tcp" => Kind::Tcp,
                    "vm" => Kind::Vm,
                    other => {
                        push(syn::Error::new_spanned(
                            path,
                            format!(
                                "unknown entry kind `{other}`: expected `plugin`, `http` or `tcp` \
                                 (or nothing, for a function returning a VmContext)"
                            ),
                        ));
                        continue;
                    }
                };
                if let Some((_, first)) = kind {
                    let mut e = syn::Error::new_spanned(path, "only one entry kind may be given");
                    e.combine(syn::Error::new(first, "first kind given here"));
                    push(e);
                } else {
                    kind = Some((found, path.span()));
                }
            }
            Meta::NameValue(nv) if nv.path.is_ident("crate") => match crate_path(nv) {
                Ok(path) => krate = Some(path),
                Err(e) => push(e),
            },
            other => push(syn::Error::new_spanned(
                other,
                "unknown option: expected `plugin`, `http`, `tcp` or `crate = \"path\"`",
            )),
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let krate = krate.unwrap_or_else(|| syn::parse_quote!(::proxywasm));
    Ok((kind.map_or(Kind::Vm, |(k, _)| k), krate))
}

/// The path of a `crate = "path"` option (both attributes take it).
pub(crate) fn crate_path(option: &syn::MetaNameValue) -> syn::Result<Path> {
    match &option.value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => s.parse::<Path>().map_err(|_| {
            syn::Error::new_spanned(
                s,
                "`crate` must name a path, e.g. `crate = \"::proxywasm\"`",
            )
        }),
        other => Err(syn::Error::new_spanned(
            other,
            "`crate` takes a string, e.g. `crate = \"::proxywasm\"`",
        )),
    }
}

pub(crate) fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<EntryFunction> {
    let args = parse_args(attr);
    let function: ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "`#[proxywasm::main]` goes on a function that builds your context",
        )
    })?;
    let (kind, krate) = args?;
    let sig = &function.sig;
    let mut errors: Vec<syn::Error> = Vec::new();
    if let Some(asyncness) = &sig.asyncness {
        errors.push(syn::Error::new_spanned(
            asyncness,
            "the entry function cannot be `async`: it builds a context synchronously, and the host then calls it",
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            "the entry function cannot be `unsafe`",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            "the entry function cannot declare an ABI; the SDK exports the module's ABI",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "the entry function cannot be generic: the SDK must know the context type",
        ));
    }
    if let Some(receiver) = sig
        .inputs
        .iter()
        .find(|arg| matches!(arg, FnArg::Receiver(_)))
    {
        errors.push(syn::Error::new_spanned(
            receiver,
            "the entry function must be a free function, not a method",
        ));
    } else {
        let expected = if kind == Kind::Vm { 0 } else { 1 };
        if sig.inputs.len() != expected {
            let what = if expected == 0 {
                "no parameters"
            } else {
                "one parameter, the context id"
            };
            let span: Span = if sig.inputs.is_empty() {
                sig.paren_token.span.join()
            } else {
                sig.inputs.span()
            };
            errors.push(syn::Error::new(span, format!("{}: {what}", kind.form())));
        }
    }
    if matches!(sig.output, ReturnType::Default) {
        errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!(
                "the entry function must return the context it builds; {}",
                kind.form()
            ),
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "the entry function cannot be variadic",
        ));
    }
    let mut iter = errors.into_iter();
    if let Some(mut first) = iter.next() {
        for e in iter {
            first.combine(e);
        }
        return Err(first);
    }
    Ok(EntryFunction {
        kind,
        krate,
        function,
    })
}

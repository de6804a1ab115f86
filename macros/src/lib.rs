//! `#[require_scope("...")]` for scopegate. Use it through `scopegate::require_scope`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{FnArg, ItemFn, LitStr, parse_macro_input, parse_quote};

/// Requires a scope template on an axum handler, checked at compile time.
///
/// Adds a `scopegate::RequireScope<_>` extractor as the handler's first argument, with the
/// template declared by `scopegate::scope!`. The route's other extractors are unchanged.
///
/// ```ignore
/// #[scopegate::require_scope("delete:comments-in-{room}")]
/// async fn delete_comment() {}
/// ```
#[proc_macro_attribute]
pub fn require_scope(attribute: TokenStream, item: TokenStream) -> TokenStream {
    let template = parse_macro_input!(attribute as LitStr);
    let mut handler = parse_macro_input!(item as ItemFn);
    if handler.sig.asyncness.is_none() {
        return syn::Error::new_spanned(
            handler.sig.fn_token,
            "#[require_scope] goes on an async axum handler",
        )
        .to_compile_error()
        .into();
    }
    let marker = format_ident!("__ScopegateRequirement_{}", handler.sig.ident);
    let visibility = &handler.vis;
    let argument: FnArg = parse_quote!(_: ::scopegate::RequireScope<#marker>);
    handler.sig.inputs.insert(0, argument);
    quote! {
        ::scopegate::scope!(
            #[allow(non_camel_case_types)]
            #visibility #marker = #template
        );
        #handler
    }
    .into()
}

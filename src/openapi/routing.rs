//! Method routers that remember their methods: [`get`], [`post`], ... as in `axum::routing`,
//! for [`Documented::route_requiring`](super::Documented::route_requiring).

use axum::handler::Handler;
use axum::routing::{self, MethodRouter};
use http::Method;

/// An axum [`MethodRouter`] and the HTTP methods it was given handlers for: what axum's own
/// method router cannot tell. Built with this module's [`get`], [`post`], ... and chained with
/// the methods of the same names, as in `axum::routing`:
///
/// ```
/// use scopegate::openapi::routing::{Methods, get};
///
/// async fn list() {}
/// async fn create() {}
///
/// let methods: Methods = get(list).post(create);
/// assert_eq!(methods.methods(), ["GET", "POST"]);
/// ```
///
/// A GET handler also answers HEAD, as in axum; only GET is documented.
#[must_use]
pub struct Methods<S = ()> {
    router: MethodRouter<S>,
    methods: Vec<Method>,
}

impl<S> Methods<S> {
    /// The methods given handlers, in the order they were added.
    pub fn methods(&self) -> &[Method] {
        &self.methods
    }

    /// The method router, and the methods it serves.
    pub fn into_parts(self) -> (MethodRouter<S>, Vec<Method>) {
        (self.router, self.methods)
    }
}

impl<S> std::fmt::Debug for Methods<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Methods")
            .field("methods", &self.methods)
            .finish_non_exhaustive()
    }
}

impl<S> Clone for Methods<S> {
    fn clone(&self) -> Self {
        Methods {
            router: self.router.clone(),
            methods: self.methods.clone(),
        }
    }
}

/// One constructor and one chained method per HTTP method that OpenAPI names.
macro_rules! methods {
    ($($name:ident => $method:ident),* $(,)?) => {
        $(
            #[doc = concat!(
                "Routes `", stringify!($method), "` requests to `handler`, like `axum::routing::",
                stringify!($name), "`, and records the method."
            )]
            pub fn $name<H, T, S>(handler: H) -> Methods<S>
            where
                H: Handler<T, S>,
                T: 'static,
                S: Clone + Send + Sync + 'static,
            {
                Methods {
                    router: routing::$name(handler),
                    methods: vec![Method::$method],
                }
            }
        )*

        impl<S: Clone + Send + Sync + 'static> Methods<S> {
            $(
                #[doc = concat!(
                    "Also routes `", stringify!($method), "` requests to `handler`, like axum's `MethodRouter::",
                    stringify!($name), "`, and records the method.\n\n# Panics\n\nWhen `",
                    stringify!($method), "` already has a handler, as axum does."
                )]
                #[track_caller]
                pub fn $name<H, T>(mut self, handler: H) -> Self
                where
                    H: Handler<T, S>,
                    T: 'static,
                {
                    self.router = self.router.$name(handler);
                    self.methods.push(Method::$method);
                    self
                }
            )*
        }
    };
}

methods! {
    get => GET,
    post => POST,
    put => PUT,
    patch => PATCH,
    delete => DELETE,
    head => HEAD,
    options => OPTIONS,
    trace => TRACE,
}

//! Attaching a [`Requirement`] to a route, three ways that share one decision:
//!
//! 1. [`RouterExt::route_requiring`]: the route and its requirement together, so a parameter the
//!    route lacks is found when the router is built. **Prefer this.**
//! 2. [`require`] / [`require_scope`]: a layer for `route_layer` or `Handler::layer`, for
//!    requirements on part of a method router. A parameter the route lacks is found at the first
//!    request (500, logged) and never lets a request through.
//! 3. [`RequireScope<T>`]: a typed extractor, with the template declared once by
//!    [`scope!`](crate::scope!) and checked at compile time; the requirement is visible in the
//!    handler's signature. The `#[require_scope("...")]` attribute (feature `macros`) writes
//!    that extractor for you.
//!
//! All of them run behind [`AuthLayer`](crate::AuthLayer): a request without valid credentials
//! reaching a requirement is answered 401, never 403.
//!
//! ```
//! use axum::{Router, routing::{delete, get}};
//! use scopegate::{RequireScope, RouterExt, require, scope};
//!
//! scope!(ReadComments = "read:comments-in-:room");
//!
//! async fn list(_: RequireScope<ReadComments>) -> &'static str { "[]" }
//! async fn remove() {}
//! async fn show() {}
//!
//! let app: Router = Router::new()
//!     // 1. Checked when the router is built.
//!     .route_requiring("/rooms/{room}/comments/{id}", delete(remove), scope!("delete:comments-in-:room"))
//!     // 2. A route layer.
//!     .route("/rooms/{room}", get(show).route_layer(require(scope!("read:rooms-:room"))))
//!     // 3. A typed extractor.
//!     .route("/rooms/{room}/comments", get(list));
//! ```

use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::routing::MethodRouter;
use http::request::Parts;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::{AuthContext, Authenticated};
use crate::error::{AuthError, ErrorKind};
use crate::layer::{DefaultRejection, OnRejection, ResponseFuture};
use crate::scope::{CachedResolver, Denial, ParamValue, Requirement, param_value};

/// A layer that refuses requests whose token does not meet `requirement`.
///
/// ```
/// use axum::{Router, routing::delete};
/// use scopegate::{require, scope};
///
/// async fn remove() {}
/// let app: Router = Router::new().route(
///     "/rooms/{room}/comments/{id}",
///     delete(remove).route_layer(require(scope!("delete:comments-in-:room"))),
/// );
/// ```
pub fn require(requirement: Requirement) -> RequireLayer {
    RequireLayer {
        requirement,
        on_rejection: DefaultRejection,
    }
}

/// [`require`] with a template parsed at run time.
///
/// # Panics
///
/// When the template is invalid, with the reason, like axum's router construction. Use
/// [`scope!`](crate::scope!) to have the template checked at compile time instead.
#[track_caller]
pub fn require_scope(template: &str) -> RequireLayer {
    match Requirement::scope(template) {
        Ok(requirement) => require(requirement),
        Err(error) => panic!("scopegate: invalid scope template {template:?}: {error}"),
    }
}

/// See [`require`].
#[derive(Clone, Debug)]
pub struct RequireLayer<R = DefaultRejection> {
    requirement: Requirement,
    on_rejection: R,
}

impl<R> RequireLayer<R> {
    /// Renders refusals with your own function; see
    /// [`AuthLayer::on_rejection`](crate::AuthLayer::on_rejection).
    pub fn on_rejection<R2>(self, on_rejection: R2) -> RequireLayer<R2> {
        RequireLayer {
            requirement: self.requirement,
            on_rejection,
        }
    }
}

impl<S, R: Clone> Layer<S> for RequireLayer<R> {
    type Service = RequireService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            requirement: self.requirement.clone(),
            on_rejection: self.on_rejection.clone(),
        }
    }
}

/// The service made by [`RequireLayer`].
#[derive(Clone, Debug)]
pub struct RequireService<S, R = DefaultRejection> {
    inner: S,
    requirement: Requirement,
    on_rejection: R,
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for RequireService<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    R: OnRejection<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        match decide(&self.requirement, &mut parts) {
            Decision::Allowed => {
                ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)))
            }
            Decision::Refused(error) => {
                ResponseFuture::rejected(self.on_rejection.on_rejection(&error))
            }
            Decision::Resolve(pending) => {
                // The ready service goes into the future; a clone stays for the next call.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let on_rejection = self.on_rejection.clone();
                ResponseFuture::waiting(Box::pin(async move {
                    match pending.finish().await {
                        Ok(()) => inner.call(Request::from_parts(parts, body)).await,
                        Err(error) => Ok(on_rejection.on_rejection(&error)),
                    }
                }))
            }
        }
    }
}

/// What the synchronous part of a requirement check decided.
pub(crate) enum Decision {
    Allowed,
    Refused(AuthError),
    /// The token's own grants fall short; a grant resolver may supply the rest.
    Resolve(Box<PendingGrants>),
}

/// A requirement check waiting for a grant resolver.
pub(crate) struct PendingGrants {
    requirement: Requirement,
    auth: Authenticated,
    context: AuthContext,
    params: Vec<(String, String)>,
    resolver: Arc<CachedResolver>,
    refusal: AuthError,
}

impl PendingGrants {
    pub(crate) async fn finish(self) -> Result<(), AuthError> {
        let Ok(extra) = self.resolver.grants(&self.auth, &self.params).await else {
            return Err(self.context.error(ErrorKind::GrantsUnavailable));
        };
        let granted = self.auth.scopes().with_extra(&extra);
        let granted = |scope: &str| granted.contains(scope);
        let value_of = |name: &str| param_value(&self.params, name);
        match self.requirement.check(&self.auth, &granted, &value_of) {
            Ok(()) => Ok(()),
            Err(_) => Err(self.refusal),
        }
    }
}

/// The one decision every way of declaring a requirement shares.
pub(crate) fn decide(requirement: &Requirement, parts: &mut Parts) -> Decision {
    let context = match AuthContext::of(parts) {
        Ok(context) => context.clone(),
        Err(error) => return Decision::Refused(error),
    };
    let Some(auth) = parts.extensions.get::<Authenticated>().cloned() else {
        return Decision::Refused(context.error(ErrorKind::MissingCredentials));
    };
    let params = path_params(parts);
    let value_of = |name: &str| params.get(name);
    let denial = match requirement.check(&auth, &|scope| auth.grants(scope), &value_of) {
        Ok(()) => return Decision::Allowed,
        Err(denial) => denial,
    };
    match denial {
        Denial::Insufficient(scopes) => {
            let error = context.error(ErrorKind::InsufficientScope);
            let refusal = match &scopes {
                Some(scopes) => error.with_scope(scopes),
                None => error,
            };
            // Only a requirement whose values bound can be met by more grants.
            if let (Some(_), Some(resolver)) = (&scopes, auth.resolver()) {
                let params = params.owned();
                return Decision::Resolve(Box::new(PendingGrants {
                    requirement: requirement.clone(),
                    resolver: resolver.clone(),
                    auth,
                    context,
                    params,
                    refusal,
                }));
            }
            tracing::debug!(%requirement, "scopegate: insufficient scope");
            Decision::Refused(refusal)
        }
        Denial::Unbound(parameter, why) => {
            let route = parts
                .extensions
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("<no matched route: is the requirement mounted with Router::layer instead of route_layer?>");
            tracing::error!(
                route,
                %parameter,
                %requirement,
                problem = why.description(),
                "scopegate: the requirement cannot bind a path parameter; refusing"
            );
            Decision::Refused(context.error(ErrorKind::RequirementMisconfigured))
        }
    }
}

/// The matched route's percent-decoded path values, as axum hands them to handlers.
enum PathValues {
    Decoded(RawPathParams),
    /// A value is not UTF-8: nothing can bind, and the refusal is a 403 like any unsafe value.
    InvalidUtf8,
    /// No route matched, or the route has no parameters.
    None,
}

impl PathValues {
    /// The value of `name`: refused when the matched path holds that name more than once
    /// (`/orgs/{id}` nested around `/invoices/{id}`), since "the first" need not be the value
    /// the handler's `Path` extractor sees.
    fn get(&self, name: &str) -> ParamValue<'_> {
        match self {
            PathValues::Decoded(params) => {
                let mut found = params.iter().filter(|(key, _)| *key == name);
                match (found.next(), found.next()) {
                    (Some((_, value)), None) => ParamValue::Value(value),
                    (Some(_), Some(_)) => ParamValue::Ambiguous,
                    (None, _) => ParamValue::Missing,
                }
            }
            PathValues::InvalidUtf8 => ParamValue::Unusable,
            PathValues::None => ParamValue::Missing,
        }
    }

    fn owned(&self) -> Vec<(String, String)> {
        match self {
            PathValues::Decoded(params) => params
                .iter()
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The matched route's percent-decoded path values. axum's extractor completes without
/// waiting, so it is polled once here instead of boxing a future per request.
fn path_params(parts: &mut Parts) -> PathValues {
    let future = pin!(<RawPathParams as FromRequestParts<()>>::from_request_parts(
        parts,
        &()
    ));
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(params)) => PathValues::Decoded(params),
        Poll::Ready(Err(
            axum::extract::rejection::RawPathParamsRejection::InvalidUtf8InPathParam(_),
        )) => PathValues::InvalidUtf8,
        _ => PathValues::None,
    }
}

/// A requirement type for [`RequireScope`], declared with [`scope!`](crate::scope!).
pub trait ScopeRequirement: Send + Sync + 'static {
    /// The requirement, built once.
    fn requirement() -> &'static Requirement;
}

/// An extractor that refuses the request unless the token meets `T`'s requirement.
///
/// ```
/// use scopegate::{RequireScope, scope};
///
/// scope!(pub DeleteComment = "delete:comments-in-:room");
///
/// async fn delete_comment(_: RequireScope<DeleteComment>) {}
/// ```
pub struct RequireScope<T>(PhantomData<fn() -> T>);

impl<T> std::fmt::Debug for RequireScope<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequireScope")
    }
}

impl<S: Send + Sync, T: ScopeRequirement> FromRequestParts<S> for RequireScope<T> {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match decide(T::requirement(), parts) {
            Decision::Allowed => Ok(RequireScope(PhantomData)),
            Decision::Refused(error) => Err(error),
            Decision::Resolve(pending) => {
                pending.finish().await.map(|()| RequireScope(PhantomData))
            }
        }
    }
}

/// Declares a scope requirement, checking the template at compile time.
///
/// - `scope!("delete:comments-in-:room")` is a [`Requirement`].
/// - `scope!(DeleteComment = "delete:comments-in-:room")` (optionally `pub`) declares a type for
///   [`RequireScope<DeleteComment>`](RequireScope).
///
/// A bad template does not compile:
///
/// ```compile_fail
/// let requirement = scopegate::scope!("delete:comments-in-:org-:room");
/// ```
#[macro_export]
macro_rules! scope {
    ($(#[$attribute:meta])* $vis:vis $name:ident = $template:expr $(,)?) => {
        $(#[$attribute])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;

        impl $crate::ScopeRequirement for $name {
            fn requirement() -> &'static $crate::Requirement {
                const TEMPLATE: &str = $template;
                const _: () = match $crate::scope::check_template(TEMPLATE) {
                    Ok(()) => (),
                    Err(error) => error.panic(),
                };
                static REQUIREMENT: ::std::sync::OnceLock<$crate::Requirement> =
                    ::std::sync::OnceLock::new();
                REQUIREMENT.get_or_init(|| $crate::Requirement::from_checked_template(TEMPLATE))
            }
        }
    };
    ($template:expr $(,)?) => {{
        const TEMPLATE: &str = $template;
        const _: () = match $crate::scope::check_template(TEMPLATE) {
            Ok(()) => (),
            Err(error) => error.panic(),
        };
        $crate::Requirement::from_checked_template(TEMPLATE)
    }};
}

/// Routes declared together with their requirement.
pub trait RouterExt<S> {
    /// `route(path, method_router)` with `requirement` on it, after checking that the path has
    /// every parameter the requirement names.
    ///
    /// Every handler reachable at `path` meets the requirement: each method's handler, the
    /// method router's fallback and `any(...)`. A method without a handler answers 403 before
    /// 405 when the token falls short.
    ///
    /// A parameter the requirement names but `path` lacks is taken from an enclosing
    /// `Router::nest("/rooms/{room}", ...)` on each request; when the whole matched route has
    /// no such parameter, or has the name twice, the request is refused with 500 and the route
    /// and parameter are logged. It never lets a request through.
    ///
    /// # Panics
    ///
    /// When the requirement names a parameter axum reserves (`__private__axum_...`), or `path`
    /// has a parameter name twice, when the router is built (as axum does for invalid routes).
    fn route_requiring(
        self,
        path: &str,
        method_router: MethodRouter<S>,
        requirement: Requirement,
    ) -> Self;
}

impl<S: Clone + Send + Sync + 'static> RouterExt<S> for axum::Router<S> {
    #[track_caller]
    fn route_requiring(
        self,
        path: &str,
        method_router: MethodRouter<S>,
        requirement: Requirement,
    ) -> Self {
        let available = route_parameters(path);
        if let Some(reserved) = requirement
            .parameters()
            .into_iter()
            .find(|name| name.starts_with(AXUM_RESERVED_PREFIX))
        {
            panic!(
                "scopegate: the requirement `{requirement}` of route {path:?} names the parameter `{reserved}`; axum never hands parameters starting with `{AXUM_RESERVED_PREFIX}` to handlers"
            );
        }
        if let Some(repeated) = available
            .iter()
            .enumerate()
            .find(|(index, name)| available[..*index].contains(name))
            .map(|(_, name)| name)
        {
            panic!(
                "scopegate: route {path:?} has the parameter `{repeated}` twice; a requirement could not tell which value to bind"
            );
        }
        // A parameter missing from `path` may come from an enclosing `Router::nest`: it is
        // looked up in the whole matched route on each request, and a request is refused with
        // 500 (logged with the route and parameter) when it is not there.
        //
        // `layer`, not `route_layer`: only `layer` also wraps the method router's fallback
        // (`get(h).fallback(f)`, `any(h)`), so every handler reachable at `path` meets the
        // requirement. A method without a handler then gets 403 before 405.
        self.route(path, method_router.layer(require(requirement)))
    }
}

/// axum drops path parameters whose names start with this (its nesting and fallback
/// captures) before handlers see them, so a requirement can never bind them.
const AXUM_RESERVED_PREFIX: &str = "__private__axum_";

/// The parameter names in an axum route path: `{name}` and `{*name}`; `{{` and `}}` are
/// literal braces.
fn route_parameters(path: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(escaped) = after.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        names.push(after[..close].trim_start_matches('*'));
        rest = &after[close + 1..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::route_parameters;

    #[test]
    fn route_parameter_names() {
        assert_eq!(
            route_parameters("/rooms/{room}/comments/{id}"),
            ["room", "id"]
        );
        assert_eq!(route_parameters("/files/{*path}"), ["path"]);
        assert_eq!(route_parameters("/literal/{{x}}/{y}"), ["y"]);
        assert!(route_parameters("/health").is_empty());
    }
}
